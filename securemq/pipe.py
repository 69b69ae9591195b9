"""Bounded one-way message queues between two threads, and the wake-ups that go with them.

How this works: a ``Pipe`` carries whole messages (a list of frames) from one producer thread to
one consumer thread. ``collections.deque`` append/popleft are atomic under the GIL, so the queue
itself needs no lock. Wake-ups are edge-triggered to keep per-message cost low: the producer
calls ``reader_wake`` only when it made the queue non-empty, the consumer calls ``writer_wake``
only when it took the queue from full to not full. A waiter must clear its ``Waker``, then check
the queue, then wait; a wake-up between the check and the wait is then never lost.
On the same empty -> non-empty edge, and just before ``reader_wake``, the producer calls the
pipe's ``ready_hook`` when it has one: a fair queue's way to learn which of its many pipes have
messages without looking at each (see ``routing/fq.py``).

A ``Peer`` is the socket's view of one connection: an inbound pipe it reads, an outbound pipe it
writes, the peer's routing id and the properties ``Frame.get`` reports.
"""

from __future__ import annotations

import os
import select
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from itertools import repeat, starmap

Message = list[bytes]


def _nothing() -> None:
    return None


def _pop_front(queue: deque[Message], count: int) -> Iterator[Message]:
    """The first ``count`` messages of ``queue``, popped as the iterator is consumed: the calls
    are made by ``starmap`` in C (half the cost of a comprehension per message)."""
    return starmap(queue.popleft, repeat((), count))


def _wakeup_fds(kind: str) -> tuple[int, int]:
    """(read fd, write fd) of a wake-up channel: one eventfd on Linux, else a pipe."""
    if kind == "eventfd":
        fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        return fd, fd
    read_fd, write_fd = os.pipe()
    for fd in (read_fd, write_fd):
        os.set_blocking(fd, False)
        os.set_inheritable(fd, False)
    return read_fd, write_fd


# SECUREMQ_WAKER=pipe forces the portable channel (so Linux CI covers what macOS uses).
WAKER_KIND = os.environ.get("SECUREMQ_WAKER") or ("eventfd" if hasattr(os, "eventfd") else "pipe")


class Waker:
    """A level flag with a file descriptor that is readable exactly while the flag is set.

    How this works: ``wake()`` may be called from any thread, ``clear()`` and ``wait()`` by the
    one thread that waits. The flag and the descriptor change together under a lock, so they
    never disagree: a waiter that clears, then checks its queue, then waits can never miss a
    wake-up (the wake either came before the clear and its message is seen by the check, or after
    it and the descriptor is readable), and a cleared descriptor never stays readable (which
    would make event loops watching ``fileno()`` spin). Both fast paths read the flag without the
    lock: a stale read only ever costs one spurious wake-up, never a lost one. ``close()``
    releases the descriptors at once; a late ``wake()`` from another thread is then a no-op (it
    can never write into a reused descriptor).
    """

    __slots__ = ("__weakref__", "_callbacks", "_flag", "_lock", "_poller", "_rfd", "_wfd")

    def __init__(self) -> None:
        self._rfd, self._wfd = _wakeup_fds(WAKER_KIND)
        self._flag = False
        self._lock = threading.Lock()
        self._poller: select.poll | None = None
        # Called on every wake, from the waking thread (asyncio uses call_soon_threadsafe).
        self._callbacks: tuple[Callable[[], None], ...] = ()

    def add_callback(self, callback: Callable[[], None]) -> None:
        with self._lock:
            self._callbacks = (*self._callbacks, callback)

    def remove_callback(self, callback: Callable[[], None]) -> None:
        with self._lock:
            self._callbacks = tuple(c for c in self._callbacks if c is not callback)

    def wake(self) -> None:
        if not self._flag:
            with self._lock:
                if not self._flag and self._wfd >= 0:
                    self._flag = True
                    try:
                        if self._wfd == self._rfd:
                            os.eventfd_write(self._wfd, 1)
                        else:
                            os.write(self._wfd, b"\x01")
                    except OSError:
                        pass
        for callback in self._callbacks:
            callback()

    def clear(self) -> None:
        if self._flag:
            with self._lock:
                if self._flag and self._rfd >= 0:
                    self._flag = False
                    try:
                        if self._wfd == self._rfd:
                            os.eventfd_read(self._rfd)
                        else:
                            os.read(self._rfd, 64)
                    except OSError:
                        pass

    def wait(self, timeout: float | None) -> bool:
        """Block until woken or ``timeout`` seconds pass (None: forever); True when woken."""
        if self._flag:
            return True
        poller = self._poller
        if poller is None:
            if self._rfd < 0:
                return False  # closed: nothing will ever wake it
            poller = self._poller = select.poll()
            poller.register(self._rfd, select.POLLIN)
        try:
            ready = poller.poll(-1 if timeout is None else max(0, int(timeout * 1000)))
        except OSError:
            return self._flag
        return bool(ready) or self._flag

    def is_set(self) -> bool:
        return self._flag

    def fileno(self) -> int:
        """The descriptor that is readable while woken (-1 once closed)."""
        return self._rfd

    @property
    def closed(self) -> bool:
        return self._rfd < 0

    def close(self) -> None:
        """Release the descriptors now. The flag stays set, so a waiter returns at once."""
        with self._lock:
            rfd, wfd = self._rfd, self._wfd
            self._rfd = self._wfd = -1
            self._flag = True
            self._callbacks = ()
            self._poller = None
        for fd in {rfd, wfd}:
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass

    def __del__(self) -> None:
        self.close()


