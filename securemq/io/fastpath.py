"""The ownership protocol: when a socket's own thread may touch a connection's OS socket.

How this works
--------------
A connection (``StreamEngine``) has a write side and a read side, and both belong to the
reactor thread. The socket's caller thread may take one of them for a short while, only through
this module, and only by *acquiring* it under the connection's lock (never by waiting for it,
except to resume a read side it keeps, see below):

* **A write turn** (``write_turn``). When a send makes the outbound pipe non-empty, the caller
  may write that message itself instead of waking the reactor -- if it gets the connection lock
  at once, the handshake is done, the connection is not closing or lingering, nothing waits in
  the output buffer or in a read lease's stash, the reactor is neither waiting for writability
  nor about to flush, the reactor is not running its handlers (when it is, the message joins
  its next batch: a system call on the caller's thread would only hand the interpreter lock
  back and forth between the two threads), and the connection is *idle*: the reactor has gone
  round its loop since the caller's last turn, or the peer has sent something since (a
  request/reply exchange). In a burst the caller therefore writes the first message and every
  later one goes to the reactor, which writes in batches; the choice follows the state of the
  connection and of the reactor, not a clock. What the OS socket does not take stays in the
  output buffer, and a failed write leaves everything there; in both cases, and whenever more
  messages wait in the pipe, the turn ends by handing over to the reactor (``call_soon``),
  which arms writability, reports the error and closes. Fan-out sockets (PUB, XPUB) never take
  turns: one send would cost a system call per subscriber on the caller's thread.

  **A direct send** is a write turn for a message written while the outbound pipe is empty
  (``Pipe.direct``): the message is encoded and written without being queued, and only when
  the turn is refused does it go into the pipe, which then hands over to the reactor at once
  (one try per message, not a second one from the pipe's wake-up).

* **A read lease** (``ReadLease``), for one blocking wait. A caller about to wait in recv on a
  socket whose only connection is ready takes the lease: the reactor stops watching that
  descriptor for input (``Reactor.lease_reads``, the one registration change another thread
  may make, under the reactor's interest lock) and the caller waits on the descriptor and its
  own waker together, reading under the connection lock when the descriptor is readable. Plain
  message traffic goes into the inbound pipe as the reactor would put it there. Anything else --
  a command (PING, SUBSCRIBE, ...), output to send, a full inbound pipe, an error, the end of the
  stream -- is stashed in order and the lease ends at once: the reactor resumes reading and
  handles the stash before anything else it does with the connection (every reactor entry
  point of the engine does so first). A lease is refused while anything is stashed or
  backlogged, during bulk transfers (the reactor's reads then overlap the caller's work), and
  when the connection is closing; the reactor's own reader skips a descriptor that is leased.

  **The lease is kept between waits** (``kept``): ``end()`` only counts the wait, and the next
  wait needs no registration change (and waits for the connection's lock if it is busy: no one
  else reads a kept descriptor) -- a request/reply loop then makes two system calls per
  round trip on its side, not four (lease and return cost 3.5 µs and a dozen Python calls per
  wait). The descriptor goes back to the reactor when a lease stashes, when a lease is
  refused, when the socket is looked at another way (``give_back()``: poll, EVENTS, a wait
  with several connections), and otherwise within two SWEEP_INTERVALs of the end of the
  caller's last wait (``StreamEngine.sweep``, one reactor timer for every kept lease, armed
  when a wait ends and idle while one is in progress): what arrives while the caller is busy
  elsewhere is the reactor's again, as late as that and no later.

The caller never registers or unregisters a descriptor itself, never starts or cancels timers,
never closes a connection, and never reports a monitor event: every error it meets is handed to
the reactor, which handles it exactly as if it had met it itself.
"""

from __future__ import annotations

import select
import socket
import threading
from collections import deque
from typing import Protocol

from ..pipe import Message, Peer
from ..zmtp import events as ev
from ..zmtp.wire import WireConnection
from .reactor import Reactor


class Connection(Protocol):
    """The state of a connection (``StreamEngine``) the fast paths may read or change, and only
    while holding ``lock``; everything else of the engine is the reactor's."""

    lock: threading.RLock
    reactor: Reactor
    sock: socket.socket
    conn: WireConnection
    fd: int
    peer: Peer | None
    closed: bool
    ready: bool
    lingering: bool
    out: list[bytes | memoryview]
    writing: bool
    flush_scheduled: bool
    reading: bool
    leased: bool
    kept: bool
    lease_waits: int
    swept: bool
    read_size: int
    reads: int
    turn_mark: int
    reads_mark: int
    stash: list[tuple[list[ev.Event], bool]]
    backlog: deque[list[bytes]]

    def next_batch(self) -> list[list[bytes]]: ...
    def consume_sent(self, sent: int) -> None: ...
    def hand_over_writes(self) -> None: ...
    def saw_traffic(self) -> None: ...
    def adapt_read_size(self, got: int) -> None: ...
    def process_stash(self) -> None: ...
    def watch_kept_lease(self) -> None: ...

# Plain message reads larger than this are a bulk transfer: left to the reactor.
LEASE_MAX_READ = 1 << 16
# Most buffers one sendmsg takes (below the kernel's IOV_MAX).
SENDMSG_PARTS = 512


