"""SocketSession: the reactor side of one socket (listeners, connecters, connections).

How this works: the socket facade (``securemq.socket``) lives on its user's thread and owns the
routing; its session lives on the reactor thread and owns everything with a file descriptor:
the listeners of its binds, the connecters of its connects, and one ``StreamEngine`` per
connection. The facade calls the session only through ``IOHub.call`` / ``call_soon`` (bind,
connect, unbind, disconnect, close), so every method here runs on the reactor thread. The
session tells the facade about peers only through the facade's ``Mailbox`` (ATTACH when a
handshake completes, HICCUP when a connecter's peer reconnects, DETACH when a connection is gone
for good) and reports everything else as monitor events through the facade's ``EventSink``.
Options are snapshots taken at bind/connect time (as libzmq). When the facade is closed and every
connection has delivered what LINGER allows, ``on_finished`` is called once.
"""

from __future__ import annotations

import errno as _errno
import socket as _pysocket
import time
from collections.abc import Callable
from functools import partial
from typing import Protocol

from .. import socket_types
from ..constants import Errno, Event, ReconnectStop, RouterNotify
from ..error import ZMQError
from ..options import SocketOptions
from ..pipe import ATTACH, DETACH, HICCUP, Mailbox, Peer
from ..transports import ipc, tcp, udp
from ..transports.endpoint import Endpoint
from ..zmtp.errors import ZmtpError
from ..zmtp.mechanisms.base import ZapSettings
from ..zmtp.wire import ConnectionFactory
from . import streams
from .backoff import FailureBackoff, FailureBudget
from .connecter import Connecter
from .engine import StreamEngine
from .hub import ZAP_NAME, IOHub
from .listener import Listener
from .mechanisms import make_mechanism, server_keys_exhausted
from .status import ConnectionStatus, Failure, Outcome, classify
from .udp import UdpReceiver, UdpSender

# How long a connection the socket ended (STREAM) may take to write what was queued for it.
END_PEER_LINGER_MS = 30_000

_FAILURE_COUNTS = {
    Event.HANDSHAKE_FAILED_AUTH: "handshake_failed_auth",
    Event.HANDSHAKE_FAILED_PROTOCOL: "handshake_failed_protocol",
    Event.HANDSHAKE_FAILED_NO_DETAIL: "handshake_failed_no_detail",
}
_HANDSHAKE_FAILURES = frozenset(_FAILURE_COUNTS)


class EventSink(Protocol):
    """Where monitor events go (the facade's monitor, if one is running)."""

    def emit(self, event: int, value: int, endpoint: str) -> None: ...

    def stop(self) -> None:
        """The socket closed: report MONITOR_STOPPED and end the monitor."""


