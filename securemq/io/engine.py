"""One ZMTP connection over an OS stream socket, driven by the reactor thread.

How this works: the engine owns a non-blocking OS socket and a sans-IO ``ZmtpConnection``. Reads
take large chunks and feed them to the connection; the events it returns are acted on here
(handshake done -> the owner attaches a Peer; messages -> the Peer's inbound pipe, in batches;
ZAP request -> an inproc exchange with the handler socket; failure -> monitor event and close).
Writes drain the Peer's outbound pipe in batches into the connection and send every pending
buffer with one ``sendmsg``. When the inbound pipe is full the engine stops reading (the kernel
buffers, then TCP flow control, push back on the peer); when the OS socket cannot take more the
engine stops draining the outbound pipe (so the sender meets its HWM).
"""

from __future__ import annotations

import errno
import functools
import logging
import os
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from .. import socket_types
from ..constants import Event
from ..pipe import Message, Peer, Pipe
from ..zmtp import events as ev
from ..zmtp.connection import FRAME_SIZE_CAP, ZmtpConnection
from ..zmtp.errors import NoDetailFailure, PeerClosed, ZmtpError
from ..zmtp.mechanisms.base import Mechanism
from ..zmtp.metadata import message_properties
from ..zmtp.wire import ConnectionFactory, WireConnection
from ..zmtp.zap import decode_reply_message, encode_request
from . import fastpath

if TYPE_CHECKING:
    from ..options import SocketOptions
    from .connecter import Connecter
    from .listener import Listener
    from .reactor import Reactor, Timer

log = logging.getLogger("securemq.io")

# Reads start small (a small bytes object is cheap to allocate for small messages) and grow
# while each read fills the buffer (bulk transfers: fewer, larger reads).
READ_SIZE = 1 << 16
READ_SIZE_MAX = 1 << 20
WRITE_BATCH = 4096
# Messages taken per batch are also capped so that a batch is about this many bytes: encoding
# (CURVE boxes) and writing then overlap with the peer's reading instead of taking turns.
WRITE_BUDGET = 1 << 18

