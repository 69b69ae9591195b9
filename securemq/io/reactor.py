"""The I/O thread of a Context.

How this works: one daemon thread runs an epoll loop. Other threads never touch the
epoll set or the objects it serves: they hand work over with ``call_soon`` (a deque of callables
plus an eventfd that wakes the loop). Timers live in a heap and are only created and cancelled on
the reactor thread. Handlers are plain callables registered per file object for read and/or
write readiness.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import os
import select
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

log = logging.getLogger("securemq.io")

Callback = Callable[[], None]


def _nothing() -> None:
    return None


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
        self._epoll = select.epoll()
        self._wake_fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        self._wake_pending = False
        self._calls: deque[Callback] = deque()
        self._timers: list[tuple[float, int, Timer]] = []
        self._seq = itertools.count()
        self._handlers: dict[int, tuple[Any, Callback | None, Callback | None]] = {}
        self._deferred: dict[Callback, None] = {}
        self._stopping = False
        self._epoll.register(self._wake_fd, select.EPOLLIN)
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()
        self.thread_id = self._thread.ident

    # -- any thread -------------------------------------------------------------------------
    def call_soon(self, callback: Callback) -> None:
        self._calls.append(callback)
        if not self._wake_pending:
            self._wake_pending = True
            try:
                os.eventfd_write(self._wake_fd, 1)
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
        def halt() -> None:
            self._stopping = True

        self.call_soon(halt)
        if not self.in_reactor():
            self._thread.join(5)


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

    def set_handlers(
        self, fileobj: Any, on_read: Callback | None, on_write: Callback | None
    ) -> None:
        """(Re)register a file object; None for both unregisters it."""
        fd = fileobj if isinstance(fileobj, int) else fileobj.fileno()
        events = (select.EPOLLIN if on_read else 0) | (select.EPOLLOUT if on_write else 0)
        known = fd in self._handlers
        if not events:
            if known:
                del self._handlers[fd]
                try:
                    self._epoll.unregister(fd)
                except (KeyError, ValueError, OSError):
                    pass
            return
        self._handlers[fd] = (fileobj, on_read, on_write)
        if known:
            self._epoll.modify(fd, events)
        else:
            self._epoll.register(fd, events)

    def _run(self) -> None:
        poll = self._epoll.poll
        handlers = self._handlers
        calls = self._calls
        wake_fd = self._wake_fd
        not_out = ~select.EPOLLOUT
        not_in = ~select.EPOLLIN
        while not self._stopping:
            timeout: float = -1
            if calls:
                timeout = 0
            elif self._timers:
                timeout = max(0.0, self._timers[0][0] - time.monotonic())
            if self._deferred:
                deferred, self._deferred = self._deferred, {}
                for callback in deferred:
                    try:
                        callback()
                    except Exception:
                        log.exception("securemq: deferred call failed")
                if calls:
                    timeout = 0
            try:
                ready = poll(timeout)
            except OSError:
                ready = []
            for fd, mask in ready:
                if fd == wake_fd:
                    # Drain first, then re-arm: a call_soon that saw the flag still set is
                    # already in the deque and is run below; any later one writes the fd.
                    try:
                        os.eventfd_read(wake_fd)
                    except OSError:
                        pass
                    self._wake_pending = False
                    continue
                entry = handlers.get(fd)
                if entry is None:
                    continue
                _, on_read, on_write = entry
                try:
                    # Errors and hang-ups count as both readable and writable (as selectors).
                    if mask & not_in and on_write is not None:
                        on_write()
                        entry2 = handlers.get(fd)
                        on_read = entry2[1] if entry2 is not None else None
                    if mask & not_out and on_read is not None:
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
        self._epoll.close()
        # The wake eventfd stays open until the reactor is collected: a late call_soon from
        # another thread must never write into a reused descriptor.

    def __del__(self) -> None:
        try:
            os.close(self._wake_fd)
        except OSError:
            pass