class Pipe:
    """A bounded FIFO of whole messages; ``hwm`` 0 means unbounded.

    The reader is woken when the pipe goes from empty to non-empty; the writer (who stops at
    the HWM) when reading brings it down to half the HWM (libzmq's low-water mark), so that a
    full pipe is refilled in batches rather than one message per wake-up.
    """

    __slots__ = (
        "_queue", "closed", "direct", "dropped", "hwm", "messages", "queue", "reader_wake",
        "ready_hook", "wire_bytes", "writer_wake",
    )

    def __init__(self, hwm: int = 1000) -> None:
        self._queue: deque[Message] = deque()
        # The same deque, for others to look at (cheap emptiness checks over many pipes; the
        # fair queue looks on every receive, so an attribute, not a property). Only this
        # class's methods change it, through _queue (which a subclass's queue may not be).
        self.queue: deque[Message] = self._queue
        self.hwm = hwm
        self.reader_wake: Callable[[], None] = _nothing
        self.writer_wake: Callable[[], None] = _nothing
        # Set by the reader's fair queue (routing/fq.py): called on the writer's thread when the
        # pipe goes from empty to non-empty, before reader_wake.
        self.ready_hook: Callable[[], object] | None = None
        # Set by the connection that reads this pipe (an outbound pipe): offered a message
        # written while the pipe is empty, it may send it at once instead (True: sent, so the
        # message is not queued).
        self.direct: Callable[[Message], bool] | None = None
        # The other end is gone: nothing more will be written (reads drain what is queued),
        # and writes are refused.
        self.closed = False
        # Statistics (Socket.stats): messages queued here (control messages put with
        # force_write not counted), messages the socket dropped for this pipe at the HWM, and
        # the ZMTP bytes its connection carried for it (framing and encryption included).
        self.messages = 0
        self.dropped = 0
        self.wire_bytes = 0

    def __len__(self) -> int:
        return len(self._queue)

    def writable(self) -> bool:
        return not self.closed and (self.hwm <= 0 or len(self._queue) < self.hwm)

    def readable(self) -> bool:
        return bool(self._queue)

    def write(self, msg: Message) -> bool:
        """Queue one message unless the pipe is full; False means full (nothing queued)."""
        if self.closed:
            return False
        queue = self._queue
        if not queue:
            direct = self.direct
            if direct is not None and direct(msg):
                self.messages += 1
                return True
        hwm = self.hwm
        if hwm > 0 and len(queue) >= hwm:
            return False
        queue.append(msg)
        self.messages += 1
        if len(queue) == 1:
            hook = self.ready_hook
            if hook is not None:
                hook()
            self.reader_wake()
        return True

    def write_or_drop(self, msg: Message) -> bool:
        """``write``, for a sender that drops rather than waits: a message refused by a full
        pipe counts as dropped (one refused by a closed pipe has no reader to miss it)."""
        if self.write(msg):
            return True
        self.dropped += not self.closed
        return False

    def force_write(self, msg: Message) -> None:
        """Queue past the HWM (subscriptions, handover); still wakes the reader."""
        self._queue.append(msg)
        if len(self._queue) == 1:
            hook = self.ready_hook
            if hook is not None:
                hook()
            self.reader_wake()

    def write_many(self, msgs: list[Message]) -> int:
        """Queue as many as fit, in order; returns how many were taken."""
        queue = self._queue
        if self.closed:
            return 0
        was_empty = not queue
        taken = len(msgs)
        hwm = self.hwm
        if hwm > 0 and hwm - len(queue) < taken:
            taken = max(0, hwm - len(queue))
        if taken:
            queue.extend(msgs if taken == len(msgs) else msgs[:taken])
            # (_queued, inlined: this is every read's path)
            self.messages += taken
            if was_empty or len(queue) == taken:
                hook = self.ready_hook
                if hook is not None:
                    hook()
                self.reader_wake()
        return taken

    def write_from(self, backlog: deque[Message]) -> None:
        """Move as many messages as fit from the front of ``backlog`` (in order), in O(taken)."""
        if self.closed:
            return
        queue = self._queue
        was_empty = not queue
        taken = len(backlog) if self.hwm <= 0 else min(len(backlog), self.hwm - len(queue))
        if taken <= 0:
            return
        if taken == len(backlog):
            queue.extend(backlog)
            backlog.clear()
        else:
            queue.extend(list(_pop_front(backlog, taken)))
        self._queued(taken, was_empty)

    def _queued(self, taken: int, was_empty: bool) -> None:
        """``taken`` messages were just added in one extend: count them, and wake the reader if
        the pipe was empty before -- or became empty between the caller's look and the extend
        (len == taken): the reader took the last message meanwhile and may be about to wait."""
        self.messages += taken
        if was_empty or len(self._queue) == taken:
            hook = self.ready_hook
            if hook is not None:
                hook()
            self.reader_wake()

    def read(self) -> Message | None:
        queue = self._queue
        if not queue:
            return None
        msg = queue.popleft()
        if len(queue) == self.hwm >> 1 and self.hwm > 0:
            self.writer_wake()
        return msg

    def peek(self) -> Message | None:
        queue = self._queue
        return queue[0] if queue else None

    def read_many(self, limit: int = 1 << 30) -> list[Message]:
        """Take up to ``limit`` messages at once (the batch path of the I/O thread)."""
        queue = self._queue
        # Only this reader pops, so taking exactly the count seen is safe while the writer
        # appends (which can only make the pipe look fuller than it was).
        count = min(limit, len(queue))
        out = list(_pop_front(queue, count))
        hwm = self.hwm
        if out and hwm > 0 and len(queue) <= hwm >> 1 < len(queue) + count:
            self.writer_wake()
        return out

    def clear(self) -> list[Message]:
        """Drop everything queued (a peer went away); returns what was dropped."""
        if not self._queue:
            return []
        dropped = list(self._queue)
        self._queue.clear()
        if dropped:
            self.writer_wake()
        return dropped


