"""The synchronous Socket, pyzmq's API.

How this works: a Socket lives on the thread that uses it; its routing strategy (``routing/``)
decides which Peer a message goes to or comes from. Peers arrive from the reactor thread as
commands (attach / hiccup / detach) in a deque, applied at the start of every call, and every
change that could unblock a caller (a message in, room out, a command) sets the socket's Waker.
Blocking calls loop: clear the waker, apply commands, try, wait. Everything with file
descriptors (listeners, connecters, engines) is created and touched only on the reactor thread;
the ``_``-prefixed callbacks below with an ``engine``/``listener``/``connecter`` argument run
there.
"""

from __future__ import annotations

import errno as _errno
import json
import pickle
import random
import select as _select
import socket as _pysocket
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from . import routing, socket_types
from .constants import (
    FAILED_AUTH_BACKOFF,
    Errno,
    Event,
    Flag,
    PollEvent,
    SocketOption,
    SocketType,
)
from .error import Again, ContextTerminated, ZMQBindError, ZMQError
from .frame import Frame
from .io.backoff import FailureBackoff
from .options import SOCKET_HANDLED, SocketOptions, option_name
from .pipe import ConflatePipe, Peer, Pipe, Waker
from .transports import ipc, tcp
from .transports.endpoint import Endpoint, parse_endpoint
from .zmtp.errors import ZmtpError
from .zmtp.mechanisms.base import ZapSettings

if TYPE_CHECKING:
    from .context import Context
    from .io.connecter import Connecter
    from .io.engine import StreamEngine
    from .io.listener import Listener

T = TypeVar("T")

_ATTACH, _HICCUP, _DETACH = 0, 1, 2
# Plain ints for the hot paths (IntFlag arithmetic builds enum members).
_DONTWAIT = int(Flag.DONTWAIT)
_SNDMORE = int(Flag.SNDMORE)
_SEND_TYPES = (bytes, bytearray, memoryview)

_HANDSHAKE_FAILURES = frozenset({
    Event.HANDSHAKE_FAILED_AUTH, Event.HANDSHAKE_FAILED_PROTOCOL, Event.HANDSHAKE_FAILED_NO_DETAIL,
})


def _as_bytes(data: Any, what: str = "send") -> bytes:
    if isinstance(data, bytes):
        return data
    if isinstance(data, Frame):
        return data.bytes
    if isinstance(data, bytearray | memoryview):
        return bytes(data)
    if isinstance(data, str):
        raise TypeError(f"{what}: unicode not allowed, use send_string")
    try:
        return bytes(memoryview(data))
    except TypeError:
        raise TypeError(
            f"{what}: {type(data).__name__} does not support the buffer interface"
        ) from None