class SocketSession:
    def __init__(
        self,
        hub: IOHub,
        socket_type: int,
        mailbox: Mailbox,
        events: EventSink,
        on_finished: Callable[[], None],
        status: ConnectionStatus | None = None,
    ) -> None:
        self.hub = hub
        hub.session_made(self)  # (Context.close_connections reaches our connections)
        # What became of our connections, for the caller's thread (wait_ready).
        self.status = status if status is not None else ConnectionStatus(mailbox.waker.wake)
        self.reactor = hub.reactor()
        self.socket_type = socket_type
        self.mailbox = mailbox
        self.events = events
        self._on_finished = on_finished
        self.closed = False
        self._listeners: dict[str, Listener] = {}
        self._connecters: dict[str, Connecter] = {}
        self._engines: set[StreamEngine] = set()
        self._lingering: set[Connecter] = set()
        # udp:// binds and connects (no connection, no handshake: one engine per endpoint).
        self._datagrams: dict[str, UdpReceiver | UdpSender] = {}
        self._linger_deadline: float | None = None
        self._auth_failures = FailureBackoff()
        self._failure_budget = FailureBudget()
        # Connections that finished their handshake, oldest first. The reactor keeps this list;
        # the facade's thread reads it (a caller about to wait in recv on a socket with one
        # connection may lease that connection's read side, see io/fastpath.py).
        self.ready_engines: list[StreamEngine] = []

    # -- called by the facade (on the reactor thread) --------------------------------------
    def bind(self, ep: Endpoint, opts: SocketOptions) -> str:
        if ep.transport == "udp":
            return self._bind_udp(ep, opts)
        wire = streams.for_listener(self.socket_type, ep, opts)
        try:
            if ep.transport == "ipc":
                sock, resolved = ipc.listen(ep, backlog=opts.backlog)
            else:
                sock, resolved = tcp.listen(ep, ipv6=opts.ipv6, backlog=opts.backlog,
                                            tuning=tcp.Tuning.of(opts))
                if ep.transport in streams.WS_TRANSPORTS:
                    # libzmq names a ws endpoint by its scheme, address and path.
                    resolved = ep.transport + resolved[len("tcp"):] + ep.path
        except OSError as exc:
            code = exc.errno or Errno.EINVAL
            if isinstance(exc, _pysocket.gaierror):
                code = _errno.ENODEV
            fd = getattr(exc, "fd", None)
            if fd is not None:
                # libzmq closes the socket it made before reporting the failure.
                self.monitor_event(Event.CLOSED, fd, str(ep) if ep.transport == "ipc" else "")
            self.monitor_event(Event.BIND_FAILED, code, ep.address)
            raise ZMQError(code, f"bind({str(ep)!r}): {exc.strerror or exc}") from None
        self._listeners[resolved] = Listener(self.reactor, sock, resolved, self, opts, wire)
        self.monitor_event(Event.LISTENING, sock.fileno(), resolved)
        return resolved

    def _bind_udp(self, ep: Endpoint, opts: SocketOptions) -> str:
        try:
            sock = udp.open_receiver(ep, multicast_loop=getattr(opts, "multicast_loop", True))
        except OSError as exc:
            code = exc.errno or Errno.EINVAL
            self.monitor_event(Event.BIND_FAILED, code, ep.address)
            raise ZMQError(code, f"bind({str(ep)!r}): {exc.strerror or exc}") from None
        name = str(ep)
        peer = self.mailbox.new_peer(opts.rcvhwm, opts.sndhwm, endpoint=name)
        self._datagrams[name] = UdpReceiver(self.reactor, sock, peer, name)
        self.mailbox.post(ATTACH, peer)
        self.monitor_event(Event.LISTENING, sock.fileno(), name)
        return name

    def _connect_udp(self, ep: Endpoint, opts: SocketOptions, peer: Peer | None) -> None:
        name = str(ep)
        try:
            sock, destination = udp.open_sender(
                ep, hops=getattr(opts, "multicast_hops", 1),
                multicast_loop=getattr(opts, "multicast_loop", True),
            )
        except OSError as exc:
            raise ZMQError(exc.errno or Errno.EINVAL,
                           f"connect({name!r}): {exc.strerror or exc}") from None
        if peer is None:
            peer = self.mailbox.new_peer(opts.rcvhwm, opts.sndhwm, endpoint=name)
            self.mailbox.post(ATTACH, peer)
        old = self._datagrams.pop(name, None)
        if old is not None:
            old.close()
        self._datagrams[name] = UdpSender(self.reactor, sock, destination, peer, name)

    def _close_datagrams(self, name: str | None = None) -> None:
        for key in [key for key in self._datagrams if name is None or key == name]:
            engine = self._datagrams.pop(key)
            engine.close()
            self._drop_peer(engine.peer)

    def connect(self, ep: Endpoint, opts: SocketOptions, peer: Peer | None) -> None:
        if ep.transport == "udp":
            self._connect_udp(ep, opts, peer)
            return
        old = self._connecters.pop(str(ep), None)
        if old is not None:
            old.stop()
        self._connecters[str(ep)] = Connecter(self.reactor, ep, opts, self, peer)

    def unbind(self, addr: str) -> None:
        if addr in self._datagrams:
            self._close_datagrams(addr)
            return
        listener = self._listeners.pop(addr, None)
        if listener is not None:
            listener.close()
        for engine in list(self._engines):
            if engine.listener is listener:
                engine.close()

    def disconnect(self, addr: str) -> None:
        if addr in self._datagrams:
            self._close_datagrams(addr)
            return
        connecter = self._connecters.pop(addr, None)
        if connecter is None:
            return
        connecter.stop()
        if connecter.peer is not None:
            self._drop_peer(connecter.peer)
        for engine in list(self._engines):
            if engine.connecter is connecter:
                engine.close()

    def close(self, linger_ms: int) -> None:
        """The facade closed: stop listening; deliver what is queued within LINGER."""
        self.closed = True
        self._close_datagrams()
        for listener in self._listeners.values():
            listener.close()
        self._listeners.clear()
        for connecter in list(self._connecters.values()):
            peer = connecter.peer
            connected = any(engine.connecter is connecter for engine in self._engines)
            if linger_ms != 0 and peer is not None and peer.outbound.readable() and not connected:
                # Messages wait for a connection that is not up yet: keep dialing (LINGER).
                self._lingering.add(connecter)
                if linger_ms > 0:
                    self.reactor.call_later(linger_ms / 1000.0,
                                            partial(self._end_linger, connecter))
            else:
                connecter.stop()
        self._connecters.clear()
        self._linger_deadline = None if linger_ms < 0 else time.monotonic() + linger_ms / 1000.0
        for engine in list(self._engines):
            engine.start_linger(linger_ms)
        self.events.stop()  # (what happens while lingering is not reported, as libzmq)
        self._maybe_finished()

    # -- lingering -------------------------------------------------------------------------
    def _remaining_linger_ms(self) -> int:
        if self._linger_deadline is None:
            return -1
        return max(1, int((self._linger_deadline - time.monotonic()) * 1000))

    def _end_linger(self, connecter: Connecter) -> None:
        connecter.stop()
        self._lingering.discard(connecter)
        for engine in list(self._engines):
            if engine.connecter is connecter:
                engine.close()
        self._maybe_finished()

    def _maybe_finished(self) -> None:
        if self.closed and not self._engines and not self._lingering:
            on_finished, self._on_finished = self._on_finished, _nothing
            on_finished()

    # -- peers -----------------------------------------------------------------------------
    def _drop_peer(self, peer: Peer) -> None:
        peer.inbound.closed = True
        peer.outbound.closed = True
        self.mailbox.post(DETACH, peer)

    # -- listener and connecter callbacks --------------------------------------------------
    def _zap_settings(self, opts: SocketOptions) -> ZapSettings:
        return ZapSettings(
            handler_present=self.hub.zap_handler() is not None,
            domain=opts.zap_domain,
            enforce=opts.zap_enforce_domain,
        )

    def _start_engine(self, sock: _pysocket.socket, opts: SocketOptions, endpoint: str,
                      peer_addr: str, *, listener: Listener | None = None,
                      connecter: Connecter | None = None) -> StreamEngine:
        tcp.tune(sock, tuning=tcp.Tuning.of(opts), accepted=listener is not None)
        notify_gone = opts.router_notify & _NOTIFY_DISCONNECT
        engine = StreamEngine(
            self.reactor, sock, self, make_mechanism(opts, self._zap_settings(opts)),
            socket_type=self.socket_type, endpoint=endpoint, peer_address=peer_addr,
            max_message_size=opts.maxmsgsize, handshake_ivl_ms=opts.handshake_ivl,
            heartbeat_ivl_ms=opts.heartbeat_ivl, heartbeat_timeout_ms=opts.heartbeat_timeout,
            heartbeat_ttl_ms=opts.heartbeat_ttl, zap_domain=opts.zap_domain,
            routing_id=opts.routing_id, accepted=listener is not None,
            connection_factory=self._wire(listener, connecter),
            listener=listener, connecter=connecter,
            on_closed=_notify_disconnect if notify_gone else None,
        )
        self._engines.add(engine)
        engine.start()
        return engine

    def _wire(self, listener: Listener | None, connecter: Connecter | None) -> ConnectionFactory:
        """What the new stream speaks: ZMTP, or ZWS (inside TLS for wss) on a ws endpoint."""
        if listener is not None:
            return listener.wire
        assert connecter is not None
        return streams.for_dialer(self.socket_type, connecter.endpoint, connecter.options)

    def accepted(self, sock: _pysocket.socket, listener: Listener, peer_addr: str) -> None:
        if self.closed:
            sock.close()
            return
        opts = listener.options
        if not self._failure_budget.allows(peer_addr, opts.failed_auth_limit):
            # FAILED_AUTH_LIMIT: this address has used up its failed handshakes for now.
            sock.close()
            self.monitor_event(Event.HANDSHAKE_THROTTLED, self._failure_budget.refused, peer_addr)
            self.status.count("throttled")
            return
        delay = self._auth_failures.delay(peer_addr, opts.failed_auth_backoff)
        if delay > 0:
            # This address keeps failing its handshakes: make it wait before we do any work.
            self.reactor.call_later(
                delay, partial(self._start_accepted, sock, listener, peer_addr)
            )
            return
        self._start_accepted(sock, listener, peer_addr)

    def _start_accepted(self, sock: _pysocket.socket, listener: Listener, peer_addr: str) -> None:
        if self.closed or listener.closed:
            sock.close()
            return
        self._start_engine(sock, listener.options, listener.endpoint, peer_addr,
                           listener=listener)

    def connected(self, sock: _pysocket.socket, connecter: Connecter, peer_addr: str) -> None:
        # A closed socket's connecters are stopped by close() unless they linger.
        if connecter.stopped:
            sock.close()
            return
        self._start_engine(sock, connecter.options, connecter.name, peer_addr,
                           connecter=connecter)

    # -- engine callbacks ------------------------------------------------------------------
    def engine_ready(self, engine: StreamEngine) -> Peer | None:
        """The handshake is done: the peer this connection serves (None: refuse it)."""
        routing_id = b""
        for key, value in engine.peer_properties.items():
            if key.lower() in ("identity", "routing-id"):
                routing_id = value
        props = dict(engine.properties)
        legacy = engine.peer_version < (3, 1)
        connecter = engine.connecter
        opts = engine.options
        if connecter is not None and opts.connect_routing_id:
            routing_id = opts.connect_routing_id  # CONNECT_ROUTING_ID names this peer, not READY
        if connecter is not None:
            connecter.handshake_succeeded()
            if connecter in self._lingering:
                # Closed while dialing: this connection only delivers the queue, then ends.
                self._lingering.discard(connecter)
                connecter.stop()
                remaining = self._remaining_linger_ms()
                self.reactor.call_soon(lambda: engine.start_linger(remaining))
            peer = connecter.peer
            if peer is not None:
                if not socket_types.info(self.socket_type).local_routing_ids:
                    peer.routing_id = routing_id
                peer.properties = props
                peer.legacy = legacy
                peer.outbound.closed = False
                peer.inbound.closed = False
                _notify_connect(peer, opts)
                if connecter.handshaken:
                    self.mailbox.post(HICCUP, peer)
                    self.status.count("reconnects")
                connecter.handshaken = True
                self.ready_engines.append(engine)
                self.status.up()
                return peer
        peer = self.mailbox.new_peer(opts.rcvhwm, opts.sndhwm, conflate=opts.conflate,
                                     routing_id=routing_id, properties=props,
                                     endpoint=engine.endpoint)
        peer.legacy = legacy
        if opts.probe_router and (connecter is None or opts.immediate
                                  or not connecter.handshaken):
            # PROBE_ROUTER: an empty message first, on every new pipe (libzmq xattach_pipe);
            # a persistent peer got its probe at connect() time.
            peer.outbound.force_write([b""])
        if connecter is not None:
            connecter.handshaken = True
        _notify_connect(peer, opts)
        self.mailbox.post(ATTACH, peer)
        self.ready_engines.append(engine)
        self.status.up()
        return peer

    def end_peer(self, peer: Peer) -> None:
        """The socket is done with this peer (STREAM's empty message): its connection ends once
        what is queued for it is written, and a connect()'s peer is not dialed again."""
        for name, connecter in list(self._connecters.items()):
            if connecter.peer is peer:
                connecter.stop()
                del self._connecters[name]
        for engine in list(self._engines):
            if engine.peer is peer:
                linger = engine.options.linger
                engine.start_linger(linger if 0 <= linger <= END_PEER_LINGER_MS
                                    else END_PEER_LINGER_MS)
        self._drop_peer(peer)

    def engine_closed(self, engine: StreamEngine, error: ZmtpError | None) -> None:
        self._engines.discard(engine)
        if engine in self.ready_engines:
            self.ready_engines.remove(engine)
        if engine.listener is not None:
            if engine.ready:
                self._auth_failures.succeeded(engine.peer_address)
            elif error is not None and error.event in _HANDSHAKE_FAILURES:
                self._auth_failures.failed(engine.peer_address)
                self._failure_budget.failed(engine.peer_address,
                                            engine.options.failed_auth_limit)
        if not engine.ready and error is not None and error.event in _HANDSHAKE_FAILURES:
            self.status.count(_FAILURE_COUNTS[error.event])
        if (engine.ready or error is not None) and not self.closed:
            # libzmq reports DISCONNECTED after every connection error, handshake or not;
            # a local close reports nothing.
            self.monitor_event(Event.DISCONNECTED, engine.fd, engine.endpoint)
        connecter = engine.connecter
        peer = engine.peer
        if peer is not None:
            peer.outbound.reader_wake = _nothing
            peer.outbound.direct = None
            if connecter is None or connecter.peer is not peer:
                self._drop_peer(peer)
        alive = not self.closed or connecter in self._lingering
        final = False
        if connecter is not None and not connecter.stopped and alive:
            stop_now = error is not None and (
                not error.reconnect
                # RECONNECT_STOP's HANDSHAKE_FAILED: any handshake failure is final (libzmq).
                or (not engine.ready
                    and bool(engine.options.reconnect_stop & ReconnectStop.HANDSHAKE_FAILED))
            )
            if stop_now:
                final = True
                connecter.stop()
                self._connecters.pop(connecter.name, None)
                self._lingering.discard(connecter)
                if connecter.peer is not None:
                    self._drop_peer(connecter.peer)
            else:
                connecter.connection_lost()
        if engine.ready:
            self.status.down()
        elif error is not None and connecter is not None and not self.closed:
            kind, status, reason = classify(
                error,
                curve_client=engine.mechanism.name == b"CURVE" and not engine.mechanism.as_server
                # (with CURVE_SERVERKEYS, only once no other server key is left to try)
                and server_keys_exhausted(engine.options, engine.mechanism),
                greeted=engine.conn.peer_version != (0, 0),
            )
            self.status.failed(Outcome(engine.endpoint, kind, str(error), status, reason, final))
        self._maybe_finished()

    def dialing(self) -> int:
        """How many connect()s are still dialed (read from any thread)."""
        return len(self._connecters)

    def dial_failed(self, connecter: Connecter, why: str) -> None:
        """A dial failed and will be retried (wait_ready names it when it times out)."""
        self.status.failed(Outcome(connecter.name, Failure.REFUSED, why), wake=False)

    def connecter_gave_up(self, connecter: Connecter, why: str) -> None:
        """RECONNECT_STOP ended a connect() before any connection (CONN_REFUSED)."""
        self._connecters.pop(connecter.name, None)
        self._lingering.discard(connecter)
        if connecter.peer is not None:
            self._drop_peer(connecter.peer)
        self.status.failed(Outcome(connecter.name, Failure.REFUSED, why, final=True))
        self._maybe_finished()

    def monitor_event(self, event: int, value: int, endpoint: str) -> None:
        self.events.emit(event, value, endpoint)

    def inbound_wake(self) -> Callable[[], None]:
        return self.mailbox.waker.wake

    def zap_attach(self, peer: Peer) -> bool:
        """Hand the handler's side of a ZAP exchange to the ZAP handler socket."""
        handler = self.hub.zap_handler()
        if handler is None:
            return False
        handler.attach(peer)
        return True

    def zap_detach(self, peer: Peer) -> None:
        handler = self.hub.inproc.lookup(ZAP_NAME)
        peer.inbound.closed = True
        peer.outbound.closed = True
        if handler is not None:
            handler.mailbox.post(DETACH, peer)


