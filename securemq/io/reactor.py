"""The I/O thread of a Context.

How this works: one daemon thread runs a ``selectors`` loop (epoll on Linux, kqueue on macOS,
poll or select elsewhere; ``SECUREMQ_SELECTOR=select|poll|epoll|kqueue`` forces one, so the
portable path is tested on Linux too). Other threads never touch the selector or the objects it
serves: they hand work over with ``call_soon`` (a deque of callables plus a wake-up descriptor
that wakes the loop). Registrations (``set_handlers``), timers (``call_later``) and deferred
calls (``defer``) belong to the reactor thread alone. Handlers are plain callables registered
per file object for read and/or write readiness; an error or hang-up counts as both.
``stop()`` ends the thread and releases the selector and the wake-up descriptors at once.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import os
import selectors
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

from .. import pipe
from ..pipe import _wakeup_fds

log = logging.getLogger("securemq.io")

Callback = Callable[[], None]

_READ = selectors.EVENT_READ
_WRITE = selectors.EVENT_WRITE
_SELECTORS: dict[str, str] = {
    "select": "SelectSelector",
    "poll": "PollSelector",
    "epoll": "EpollSelector",
    "kqueue": "KqueueSelector",
    "devpoll": "DevpollSelector",
}


def make_selector() -> selectors.BaseSelector:
    """The platform's best selector, or the one ``SECUREMQ_SELECTOR`` names."""
    forced = os.environ.get("SECUREMQ_SELECTOR", "")
    if forced:
        kind = getattr(selectors, _SELECTORS.get(forced, ""), None)
        if kind is None:
            raise ValueError(f"SECUREMQ_SELECTOR={forced!r}: not available on this platform")
        selector: selectors.BaseSelector = kind()
        return selector
    return selectors.DefaultSelector()


def _nothing() -> None:
    return None


# How often swept objects are looked at (sweep_every).
SWEEP_INTERVAL = 0.02


class Sweepable(Protocol):
    def sweep(self) -> bool: ...


class Timer:
    __slots__ = ("callback", "cancelled", "deadline")

    def __init__(self, deadline: float, callback: Callback) -> None:
        self.deadline = deadline
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True
        # Drop the callback now: a cancelled timer waits in the heap until its deadline and
        # must not keep an engine (and its socket, fds and buffers) alive until then.
        self.callback = _nothing