class Socket:
    """A ZeroMQ socket. Create it with ``Context.socket(type)``."""

    _closed: bool
    # Attribute-style options (generated properties, see the end of this module).
    linger: int
    sndhwm: int
    rcvhwm: int
    hwm: int
    sndtimeo: int
    rcvtimeo: int
    rcvmore: int
    events: int
    fd: int
    last_endpoint: bytes
    routing_id: bytes
    identity: bytes
    reconnect_ivl: int
    reconnect_ivl_max: int
    handshake_ivl: int
    heartbeat_ivl: int
    heartbeat_timeout: int
    heartbeat_ttl: int
    maxmsgsize: int
    immediate: int
    conflate: int
    router_mandatory: int
    router_handover: int
    req_relaxed: int
    req_correlate: int
    xpub_verbose: int
    tcp_keepalive: int
    ipv6: int
    plain_server: int
    plain_username: bytes
    plain_password: bytes
    curve_server: int
    curve_publickey: bytes
    curve_secretkey: bytes
    curve_serverkey: bytes
    zap_domain: bytes
    mechanism: int
    failed_auth_backoff: int

    def __init__(self, context: Context, socket_type: int) -> None:
        try:
            stype = SocketType(socket_type)
        except ValueError:
            raise ZMQError(Errno.EINVAL, f"socket({socket_type}): unknown socket type") from None
        self._closed = False
        self.context = context
        self._type = stype
        self._opts = SocketOptions(int(stype))
        for code, value in context._sockopts.items():
            try:
                self._opts.set(code, value)
            except (ZMQError, TypeError):
                pass
        self._routing = routing.create(int(stype), self._opts)
        # PULL/SUB: messages the routing took in a batch, popped here without a routing call.
        self._ready_batch = self._routing.ready_batch()
        self._waker = Waker()
        self._commands: deque[tuple[int, Peer]] = deque()
        self._peers: set[Peer] = set()
        self._closing_peers: set[Peer] = set()
        self._recv_parts: deque[bytes] = deque()
        self._recv_peer: Peer | None = None
        self._send_parts: list[bytes] = []
        self._last_endpoint = b""
        self._bound: dict[str, str] = {}  # resolved endpoint -> "tcp"/"ipc"/"inproc"
        self._connect_eps: dict[str, str] = {}
        self._monitor: Any = None
        self._monitor_socket: Socket | None = None
        self._lock = threading.Lock()
        # Reactor-thread state.
        self._listeners: dict[str, Listener] = {}
        self._connecters: dict[str, Connecter] = {}
        self._engines: set[StreamEngine] = set()
        # inproc links: our Peer -> (other socket, its Peer for the same link)
        self._inproc_links: dict[Peer, tuple[Any, Peer]] = {}
        self._lingering: set[Connecter] = set()
        # Connections that finished their handshake (the reactor keeps this list; a caller
        # waiting in recv reads it to decide whether it can read a connection directly).
        self._direct_engines: list[StreamEngine] = []
        self._direct_poller: tuple[StreamEngine, Any] | None = None
        self._auth_failures = FailureBackoff()
        self._linger_deadline: float | None = None
        context._register(self)

    # -- pyzmq niceties -----------------------------------------------------------------
    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def socket_type(self) -> int:
        return int(self._type)

    @property
    def type(self) -> int:
        return int(self._type)

    def __enter__(self) -> Socket:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<securemq.Socket({self._type.name}) {state} at {id(self):#x}>"

    def _check_open(self, what: str) -> None:
        if self._closed:
            raise ZMQError(Errno.ENOTSOCK, f"{what}: socket is closed")

    # -- options --------------------------------------------------------------------------
    def setsockopt(self, option: int, value: Any) -> None:
        self._check_open(f"setsockopt({option_name(option)})")
        code = int(option)
        if code in (SocketOption.SUBSCRIBE, SocketOption.UNSUBSCRIBE):
            topic = value.encode() if isinstance(value, str) else value
            if not isinstance(topic, bytes | bytearray | memoryview):
                raise TypeError(f"setsockopt({option_name(code)}): expected bytes")
            if not socket_types.info(self._type).subscriber:
                raise ZMQError(
                    Errno.EINVAL,
                    f"setsockopt({option_name(code)}): only SUB and XSUB sockets subscribe",
                )
            self._process_commands()
            if code == SocketOption.SUBSCRIBE:
                self._routing.subscribe(bytes(topic))
            else:
                self._routing.unsubscribe(bytes(topic))
            return
        if code == SocketOption.HWM:
            self._opts.set(SocketOption.SNDHWM, value)
            self._opts.set(SocketOption.RCVHWM, value)
            return
        if code in SOCKET_HANDLED:
            raise ZMQError(Errno.EINVAL, f"setsockopt({option_name(code)}): option is read-only")
        self._opts.set(code, value)
        self._routing.options_changed()

    def getsockopt(self, option: int) -> Any:
        self._check_open(f"getsockopt({option_name(option)})")
        code = int(option)
        if code == SocketOption.TYPE:
            return int(self._type)
        if code == SocketOption.RCVMORE:
            return int(bool(self._recv_parts))
        if code == SocketOption.EVENTS:
            return int(self._events())
        if code == SocketOption.LAST_ENDPOINT:
            return self._last_endpoint
        if code == SocketOption.FD:
            return self._waker.fileno()
        if code == SocketOption.MECHANISM:
            return int(self._opts.mechanism)
        if code == SocketOption.HWM:
            return self._opts.sndhwm
        if code == SocketOption.THREAD_SAFE:
            return 0
        if code in (SocketOption.SUBSCRIBE, SocketOption.UNSUBSCRIBE):
            raise ZMQError(Errno.EINVAL, f"getsockopt({option_name(code)}): write-only option")
        return self._opts.get(code)

    def setsockopt_string(self, option: int, value: str, encoding: str = "utf-8") -> None:
        if not isinstance(value, str):
            raise TypeError(f"setsockopt_string: expected str, got {type(value).__name__}")
        self.setsockopt(option, value.encode(encoding))

    def getsockopt_string(self, option: int, encoding: str = "utf-8") -> str:
        value = self.getsockopt(option)
        if not isinstance(value, bytes):
            raise TypeError(f"getsockopt_string({option_name(option)}): not a bytes option")
        return value.decode(encoding)

    set = setsockopt
    get = getsockopt
    set_string = setsockopt_string
    get_string = getsockopt_string

    def subscribe(self, topic: bytes | str) -> None:
        self.setsockopt(SocketOption.SUBSCRIBE, topic)

    def unsubscribe(self, topic: bytes | str) -> None:
        self.setsockopt(SocketOption.UNSUBSCRIBE, topic)

    # -- commands from the reactor ------------------------------------------------------------
    def _post(self, op: int, peer: Peer) -> None:
        """Any thread: queue an attach/hiccup/detach for the socket's thread and wake it."""
        self._commands.append((op, peer))
        self._waker.wake()

    def _process_commands(self) -> None:
        commands = self._commands
        while commands:
            op, peer = commands.popleft()
            if op == _ATTACH:
                if peer not in self._peers:
                    self._peers.add(peer)
                    self._routing.attach(peer)
            elif op == _HICCUP:
                if peer in self._peers:
                    self._routing.hiccup(peer)
            elif peer in self._peers:
                self._closing_peers.add(peer)
        if self._closing_peers:
            for peer in list(self._closing_peers):
                if not peer.inbound.readable() and not self._routing.holds(peer):
                    self._closing_peers.discard(peer)
                    self._peers.discard(peer)
                    self._routing.detach(peer)

    def _new_peer(self, routing_id: bytes = b"", properties: dict[str, bytes] | None = None,
                  endpoint: str = "") -> Peer:
        pipe = ConflatePipe if self._opts.conflate else Pipe
        peer = Peer(pipe(self._opts.rcvhwm), pipe(self._opts.sndhwm), routing_id=routing_id,
                    properties=properties, endpoint=endpoint)
        peer.inbound.reader_wake = self._waker.wake
        peer.outbound.writer_wake = self._waker.wake
        return peer

    # -- waiting ------------------------------------------------------------------------------
    def _wait_for(self, attempt: Callable[[], T | None], flags: int, timeout_ms: int,
                  what: str, reading: bool = False, tried: bool = False) -> T:
        """Retry ``attempt`` until it gives a result; ``tried``: the caller just tried once."""
        if not tried:
            result = attempt()
            if result is not None:
                return result
        if flags & _DONTWAIT or timeout_ms == 0:
            raise Again(Errno.EAGAIN, "Resource temporarily unavailable")
        deadline = None if timeout_ms < 0 else time.monotonic() + timeout_ms / 1000.0
        waker = self._waker
        context = self.context
        # Wait, then clear the waker and try again: a wake-up that comes after a failed
        # attempt leaves the waker set, so the next wait returns at once (none is lost). Every
        # change that can end the wait wakes the waker (a message in, room out, a peer
        # attached, close(), term()), so the wait needs no time slices.
        while True:
            if context._terminated:
                raise ContextTerminated(Errno.ETERM, f"{what}: context was terminated")
            if self._closed:
                raise ZMQError(Errno.ENOTSOCK, f"{what}: socket was closed")
            wait: float | None = None
            if deadline is not None:
                wait = deadline - time.monotonic()
                if wait <= 0:
                    raise Again(Errno.EAGAIN, "Resource temporarily unavailable")
            if not (reading and self._wait_reading_directly(wait)):
                waker.wait(wait)
            waker.clear()
            result = attempt()
            if result is not None:
                return result

    def _wait_reading_directly(self, wait: float | None) -> bool:
        """With exactly one connection, wait on it too and read it on this thread (see
        StreamEngine.borrow). False when that is not possible now."""
        engines = self._direct_engines
        if len(engines) != 1:
            return False
        try:
            engine = engines[0]
        except IndexError:
            return False
        if not engine.borrow():
            return False
        try:
            poller = self._direct_poller
            if poller is None or poller[0] is not engine:
                poll = _select.poll()
                poll.register(self._waker.fileno(), _select.POLLIN)
                poll.register(engine.fd, _select.POLLIN)
                poller = self._direct_poller = (engine, poll)
            for fd, _ in poller[1].poll(-1 if wait is None else int(wait * 1000)):
                if fd == engine.fd:
                    engine.read_direct()
        finally:
            engine.give_back()
        return True

    # -- sending ------------------------------------------------------------------------------
    def send(self, data: Any, flags: int = 0, copy: bool = True, track: bool = False,
             routing_id: int | None = None, group: str | None = None) -> None:
        if self._closed:
            self._check_open("send")
        part = data if type(data) is bytes else _as_bytes(data)
        if flags & 2:  # SNDMORE
            self._send_parts.append(part)
            return
        parts = self._send_parts
        if parts:
            parts.append(part)
            msg = parts[:]
            parts.clear()
        else:
            msg = [part]
        # Fast path: nothing pending from the reactor and the routing takes it at once.
        routing = self._routing
        if not self._commands and not self._closing_peers and routing.send(msg):
            if routing.dropped:
                # A peer's pipe is full (PUB drops): give the GIL to the I/O thread that
                # drains the pipes instead of spinning on more messages to drop.
                time.sleep(0)
            return
        try:
            self._send_message(msg, flags)
        except Again:
            self._send_parts[:0] = msg[:-1]
            raise

    def _send_message(self, msg: list[bytes], flags: int) -> None:
        routing_send = self._routing.send
        process = self._process_commands

        def attempt() -> bool | None:
            if self._commands or self._closing_peers:
                process()
            return True if routing_send(msg) else None

        self._wait_for(attempt, flags, self._opts.sndtimeo, "send")

    def send_multipart(self, msg_parts: Sequence[Any], flags: int = 0, copy: bool = True,
                       track: bool = False, **kwargs: Any) -> None:
        self._check_open("send_multipart")
        parts = []
        for index, part in enumerate(msg_parts):
            if isinstance(part, str):
                raise TypeError(
                    f"send_multipart: frame {index} ({part[:32]!r}) is str; "
                    "unicode not allowed, encode it first"
                )
            parts.append(_as_bytes(part, f"send_multipart frame {index}"))
        if not parts:
            raise ValueError("send_multipart: a message needs at least one frame")
        if flags & _SNDMORE:
            self._send_parts.extend(parts)
            return
        if self._send_parts:
            parts = self._send_parts + parts
            self._send_parts = []
        self._send_message(parts, flags)

    def send_string(self, u: str, flags: int = 0, copy: bool = True,
                    encoding: str = "utf-8", **kwargs: Any) -> None:
        if not isinstance(u, str):
            raise TypeError("send_string: str objects only")
        self.send(u.encode(encoding), flags)

    send_unicode = send_string

    def send_json(self, obj: Any, flags: int = 0, **kwargs: Any) -> None:
        self.send(json.dumps(obj, **kwargs).encode("utf-8"), flags)

    def send_pyobj(self, obj: Any, flags: int = 0, protocol: int = pickle.DEFAULT_PROTOCOL,
                   **kwargs: Any) -> None:
        self.send(pickle.dumps(obj, protocol), flags)

    def send_serialized(self, msg: Any, serialize: Callable[[Any], list[bytes]],
                        flags: int = 0, copy: bool = True, **kwargs: Any) -> None:
        self.send_multipart(serialize(msg), flags)

    # -- receiving ----------------------------------------------------------------------------
    def _next_message(self, flags: int, tried: bool = False) -> tuple[list[bytes], Peer]:
        routing_recv = self._routing.recv
        process = self._process_commands

        def attempt() -> tuple[list[bytes], Peer] | None:
            if self._commands or self._closing_peers:
                process()
            return routing_recv()

        return self._wait_for(attempt, flags, self._opts.rcvtimeo, "recv", reading=True,
                              tried=tried)

    def recv(self, flags: int = 0, copy: bool = True, track: bool = False) -> Any:
        if self._closed:
            self._check_open("recv")
        parts = self._recv_parts
        if not parts:
            if self._commands or self._closing_peers:
                self._process_commands()
            batch = self._ready_batch
            if batch:
                msg, peer = batch.popleft()
            else:
                got = self._routing.recv()
                if got is None:
                    got = self._next_message(flags, tried=True)
                msg, peer = got
            self._recv_peer = peer
            if len(msg) == 1:
                if copy:
                    return msg[0]
                return Frame(msg[0], properties=peer.properties)
            parts.extend(msg)
        data = parts.popleft()
        if copy:
            return data
        source = self._recv_peer
        return Frame(data, more=bool(parts),
                     properties=source.properties if source is not None else None)

    def recv_multipart(self, flags: int = 0, copy: bool = True, track: bool = False) -> list[Any]:
        self._check_open("recv_multipart")
        if self._recv_parts:
            msg = list(self._recv_parts)
            self._recv_parts.clear()
            peer = self._recv_peer
        else:
            msg, peer = self._next_message(flags)
            self._recv_peer = peer
        if copy:
            return msg
        props = peer.properties if peer is not None else None
        last = len(msg) - 1
        return [Frame(part, more=i < last, properties=props) for i, part in enumerate(msg)]

    def recv_string(self, flags: int = 0, encoding: str = "utf-8") -> str:
        data: bytes = self.recv(flags)
        return data.decode(encoding)

    recv_unicode = recv_string

    def recv_json(self, flags: int = 0, **kwargs: Any) -> Any:
        return json.loads(self.recv(flags), **kwargs)

    def recv_pyobj(self, flags: int = 0) -> Any:
        return pickle.loads(self.recv(flags))

    def recv_serialized(self, deserialize: Callable[[list[bytes]], Any], flags: int = 0,
                        copy: bool = True) -> Any:
        return deserialize(self.recv_multipart(flags))

    # -- polling ------------------------------------------------------------------------------
    def _events(self) -> int:
        if self._closed:
            return 0
        self._process_commands()
        mask = 0
        if self._recv_parts or self._routing.can_recv():
            mask |= PollEvent.POLLIN
        if self._routing.can_send():
            mask |= PollEvent.POLLOUT
        return mask

    def poll(self, timeout: int | None = None, flags: int = PollEvent.POLLIN) -> int:
        if self._closed:
            raise ZMQError(Errno.ENOTSUP, "poll: socket is closed")
        timeout_ms = -1 if timeout is None or timeout < 0 else int(timeout)

        def attempt() -> int | None:
            ready = self._events() & flags
            return ready if ready else None

        try:
            return self._wait_for(attempt, 0, timeout_ms, "poll")
        except Again:
            return 0

    # -- bind / connect -------------------------------------------------------------------------
    def bind(self, addr: str) -> Any:
        self._check_open(f"bind({addr!r})")
        if isinstance(addr, bytes):
            addr = addr.decode()
        if not isinstance(addr, str):
            raise TypeError(f"bind: expected str endpoint, got {type(addr).__name__}")
        try:
            ep = parse_endpoint(addr, bind=True)
        except ZMQError as exc:
            transport, _, address = addr.partition("://")
            if transport in ("tcp", "ipc"):
                # libzmq names the address without the transport in BIND_FAILED.
                self._monitor_event(Event.BIND_FAILED, exc.errno, address)
            raise
        if ep.transport == "inproc":
            self.context._inproc_bind(ep.address, self)
            resolved = str(ep)
            self._bound[resolved] = "inproc"
        else:
            opts = self._opts.snapshot()
            resolved = self.context._reactor_call(lambda: self._bind_stream(ep, opts))
        self._last_endpoint = resolved.encode()
        return _BindResult(self, resolved)

    def _bind_stream(self, ep: Endpoint, opts: SocketOptions) -> str:
        from .io.listener import Listener

        try:
            if ep.transport == "tcp":
                sock, resolved = tcp.listen(ep, ipv6=opts.ipv6, backlog=opts.backlog)
            else:
                sock, resolved = ipc.listen(ep, backlog=opts.backlog)
        except OSError as exc:
            code = exc.errno or Errno.EINVAL
            if isinstance(exc, _pysocket.gaierror):
                code = _errno.ENODEV
            fd = getattr(exc, "fd", None)
            if fd is not None:
                # libzmq closes the socket it made before reporting the failure.
                self._monitor_event(Event.CLOSED, fd, str(ep) if ep.transport == "ipc" else "")
            self._monitor_event(Event.BIND_FAILED, code, ep.address)
            raise ZMQError(code, f"bind({str(ep)!r}): {exc.strerror or exc}") from None
        listener = Listener(self.context._ensure_reactor(), sock, resolved, self)
        listener.options = opts  # type: ignore[attr-defined]
        self._listeners[resolved] = listener
        self._bound[resolved] = ep.transport
        self._monitor_event(Event.LISTENING, sock.fileno(), resolved)
        return resolved

    def bind_to_random_port(self, addr: str, min_port: int = 49152, max_port: int = 65536,
                            max_tries: int = 100) -> int:
        if min_port == 49152 and max_port == 65536:
            self.bind(f"{addr}:*")
            return int(self._last_endpoint.rsplit(b":", 1)[-1])
        for _ in range(max_tries):
            port = random.randrange(min_port, max_port)
            try:
                self.bind(f"{addr}:{port}")
            except ZMQError as exc:
                if exc.errno in (Errno.EADDRINUSE, Errno.EACCES if hasattr(Errno, "EACCES")
                                 else _errno.EACCES):
                    continue
                raise
            return port
        raise ZMQBindError("Could not bind socket to random port.")

    def connect(self, addr: str) -> Any:
        self._check_open(f"connect({addr!r})")
        if isinstance(addr, bytes):
            addr = addr.decode()
        if not isinstance(addr, str):
            raise TypeError(f"connect: expected str endpoint, got {type(addr).__name__}")
        ep = parse_endpoint(addr, bind=False)
        if ep.transport == "inproc":
            self.context._inproc_connect(ep.address, self)
            self._connect_eps[str(ep)] = "inproc"
        else:
            opts = self._opts.snapshot()
            peer: Peer | None = None
            if not opts.immediate and socket_types.info(self._type).pipe_at_connect:
                peer = self._new_peer(endpoint=str(ep))
                self._post(_ATTACH, peer)
            self.context._reactor_call(lambda: self._connect_stream(ep, opts, peer))
            self._connect_eps[str(ep)] = ep.transport
        self._last_endpoint = str(ep).encode()
        # As libzmq, the pipe is attached inside connect(): a SUB's subscriptions go out now.
        self._process_commands()
        return _BindResult(self, str(ep), connect=True)

    def _connect_stream(self, ep: Endpoint, opts: SocketOptions, peer: Peer | None) -> None:
        from .io.connecter import Connecter

        old = self._connecters.pop(str(ep), None)
        if old is not None:
            old.stop()
        self._connecters[str(ep)] = Connecter(self.context._ensure_reactor(), ep, opts, self, peer)

    def unbind(self, addr: str) -> None:
        self._check_open(f"unbind({addr!r})")
        if isinstance(addr, bytes):
            addr = addr.decode()
        kind = self._bound.pop(addr, None)
        if kind is None:
            raise ZMQError(Errno.ENOENT, f"unbind({addr!r}): endpoint is not bound")
        if kind == "inproc":
            self.context._inproc_unbind(addr.removeprefix("inproc://"), self)
            return

        def stop() -> None:
            listener = self._listeners.pop(addr, None)
            if listener is not None:
                listener.close()
            for engine in list(self._engines):
                if getattr(engine, "listener", None) is listener:
                    engine.close()

        self.context._reactor_call(stop)

    def disconnect(self, addr: str) -> None:
        self._check_open(f"disconnect({addr!r})")
        if isinstance(addr, bytes):
            addr = addr.decode()
        kind = self._connect_eps.pop(addr, None)
        if kind is None:
            raise ZMQError(Errno.ENOENT, f"disconnect({addr!r}): endpoint is not connected")
        if kind == "inproc":
            for peer, (other, other_peer) in list(self._inproc_links.items()):
                if peer.endpoint == addr:
                    self._unlink_inproc(peer, other, other_peer)
            return

        def stop() -> None:
            connecter = self._connecters.pop(addr, None)
            if connecter is None:
                return
            connecter.stop()
            if connecter.peer is not None:
                self._drop_peer(connecter.peer)
            for engine in list(self._engines):
                if getattr(engine, "connecter", None) is connecter:
                    engine.close()

        self.context._reactor_call(stop)

    # -- closing --------------------------------------------------------------------------------
    def close(self, linger: int | None = None) -> None:
        if self._closed:
            return
        linger_ms = self._opts.linger if linger is None else int(linger)
        self._process_commands()
        self._closed = True
        for peer, (other, other_peer) in list(self._inproc_links.items()):
            # As libzmq: inproc messages already sent stay readable, whatever LINGER says.
            self._unlink_inproc(peer, other, other_peer)
        self.context._inproc_forget(self)
        if self.context._reactor is not None:
            self.context._reactor.call_soon(lambda: self._close_streams(linger_ms))
        else:
            self.context._unregister(self)
        for peer in self._peers:
            peer.inbound.closed = True
            peer.outbound.closed = True
            # Whoever reads our outbound pipe learns that nothing more will come (a ZAP client
            # waiting on this handler fails with EPIPE; an engine just drains what is queued).
            peer.outbound.reader_wake()
        self._waker.wake()
        if self.context._reactor is None:
            self._stop_monitor()

    def _stop_monitor(self) -> None:
        monitor = self._monitor
        self._monitor = None
        if monitor is not None:
            monitor.stop()

    def _close_streams(self, linger_ms: int) -> None:
        """Reactor side of close(): stop listening; deliver what is queued within LINGER."""
        for listener in self._listeners.values():
            listener.close()
        self._listeners.clear()
        reactor = self.context._ensure_reactor()
        for connecter in list(self._connecters.values()):
            peer = connecter.peer
            connected = any(getattr(e, "connecter", None) is connecter for e in self._engines)
            if linger_ms != 0 and peer is not None and peer.outbound.readable() and not connected:
                # Messages wait for a connection that is not up yet: keep dialing (LINGER).
                connecter.lingering = True  # type: ignore[attr-defined]
                self._lingering.add(connecter)
                if linger_ms > 0:
                    reactor.call_later(linger_ms / 1000.0, partial(self._end_linger, connecter))
            else:
                connecter.stop()
        self._connecters.clear()
        self._linger_deadline = (
            None if linger_ms < 0 else time.monotonic() + linger_ms / 1000.0
        )
        for engine in list(self._engines):
            engine.start_linger(linger_ms)
        self._stop_monitor()
        self._maybe_finished()

    def _remaining_linger_ms(self) -> int:
        if self._linger_deadline is None:
            return -1
        return max(1, int((self._linger_deadline - time.monotonic()) * 1000))

    def _end_linger(self, connecter: Connecter) -> None:
        connecter.stop()
        self._lingering.discard(connecter)
        for engine in list(self._engines):
            if getattr(engine, "connecter", None) is connecter:
                engine.close()
        self._maybe_finished()

    def _maybe_finished(self) -> None:
        if self._closed and not self._engines and not self._lingering:
            self.context._unregister(self)

    def _unlink_inproc(self, peer: Peer, other: Any, other_peer: Peer,
                       keep_outbound: bool = True) -> None:
        self._inproc_links.pop(peer, None)
        if not keep_outbound:
            peer.outbound.clear()
        peer.outbound.closed = True
        peer.inbound.closed = True
        if hasattr(other, "_inproc_links"):
            other._inproc_links.pop(other_peer, None)
            other._post(_DETACH, other_peer)
        self._post(_DETACH, peer)

    def _drop_peer(self, peer: Peer) -> None:
        peer.inbound.closed = True
        peer.outbound.closed = True
        self._post(_DETACH, peer)

    # -- reactor callbacks ------------------------------------------------------------------
    def _zap_settings(self, opts: SocketOptions) -> ZapSettings:
        return ZapSettings(
            handler_present=self.context._zap_handler() is not None,
            domain=opts.zap_domain,
            enforce=opts.zap_enforce_domain,
        )

    def _start_engine(self, sock: _pysocket.socket, opts: SocketOptions, endpoint: str,
                      peer_addr: str, accepted: bool = False) -> StreamEngine:
        from .io.engine import StreamEngine
        from .io.mechanisms import make_mechanism

        tcp.tune(sock, keepalive=opts.tcp_keepalive, sndbuf=opts.sndbuf, rcvbuf=opts.rcvbuf)
        mechanism = make_mechanism(opts, self._zap_settings(opts))
        engine = StreamEngine(
            self.context._ensure_reactor(), sock, self, mechanism,
            socket_type=int(self._type), endpoint=endpoint, peer_address=peer_addr,
            max_message_size=opts.maxmsgsize, handshake_ivl_ms=opts.handshake_ivl,
            heartbeat_ivl_ms=opts.heartbeat_ivl, heartbeat_timeout_ms=opts.heartbeat_timeout,
            heartbeat_ttl_ms=opts.heartbeat_ttl, zap_domain=opts.zap_domain,
            routing_id=opts.routing_id, accepted=accepted,
        )
        self._engines.add(engine)
        return engine

    def _accepted(self, sock: _pysocket.socket, listener: Listener, peer_addr: str) -> None:
        if self._closed:
            sock.close()
            return
        opts: SocketOptions = getattr(listener, "options", self._opts)
        delay = self._auth_failures.delay(peer_addr, opts.failed_auth_backoff)
        if delay > 0:
            # This address keeps failing its handshakes: make it wait before we do any work.
            self.context._ensure_reactor().call_later(
                delay, partial(self._start_accepted, sock, listener, opts, peer_addr)
            )
            return
        self._start_accepted(sock, listener, opts, peer_addr)

    def _start_accepted(self, sock: _pysocket.socket, listener: Listener, opts: SocketOptions,
                        peer_addr: str) -> None:
        if self._closed or listener.closed:
            sock.close()
            return
        engine = self._start_engine(sock, opts, listener.endpoint, peer_addr, accepted=True)
        engine.listener = listener  # type: ignore[attr-defined]
        engine.connecter = None  # type: ignore[attr-defined]

    def _connected(self, sock: _pysocket.socket, connecter: Connecter, peer_addr: str) -> None:
        # A closed socket's connecters are stopped by _close_streams unless they linger.
        if connecter.stopped:
            sock.close()
            return
        engine = self._start_engine(sock, connecter.options, connecter.name, peer_addr)
        engine.listener = None  # type: ignore[attr-defined]
        engine.connecter = connecter  # type: ignore[attr-defined]

    def _engine_ready(self, engine: StreamEngine) -> Peer | None:
        routing_id = b""
        for key, value in engine.peer_properties.items():
            if key.lower() in ("identity", "routing-id"):
                routing_id = value
        props = dict(engine.properties)
        connecter: Connecter | None = getattr(engine, "connecter", None)
        if connecter is not None:
            connecter.handshake_succeeded()
        if connecter is not None and connecter in self._lingering:
            # Closed while dialing: this connection only delivers the queue, then ends.
            self._lingering.discard(connecter)
            connecter.stop()
            remaining = self._remaining_linger_ms()
            self.context._ensure_reactor().call_soon(lambda: engine.start_linger(remaining))
        peer = connecter.peer if connecter is not None else None
        if peer is not None:
            peer.routing_id = routing_id
            peer.properties = props
            peer.legacy = engine.peer_version < (3, 1)
            peer.outbound.closed = False
            peer.inbound.closed = False
            if getattr(connecter, "handshaken", False):
                self._post(_HICCUP, peer)
            connecter.handshaken = True  # type: ignore[union-attr]
            self._direct_engines.append(engine)
            return peer
        peer = self._new_peer(routing_id, props, engine.endpoint)
        peer.legacy = engine.peer_version < (3, 1)
        self._post(_ATTACH, peer)
        self._direct_engines.append(engine)
        return peer

    def _engine_closed(self, engine: StreamEngine, error: ZmtpError | None) -> None:
        self._engines.discard(engine)
        if engine in self._direct_engines:
            self._direct_engines.remove(engine)
        if getattr(engine, "listener", None) is not None:
            if engine.ready:
                self._auth_failures.succeeded(engine.peer_address)
            elif error is not None and error.event in _HANDSHAKE_FAILURES:
                self._auth_failures.failed(engine.peer_address)
        if (engine.ready or error is not None) and not self._closed:
            # libzmq reports DISCONNECTED after every connection error, handshake or not;
            # a local close reports nothing.
            self._monitor_event(Event.DISCONNECTED, engine.fd, engine.endpoint)
        connecter: Connecter | None = getattr(engine, "connecter", None)
        peer = engine.peer
        if peer is not None:
            peer.outbound.reader_wake = _noop
            if connecter is None or connecter.peer is not peer:
                self._drop_peer(peer)
        alive = not self._closed or connecter in self._lingering
        if connecter is not None and not connecter.stopped and alive:
            if error is not None and not error.reconnect:
                connecter.stop()
                self._connecters.pop(connecter.name, None)
                self._lingering.discard(connecter)
                if connecter.peer is not None:
                    self._drop_peer(connecter.peer)
            else:
                connecter.connection_lost()
        self._maybe_finished()

    def _monitor_event(self, event: int, value: int, endpoint: str) -> None:
        monitor = self._monitor
        if monitor is not None:
            monitor.emit(event, value, endpoint)

    def _inbound_wake(self) -> Callable[[], None]:
        return self._waker.wake

    def _zap_handler_attach(self, peer: Peer) -> bool:
        handler = self.context._zap_handler()
        if handler is None:
            return False
        peer.inbound.reader_wake = handler._waker.wake
        peer.outbound.writer_wake = handler._waker.wake
        handler._post(_ATTACH, peer)
        return True

    def _zap_handler_detach(self, peer: Peer) -> None:
        handler = self.context._zap_handler()
        peer.inbound.closed = True
        peer.outbound.closed = True
        if handler is not None:
            handler._post(_DETACH, peer)

    # -- monitor ----------------------------------------------------------------------------
    def monitor(self, addr: str | None, events: int = Event.ALL) -> None:
        self._check_open("monitor")
        from .monitor import SocketMonitor

        if self._monitor is not None:
            self._monitor.stop()
            self._monitor = None
        if addr is None:
            return
        self._monitor = SocketMonitor(self.context, addr, int(events))

    def get_monitor_socket(self, events: int | None = None, addr: str | None = None) -> Socket:
        from .constants import SocketType as _ST

        cached = self._monitor_socket
        if cached is not None and not cached.closed and addr is None:
            return cached  # pyzmq: the same monitor socket, the first mask stays
        if addr is None:
            addr = f"inproc://monitor.s-{id(self):x}-{random.getrandbits(32):x}"
        self.monitor(addr, Event.ALL if events is None else events)
        sock = self.context.socket(_ST.PAIR)
        sock.connect(addr)
        self._monitor_socket = sock
        return sock

    def disable_monitor(self) -> None:
        self._monitor_socket = None
        self.monitor(None, 0)


def _noop() -> None:
    return None


def _option_property(option: int, name: str) -> property:
    def getter(self: Socket) -> Any:
        try:
            return self.getsockopt(option)
        except ZMQError as exc:
            if exc.errno == Errno.EINVAL:  # pyzmq: unreadable option -> AttributeError
                raise AttributeError(f"{name}: {exc}") from None
            raise

    def setter(self: Socket, value: Any) -> None:
        self.setsockopt(option, value)

    return property(getter, setter, doc=f"The {name.upper()} socket option.")


# Attribute-style options (sock.linger = 0, sock.identity), as pyzmq. Properties rather than a
# __setattr__ hook, so the internal attributes on the hot path cost nothing extra.
for _option in SocketOption:
    if not hasattr(Socket, _option.name.lower()):
        setattr(Socket, _option.name.lower(), _option_property(_option, _option.name.lower()))
setattr(Socket, "identity", _option_property(SocketOption.ROUTING_ID, "identity"))
setattr(Socket, "failed_auth_backoff",
        _option_property(FAILED_AUTH_BACKOFF, "failed_auth_backoff"))


class _BindResult:
    """What bind()/connect() return: usable as a context manager that unbinds/disconnects."""

    def __init__(self, sock: Socket, addr: str, connect: bool = False) -> None:
        self.socket = sock
        self.addr = addr
        self._connect = connect

    def __enter__(self) -> Socket:
        return self.socket

    def __exit__(self, *exc: object) -> None:
        if self.socket.closed:
            return
        try:
            if self._connect:
                self.socket.disconnect(self.addr)
            else:
                self.socket.unbind(self.addr)
        except ZMQError:
            pass