def _nothing() -> None:
    return None


# ROUTER_NOTIFY's bits as ints: ``int & Flag`` builds a Flag member (an enum call) each time.
_NOTIFY_CONNECT = int(RouterNotify.CONNECT)
_NOTIFY_DISCONNECT = int(RouterNotify.DISCONNECT)


def _notify_connect(peer: Peer, opts: SocketOptions) -> None:
    """ROUTER_NOTIFY connect: an empty message from the peer, after every handshake (libzmq
    stream_engine_base_t::mechanism_ready)."""
    if opts.router_notify & _NOTIFY_CONNECT:
        peer.inbound.force_write([b""])


def _notify_disconnect(engine: StreamEngine, error: ZmtpError | None) -> None:
    """ROUTER_NOTIFY disconnect: an empty message from a peer whose connection broke after its
    handshake (libzmq stream_engine_base_t::error; a local close or unbind says nothing)."""
    peer = engine.peer
    if error is not None and engine.ready and peer is not None:
        peer.inbound.force_write([b""])


def pipe_at_connect(socket_type: int, opts: SocketOptions) -> bool:
    """Whether connect() makes the peer's pipe at once (libzmq: unless IMMEDIATE)."""
    return not opts.immediate and socket_types.info(socket_type).pipe_at_connect
