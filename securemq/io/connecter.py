"""A connected tcp/ipc endpoint: dials, retries with back-off, and redials after a disconnect.

It holds the endpoint's persistent Peer (libzmq creates the pipe at connect() time unless
IMMEDIATE is set), so messages queue before the first connection and survive reconnects.

As libzmq's tcp_connecter: the options of the connect (TOS, PRIORITY, BINDTODEVICE, buffers)
are applied to each new OS socket before it dials -- a socket the OS refuses them for is closed
and the attempt retried -- and a tcp (or ws) dial that has not completed after CONNECT_TIMEOUT
ms is abandoned (CLOSED, then CONNECT_RETRIED with the back-off). With SOCKS_PROXY set, a tcp://
connect dials the proxy instead and asks it for a tunnel to the endpoint (SOCKS5, with
username/password when SOCKS_USERNAME is set; libzmq socks_connecter): the connection is handed
on only once the proxy reports success; a refusal closes the socket and retries.
"""

from __future__ import annotations

import errno
import os
import random
import socket
from typing import TYPE_CHECKING, Protocol

from ..constants import Event, ReconnectStop
from ..error import ZMQError
from ..pipe import Peer
from ..transports import ipc, tcp
from ..transports.endpoint import Endpoint, parse_endpoint
from ..transports.socks import Socks5Client, SocksError
from ..transports.tcp import peer_address

if TYPE_CHECKING:
    from ..options import SocketOptions
    from .reactor import Reactor, Timer