# What a socket's mailbox carries from other threads (the reactor, an inproc peer).
ATTACH, HICCUP, DETACH = 0, 1, 2


class Mailbox:
    """A socket's inbox for peers coming (ATTACH), reconnecting (HICCUP) and going (DETACH).

    Any thread posts; the socket's own thread drains ``commands`` at the start of its calls.
    Every post, and every pipe of a peer made here, wakes the socket's ``Waker``.
    """

    __slots__ = ("commands", "waker")

    def __init__(self, waker: Waker) -> None:
        self.commands: deque[tuple[int, Peer]] = deque()
        self.waker = waker

    def post(self, op: int, peer: Peer) -> None:
        self.commands.append((op, peer))
        self.waker.wake()

    def wire(self, peer: Peer) -> Peer:
        """Route the peer's wake-ups (a message in, room out) to this socket."""
        peer.inbound.reader_wake = self.waker.wake
        peer.outbound.writer_wake = self.waker.wake
        return peer

    def new_peer(
        self,
        rcvhwm: int,
        sndhwm: int,
        *,
        conflate: bool = False,
        routing_id: bytes = b"",
        properties: dict[str, bytes] | None = None,
        endpoint: str = "",
    ) -> Peer:
        pipe = ConflatePipe if conflate else Pipe
        return self.wire(Peer(pipe(rcvhwm), pipe(sndhwm), routing_id=routing_id,
                              properties=properties, endpoint=endpoint))