def _memory_size() -> int:
    """The machine's physical memory: no frame larger than this can ever be received."""
    try:
        return max(1 << 30, os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return FRAME_SIZE_CAP


MEMORY_SIZE = _memory_size()

_MessagesReceived = ev.MessagesReceived


_F = TypeVar("_F", bound=Callable[..., None])


def _no_wake() -> None:
    return None


def _locked(method: _F) -> _F:
    """Reactor entry points hold the engine lock (a sending thread may write directly), and
    first handle what a caller's read lease stashed: the sans-IO connection has already seen
    it (perhaps its end), so nothing else may use the connection before the engine has."""

    @functools.wraps(method)
    def wrapper(self: StreamEngine, *args: Any) -> None:
        with self.lock:
            if self.stash and not self.leased:  # (a lease that stashes has ended)
                self._process_stash()
            method(self, *args)

    return wrapper  # type: ignore[return-value]


def _next_batch(outbound: Pipe) -> list[Message]:
    """The messages for one write: the one queued (the usual case), or as many as a batch
    holds, judged by the size of the first one; empty when nothing is queued."""
    queue = outbound.queue
    if len(queue) == 1:
        msg = outbound.read()
        return [] if msg is None else [msg]
    if not queue:
        return []
    head = queue[0]
    size = len(head[0]) if len(head) == 1 else sum(map(len, head))
    limit = WRITE_BATCH if size < WRITE_BUDGET // WRITE_BATCH else max(1, WRITE_BUDGET // size)
    return outbound.read_many(limit)


class EngineOwner(Protocol):
    """What an engine needs from its socket's session (io/session.py)."""

    def engine_ready(self, engine: StreamEngine) -> Peer | None: ...
    def engine_closed(self, engine: StreamEngine, error: ZmtpError | None) -> None: ...
    def monitor_event(self, event: int, value: int, endpoint: str) -> None: ...
    def zap_attach(self, peer: Peer) -> bool: ...
    def zap_detach(self, peer: Peer) -> None: ...
    def inbound_wake(self) -> Callable[[], None]: ...


class StreamEngine:
    def __init__(
        self,
        reactor: Reactor,
        sock: socket.socket,
        owner: EngineOwner,
        mechanism: Mechanism,
        *,
        socket_type: int,
        endpoint: str,
        peer_address: str,
        max_message_size: int,
        handshake_ivl_ms: int,
        heartbeat_ivl_ms: int,
        heartbeat_timeout_ms: int,
        heartbeat_ttl_ms: int,
        zap_domain: bytes,
        routing_id: bytes,
        accepted: bool = False,
        connection_factory: ConnectionFactory = ZmtpConnection,
        listener: Listener | None = None,
        connecter: Connecter | None = None,
        on_closed: Callable[[StreamEngine, ZmtpError | None], None] | None = None,
    ) -> None:
        self.reactor = reactor
        # Where the connection came from (exactly one is set for a socket's connections).
        self.listener = listener
        self.connecter = connecter
        self.sock = sock
        self.fd = sock.fileno()
        self.owner = owner
        # Guards the connection and the output buffers: the reactor holds it in every entry
        # point; a sending thread takes it (without waiting) to write directly when idle.
        self.lock = threading.RLock()
        # Off for fan-out sockets (PUB, XPUB): one send wakes every connection, and writing
        # to each on the sending thread would cost a system call per connection per message.
        self.direct_writes = not socket_types.info(socket_type).fan_out
        self.reads = 0
        # Where the reactor's loop and our read count were at the caller's last write turn.
        self.turn_mark = -1
        self.reads_mark = -1
        self.endpoint = endpoint
        self.peer_address = peer_address
        self.conn: WireConnection = connection_factory(
            socket_type=socket_type,
            mechanism=mechanism,
            max_message_size=max_message_size,
            accepted=accepted,
            frame_size_cap=MEMORY_SIZE,
        )
        self.mechanism = mechanism
        self.peer: Peer | None = None
        self.peer_properties: dict[str, bytes] = {}
        self.properties: dict[str, bytes] = {}
        self.peer_version: tuple[int, int] = (0, 0)
        self.ready = False
        self.closed = False
        self.lingering = False
        self.stalled = False
        self.leased = False
        # The socket's thread keeps the read side between its waits (io/fastpath.py, kept
        # leases): how many waits it made, and how many the reactor's last sweep saw.
        self.kept = False
        self.lease_waits = 0
        self._waits_seen = -1
        self.swept = False  # the reactor's sweep looks at this engine
        self.read_size = READ_SIZE
        self.stash: list[tuple[list[ev.Event], bool]] = []
        self._socket_wake: Callable[[], None] = _no_wake
        self.linger_deadline = 0.0
        self._on_closed = on_closed
        self.out: list[bytes | memoryview] = []
        self.reading = True
        self.writing = False
        self.backlog: deque[Message] = deque()
        self.flush_scheduled = False
        self.turn_refused = False
        self._zap_domain = zap_domain
        self._routing_id = routing_id
        self._zap_peer: Peer | None = None
        self._zap_reply_scheduled = False
        self._heartbeat_ivl = heartbeat_ivl_ms / 1000.0
        # HEARTBEAT_TIMEOUT: -1 (the default) means "as IVL"; 0 means never time out.
        self._heartbeat_timeout = (
            heartbeat_timeout_ms if heartbeat_timeout_ms >= 0 else heartbeat_ivl_ms
        ) / 1000.0
        self._heartbeat_ttl_ms = heartbeat_ttl_ms
        self._last_rx = time.monotonic()
        self._peer_ttl = 0.0
        # When a PING with a TTL arrived and nothing came after it (libzmq: the TTL timer is
        # armed by a PING and cancelled by any inbound data).
        self._ttl_armed_at: float | None = None
        self._timers: list[Timer] = []
        if handshake_ivl_ms > 0:
            self._later(handshake_ivl_ms / 1000.0, self._handshake_timeout)
        self._update_registration()
        # (No I/O here: the greeting goes out in start(), once the owner holds the engine. A
        # write that failed here would close an engine its owner has not registered yet, and
        # the owner would then keep a closed engine for ever: a socket that never finishes.)

    @property
    def options(self) -> SocketOptions:
        """The socket's options when this connection's bind()/connect() was called."""
        origin = self.connecter if self.connecter is not None else self.listener
        assert origin is not None, "an engine without a listener or connecter has no options"
        return origin.options

    def _later(self, delay: float, callback: Callable[[], None]) -> None:
        now = time.monotonic()
        self._timers = [t for t in self._timers if not t.cancelled and t.deadline > now]
        self._timers.append(self.reactor.call_later(delay, callback))

    # -- registration -----------------------------------------------------------------------
    def _update_registration(self) -> None:
        if self.closed:
            return
        self.reactor.set_handlers(
            self.sock,
            self._on_readable if self.reading else None,
            self._on_writable if self.writing else None,
        )

    # -- reading ----------------------------------------------------------------------------
    @_locked
    def _on_readable(self) -> None:
        if self.leased or self.closed or not self.reading:
            # A caller is reading this connection (io/fastpath.py), or it ended, or reading
            # has just paused: handling a lease's stash (in _locked) filled the inbound pipe,
            # and reading on would take the end of the stream before the backlog is delivered.
            return
        self.reads += 1
        try:
            data = self.sock.recv(self.read_size)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._fail(PeerClosed(f"ZMTP: connection to {self.endpoint} lost: {exc.strerror}"))
            return
        self._last_rx = time.monotonic()  # (saw_traffic, inlined: once a read)
        self._ttl_armed_at = None
        got = len(data)
        if got == self.read_size or self.read_size > READ_SIZE:
            self.adapt_read_size(got)
        peer = self.peer
        if peer is None:
            self._handle(self.conn.receive_data(data))
            if self.peer is not None:  # (after _handle: the chunk may have ended the handshake)
                self.peer.inbound.wire_bytes += got
        else:
            # The hot path: the chunk's messages go straight to the pipe, no event per chunk.
            peer.inbound.wire_bytes += got
            messages: list[Message] = []
            events = self.conn.receive_traffic(data, messages)
            if messages:
                self._deliver(messages)
            if events:
                self._handle(events)
            elif self.conn.wants_write():
                self._write_out()
        if not got and not self.closed:
            self._fail(PeerClosed())

    def adapt_read_size(self, got: int) -> None:
        size = self.read_size
        if got == size and size < READ_SIZE_MAX:
            self.read_size = size * 4
        elif got < size // 16 and size > READ_SIZE:
            self.read_size = READ_SIZE

    def _handle(self, events: list[ev.Event]) -> None:
        if len(events) == 1 and type(events[0]) is _MessagesReceived:
            # The common case: messages and nothing else.
            if not self.closed:
                self._deliver(events[0].messages)
                self._write_out()
            return
        for event in events:
            if self.closed:
                return
            if isinstance(event, ev.MessagesReceived):
                self._deliver(event.messages)
            elif isinstance(event, ev.HandshakeComplete):
                self._handshake_complete(event)
            elif isinstance(event, ev.ZapRequestNeeded):
                self._zap_request(event)
            elif isinstance(event, ev.PingReceived):
                if event.ttl_ms > 0:
                    self._peer_ttl = event.ttl_ms / 1000.0
                    self._ttl_armed_at = time.monotonic()
                    self._later(self._peer_ttl, self._check_peer_ttl)
            elif isinstance(event, ev.ConnectionFailed):
                if event.traffic:
                    # As libzmq: a tampered, replayed or malformed CURVE MESSAGE is reported
                    # (HANDSHAKE_FAILED_PROTOCOL with its code) before the disconnect.
                    self.owner.monitor_event(event.error.event, event.error.value, self.endpoint)
                self._fail(event.error, during_handshake=event.during_handshake)
                return
        self._write_out()

    def _deliver(self, messages: list[Message]) -> None:
        peer = self.peer
        if peer is None:
            return
        if self.backlog:
            self.backlog.extend(messages)
            return
        taken = peer.inbound.write_many(messages)
        if taken < len(messages):
            # The pipe is full: keep the rest (a deque, drained from the front as the socket
            # reads) and stop reading; the next reads stay small (the socket sets the pace).
            self.backlog.extend(messages[taken:])
            self.read_size = READ_SIZE
            self._pause_reading()

    def _pause_reading(self) -> None:
        if self.reading:
            self.reading = False
            self._update_registration()

    @_locked
    def resume_reading(self) -> None:
        """Called (via call_soon) when the socket made room in the inbound pipe."""
        if self.closed or self.peer is None:
            return
        if self.backlog:
            self.peer.inbound.write_from(self.backlog)
            if self.backlog:
                return
        if not self.reading:
            self.reading = True
            self._update_registration()

    def watch_kept_lease(self) -> None:
        """Reactor thread: the socket's thread began keeping the read side (a kept lease)."""
        self.reactor.sweep_every(self)

    def sweep(self) -> bool:
        """Reactor thread, every SWEEP_INTERVAL while a lease is kept: take the read side back
        once a whole interval passed without a wait (the socket's thread is busy elsewhere,
        and what arrives meanwhile -- a PING, the end of the stream, messages for a poller --
        is the reactor's to read). False: nothing more to watch."""
        with self.lock:
            if not self.kept or self.closed or self.leased:
                # (a wait in progress: nothing to watch until it ends, and its end asks again;
                # so a socket that waits a long time costs no wake-ups meanwhile)
                self.swept = False
                return False
            if self.lease_waits != self._waits_seen:
                self._waits_seen = self.lease_waits
                return True
            self.kept = False
            self.swept = False
            self.reactor.return_reads(self.fd)
            return False

    @_locked
    def process_stash(self) -> None:
        """Handle what a caller's read lease handed over (io/fastpath.py), in order."""
        self._process_stash()

    def _process_stash(self) -> None:
        stash, self.stash = self.stash, []
        for events, eof in stash:
            if self.closed:
                return
            self._handle(events)
            if eof and not self.closed:
                self._fail(PeerClosed())

    def _wake_socket(self) -> None:
        """The inbound pipe became non-empty: wake the socket's thread (from the reactor, just
        before it blocks again; from a reading caller, that caller is awake anyway)."""
        reactor = self.reactor
        if threading.get_ident() == reactor.thread_id:  # (in_reactor, inlined: once a read)
            reactor.defer(self._socket_wake)

    # -- handshake --------------------------------------------------------------------------
    def _handshake_complete(self, event: ev.HandshakeComplete) -> None:
        self.peer_properties = event.peer_properties
        self.properties = message_properties(
            event.peer_properties,
            peer_address=self.peer_address,
            zap_metadata=event.zap_properties,
            user_id=event.user_id,
        )
        self.peer_version = event.peer_version
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        self.ready = True
        peer = self.owner.engine_ready(self)
        if peer is None:
            self.close()
            return
        self.peer = peer
        reactor = self.reactor
        self._socket_wake = self.owner.inbound_wake()
        peer.inbound.reader_wake = self._wake_socket
        peer.outbound.reader_wake = self._schedule_flush
        if self.direct_writes:
            peer.outbound.direct = self._direct_send
        peer.inbound.writer_wake = lambda: reactor.call_soon(self.resume_reading)
        if not event.raw:
            self.owner.monitor_event(Event.HANDSHAKE_SUCCEEDED, 0, self.endpoint)
            if self._heartbeat_ivl > 0:
                self._later(self._heartbeat_ivl, self._heartbeat)
        self._flush_outbound()

    @_locked
    def start(self) -> None:
        """Act on what the connection knows before the peer speaks (a raw stream is ready at
        once); the owner calls this once it holds the engine."""
        self._handle(self.conn.start())

    @_locked
    def _handshake_timeout(self) -> None:
        if self.stalled:
            self._close(PeerClosed("ZMTP: handshake held after ZAP 300 timed out"))
            return
        if not self.ready and not self.closed:
            self._fail(
                NoDetailFailure(
                    f"ZMTP: handshake with {self.endpoint} did not finish within HANDSHAKE_IVL",
                    errno.ETIMEDOUT,
                ),
                during_handshake=True,
            )

    # -- heartbeats -------------------------------------------------------------------------
    @_locked
    def _heartbeat(self) -> None:
        if self.closed:
            return
        now = time.monotonic()
        silent = now - self._last_rx
        timeout = self._heartbeat_timeout
        if timeout > 0 and silent >= timeout + self._heartbeat_ivl:
            self._fail(PeerClosed(f"ZMTP: heartbeat timeout on {self.endpoint}"))
            return
        # As libzmq: PINGs go to ZMTP 3.0 peers too (a dead one is then detected).
        self.conn.send_ping(self._heartbeat_ttl_ms)
        self._write_out()
        self._later(self._heartbeat_ivl, self._heartbeat)

    @_locked
    def _check_peer_ttl(self) -> None:
        """The peer's PING TTL: no traffic at all for that long means it is gone."""
        armed = self._ttl_armed_at
        if self.closed or armed is None:
            return
        elapsed = time.monotonic() - armed
        if elapsed >= self._peer_ttl:
            self._fail(PeerClosed(f"ZMTP: peer's heartbeat TTL expired on {self.endpoint}"))
        # Otherwise a newer PING re-armed it and scheduled its own check.

    # -- ZAP --------------------------------------------------------------------------------
    def _zap_request(self, event: ev.ZapRequestNeeded) -> None:
        requests = Pipe(0)
        replies = Pipe(0)
        engine_side = Peer(replies, requests)
        handler_side = Peer(requests, replies, endpoint="zap")
        reactor = self.reactor

        def wake() -> None:
            if not self._zap_reply_scheduled:
                self._zap_reply_scheduled = True
                reactor.call_soon(self._zap_reply)

        replies.reader_wake = wake
        self._zap_peer = engine_side
        request = encode_request(
            domain=self._zap_domain,
            address=self.peer_address.encode(),
            routing_id=self._routing_id,
            mechanism=event.mechanism,
            credentials=event.credentials,
        )
        requests.force_write([b"", *request])  # (as a REQ socket would: delimiter first)
        if not self.owner.zap_attach(handler_side):
            self._zap_peer = None
            self._handle(
                self.conn.zap_failed(
                    NoDetailFailure("ZAP: no handler at inproc://zeromq.zap.01", errno.EFAULT)
                )
            )
            return
        engine_side.tag = handler_side

    @_locked
    def _zap_reply(self) -> None:
        self._zap_reply_scheduled = False
        zap = self._zap_peer
        if zap is None or self.closed:
            return
        msg = zap.inbound.read()
        if msg is None:
            if zap.inbound.closed:
                self._zap_finished()
                self._handle(
                    self.conn.zap_failed(
                        NoDetailFailure("ZAP: handler went away before replying", errno.EPIPE)
                    )
                )
            return
        self._zap_finished()
        try:
            reply = decode_reply_message(msg)
        except ZmtpError as exc:
            self._handle(self.conn.zap_failed(exc))
            return
        self._handle(self.conn.zap_reply(reply))

    def _zap_finished(self) -> None:
        zap = self._zap_peer
        self._zap_peer = None
        if zap is not None:
            zap.inbound.reader_wake = _no_wake  # (the handler may hold these pipes a while)
            if isinstance(zap.tag, Peer):
                self.owner.zap_detach(zap.tag)

    # -- writing ----------------------------------------------------------------------------
    def _schedule_flush(self) -> None:
        """The outbound pipe became non-empty (called on the sending thread)."""
        if self.flush_scheduled:
            return  # the reactor will take this message with the others
        if self.turn_refused:
            self.turn_refused = False  # (a direct send was just refused: no second try)
        elif self.direct_writes and fastpath.write_turn(self):
            return
        self.hand_over_writes()

    def _direct_send(self, msg: Message) -> bool:
        """A message written to the empty outbound pipe (sending thread): send it now, if a
        write turn is available (io/fastpath.py); False: it is queued instead."""
        if self.flush_scheduled:
            return False
        # (a reactor running its handlers refuses every turn: known without the lock)
        if not self.reactor.dispatching and fastpath.write_turn(self, msg):
            return True
        self.turn_refused = True
        return False

    def hand_over_writes(self) -> None:
        """Any thread: the reactor writes what is buffered and what the pipe holds."""
        if not self.flush_scheduled:
            self.flush_scheduled = True
            self.reactor.call_soon(self._flush_outbound)

    def next_batch(self) -> list[Message]:
        return _next_batch(self.peer.outbound) if self.peer is not None else []

    def consume_sent(self, sent: int) -> None:
        """Drop the first ``sent`` bytes of the output buffer (written by sendmsg)."""
        out = self.out
        if self.peer is not None:
            self.peer.outbound.wire_bytes += sent
        while sent:
            head = out[0]
            size = len(head)
            if sent >= size:
                sent -= size
                out.pop(0)
            else:
                out[0] = memoryview(head)[sent:]
                sent = 0

    def saw_traffic(self) -> None:
        """Something arrived: heartbeats count any traffic, and a PING's TTL is cancelled."""
        self._last_rx = time.monotonic()
        self._ttl_armed_at = None

    @_locked
    def _flush_outbound(self) -> None:
        self.flush_scheduled = False
        peer = self.peer
        if self.closed or peer is None or not self.ready:
            return
        outbound = peer.outbound
        if self.out:
            # Left over by a direct write from the sending thread: send it first (this also
            # arms write readiness when the OS buffer is still full).
            self._write_out()
        while not self.out:
            batch = _next_batch(outbound)
            if not batch:
                break
            self.conn.send_messages(batch)
            self._write_out()
        if self.lingering and not self.out and not outbound.readable():
            self.close()

    def _write_out(self) -> None:
        if self.closed:
            return
        if self.conn.wants_write():
            self.out.extend(self.conn.data_to_send())
        out = self.out
        while out:
            try:
                # (one buffer, as small messages encode to: send, without sendmsg's iovec)
                sent = self.sock.send(out[0]) if len(out) == 1 else self.sock.sendmsg(out[:512])
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:
                self._fail(PeerClosed(f"ZMTP: write to {self.endpoint} failed: {exc.strerror}"))
                return
            self.consume_sent(sent)
        want_write = bool(out)
        if want_write != self.writing:
            self.writing = want_write
            self._update_registration()
            if not want_write:
                # Whoever drained the leftovers (a read, a heartbeat, the handshake) may not go
                # on with the outbound pipe, and its next wake-up only comes when it is empty.
                self._continue_flush()

    def _continue_flush(self) -> None:
        peer = self.peer
        if (
            not self.flush_scheduled and self.ready and peer is not None
            and peer.outbound.readable()
        ):
            self.flush_scheduled = True
            self.reactor.call_soon(self._flush_outbound)

    @_locked
    def _on_writable(self) -> None:
        self._write_out()
        if not self.out:
            self._flush_outbound()

    # -- closing ----------------------------------------------------------------------------
    def _fail(self, error: ZmtpError, during_handshake: bool = False) -> None:
        if self.closed:
            return
        if self.conn.wants_write():
            # An ERROR command may be pending: one best-effort write, then close.
            self.out.extend(self.conn.data_to_send())
            try:
                self.sock.sendmsg(self.out[:64])
            except OSError:
                pass
        if during_handshake or not self.ready:
            if isinstance(error, PeerClosed):
                # The peer hung up mid-handshake (wrong key, ZAP refusal): libzmq reports this.
                self.owner.monitor_event(
                    Event.HANDSHAKE_FAILED_NO_DETAIL, errno.EPIPE, self.endpoint
                )
            else:
                self.owner.monitor_event(error.event, error.value, self.endpoint)
            if error.event == Event.HANDSHAKE_FAILED_AUTH and error.value == 300:
                # ZAP 300 (temporary failure): libzmq neither answers nor hangs up; the
                # connection stays silent until HANDSHAKE_IVL ends it.
                self._stall()
                return
        self._close(error)

    def _stall(self) -> None:
        self.reading = False
        self._update_registration()
        self.stalled = True

    @_locked
    def start_linger(self, linger_ms: int) -> None:
        """The socket is closing: deliver what is queued (LINGER), then close."""
        if self.closed:
            return
        if linger_ms == 0:
            self.close()
            return
        self.lingering = True
        if linger_ms > 0:
            self._later(linger_ms / 1000.0, self.close)
        if self.ready:
            self._flush_outbound()
        # Otherwise the handshake finishes first; _flush_outbound then closes when drained.

    @_locked
    def close(self) -> None:
        self._close(None)

    def _close(self, error: ZmtpError | None) -> None:
        if self.closed:
            return
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        self.reactor.set_handlers(self.sock, None, None)
        self.closed = True
        self._zap_finished()
        self.fd = self.sock.fileno()
        try:
            self.sock.close()
        except OSError:
            pass
        if self._on_closed is not None:
            self._on_closed(self, error)
        self.owner.engine_closed(self, error)
        self._unhook()

    def _unhook(self) -> None:
        """Take our callbacks off the peer's pipes (a persistent peer outlives us, and no
        reference cycle through this engine is left for the garbage collector)."""
        peer = self.peer
        if peer is not None:
            peer.inbound.reader_wake = self._socket_wake
            peer.inbound.writer_wake = _no_wake
            peer.outbound.reader_wake = _no_wake
            peer.outbound.direct = None
        self._on_closed = None