class Reactor:
    def __init__(self, name: str = "securemq-io") -> None:
        self._selector = make_selector()
        self.selector_name = type(self._selector).__name__
        self._wake_read, self._wake_write = _wakeup_fds(pipe.WAKER_KIND)
        # Guards the wake-up descriptors against stop(): a late call_soon from another thread
        # must never write into a descriptor that was closed (and perhaps reused).
        self._wake_lock = threading.Lock()
        self._wake_pending = False
        self._calls: deque[Callback] = deque()
        self._timers: list[tuple[float, int, Timer]] = []
        self._seq = itertools.count()
        self._deferred: dict[Callback, None] = {}
        self._sweeping: dict[Sweepable, None] = {}
        self._sweep_timer: Timer | None = None
        self._stopping = False
        self._selector.register(self._wake_read, _READ, None)
        # What each fd's handlers want, which fds a caller thread is reading (leased), what the
        # selector holds now; all under this lock (leases come from other threads).
        self._interest_lock = threading.Lock()
        self._wanted: dict[int, tuple[Callback | None, Callback | None]] = {}
        self._leased: set[int] = set()
        self._registered: dict[int, int] = {}
        # Loop iterations so far: a connection the reactor wrote to since a caller's last direct
        # write is idle again for the caller (io/fastpath.py).
        self.turns = 0
        # True while the loop runs I/O handlers, calls and timers, False while it waits in the
        # selector and wakes sockets (read by other threads without a lock: a hint for the
        # write turn, never for correctness).
        self.dispatching = False
        # epoll and kqueue see a registration made by another thread at once; the others only
        # on their next call.
        self._poke_on_change = self.selector_name not in ("EpollSelector", "KqueueSelector")
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()
        self.thread_id = self._thread.ident

    # -- any thread -------------------------------------------------------------------------
    def call_soon(self, callback: Callback) -> None:
        self._calls.append(callback)
        if not self._wake_pending:
            self._wake_pending = True
            with self._wake_lock:
                fd = self._wake_write
                if fd < 0:
                    return
                try:
                    if fd == self._wake_read:
                        os.eventfd_write(fd, 1)
                    else:
                        os.write(fd, b"\x01")
                except OSError:
                    pass

    def in_reactor(self) -> bool:
        return threading.get_ident() == self.thread_id

    def run_sync(self, fn: Callable[[], Any], timeout: float | None = None) -> Any:
        """Run ``fn`` on the reactor thread and return its result (or raise its exception)."""
        if self.in_reactor():
            return fn()
        done = threading.Event()
        box: dict[str, Any] = {}

        def call() -> None:
            try:
                box["result"] = fn()
            except BaseException as exc:
                box["error"] = exc
            finally:
                done.set()

        self.call_soon(call)
        if not done.wait(timeout):
            raise TimeoutError("securemq reactor did not answer")
        if "error" in box:
            raise box["error"]
        return box.get("result")

    def stop(self) -> None:
        """End the loop; from another thread, wait for it and release every descriptor."""

        def halt() -> None:
            self._stopping = True

        self.call_soon(halt)
        if not self.in_reactor():
            self._thread.join(5)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    # -- reactor thread only ----------------------------------------------------------------
    def defer(self, callback: Callback) -> None:
        """Run once just before the loop blocks again (wake-ups of other threads go here, so the
        woken thread finds the GIL free instead of fighting the reactor for it)."""
        self._deferred[callback] = None

    def call_later(self, delay: float, callback: Callback) -> Timer:
        timer = Timer(time.monotonic() + max(delay, 0.0), callback)
        timers = self._timers
        heapq.heappush(timers, (timer.deadline, next(self._seq), timer))
        if len(timers) > 256 and len(timers) % 256 == 0:
            # Many cancelled timers (handshake timeouts of finished connections): compact.
            live = [entry for entry in timers if not entry[2].cancelled]
            if len(live) < len(timers) // 2:
                heapq.heapify(live)
                self._timers = live
        return timer

    def sweep_every(self, item: Sweepable) -> None:
        """Call ``item.sweep()`` every SWEEP_INTERVAL until it returns False (one timer for
        all items, however many)."""
        self._sweeping[item] = None
        if self._sweep_timer is None:
            self._sweep_timer = self.call_later(SWEEP_INTERVAL, self._sweep)

    def _sweep(self) -> None:
        self._sweep_timer = None
        for item in list(self._sweeping):
            try:
                keep = item.sweep()
            except Exception:
                log.exception("securemq: sweep failed")
                keep = False
            if not keep:
                del self._sweeping[item]
        if self._sweeping:
            self._sweep_timer = self.call_later(SWEEP_INTERVAL, self._sweep)

    def set_handlers(
        self, fileobj: Any, on_read: Callback | None, on_write: Callback | None
    ) -> None:
        """(Re)register a file object; None for both unregisters it (reactor thread only)."""
        fd = fileobj if isinstance(fileobj, int) else fileobj.fileno()
        with self._interest_lock:
            if on_read is None and on_write is None:
                self._wanted.pop(fd, None)
                self._leased.discard(fd)
            else:
                self._wanted[fd] = (on_read, on_write)
            self._apply(fd)

    # -- the one registration change other threads may make (see io/fastpath.py) -----------
    def lease_reads(self, fd: int) -> None:
        """Stop watching ``fd`` for input while a caller thread reads it (any thread)."""
        with self._interest_lock:
            self._leased.add(fd)
            self._apply(fd)

    def return_reads(self, fd: int) -> None:
        """Watch ``fd`` for input again, as its handlers ask (any thread)."""
        with self._interest_lock:
            if fd in self._leased:
                self._leased.discard(fd)
                self._apply(fd)

    def _apply(self, fd: int) -> None:
        """Bring the selector in line with what is wanted for ``fd`` minus a read lease.

        selectors cannot hold an fd with no interest, so such an fd is unregistered; our own
        records (``_wanted``, ``_registered``) avoid selectors' get_key(), which formats the
        repr of an unknown object (two system calls) on every miss.
        """
        handlers = self._wanted.get(fd)
        events = 0
        if handlers is not None:
            on_read, on_write = handlers
            if on_read is not None and fd not in self._leased:
                events |= _READ
            if on_write is not None:
                events |= _WRITE
        registered = self._registered.get(fd, 0)
        selector = self._selector
        if not events:
            if registered:
                del self._registered[fd]
                try:
                    selector.unregister(fd)
                except (KeyError, ValueError, OSError):
                    pass
            return
        self._registered[fd] = events
        if not registered:
            selector.register(fd, events, handlers)
        else:
            # (Same interest, new callbacks: selectors makes no system call for that.)
            selector.modify(fd, events, handlers)
            if registered == events:
                return
        if self._poke_on_change and threading.get_ident() != self.thread_id:
            # A select()/poll() call in progress does not see a new interest until it returns
            # (epoll and kqueue do at once).
            self.call_soon(_nothing)

    def _run(self) -> None:
        try:
            self._loop()
        finally:
            self._release()

    def _loop(self) -> None:
        while not self._stopping:
            # One turn per call: its locals (the callbacks just run, the ready list) are gone
            # before the next select blocks, so they keep no engine or socket alive meanwhile.
            self._turn()

    def _turn(self) -> None:
        calls = self._calls
        timeout: float | None = None
        if calls:
            timeout = 0
        elif self._timers:
            timeout = max(0.0, self._timers[0][0] - time.monotonic())
        self.turns += 1
        try:
            ready = self._selector.select(timeout)
        except OSError:
            ready = []
        self.dispatching = True
        for key, mask in ready:
            handlers = key.data
            if handlers is None:
                self._drain_wake()
                continue
            on_read, on_write = handlers
            try:
                if mask & _WRITE and on_write is not None:
                    on_write()
                    if mask & _READ:
                        # The write handler may have unregistered or changed the reader.
                        current = self._wanted.get(key.fd)
                        on_read = current[0] if current is not None else None
                if mask & _READ and on_read is not None and key.fd not in self._leased:
                    on_read()
            except Exception:
                log.exception("securemq: I/O handler failed")
        for _ in range(len(calls)):
            callback = calls.popleft()
            try:
                callback()
            except Exception:
                log.exception("securemq: reactor call failed")
        if self._timers:
            now = time.monotonic()
            while self._timers and self._timers[0][0] <= now:
                _, _, timer = heapq.heappop(self._timers)
                if not timer.cancelled:
                    try:
                        timer.callback()
                    except Exception:
                        log.exception("securemq: timer failed")
        self.dispatching = False
        if self._deferred:
            # Just before the loop blocks again (see defer()).
            deferred, self._deferred = self._deferred, {}
            for wake in deferred:
                try:
                    wake()
                except Exception:
                    log.exception("securemq: deferred call failed")

    def _drain_wake(self) -> None:
        # Drain first, then re-arm: a call_soon that saw the flag still set is already in the
        # deque and is run in this turn; any later one writes the descriptor again.
        try:
            if self._wake_read == self._wake_write:
                os.eventfd_read(self._wake_read)
            else:
                os.read(self._wake_read, 4096)
        except OSError:
            pass
        self._wake_pending = False

    def _release(self) -> None:
        """The loop ended: close the selector and the wake-up descriptors; drop every timer and
        queued call (they reference engines and sockets that are now gone)."""
        try:
            self._selector.close()
        except OSError:
            pass
        with self._wake_lock:
            fds = {self._wake_read, self._wake_write}
            self._wake_read = self._wake_write = -1
        for fd in fds:
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._timers.clear()
        self._calls.clear()
        self._deferred.clear()
        self._sweeping.clear()
        self._wanted.clear()
        self._registered.clear()
        self._leased.clear()
