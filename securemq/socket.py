"""The synchronous Socket: pyzmq's API on the thread that uses it.

How this works: a Socket is a facade. Its routing strategy (``routing/``) decides which Peer a
message goes to or comes from, on the caller's thread. Everything with a file descriptor lives in
the socket's ``SocketSession`` (``io/session.py``) on the reactor thread; inproc links live in the
Context's ``InprocRegistry``. Peers arrive as commands (attach / hiccup / detach) in the socket's
``Mailbox``, applied at the start of every call, and every change that could unblock a caller (a
message in, room out, a command, close, term) wakes the socket's Waker. Blocking calls loop:
clear the waker, apply commands, try, wait -- without time slices, as no wake-up can be lost.
"""

from __future__ import annotations

import errno as _errno
import json
import logging
import pickle
import random
import threading
import time
import types
import warnings
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from . import readiness, routing, socket_types
from .audit import log_refusal
from .constants import (
    CURVE_SECRETKEYS,
    CURVE_SERVERKEYS,
    FAILED_AUTH_BACKOFF,
    FAILED_AUTH_LIMIT,
    SEQUENCE,
    Errno,
    Event,
    Flag,
    PollEvent,
    SocketOption,
    SocketType,
)
from .error import Again, ContextTerminated, DraftFDWarning, ZMQBindError, ZMQError
from .frame import Frame
from .io.fastpath import ReadLease
from .io.hub import ZAP_NAME, IOHub
from .io.session import SocketSession, pipe_at_connect
from .io.status import ConnectionStatus
from .io.streams import WS_TRANSPORTS, require_ws, tls_context
from .monitor import SocketMonitor
from .options import SOCKET_HANDLED, SocketOptions, option_name
from .pipe import ATTACH, HICCUP, ConflatePipe, Mailbox, Peer, Waker
from .routing.draft import decode_routing_id, encode_routing_id
from .stats import socket_stats
from .tracker import FINISHED_TRACKER, MessageTracker
from .transports.endpoint import parse_endpoint
from .transports.inproc import InprocEnd


class SocketHost(Protocol):
    """What a socket needs of its Context: its I/O services (``Context.io``)."""

    io: IOHub

    def socket(self, socket_type: int, **kwargs: Any) -> Any: ...


T = TypeVar("T")

# Plain ints for the hot paths (IntFlag arithmetic builds enum members).
_DONTWAIT = int(Flag.DONTWAIT)
_SNDMORE = int(Flag.SNDMORE)
_SEND_TYPES = (bytes, bytearray, memoryview)



_sequence_log = logging.getLogger("securemq.sequence")


def _report_loss_of(ref: weakref.ReferenceType[Socket]) -> Callable[[Peer, int, int], None]:
    """How a SUB/XSUB reports a SEQUENCE gap: a log line and a MESSAGES_LOST monitor event
    (without the routing keeping the socket alive)."""

    def report(peer: Peer, lost: int, total: int) -> None:
        where = peer.endpoint or "inproc"
        _sequence_log.warning("lost %d message(s) from the publisher at %s (%d in all)",
                              lost, where, total)
        sock = ref()
        if sock is not None:
            sock._monitor.emit(Event.MESSAGES_LOST, lost, where)

    return report


def _end_peer_of(ref: weakref.ReferenceType[Socket]) -> Callable[[Peer], None]:
    """The routing's way to end a peer's connection, without the routing keeping the socket
    alive (a bound method would make a cycle the collector must break)."""

    def end_peer(peer: Peer) -> None:
        sock = ref()
        if sock is not None:
            sock._end_peer(peer)

    return end_peer


class _MonitorSlot:
    """The socket's monitor, if one runs: where its session's events go (any thread)."""

    __slots__ = ("monitor",)

    def __init__(self) -> None:
        self.monitor: SocketMonitor | None = None

    def emit(self, event: int, value: int, endpoint: str) -> None:
        monitor = self.monitor
        if monitor is not None:
            monitor.emit(event, value, endpoint)

    def stop(self) -> None:
        monitor, self.monitor = self.monitor, None
        if monitor is not None:
            monitor.stop()


def _send_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Take send()'s own keywords out of ``kwargs`` (send_json passes the rest to json)."""
    return {key: kwargs.pop(key) for key in ("routing_id", "group", "track") if key in kwargs}


def _as_bytes(data: Any, what: str = "send") -> bytes:
    if isinstance(data, Frame):  # (first: on Python 3.11 a Frame is a bytes too)
        return data.bytes
    if isinstance(data, bytes):
        return data
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


# Sockets by ``underlying`` address, for ``Socket.shadow(address)``.
_BY_ADDRESS: weakref.WeakValueDictionary[int, Socket] = weakref.WeakValueDictionary()
# pyzmq: frames smaller than this are copied even with copy=False (here every frame is bytes).
COPY_THRESHOLD = 65536


def _shadowed(shadow: Socket | int) -> Socket:
    if isinstance(shadow, Socket):
        return shadow
    original = _BY_ADDRESS.get(int(shadow))
    if original is None:
        raise ZMQError(Errno.ENOTSOCK, f"Socket.shadow({shadow!r}): no such socket")
    return original


