"""A connected tcp/ipc endpoint: dials, retries with back-off, and redials after a disconnect.

It holds the endpoint's persistent Peer (libzmq creates the pipe at connect() time unless
IMMEDIATE is set), so messages queue before the first connection and survive reconnects.
"""

from __future__ import annotations

import errno
import random
import socket
from typing import TYPE_CHECKING, Protocol

from ..constants import Event
from ..pipe import Peer
from ..transports import ipc, tcp
from ..transports.endpoint import Endpoint
from ..transports.tcp import peer_address

if TYPE_CHECKING:
    from ..options import SocketOptions
    from .reactor import Reactor, Timer


class ConnecterOwner(Protocol):
    def connected(self, sock: socket.socket, connecter: Connecter, peer_addr: str) -> None: ...
    def monitor_event(self, event: int, value: int, endpoint: str) -> None: ...


class Connecter:
    def __init__(
        self,
        reactor: Reactor,
        endpoint: Endpoint,
        options: SocketOptions,
        owner: ConnecterOwner,
        peer: Peer | None,
    ) -> None:
        self.reactor = reactor
        self.endpoint = endpoint
        self.name = str(endpoint)
        self.options = options
        self.owner = owner
        self.peer = peer
        self.stopped = False
        # A connection of ours completed a handshake once (the next one is a reconnect).
        self.handshaken = False
        self._sock: socket.socket | None = None
        self._timer: Timer | None = None
        self._ivl = options.reconnect_ivl
        self._start()

    def _start(self) -> None:
        self._timer = None
        if self.stopped:
            return
        try:
            if self.endpoint.transport == "tcp":
                family, sockaddr = tcp.resolve(self.endpoint, ipv6=self.options.ipv6)
                sock = tcp.start_connect(family, sockaddr)
            else:
                sock = ipc.start_connect(self.endpoint)
        except OSError:
            self._retry()
            return
        self._sock = sock
        self.owner.monitor_event(Event.CONNECT_DELAYED, errno.EINPROGRESS, self.name)
        self.reactor.set_handlers(sock, None, self._on_writable)

    def _on_writable(self) -> None:
        sock = self._sock
        if sock is None:
            return
        self.reactor.set_handlers(sock, None, None)
        self._sock = None
        err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            fd = sock.fileno()
            sock.close()
            self.owner.monitor_event(Event.CLOSED, fd, self.name)
            self._retry()
            return
        self.owner.monitor_event(Event.CONNECTED, sock.fileno(), self.name)
        self.owner.connected(sock, self, peer_address(sock))

    def _retry(self) -> None:
        if self.stopped or self.options.reconnect_ivl < 0:
            return
        # As libzmq: the interval plus a random jitter below RECONNECT_IVL, so that many
        # clients of one restarted server do not all come back at the same instant.
        base = self.options.reconnect_ivl
        delay = self._ivl + (random.randrange(base) if base > 0 else 0)
        self.owner.monitor_event(Event.CONNECT_RETRIED, delay, self.name)
        self._timer = self.reactor.call_later(delay / 1000.0, self._start)
        ivl_max = self.options.reconnect_ivl_max
        if ivl_max > self.options.reconnect_ivl:
            self._ivl = min(self._ivl * 2, ivl_max)

    def handshake_succeeded(self) -> None:
        """Back-off resets only once a peer accepted us: a server that keeps refusing the
        handshake is retried ever more slowly, up to RECONNECT_IVL_MAX."""
        self._ivl = self.options.reconnect_ivl

    def connection_lost(self) -> None:
        """The engine ended: dial again after RECONNECT_IVL (with back-off)."""
        if not self.stopped:
            self._retry()

    def stop(self) -> None:
        self.stopped = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._sock is not None:
            self.reactor.set_handlers(self._sock, None, None)
            self._sock.close()
            self._sock = None