def write_to_all(pipes: Iterable[Pipe], msg: Message) -> int:
    """``pipe.write(msg)`` for each pipe (the fan-out hot path, inlined); how many did not
    take it (full or closed). A full pipe counts the message as dropped."""
    missed = 0
    for pipe in pipes:
        queue = pipe._queue
        if type(pipe) is not Pipe:
            missed += not pipe.write_or_drop(msg)
        elif pipe.closed:
            missed += 1
        elif 0 < pipe.hwm <= len(queue):
            missed += 1
            pipe.dropped += 1
        else:
            queue.append(msg)
            pipe.messages += 1
            if len(queue) == 1:
                hook = pipe.ready_hook
                if hook is not None:
                    hook()
                pipe.reader_wake()
    return missed


class ConflatePipe(Pipe):
    """CONFLATE: keeps only the newest message, so it is never full and never blocks."""

    __slots__ = ()

    def writable(self) -> bool:
        return not self.closed

    def write(self, msg: Message) -> bool:
        if self.closed:
            return False
        self._queue.clear()
        self._queue.append(msg)
        self.messages += 1
        hook = self.ready_hook
        if hook is not None:
            hook()
        self.reader_wake()
        return True

    def write_many(self, msgs: list[Message]) -> int:
        if self.closed:
            return 0
        if msgs:
            self.write(msgs[-1])
        return len(msgs)

    def write_from(self, backlog: deque[Message]) -> None:
        if backlog and not self.closed:
            self.write(backlog[-1])
            backlog.clear()


class Peer:
    """One connection as a socket sees it.

    ``inbound``: written by the connection, read by the socket. ``outbound``: written by the
    socket, read by the connection. ``routing_id``: the peer's ROUTING_ID as announced in READY
    (ROUTER may replace it with an auto id). ``properties``: message properties (peer metadata,
    User-Id, Peer-Address, ZAP metadata) that frames received from this peer carry.
    """

    __slots__ = ("endpoint", "inbound", "legacy", "outbound", "properties", "routing_id", "tag")

    def __init__(
        self,
        inbound: Pipe,
        outbound: Pipe,
        *,
        routing_id: bytes = b"",
        properties: dict[str, bytes] | None = None,
        endpoint: str = "",
    ) -> None:
        self.inbound = inbound
        self.outbound = outbound
        self.routing_id = routing_id
        self.properties: dict[str, bytes] = properties if properties is not None else {}
        self.endpoint = endpoint
        # True for a ZMTP 3.0 peer (subscriptions then travel as \x01/\x00 messages).
        self.legacy = False
        # Free for the socket's use (for example ROUTER's bookkeeping).
        self.tag: object = None

    def __repr__(self) -> str:
        return f"Peer({self.endpoint or 'inproc'}, id={self.routing_id!r})"