class Socket:
    """A ZeroMQ socket. Create it with ``Context.socket(type)``."""

    def __class_getitem__(cls, item: Any) -> types.GenericAlias:
        """pyzmq's Socket is ``Generic`` too: ``zmq.Socket[bytes]`` annotates and subclasses."""
        return types.GenericAlias(cls, item)

    _closed: bool
    _shadow: bool
    _shadow_obj: Socket | None
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
    failed_auth_limit: int
    sequence: int
    curve_secretkeys: list[bytes]
    curve_serverkeys: list[bytes]

    # Per-object (not shared with shadows): whether this object shadows another socket, and
    # the socket it shadows (held, so the state outlives its original facade).
    __slots__ = ("__dict__", "__weakref__", "_shadow", "_shadow_obj")

    def __new__(cls, ctx_or_socket: Any = None, socket_type: int = 0, **kwargs: Any) -> Any:
        # The draft types are thread-safe in libzmq: Socket(ctx, SERVER) makes one that is.
        if cls is Socket and not kwargs.get("shadow") and not isinstance(ctx_or_socket, Socket):
            facts = socket_types.SOCKET_TYPES.get(socket_type)
            if facts is not None and facts.thread_safe:
                cls = ThreadSafeSocket
        return object.__new__(cls)

    def __init__(
        self,
        ctx_or_socket: SocketHost | Socket | None = None,
        socket_type: int = 0,
        *,
        shadow: Socket | int = 0,
        copy_threshold: int | None = None,
    ) -> None:
        if isinstance(ctx_or_socket, Socket):
            shadow, ctx_or_socket = ctx_or_socket, None  # Socket(other): a shadow (pyzmq)
        if shadow:
            original = _shadowed(shadow)
            self._shadow = True
            self._shadow_obj = original
            # One socket, two facades: they share every attribute (options, pipes, session).
            self.__dict__ = original.__dict__
            self._adopt_shadow()
            return
        self._shadow = False
        self._shadow_obj = None
        if ctx_or_socket is None:
            raise TypeError("Socket(): a Context (or shadow=) is required")
        context = ctx_or_socket
        try:
            stype = SocketType(socket_type)
        except ValueError:
            raise ZMQError(Errno.EINVAL, f"socket({socket_type}): unknown socket type") from None
        self._closed = False
        # The Context (typed loosely: this module must not import context.py, which imports it).
        self.context: Any = context
        self._hub: IOHub = context.io
        if self._hub.terminated:
            raise ZMQError(Errno.ETERM, "socket(): context was terminated")
        self.copy_threshold = COPY_THRESHOLD if copy_threshold is None else copy_threshold
        self._type = stype
        self._opts = SocketOptions(int(stype))
        self._routing = routing.create(int(stype), self._opts)
        self._routing.disconnect_peer = _end_peer_of(weakref.ref(self))
        if hasattr(self._routing, "report_loss"):  # (SUB, XSUB: SEQUENCE gaps)
            self._routing.report_loss = _report_loss_of(weakref.ref(self))
        self._routing.authz.report = log_refusal  # (authorization refusals, securemq/audit.py)
        # PULL/SUB: messages the routing took in a batch, popped here without a routing call.
        self._ready_batch = self._routing.ready_batch()
        self._waker = Waker()
        self._mailbox = Mailbox(self._waker)
        self._commands = self._mailbox.commands
        self._peers: set[Peer] = set()
        self._closing_peers: set[Peer] = set()
        self._recv_parts: deque[bytes] = deque()
        self._recv_peer: Peer | None = None
        self._send_parts: list[bytes] = []
        self._last_endpoint = b""
        self._bound: dict[str, str] = {}  # resolved endpoint -> "tcp"/"ipc"/"inproc"
        self._connect_eps: dict[str, str] = {}
        self._monitor = _MonitorSlot()
        self._monitor_socket: Socket | None = None
        self._inproc = InprocEnd(int(stype), self._opts, self._mailbox)
        # The reactor side, made on the reactor thread by the first tcp/ipc bind or connect.
        self._session: SocketSession | None = None
        self._session_posted = False  # (a call that makes the session is on its way)
        self._read_lease: ReadLease | None = None
        self._connect_peer: Peer | None = None  # the peer of the last tcp/ipc/udp connect()
        # What became of the connections (written by the session, read by wait_ready).
        self._status = ConnectionStatus(self._waker.wake)
        self._hub.opened(self._mailbox, self)
        _BY_ADDRESS[id(self._mailbox)] = self

    def _adopt_shadow(self) -> None:
        """A new facade joins existing state (subclasses add what they keep there)."""

    @classmethod
    def shadow(cls, address: int | Socket) -> Socket:
        """A facade of this class over an existing socket (``socket.underlying``), as pyzmq."""
        return cls(shadow=address)

    @property
    def underlying(self) -> int:
        """An address for ``Socket.shadow`` (pyzmq: the libzmq socket pointer)."""
        return id(self._mailbox)

    def __copy__(self, memo: Any = None) -> Socket:
        return self.__class__.shadow(self.underlying)

    __deepcopy__ = __copy__

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

    def __del__(self) -> None:
        # As pyzmq: a socket nobody references any more is closed (with its LINGER), so that
        # Context.term() does not wait for it for ever.
        if not getattr(self, "_shadow", True) and not getattr(self, "_closed", True):
            if warnings is not None:  # (None during interpreter shutdown)
                warnings.warn(f"unclosed socket {self!r}", ResourceWarning, stacklevel=2,
                              source=self)
            try:
                self.close()
            except Exception:
                pass

    def _check_open(self, what: str) -> None:
        if self._closed:
            raise ZMQError(Errno.ENOTSOCK, f"{what}: socket is closed")

    # -- options --------------------------------------------------------------------------
    def setsockopt(self, option: int, value: Any) -> None:
        if self._closed:  # (the message is built only when it is needed)
            self._check_open(f"setsockopt({option_name(option)})")
        code = int(option)
        if code in (SocketOption.SUBSCRIBE, SocketOption.UNSUBSCRIBE):
            topic = value
            if isinstance(topic, str):  # (pyzmq: subscribe() encodes, setsockopt refuses)
                raise TypeError(f"setsockopt({option_name(code)}): unicode not allowed, "
                                "use setsockopt_string")
            if not isinstance(topic, bytes | bytearray | memoryview):
                raise TypeError(f"setsockopt({option_name(code)}): expected bytes")
            manual = self._type == SocketType.XPUB and self._opts.xpub_manual
            if not socket_types.info(self._type).subscriber and not manual:
                raise ZMQError(
                    Errno.EINVAL,
                    f"setsockopt({option_name(code)}): only SUB and XSUB sockets subscribe "
                    "(and XPUB with XPUB_MANUAL)",
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
        if self._closed:  # (the message is built only when it is needed)
            self._check_open(f"getsockopt({option_name(option)})")
        code = int(option)
        if code == SocketOption.TYPE:
            return int(self._type)
        if code == SocketOption.RCVMORE:
            return int(bool(self._recv_parts))
        if code == SocketOption.EVENTS:
            # libzmq's FD is edge-triggered: reading EVENTS consumes the signal, so FD turns
            # readable again only on the next change (a message in, room out, a peer).
            self._waker.clear()
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
            return int(socket_types.info(self._type).thread_safe)
        if code == SocketOption.TOPICS_COUNT:
            count = getattr(self._routing, "topics_count", None)
            if count is None:
                raise ZMQError(Errno.EINVAL, "getsockopt(TOPICS_COUNT): only PUB, SUB, XPUB "
                               "and XSUB sockets have subscriptions")
            self._process_commands()
            return int(count())
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
    setsockopt_unicode = setsockopt_string
    getsockopt_unicode = getsockopt_string

    def fileno(self) -> int:
        """The edge-triggered FD (pyzmq): readable means "read EVENTS, then drain"."""
        return int(self.getsockopt(SocketOption.FD))

    def get_hwm(self) -> int:
        return int(self.getsockopt(SocketOption.SNDHWM))

    def set_hwm(self, value: int) -> None:
        self.setsockopt(SocketOption.SNDHWM, value)
        self.setsockopt(SocketOption.RCVHWM, value)

    def subscribe(self, topic: bytes | str) -> None:
        """Subscribe to a topic (str is UTF-8 encoded here; setsockopt takes bytes only)."""
        self.setsockopt(SocketOption.SUBSCRIBE,
                        topic.encode("utf-8") if isinstance(topic, str) else topic)

    def unsubscribe(self, topic: bytes | str) -> None:
        self.setsockopt(SocketOption.UNSUBSCRIBE,
                        topic.encode("utf-8") if isinstance(topic, str) else topic)

    # -- commands from the reactor and inproc peers -------------------------------------------
    def _process_commands(self) -> None:
        commands = self._commands
        while commands:
            op, peer = commands.popleft()
            if op == ATTACH:
                if peer not in self._peers:
                    self._peers.add(peer)
                    self._routing.authz.admit(peer)  # ZAP's rules, if any (routing/authz.py)
                    self._routing.attach(peer)
            elif op == HICCUP:
                if peer in self._peers:
                    self._routing.authz.admit(peer)
                    self._routing.hiccup(peer)
            elif peer in self._peers:
                self._closing_peers.add(peer)
        if self._closing_peers:
            for peer in list(self._closing_peers):
                if not peer.inbound.readable() and not self._routing.holds(peer):
                    self._closing_peers.discard(peer)
                    self._peers.discard(peer)
                    self._routing.detach(peer)
                    self._routing.authz.forget(peer)

    def _end_peer(self, peer: Peer) -> None:
        """The routing is done with ``peer`` (STREAM's empty message): forget it here, and let
        the session end its connection after what is queued for it."""
        self._peers.discard(peer)
        self._closing_peers.discard(peer)
        session, reactor = self._session, self._hub.reactor_if_running
        if session is not None and reactor is not None:
            reactor.call_soon(lambda: session.end_peer(peer))

    # -- waiting ------------------------------------------------------------------------------
    def _wait_for(self, attempt: Callable[[], T | None], flags: int, timeout_ms: int,
                  what: str, reading: bool = False, tried: bool = False) -> T:
        """Retry ``attempt`` until it gives a result; ``tried``: the caller just tried once."""
        if not tried:
            result = attempt()
            if result is not None:
                return result
        if flags & _DONTWAIT or timeout_ms == 0:
            # Nothing pending: as libzmq, this consumes the FD's signal. Clear, then look
            # once more (a change that raced with the clear is seen here, not lost).
            self._waker.clear()
            result = attempt()
            if result is not None:
                return result
            raise Again(Errno.EAGAIN, "Resource temporarily unavailable")
        deadline = None if timeout_ms < 0 else time.monotonic() + timeout_ms / 1000.0
        waker = self._waker
        hub = self._hub
        # Wait, then clear the waker and try again: a wake-up that comes after a failed
        # attempt leaves the waker set, so the next wait returns at once (none is lost). Every
        # change that can end the wait wakes the waker (a message in, room out, a peer
        # attached, close(), term()), so the wait needs no time slices.
        while True:
            if hub.terminated:
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
        """With exactly one connection, lease its read side for this wait and read it on this
        thread (io/fastpath.py). False when no lease is possible now."""
        session = self._session
        if session is None:
            return False
        engines = session.ready_engines
        if len(engines) != 1:
            if self._read_lease is not None:
                self._read_lease.give_back()
            return False
        try:
            engine = engines[0]
        except IndexError:
            return False
        lease = self._read_lease
        if lease is None or lease.engine is not engine:
            lease = self._read_lease = ReadLease(engine, self._waker.fileno())
        if not lease.take():
            return False
        try:
            lease.wait(-1 if wait is None else int(wait * 1000))
        finally:
            lease.end()
        return True

    # -- sending ------------------------------------------------------------------------------
    def send(self, data: Any, flags: int = 0, copy: bool = True, track: bool = False,
             routing_id: int | None = None, group: str | None = None) -> MessageTracker | None:
        """Send one frame (with SNDMORE: a part of a message sent with its last part).

        ``track=True`` returns a MessageTracker, as pyzmq; it is done at once, because the
        message is already copied (bytes are immutable; other buffers are copied here), so
        the caller may reuse its buffer as soon as send() returns.
        """
        if self._closed:
            self._check_open("send")
        part = data if type(data) is bytes else _as_bytes(data)
        if flags & 2:  # SNDMORE
            self._send_parts.append(part)
            return FINISHED_TRACKER if track else None
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
            return FINISHED_TRACKER if track else None
        try:
            self._send_message(msg, flags)
        except Again:
            self._send_parts[:0] = msg[:-1]
            raise
        return FINISHED_TRACKER if track else None

    def _send_message(self, msg: list[bytes], flags: int) -> None:
        routing = self._routing  # (its send is looked up per try: attach and detach rebind it)
        process = self._process_commands

        def attempt() -> bool | None:
            if self._commands or self._closing_peers:
                process()
            return True if routing.send(msg) else None

        self._wait_for(attempt, flags, self._opts.sndtimeo, "send")

    def send_multipart(self, msg_parts: Sequence[Any], flags: int = 0, copy: bool = True,
                       track: bool = False, **kwargs: Any) -> MessageTracker | None:
        if self._closed:
            self._check_open("send_multipart")
        parts = list(msg_parts)
        for index, part in enumerate(parts):
            if type(part) is not bytes:
                if isinstance(part, str):
                    raise TypeError(
                        f"send_multipart: frame {index} ({part[:32]!r}) is str; "
                        "unicode not allowed, encode it first"
                    )
                parts[index] = _as_bytes(part, f"send_multipart frame {index}")
        if not parts:
            raise ValueError("send_multipart: a message needs at least one frame")
        if flags & _SNDMORE:
            self._send_parts.extend(parts)
            return FINISHED_TRACKER if track else None
        if self._send_parts:
            parts = self._send_parts + parts
            self._send_parts = []
        # Fast path (as send's): nothing pending from the reactor and the routing takes it.
        routing = self._routing
        if not self._commands and not self._closing_peers and routing.send(parts):
            if routing.dropped:
                time.sleep(0)  # (see send)
            return FINISHED_TRACKER if track else None
        self._send_message(parts, flags)
        return FINISHED_TRACKER if track else None

    # As pyzmq's: the keyword arguments of send (routing_id=, group= on the draft types, track=)
    # pass through; send_json keeps the json ones for json.dumps.
    def send_string(self, u: str, flags: int = 0, copy: bool = True,
                    encoding: str = "utf-8", **kwargs: Any) -> MessageTracker | None:
        if not isinstance(u, str):
            raise TypeError("send_string: str objects only")
        return self.send(u.encode(encoding), flags, copy, **kwargs)

    send_unicode = send_string

    def send_json(self, obj: Any, flags: int = 0, **kwargs: Any) -> MessageTracker | None:
        send_kwargs = _send_kwargs(kwargs)
        return self.send(json.dumps(obj, **kwargs).encode("utf-8"), flags, **send_kwargs)

    def send_pyobj(self, obj: Any, flags: int = 0, protocol: int = pickle.DEFAULT_PROTOCOL,
                   **kwargs: Any) -> MessageTracker | None:
        return self.send(pickle.dumps(obj, protocol), flags, **kwargs)

    def send_serialized(self, msg: Any, serialize: Callable[[Any], list[bytes]],
                        flags: int = 0, copy: bool = True,
                        **kwargs: Any) -> MessageTracker | None:
        return self.send_multipart(serialize(msg), flags, copy, **kwargs)

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
        if self._closed:
            self._check_open("recv_multipart")
        if self._recv_parts:
            msg = list(self._recv_parts)
            self._recv_parts.clear()
            peer = self._recv_peer
        else:
            # Fast path (as recv's): a message the routing has at once.
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

    def recv_into(self, buffer: Any, /, *, nbytes: int = 0, flags: int = 0) -> int:
        """Receive one frame into ``buffer`` (at most ``nbytes``, or its length when 0);
        returns the frame's full size, which may exceed what was stored (as zmq_recv)."""
        view = memoryview(buffer).cast("B")
        if view.readonly:
            raise TypeError("recv_into: the buffer is read-only")
        if nbytes < 0:
            raise ValueError(f"recv_into: nbytes must be >= 0, got {nbytes}")
        limit = len(view) if nbytes == 0 else min(nbytes, len(view))
        data: bytes = self.recv(flags)
        stored = min(limit, len(data))
        view[:stored] = data[:stored]
        return len(data)

    # -- polling ------------------------------------------------------------------------------
    def _events(self) -> int:
        if self._closed:
            return 0
        if self._read_lease is not None:
            self._read_lease.give_back()  # (what arrives next must wake the waker)
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
    def _io(self) -> SocketSession:
        """The socket's session (reactor thread only: it is made there, on first use)."""
        session = self._session
        if session is None:
            hub, mailbox = self._hub, self._mailbox

            def finished() -> None:
                # Closed and done lingering: release the waker's descriptors now.
                hub.finished(mailbox)
                mailbox.waker.close()

            session = self._session = SocketSession(
                hub, int(self._type), mailbox, self._monitor, on_finished=finished,
                status=self._status,
            )
        return session

    def _monitor_event(self, event: int, value: int, endpoint: str) -> None:
        self._monitor.emit(event, value, endpoint)

    def bind(self, addr: str) -> Any:
        if self._closed:  # (the message is built only when it is needed)
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
        self._check_transport(ep.transport, bind=True, addr=addr)
        if ep.transport == "inproc":
            self._hub.inproc.bind(ep.address, self._inproc)
            if ep.address == ZAP_NAME:
                self._hub.reactor()  # handshakes will ask this handler from the I/O thread
            resolved = str(ep)
        else:
            opts = self._opts.snapshot()
            resolved = self._hub.call(lambda: self._io().bind(ep, opts))
        self._bound[resolved] = ep.transport
        self._last_endpoint = resolved.encode()
        return _BindResult(self, resolved)

    def _check_transport(self, transport: str, *, bind: bool, addr: str) -> None:
        """libzmq's socket_base check_protocol: udp:// only for RADIO/DISH (DGRAM), and each
        only in its direction; other transports are for every type but those."""
        facts = socket_types.info(self._type)
        verb = "bind" if bind else "connect"
        if transport == "udp":
            allowed = facts.udp_bind if bind else facts.udp_connect
            if not allowed:
                raise ZMQError(Errno.ENOCOMPATPROTO,
                               f"{verb}({addr!r}): udp:// is not for a {self._type.name} "
                               f"socket that {'binds' if bind else 'connects'}")
        if facts.raw and transport not in ("tcp", "ipc"):
            raise ZMQError(Errno.ENOCOMPATPROTO,
                           f"{verb}({addr!r}): a STREAM socket speaks raw bytes over tcp:// "
                           "and ipc:// only")
        if transport in WS_TRANSPORTS:
            require_ws(verb, addr)
            if transport == "wss" and not bind:
                tls_context(self._opts, server=False, endpoint=addr)  # a bad PEM fails here

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
                if exc.errno in (Errno.EADDRINUSE, _errno.EACCES):
                    continue
                raise
            return port
        raise ZMQBindError("Could not bind socket to random port.")

    def connect(self, addr: str) -> Any:
        if self._closed:  # (the message is built only when it is needed)
            self._check_open(f"connect({addr!r})")
        if isinstance(addr, bytes):
            addr = addr.decode()
        if not isinstance(addr, str):
            raise TypeError(f"connect: expected str endpoint, got {type(addr).__name__}")
        ep = parse_endpoint(addr, bind=False)
        self._check_transport(ep.transport, bind=False, addr=addr)
        rid = self._opts.connect_routing_id
        if rid:
            self._process_commands()
            if isinstance(self._routing, routing.Router) and self._routing.has_routing_id(rid):
                # libzmq asserts ("Not allowed to duplicate an existing rid").
                raise ZMQError(Errno.EINVAL, f"connect({addr!r}): CONNECT_ROUTING_ID {rid!r} "
                               "already names a peer of this socket")
        opts = self._opts.snapshot()
        self._opts.take_connect_routing_id()  # (it names the peer of this connect only)
        if ep.transport == "inproc":
            self._connect_peer = None
            posted = len(self._commands)
            self._hub.inproc.connect(ep.address, self._inproc)
            for op, view in list(self._commands)[posted:]:
                if op == ATTACH and view.endpoint == str(ep):  # our side of the new link
                    _adopt_inproc_view(view, opts)
        else:
            peer: Peer | None = None
            if pipe_at_connect(int(self._type), opts) or (rid and not opts.immediate):
                # (ROUTER: a pipe at connect() only when it already has its name, as libzmq)
                peer = self._mailbox.new_peer(opts.rcvhwm, opts.sndhwm, conflate=opts.conflate,
                                              routing_id=rid, endpoint=str(ep))
                if opts.probe_router:
                    peer.outbound.force_write([b""])  # PROBE_ROUTER: first on the new pipe
                self._mailbox.post(ATTACH, peer)
            self._connect_peer = peer
            if ep.transport == "udp":  # (a bad group or interface is an error of connect())
                self._hub.call(lambda: self._io().connect(ep, opts, peer))
            else:
                # As libzmq, connect() does not wait for the I/O thread: the connecter reports
                # every failure of its own (monitor events, retries), and what this socket asks
                # of the reactor later (close, disconnect, ...) runs after it, in order.
                self._session_posted = True
                self._hub.post(lambda: self._io().connect(ep, opts, peer))
        text = str(ep)
        self._connect_eps[text] = ep.transport
        self._last_endpoint = text.encode()
        # As libzmq, the pipe is attached inside connect(): a SUB's subscriptions go out now.
        self._process_commands()
        return _BindResult(self, text, connect=True)

    def unbind(self, addr: str) -> None:
        if self._closed:  # (the message is built only when it is needed)
            self._check_open(f"unbind({addr!r})")
        if isinstance(addr, bytes):
            addr = addr.decode()
        kind = self._bound.pop(addr, None)
        if kind is None:
            raise ZMQError(Errno.ENOENT, f"unbind({addr!r}): endpoint is not bound")
        if kind == "inproc":
            self._hub.inproc.unbind(addr.removeprefix("inproc://"), self._inproc)
            return
        self._hub.call(lambda: self._io().unbind(addr))

    def disconnect(self, addr: str) -> None:
        if self._closed:  # (the message is built only when it is needed)
            self._check_open(f"disconnect({addr!r})")
        if isinstance(addr, bytes):
            addr = addr.decode()
        kind = self._connect_eps.pop(addr, None)
        if kind is None:
            raise ZMQError(Errno.ENOENT, f"disconnect({addr!r}): endpoint is not connected")
        if kind == "inproc":
            self._hub.inproc.disconnect(self._inproc, addr)
            return
        self._hub.call(lambda: self._io().disconnect(addr))

    # -- closing --------------------------------------------------------------------------------
    def close(self, linger: int | None = None) -> None:
        if self._closed:
            return
        linger_ms = self._opts.linger if linger is None else int(linger)
        self._process_commands()
        self._closed = True
        self._inproc.closed = True
        # As libzmq: inproc messages already sent stay readable, whatever LINGER says.
        self._hub.inproc.close(self._inproc)
        for peer in self._peers:
            peer.inbound.closed = True
            peer.outbound.closed = True
            # Whoever reads our outbound pipe learns that nothing more will come (a ZAP client
            # waiting on this handler fails with EPIPE; an engine just drains what is queued).
            peer.outbound.reader_wake()
        self._waker.wake()
        reactor = self._hub.reactor_if_running
        session = self._session
        if session is not None and reactor is not None:
            reactor.call_soon(lambda: session.close(linger_ms))
        elif self._session_posted and reactor is not None:
            # A connect() posted just before has not made the session yet: close it after.
            reactor.call_soon(lambda: self._io().close(linger_ms))
        else:
            self._monitor.stop()
            self._hub.finished(self._mailbox)
            self._waker.close()

    # -- knowing whether we are connected (securemq) ---------------------------------------
    def wait_ready(self, timeout: float | None = None) -> None:
        """Return once a connection of this socket has completed its handshake (an inproc peer
        counts). Raise ``AuthenticationFailed`` (the server refused us: ``status``, ``reason``)
        or ``ServerKeyRejected`` (a CURVE server hung up after our HELLO: wrong server key) as
        soon as a connect() fails so, ``ReconnectStopped`` when RECONNECT_STOP ended every
        connect(), and ``HandshakeTimeout`` (an ``Again``) after ``timeout`` seconds."""
        self._check_open("wait_ready")
        readiness.wait_ready(self, timeout)

    def wait_for_subscribers(self, count: int = 1, timeout: float | None = None) -> int:
        """PUB/XPUB: wait until ``count`` peers have each sent at least one subscription (the
        cure for the slow joiner: messages published before that are dropped by design);
        returns how many there are. ``WaitTimeout`` (an ``Again``) after ``timeout`` s."""
        self._check_open("wait_for_subscribers")
        counter = getattr(self._routing, "subscriber_count", None)
        if counter is None:
            raise ZMQError(Errno.ENOTSUP,
                           f"wait_for_subscribers: not for a {self._type.name} socket "
                           "(PUB and XPUB only)")
        return readiness.wait_for_subscribers(self, count, timeout, counter)

    def sequence_counts(self) -> list[dict[str, Any]]:
        """SEQUENCE on a SUB/XSUB: per publisher connection (current and recent ones), the
        messages received and lost (gaps in its stamps): ``[{"endpoint", "received", "lost"}]``."""
        self._check_open("sequence_counts")
        checker = getattr(self._routing, "checker", None)
        if checker is None:
            return []
        return [{"endpoint": c.endpoint, "received": c.received, "lost": c.lost}
                for c in checker.counts()]

    def stats(self) -> dict[str, Any]:
        """This socket's statistics (securemq): connections up now, connects, disconnects,
        reconnects, handshake failures by kind, throttled addresses, messages and bytes in and
        out, messages dropped at the HWM, queue depths, per peer too (``peers``); ``lost`` with
        SEQUENCE, ``refused`` with authorization rules. ``securemq.stats.PrometheusCollector``
        exports them."""
        self._check_open("stats")
        self._process_commands()
        return socket_stats(self._type.name, self._peers, self._status, self._routing)

    def _has_inproc_peer(self) -> bool:
        return any(peer.endpoint.startswith("inproc://") for peer in list(self._peers))

    # -- authorization (securemq) --------------------------------------------------------------
    @property
    def authz_counts(self) -> dict[str, int]:
        """What the authorization rules from ZAP refused on this socket, by kind (counters
        since the socket was made; each refusal is also logged on ``securemq.authz``)."""
        self._check_open("authz_counts")
        self._process_commands()
        return dict(self._routing.authz.counts)

    # -- monitor ----------------------------------------------------------------------------
    def monitor(self, addr: str | None, events: int = Event.ALL) -> None:
        self._check_open("monitor")
        self._monitor.stop()
        if addr is None:
            return
        self._monitor.monitor = SocketMonitor(
            lambda: self.context.socket(SocketType.PAIR), addr, int(events)
        )

    def get_monitor_socket(self, events: int | None = None, addr: str | None = None) -> Socket:
        cached = self._monitor_socket
        if cached is not None and not cached.closed and addr is None:
            return cached  # pyzmq: the same monitor socket, the first mask stays
        if addr is None:
            addr = f"inproc://monitor.s-{id(self):x}-{random.getrandbits(32):x}"
        self.monitor(addr, Event.ALL if events is None else events)
        sock: Socket = self.context.socket(SocketType.PAIR)
        sock.connect(addr)
        self._monitor_socket = sock
        return sock

    def disable_monitor(self) -> None:
        self._monitor_socket = None
        self.monitor(None, 0)


def _noop() -> None:
    return None


def _adopt_inproc_view(view: Peer, opts: SocketOptions) -> None:
    """The options of an inproc connect that libzmq applies to the new pipe pair: CONFLATE
    (only the connecting side's counts, as in libzmq's connect_internal), CONNECT_ROUTING_ID
    and PROBE_ROUTER."""
    if opts.conflate:
        # Fresh pipes of the same layout: ConflatePipe only changes how they are written.
        view.inbound.__class__ = ConflatePipe
        view.outbound.__class__ = ConflatePipe
    if opts.connect_routing_id:
        view.routing_id = opts.connect_routing_id
    if opts.probe_router:
        view.outbound.force_write([b""])


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
    # pyzmq also takes the upper-case names (sock.LINGER = 0, sock.FD).
    if not hasattr(Socket, _option.name):
        setattr(Socket, _option.name, _option_property(_option, _option.name.lower()))
setattr(Socket, "identity", _option_property(SocketOption.ROUTING_ID, "identity"))
setattr(Socket, "IDENTITY", _option_property(SocketOption.ROUTING_ID, "identity"))
setattr(Socket, "failed_auth_backoff",
        _option_property(FAILED_AUTH_BACKOFF, "failed_auth_backoff"))
setattr(Socket, "failed_auth_limit", _option_property(FAILED_AUTH_LIMIT, "failed_auth_limit"))
setattr(Socket, "sequence", _option_property(SEQUENCE, "sequence"))
# CURVE key rotation (securemq): lists of keys, see docs/SECURITY.md.
setattr(Socket, "curve_secretkeys", _option_property(CURVE_SECRETKEYS, "curve_secretkeys"))
setattr(Socket, "curve_serverkeys", _option_property(CURVE_SERVERKEYS, "curve_serverkeys"))


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



class ThreadSafeSocket(Socket):
    """A socket of a draft type (SERVER, CLIENT, RADIO, DISH, GATHER, SCATTER, PEER, CHANNEL):
    usable from several threads at once, single-part, with pyzmq's draft API.

    How this works: one lock serializes every call. A blocking call waits on a condition of
    that lock, which every wake of the socket's waker notifies (a message in, room out, a peer,
    close, term), so any number of threads can wait on one socket and none misses a wake-up.
    Messages travel through the routing as libzmq's draft types carry them (routing/draft.py):
    ``[routing_id, body]`` for SERVER and PEER, ``[group, body]`` for RADIO and DISH.
    """

    def __init__(self, ctx_or_socket: Any = None, socket_type: int = 0, **kwargs: Any) -> None:
        super().__init__(ctx_or_socket, socket_type, **kwargs)
        if "_ts_lock" not in self.__dict__:
            self._ts_lock = threading.RLock()
            self._ts_ready = threading.Condition(self._ts_lock)
            self._waker.add_callback(self._ts_notify)
        kind = self._type
        self._addressed = kind in (SocketType.SERVER, SocketType.PEER)
        self._grouped = kind in (SocketType.RADIO, SocketType.DISH)

    def _ts_notify(self) -> None:
        with self._ts_lock:
            self._ts_ready.notify_all()

    def _ts_wait(self, attempt: Callable[[], T | None], flags: int, timeout_ms: int,
                 what: str) -> T:
        """``attempt`` under the lock until it gives a result (see the class comment)."""
        with self._ts_lock:
            deadline = None if timeout_ms < 0 else time.monotonic() + timeout_ms / 1000.0
            while True:
                if self._closed:
                    raise ZMQError(Errno.ENOTSOCK, f"{what}: socket was closed")
                if self._hub.terminated:
                    raise ContextTerminated(Errno.ETERM, f"{what}: context was terminated")
                self._process_commands()
                result = attempt()
                if result is not None:
                    return result
                if flags & _DONTWAIT or timeout_ms == 0:
                    raise Again(Errno.EAGAIN, "Resource temporarily unavailable")
                wait = None if deadline is None else deadline - time.monotonic()
                if wait is not None and wait <= 0:
                    raise Again(Errno.EAGAIN, "Resource temporarily unavailable")
                self._ts_ready.wait(wait)

    # -- sending ---------------------------------------------------------------------------
    def send(self, data: Any, flags: int = 0, copy: bool = True, track: bool = False,
             routing_id: int | None = None, group: str | bytes | None = None
             ) -> MessageTracker | None:
        self._check_open("send")
        if flags & _SNDMORE:
            raise ZMQError(Errno.EINVAL, f"send: {self._type.name} sockets send single-part "
                           "messages only (SNDMORE)")
        if isinstance(data, Frame):
            routing_id = data.routing_id if routing_id is None else routing_id
            group = data.group if group is None else group
        msg = [_as_bytes(data)]
        if self._addressed:
            if routing_id is None:
                raise ZMQError(Errno.EHOSTUNREACH,
                               f"send: a {self._type.name} socket needs routing_id=")
            msg.insert(0, encode_routing_id(routing_id))
        elif self._grouped:
            name = group.encode() if isinstance(group, str) else bytes(group or b"")
            msg.insert(0, name)
        routing = self._routing  # (its send is looked up per try, as in Socket._send_message)
        self._ts_wait(lambda: True if routing.send(msg) else None, flags, self._opts.sndtimeo,
                      "send")
        return FINISHED_TRACKER if track else None

    def send_multipart(self, msg_parts: Sequence[Any], flags: int = 0, copy: bool = True,
                       track: bool = False, **kwargs: Any) -> MessageTracker | None:
        if len(msg_parts) != 1:
            raise ZMQError(Errno.EINVAL, f"send_multipart: {self._type.name} sockets send "
                           f"single-part messages only, got {len(msg_parts)} parts")
        return self.send(msg_parts[0], flags, copy, track, **kwargs)

    # -- receiving -------------------------------------------------------------------------
    def recv(self, flags: int = 0, copy: bool = True, track: bool = False) -> Any:
        self._check_open("recv")
        msg, peer = self._ts_wait(self._routing.recv, flags, self._opts.rcvtimeo, "recv")
        body = msg[-1]
        if copy:
            return body
        frame = Frame(body, properties=peer.properties)
        if self._addressed:
            frame.routing_id = decode_routing_id(msg[0])
        elif self._grouped:
            frame.group = msg[0].decode("utf-8", "surrogateescape")
        return frame

    def recv_multipart(self, flags: int = 0, copy: bool = True, track: bool = False) -> list[Any]:
        return [self.recv(flags, copy, track)]

    # -- everything else: serialized ---------------------------------------------------------
    def poll(self, timeout: int | None = None, flags: int = PollEvent.POLLIN) -> int:
        if self._closed:
            raise ZMQError(Errno.ENOTSUP, "poll: socket is closed")
        timeout_ms = -1 if timeout is None or timeout < 0 else int(timeout)

        def attempt() -> int | None:
            ready = self._events() & flags
            return ready if ready else None

        try:
            return self._ts_wait(attempt, 0, timeout_ms, "poll")
        except Again:
            return 0

    def _events(self) -> int:
        with self._ts_lock:
            return super()._events()

    def getsockopt(self, option: int) -> Any:
        if int(option) == SocketOption.FD:
            warnings.warn(DraftFDWarning(f"FD of a thread-safe {self._type.name} socket: "
                                         "securemq provides one, libzmq does not"),
                          stacklevel=2)
        with self._ts_lock:
            return super().getsockopt(option)

    def setsockopt(self, option: int, value: Any) -> None:
        with self._ts_lock:
            super().setsockopt(option, value)

    # bind/connect/unbind/disconnect are not wrapped: they wait for the reactor, which takes
    # this lock to notify waiters (deadlock); what they change is safe from any thread, and the
    # routing they touch is reached through _process_commands, which locks.
    def _process_commands(self) -> None:
        with self._ts_lock:
            super()._process_commands()

    def connect_peer(self, addr: str) -> int:
        """PEER: connect and return the routing id of the new peer (zmq_connect_peer)."""
        if self._type != SocketType.PEER:
            raise ZMQError(Errno.ENOTSUP, "connect_peer: only PEER sockets connect peers")
        if self._opts.immediate:
            raise ZMQError(Errno.EFAULT, "connect_peer: IMMEDIATE must be 0")
        self.connect(addr)
        peer = self._connect_peer
        with self._ts_lock:
            routing_id = getattr(self._routing, "routing_id_of")(peer) if peer else None
        if not routing_id:
            raise ZMQError(Errno.EFAULT, f"connect_peer({addr!r}): no peer was made")
        return int(routing_id)

    def close(self, linger: int | None = None) -> None:
        with self._ts_lock:
            super().close(linger)
            self._ts_ready.notify_all()

    def join(self, group: str | bytes) -> None:
        """DISH: receive the messages of ``group`` (at most 255 bytes)."""
        self._group_call("join", group)

    def leave(self, group: str | bytes) -> None:
        """DISH: stop receiving the messages of ``group``."""
        self._group_call("leave", group)

    def _group_call(self, verb: str, group: str | bytes) -> None:
        self._check_open(verb)
        if self._type != SocketType.DISH:
            raise ZMQError(Errno.ENOTSUP, f"{verb}: only DISH sockets {verb} groups")
        name = group.encode() if isinstance(group, str) else bytes(group)
        with self._ts_lock:
            self._process_commands()
            getattr(self._routing, verb)(name)
