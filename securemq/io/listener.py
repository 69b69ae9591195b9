"""A bound tcp/ipc/ws endpoint: accepts connections and hands each to its socket as an engine."""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING, Protocol

from ..constants import Event
from ..transports import ipc
from ..transports.tcp import peer_address
from ..zmtp.connection import ZmtpConnection
from ..zmtp.wire import ConnectionFactory

if TYPE_CHECKING:
    from ..options import SocketOptions
    from .reactor import Reactor


class ListenerOwner(Protocol):
    def accepted(self, sock: socket.socket, listener: Listener, peer_addr: str) -> None: ...
    def monitor_event(self, event: int, value: int, endpoint: str) -> None: ...


class Listener:
    def __init__(
        self, reactor: Reactor, sock: socket.socket, endpoint: str, owner: ListenerOwner,
        options: SocketOptions, wire: ConnectionFactory = ZmtpConnection,
    ) -> None:
        self.reactor = reactor
        # The socket's options when bind() was called: every connection accepted here uses them.
        self.options = options
        # What each accepted stream speaks (ZMTP; ZWS on ws://, inside TLS on wss://).
        self.wire = wire
        self.sock = sock
        self.endpoint = endpoint
        self.owner = owner
        self.closed = False
        reactor.set_handlers(sock, self._on_readable, None)

    def _on_readable(self) -> None:
        for _ in range(64):
            try:
                conn, _ = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                self.owner.monitor_event(Event.ACCEPT_FAILED, exc.errno or 0, self.endpoint)
                return
            conn.setblocking(False)
            self.owner.monitor_event(Event.ACCEPTED, conn.fileno(), self.endpoint)
            self.owner.accepted(conn, self, peer_address(conn))

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        fd = self.sock.fileno()
        self.reactor.set_handlers(self.sock, None, None)
        self.sock.close()
        if self.endpoint.startswith("ipc://"):
            ipc.cleanup(self.endpoint)
        self.owner.monitor_event(Event.CLOSED, fd, self.endpoint)