class ConnecterOwner(Protocol):
    def connected(self, sock: socket.socket, connecter: Connecter, peer_addr: str) -> None: ...
    def connecter_gave_up(self, connecter: Connecter, why: str) -> None: ...
    def dial_failed(self, connecter: Connecter, why: str) -> None: ...
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
        self._connect_timer: Timer | None = None
        self._socks: Socks5Client | None = None
        self._socks_out = b""
        self._ivl = options.reconnect_ivl
        self._tuning = tcp.Tuning.of(options)
        self._start()

    def _start(self) -> None:
        self._timer = None
        if self.stopped:
            return
        proxied = self.endpoint.transport == "tcp" and bool(self.options.socks_proxy)
        try:
            if proxied:
                target = parse_endpoint("tcp://" + self.options.socks_proxy.decode(), bind=False)
                family, sockaddr = tcp.resolve(target, ipv6=self.options.ipv6)
                sock = tcp.start_connect(family, sockaddr, self._tuning)
            elif self.endpoint.transport != "ipc":  # tcp, ws and wss dial tcp
                family, sockaddr = tcp.resolve(self.endpoint, ipv6=self.options.ipv6)
                sock = tcp.start_connect(family, sockaddr, self._tuning)
            else:
                sock = ipc.start_connect(self.endpoint)
        except (OSError, UnicodeDecodeError, ZMQError) as exc:
            # (ZMQError, UnicodeDecodeError: a malformed SOCKS_PROXY; libzmq retries too)
            if isinstance(exc, OSError) and self._refused_for_good(exc.errno):
                return
            self.owner.dial_failed(self, str(exc.strerror if isinstance(exc, OSError) else exc))
            self._retry()
            return
        self._sock = sock
        self.owner.monitor_event(Event.CONNECT_DELAYED, errno.EINPROGRESS, self.name)
        self.reactor.set_handlers(sock, None, self._on_writable)
        if proxied:
            self._socks = Socks5Client(self.endpoint.host, self.endpoint.port,
                                       self.options.socks_username, self.options.socks_password)
        elif self.endpoint.transport != "ipc" and self.options.connect_timeout > 0:
            # libzmq add_connect_timer: tcp and ws connecters; not ipc, not a SOCKS proxy.
            self._connect_timer = self.reactor.call_later(
                self.options.connect_timeout / 1000.0, self._connect_timed_out
            )

    def _connect_timed_out(self) -> None:
        """CONNECT_TIMEOUT: the dial did not complete; close it and retry with back-off."""
        self._connect_timer = None
        sock = self._sock
        if sock is None or self.stopped:
            return
        self._abandon(sock)

    def _cancel_connect_timer(self) -> None:
        if self._connect_timer is not None:
            self._connect_timer.cancel()
            self._connect_timer = None

    def _abandon(self, sock: socket.socket) -> None:
        """Close a dialing socket (CLOSED event, as libzmq) and retry later."""
        self._cancel_connect_timer()
        self.reactor.set_handlers(sock, None, None)
        self._sock = None
        self._socks = None
        self._socks_out = b""
        fd = sock.fileno()
        sock.close()
        self.owner.monitor_event(Event.CLOSED, fd, self.name)
        self._retry()

    def _on_writable(self) -> None:
        sock = self._sock
        if sock is None:
            return
        self._cancel_connect_timer()
        if self._socks is not None:
            self._socks_writable(sock)
            return
        self.reactor.set_handlers(sock, None, None)
        self._sock = None
        err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            fd = sock.fileno()
            sock.close()
            self.owner.monitor_event(Event.CLOSED, fd, self.name)
            if not self._refused_for_good(err):
                self.owner.dial_failed(self, os.strerror(err))
                self._retry()
            return
        self._hand_over(sock)

    def _hand_over(self, sock: socket.socket) -> None:
        self.owner.monitor_event(Event.CONNECTED, sock.fileno(), self.name)
        self.owner.connected(sock, self, peer_address(sock))

    # -- SOCKS5 -----------------------------------------------------------------------------
    def _socks_writable(self, sock: socket.socket) -> None:
        client = self._socks
        assert client is not None
        if not self._socks_out:
            # The proxy accepted our TCP connection (or refused it: SO_ERROR).
            if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                self._abandon(sock)
                return
            self._socks_out = client.start()
        self._socks_send(sock)

    def _socks_send(self, sock: socket.socket) -> None:
        try:
            sent = sock.send(self._socks_out)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            self._abandon(sock)
            return
        self._socks_out = self._socks_out[sent:]
        if self._socks_out:
            self.reactor.set_handlers(sock, None, self._on_writable)
        else:
            self.reactor.set_handlers(sock, self._socks_readable, None)

    def _socks_readable(self) -> None:
        sock, client = self._sock, self._socks
        if sock is None or client is None:
            return
        try:
            data = sock.recv(client.needed())
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._abandon(sock)
            return
        if not data:
            self._abandon(sock)  # the proxy hung up
            return
        try:
            reply = client.receive(data)
        except SocksError:
            self._abandon(sock)
            return
        if client.done:
            self.reactor.set_handlers(sock, None, None)
            self._sock = None
            self._socks = None
            self._hand_over(sock)
        elif reply:
            self._socks_out = reply
            self._socks_send(sock)

    def _refused_for_good(self, err: int | None) -> bool:
        """RECONNECT_STOP's CONN_REFUSED: a refused dial ends this connect() for good (libzmq
        tcp_connecter: the session is told, the pipe goes)."""
        stop_on_refusal = self.options.reconnect_stop & ReconnectStop.CONN_REFUSED
        if err != errno.ECONNREFUSED or not stop_on_refusal:
            return False
        self.stop()
        self.owner.connecter_gave_up(self, "connection refused")
        return True

    # -- back-off ---------------------------------------------------------------------------
    def _retry(self) -> None:
        # libzmq add_reconnect_timer: only with RECONNECT_IVL > 0 (0 too means "never again",
        # whatever the documentation says of -1 alone).
        if self.stopped or self.options.reconnect_ivl <= 0:
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
        self._cancel_connect_timer()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._sock is not None:
            self.reactor.set_handlers(self._sock, None, None)
            self._sock.close()
            self._sock = None
        self._socks = None