def write_turn(engine: Connection, msg: Message | None = None) -> bool:
    """On the caller's thread, when the outbound pipe became non-empty: write what it holds
    now. False: the turn was not available (the caller hands over to the reactor instead).

    With ``msg`` (a direct send): the outbound pipe is empty and ``msg`` is written without
    being queued; False: the caller queues it as usual."""
    lock = engine.lock
    if not lock.acquire(blocking=False):
        return False
    try:
        peer = engine.peer
        reactor = engine.reactor
        if (
            engine.closed or not engine.ready or engine.lingering or engine.out
            or engine.writing or engine.flush_scheduled or peer is None
            # (a read lease stashed what it met -- perhaps the end of the connection, which the
            # sans-IO side already knows and the engine not yet: the reactor goes first)
            or engine.stash
            or (reactor.turns == engine.turn_mark and engine.reads == engine.reads_mark)
            or reactor.dispatching
        ):
            return False
        outbound = peer.outbound
        if msg is None:
            batch = engine.next_batch()  # (usually the one message that made the pipe non-empty)
        elif outbound.queue:
            return False  # (queued meanwhile, by the reactor: the message goes behind it)
        else:
            batch = [msg]
        engine.turn_mark = reactor.turns
        engine.reads_mark = engine.reads
        if not batch:
            return True
        conn = engine.conn
        conn.send_messages(batch)
        out = engine.out
        out.extend(conn.data_to_send())
        try:
            # (one buffer, as a small message encodes to: send, without sendmsg's iovec)
            sent = engine.sock.send(out[0]) if len(out) == 1 else engine.sock.sendmsg(
                out[:SENDMSG_PARTS])
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            sent = -1  # left in the buffer: the reactor's own write meets the error again
        if sent >= 0:
            engine.consume_sent(sent)
        if out or outbound.queue:
            engine.hand_over_writes()
        return True
    finally:
        lock.release()


class ReadLease:
    """The caller's read side of one connection for one wait (see the module comment)."""

    __slots__ = ("_poller", "engine", "fd")

    def __init__(self, engine: Connection, waker_fd: int) -> None:
        self.engine = engine
        self.fd = engine.fd
        self._poller = select.poll()
        self._poller.register(waker_fd, select.POLLIN)
        self._poller.register(self.fd, select.POLLIN)

    def take(self) -> bool:
        """Lease the read side now, if the connection's state allows it."""
        engine = self.engine
        lock = engine.lock
        if not lock.acquire(blocking=False):
            if not engine.kept:
                return False  # (the reactor reads meanwhile; the caller waits on its waker)
            # Kept: nobody else reads the descriptor, so a wait on the waker alone would
            # leave what arrives unread until the sweep; what holds the lock is short work
            # (a sweep, a stash, another thread's write turn): wait for it.
            lock.acquire()
        try:
            if (
                engine.leased or engine.closed or not engine.ready or not engine.reading
                or engine.stash or engine.backlog or engine.read_size > LEASE_MAX_READ
            ):
                if engine.kept and not engine.leased:
                    self._end_locked()  # not now: the reactor reads this connection again
                return False
            engine.leased = True
            if not engine.kept:
                engine.kept = True
                engine.reactor.lease_reads(self.fd)
            return True
        finally:
            lock.release()

    def wait(self, timeout_ms: int) -> None:
        """Wait for the waker or the descriptor; read the descriptor if it is ready."""
        for fd, _ in self._poller.poll(timeout_ms):
            if fd == self.fd:
                self._read()

    def _read(self) -> None:
        engine = self.engine
        with engine.lock:
            if not engine.leased or engine.closed:
                return
            engine.reads += 1
            try:
                data = engine.sock.recv(engine.read_size)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                data = b""
            engine.saw_traffic()
            if len(data) == engine.read_size:
                engine.adapt_read_size(len(data))
            peer = engine.peer
            messages: list[list[bytes]] = []
            events = engine.conn.receive_traffic(data, messages)
            taken = 0
            if peer is not None:
                inbound = peer.inbound
                inbound.wire_bytes += len(data)
                if messages and not events:
                    taken = inbound.write_many(messages)
            if taken == len(messages) and data and not events and not engine.conn.wants_write():
                return
            # Anything but messages that fit (a command's event, a full inbound pipe, output to
            # send, the end of the stream): the rest goes to the reactor, in order.
            if taken < len(messages):
                events.insert(0, ev.MessagesReceived(messages[taken:] if taken else messages))
            engine.stash.append((events, not data))
            self._end_locked()
            engine.reactor.call_soon(engine.process_stash)

    def end(self) -> None:
        """The wait is over; the read side stays kept for the next wait (see give_back)."""
        engine = self.engine
        with engine.lock:
            if engine.leased:
                engine.leased = False
                engine.lease_waits += 1
                if engine.kept and not engine.swept:
                    # The reactor's sweep takes the read side back if no wait follows soon
                    # (one hand-over per sweep cycle, not per wait).
                    engine.swept = True
                    engine.reactor.call_soon(engine.watch_kept_lease)

    def give_back(self) -> None:
        """The socket's thread is about to look at the socket another way (poll, EVENTS, a
        wait on its waker alone): the reactor watches the descriptor again."""
        engine = self.engine
        if engine.kept:
            with engine.lock:
                if engine.kept and not engine.leased:
                    self._end_locked()

    def _end_locked(self) -> None:
        engine = self.engine
        engine.leased = False
        if engine.kept:
            engine.kept = False
            engine.reactor.return_reads(self.fd)
