"""asyncio sockets, context and poller: pyzmq's ``zmq.asyncio`` API.

How this works
--------------
An asyncio ``Socket`` is the synchronous socket plus three queues of waiters (receive, send,
poll), each waiter an asyncio Future of the event loop that called. Nothing polls: the socket's
``Waker`` (woken from the reactor or another socket's thread on every change that may unblock
the socket: a message in, room out, a peer attached, close, term) calls ``_aio_wake``, which
schedules one ``_aio_service`` on the loop (coalesced with a flag, ``call_soon_threadsafe`` from
other threads). ``_aio_service`` runs on the loop thread and completes waiters in FIFO order by
retrying the non-blocking sync operation (``DONTWAIT``) for the waiter at the head of a queue.

Cancellation safety follows from the order "check the future, then take": a message is taken
off the socket only inside ``_aio_service`` and only for a waiter whose future is not done, and
both happen in one loop callback, so a future cancelled (or timed out) earlier never swallows a
message and a send is either wholly queued or not at all. Done waiters are dropped lazily when
they reach the head of their queue. Timeouts (RCVTIMEO/SNDTIMEO, poll's timeout) are
``loop.call_later`` timers that fail (or, for poll, resolve with 0) a still-pending future.

A socket serves one event loop at a time: the loop of the first call, replaced when that loop
is closed or the socket has nothing pending on it.
"""

from __future__ import annotations

import asyncio
import json
import pickle
import threading
import warnings
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, cast

from . import readiness
from .constants import Errno, Flag, PollEvent
from .context import Context as _SyncContext
from .error import Again, ContextTerminated, ZMQError
from .poll import Poller as _SyncPoller
from .poll import probe_raw
from .socket import Socket as _SyncSocket
from .socket import _as_bytes, _send_kwargs

__all__ = ["Context", "Poller", "Socket", "ZMQEventLoop", "install"]

_NOWAIT = Flag.DONTWAIT


def _again(what: str) -> Again:
    return Again(Errno.EAGAIN, "Resource temporarily unavailable")


def _terminated(what: str) -> ContextTerminated:
    return ContextTerminated(Errno.ETERM, f"asyncio {what}: context was terminated")


def _caller_loop() -> asyncio.AbstractEventLoop:
    """The running loop; outside one, the thread's current loop (pyzmq allows that too)."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return asyncio.get_event_loop_policy().get_event_loop()


def _done(loop: asyncio.AbstractEventLoop, result: Any) -> asyncio.Future[Any]:
    future: asyncio.Future[Any] = loop.create_future()
    future.set_result(result)
    return future


class _Waiter:
    """One pending receive or send: its future and the non-blocking attempt that completes it."""

    __slots__ = ("attempt", "future", "what")

    def __init__(self, future: asyncio.Future[Any], attempt: Callable[[], Any], what: str) -> None:
        self.future = future
        self.attempt = attempt
        self.what = what


class Socket(_SyncSocket):
    """A securemq socket whose send/recv/poll return asyncio Futures (pyzmq's zmq.asyncio)."""

    def __init__(
        self,
        context: Any = None,
        socket_type: int = 0,
        *,
        shadow: _SyncSocket | int = 0,
        copy_threshold: int | None = None,
    ) -> None:
        super().__init__(context, socket_type, shadow=shadow, copy_threshold=copy_threshold)
        if not shadow and not isinstance(context, _SyncSocket):
            self._adopt_shadow()

    def _adopt_shadow(self) -> None:
        # The waiter queues live with the socket's state, shared by every asyncio facade.
        if "_aio_recv" in self.__dict__:
            return
        self._aio_loop: asyncio.AbstractEventLoop | None = None
        self._aio_thread = 0
        self._aio_recv: deque[_Waiter] = deque()
        self._aio_send: deque[_Waiter] = deque()
        self._aio_poll: list[tuple[asyncio.Future[int], int]] = []
        self._aio_scheduled = False
        self._aio_hooked = False

    @classmethod
    def from_socket(cls, socket: _SyncSocket) -> Socket:
        """An asyncio facade over an existing socket (pyzmq's ``Socket.from_socket``)."""
        return cls(shadow=socket)

    # -- the loop and the wake-up ----------------------------------------------------------
    def _aio_pending(self) -> bool:
        return any(
            not w.future.done() for w in (*self._aio_recv, *self._aio_send)
        ) or any(not f.done() for f, _ in self._aio_poll)

    def _aio_bind_loop(self) -> asyncio.AbstractEventLoop:
        loop = _caller_loop()
        current = self._aio_loop
        if current is loop:
            return loop
        if current is not None and not current.is_closed() and self._aio_pending():
            raise RuntimeError(
                "asyncio socket: operations are pending on another event loop"
            )
        self._aio_recv.clear()
        self._aio_send.clear()
        self._aio_poll.clear()
        self._aio_loop = loop
        self._aio_thread = threading.get_ident()
        self._aio_scheduled = False
        if not self._aio_hooked:
            self._waker.add_callback(self._aio_wake)
            self._aio_hooked = True
        return loop

    def _aio_wake(self) -> None:
        """Any thread: schedule one service pass on the loop if anything is waiting."""
        if self._aio_scheduled or not (self._aio_recv or self._aio_send or self._aio_poll):
            return
        loop = self._aio_loop
        if loop is None:
            return
        self._aio_scheduled = True
        try:
            if threading.get_ident() == self._aio_thread:
                loop.call_soon(self._aio_on_wake)
            else:
                loop.call_soon_threadsafe(self._aio_on_wake)
        except RuntimeError:  # the loop is closed: nobody is waiting any more
            self._aio_scheduled = False

    def _aio_on_wake(self) -> None:
        self._aio_scheduled = False
        self._aio_service()

    # -- completing waiters (loop thread) ---------------------------------------------------
    def _aio_service(self) -> None:
        if self._closed:
            self._aio_cancel_all()
            return
        while self._aio_serve(self._aio_recv) | self._aio_serve(self._aio_send):
            pass
        if self._aio_poll:
            self._aio_serve_polls()
        if self._hub.terminated:
            self._aio_fail_all()

    @staticmethod
    def _aio_serve(queue: deque[_Waiter]) -> bool:
        progress = False
        while queue:
            waiter = queue[0]
            future = waiter.future
            if future.done():
                queue.popleft()
                continue
            try:
                result = waiter.attempt()
            except Again:
                break
            except Exception as exc:
                queue.popleft()
                future.set_exception(exc)
                progress = True
                continue
            queue.popleft()
            future.set_result(result)
            progress = True
        return progress

    def _aio_serve_polls(self) -> None:
        events = self._events()
        waiting: list[tuple[asyncio.Future[int], int]] = []
        for future, flags in self._aio_poll:
            if future.done():
                continue
            if events & flags:
                future.set_result(events & flags)
            else:
                waiting.append((future, flags))
        self._aio_poll = waiting

    def _aio_fail_all(self) -> None:
        for queue in (self._aio_recv, self._aio_send):
            while queue:
                waiter = queue.popleft()
                if not waiter.future.done():
                    waiter.future.set_exception(_terminated(waiter.what))
        for future, _ in self._aio_poll:
            if not future.done():
                future.set_exception(_terminated("poll"))
        self._aio_poll = []

    def _aio_cancel_all(self) -> None:
        for queue in (self._aio_recv, self._aio_send):
            while queue:
                queue.popleft().future.cancel()
        for future, _ in self._aio_poll:
            future.cancel()
        self._aio_poll = []
        if self._aio_hooked:
            self._waker.remove_callback(self._aio_wake)
            self._aio_hooked = False

    def _aio_add(self, queue: deque[_Waiter], attempt: Callable[[], Any], flags: int,
                 timeout_ms: int, what: str) -> asyncio.Future[Any]:
        """Queue a waiter, try to complete it now, else arm its timeout."""
        loop = self._aio_bind_loop()
        future: asyncio.Future[Any] = loop.create_future()
        queue.append(_Waiter(future, attempt, what))
        self._aio_service()
        if not future.done():
            if flags & _NOWAIT or timeout_ms == 0:
                future.set_exception(_again(what))
            elif timeout_ms > 0:
                self._aio_timer(loop, future, timeout_ms, lambda: future.set_exception(
                    _again(what)))
        return future

    @staticmethod
    def _aio_timer(loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any],
                   timeout_ms: float, expire: Callable[[], None]) -> None:
        def fire() -> None:
            if not future.done():
                expire()

        handle = loop.call_later(timeout_ms / 1000.0, fire)
        future.add_done_callback(lambda _f: handle.cancel())

    # -- sending -------------------------------------------------------------------------------
    def _aio_send_parts(self, parts: list[bytes], flags: int, what: str) -> asyncio.Future[Any]:
        def attempt() -> None:
            self._send_message(parts, _NOWAIT)

        return self._aio_add(self._aio_send, attempt, flags, self._opts.sndtimeo, what)

    def send(self, data: Any, flags: int = 0, copy: bool = True,  # type: ignore[override]
             track: bool = False, routing_id: int | None = None,
             group: str | None = None) -> asyncio.Future[Any]:
        """Send one frame; the future completes when the whole message is queued."""
        self._check_open("send")
        if isinstance(flags, bool) or not isinstance(flags, int):
            raise TypeError("send: flags must be an int")
        part = _as_bytes(data)
        if flags & Flag.SNDMORE:
            self._send_parts.append(part)
            return _done(self._aio_bind_loop(), None)
        parts = [*self._send_parts, part]
        self._send_parts = []
        return self._aio_send_parts(parts, flags, "send")

    def send_multipart(self, msg_parts: Sequence[Any], flags: int = 0,  # type: ignore[override]
                       copy: bool = True, track: bool = False,
                       **kwargs: Any) -> asyncio.Future[Any]:
        """Send a multipart message atomically; cancelling sends all of it or nothing."""
        self._check_open("send_multipart")
        parts: list[bytes] = []
        for index, part in enumerate(msg_parts):
            if isinstance(part, str):
                raise TypeError(
                    f"send_multipart: frame {index} ({part[:32]!r}) is str; "
                    "unicode not allowed, encode it first"
                )
            parts.append(_as_bytes(part, f"send_multipart frame {index}"))
        if not parts:
            raise ValueError("send_multipart: a message needs at least one frame")
        if flags & Flag.SNDMORE:
            self._send_parts.extend(parts)
            return _done(self._aio_bind_loop(), None)
        parts = [*self._send_parts, *parts]
        self._send_parts = []
        return self._aio_send_parts(parts, flags, "send_multipart")

    def send_string(self, u: str, flags: int = 0, copy: bool = True,  # type: ignore[override]
                    encoding: str = "utf-8", **kwargs: Any) -> asyncio.Future[Any]:
        if not isinstance(u, str):
            raise TypeError("send_string: str objects only")
        return self.send(u.encode(encoding), flags, copy, **kwargs)

    send_unicode = send_string  # type: ignore[assignment]

    def send_json(self, obj: Any, flags: int = 0,  # type: ignore[override]
                  **kwargs: Any) -> asyncio.Future[Any]:
        send_kwargs = _send_kwargs(kwargs)
        return self.send(json.dumps(obj, **kwargs).encode("utf-8"), flags, **send_kwargs)

    def send_pyobj(self, obj: Any, flags: int = 0,  # type: ignore[override]
                   protocol: int = pickle.DEFAULT_PROTOCOL, **kwargs: Any) -> asyncio.Future[Any]:
        return self.send(pickle.dumps(obj, protocol), flags, **kwargs)

    def send_serialized(self, msg: Any,  # type: ignore[override]
                        serialize: Callable[[Any], list[bytes]], flags: int = 0,
                        copy: bool = True, **kwargs: Any) -> asyncio.Future[Any]:
        return self.send_multipart(serialize(msg), flags, copy, **kwargs)

    # -- receiving ------------------------------------------------------------------------------
    def _aio_recv_with(self, take: Callable[[], Any], flags: int, what: str) -> asyncio.Future[Any]:
        self._check_open(what)
        return self._aio_add(self._aio_recv, take, flags, self._opts.rcvtimeo, what)

    def recv(self, flags: int = 0, copy: bool = True,
             track: bool = False) -> asyncio.Future[Any]:
        """Receive one frame (bytes, or a Frame with ``copy=False``)."""
        return self._aio_recv_with(lambda: _SyncSocket.recv(self, _NOWAIT, copy), flags, "recv")

    def recv_multipart(self, flags: int = 0, copy: bool = True,  # type: ignore[override]
                       track: bool = False) -> asyncio.Future[Any]:
        """Receive a whole multipart message (list of bytes, or Frames with ``copy=False``)."""
        return self._aio_recv_with(
            lambda: _SyncSocket.recv_multipart(self, _NOWAIT, copy), flags, "recv_multipart"
        )

    def recv_string(self, flags: int = 0,  # type: ignore[override]
                    encoding: str = "utf-8") -> asyncio.Future[Any]:
        return self._aio_recv_with(
            lambda: _SyncSocket.recv(self, _NOWAIT).decode(encoding), flags, "recv_string"
        )

    recv_unicode = recv_string  # type: ignore[assignment]

    def recv_json(self, flags: int = 0, **kwargs: Any) -> asyncio.Future[Any]:
        return self._aio_recv_with(
            lambda: json.loads(_SyncSocket.recv(self, _NOWAIT), **kwargs), flags, "recv_json"
        )

    def recv_pyobj(self, flags: int = 0) -> asyncio.Future[Any]:
        return self._aio_recv_with(
            lambda: pickle.loads(_SyncSocket.recv(self, _NOWAIT)), flags, "recv_pyobj"
        )

    def recv_serialized(self, deserialize: Callable[[list[bytes]], Any],
                        flags: int = 0, copy: bool = True) -> asyncio.Future[Any]:
        return self._aio_recv_with(
            lambda: deserialize(_SyncSocket.recv_multipart(self, _NOWAIT, copy)),
            flags,
            "recv_serialized",
        )

    # -- polling ----------------------------------------------------------------------------------
    def poll(self, timeout: int | None = None,  # type: ignore[override]
             flags: int = PollEvent.POLLIN) -> asyncio.Future[int]:
        """A future of the ready events among ``flags``; 0 after ``timeout`` ms (None: never)."""
        self._check_open("poll")
        loop = self._aio_bind_loop()
        future: asyncio.Future[int] = loop.create_future()
        events = self._events() & flags
        if events or timeout == 0:
            future.set_result(events)
            return future
        if self._hub.terminated:
            future.set_exception(_terminated("poll"))
            return future
        self._aio_poll.append((future, flags))
        if timeout is not None and timeout > 0:
            self._aio_timer(loop, future, timeout, lambda: future.set_result(0))
        return future

    # -- knowing whether we are connected (securemq) -------------------------------------------
    async def wait_ready(self, timeout: float | None = None) -> None:  # type: ignore[override]
        """``Socket.wait_ready`` as an awaitable: returns once a connection of this socket has
        completed its handshake; the same typed errors."""
        self._check_open("wait_ready")
        done = await self._aio_wait_until(lambda: readiness.ready_now(self), timeout)
        if not done:
            raise readiness.timed_out(self, timeout)

    async def wait_for_subscribers(self, count: int = 1,  # type: ignore[override]
                                   timeout: float | None = None) -> int:
        """``Socket.wait_for_subscribers`` as an awaitable."""
        self._check_open("wait_for_subscribers")
        counter = getattr(self._routing, "subscriber_count", None)
        if counter is None:
            raise ZMQError(Errno.ENOTSUP, "wait_for_subscribers: PUB and XPUB only")
        if count < 1:
            raise ValueError(f"wait_for_subscribers: count must be at least 1, not {count}")

        def enough() -> bool:
            self._process_commands()
            return bool(counter() >= count)

        if not await self._aio_wait_until(enough, timeout):
            raise readiness.subscribers_timed_out(count, counter(), timeout)
        return int(counter())

    async def _aio_wait_until(self, condition: Callable[[], bool],
                              timeout: float | None) -> bool:
        """Check ``condition`` now and after every wake-up of the socket (another thread's
        work) until it holds (True) or ``timeout`` seconds pass (False)."""
        loop = asyncio.get_running_loop()
        woken = asyncio.Event()

        def wake() -> None:
            try:
                loop.call_soon_threadsafe(woken.set)
            except RuntimeError:  # the loop is closed
                pass

        deadline = None if timeout is None else loop.time() + timeout
        self._waker.add_callback(wake)
        try:
            while True:
                woken.clear()
                self._waker.clear()  # (a change after this wakes us again)
                if condition():
                    return True
                if self._closed:
                    raise ZMQError(Errno.ENOTSOCK, "socket was closed while waiting")
                remaining = None if deadline is None else deadline - loop.time()
                if remaining is not None and remaining <= 0:
                    return False
                try:
                    await asyncio.wait_for(woken.wait(), remaining)
                except TimeoutError:
                    return bool(condition())
        finally:
            self._waker.remove_callback(wake)

    # -- closing --------------------------------------------------------------------------------
    def close(self, linger: int | None = None) -> None:
        """Close; pending futures are cancelled (on the loop thread)."""
        if self._closed:
            return
        super().close(linger)
        loop = self._aio_loop
        if loop is None or loop.is_closed() or threading.get_ident() == self._aio_thread:
            self._aio_cancel_all()
        else:
            try:
                loop.call_soon_threadsafe(self._aio_cancel_all)
            except RuntimeError:
                self._aio_cancel_all()


class Context(_SyncContext):
    """A Context whose ``socket()`` makes asyncio Sockets."""

    _instance: ClassVar[_SyncContext | None] = None

    @classmethod
    def instance(cls, io_threads: int = 1) -> Context:
        with cls._instance_lock:
            current = cls._instance
            if current is None or current.closed:
                current = cls(io_threads)
                cls._instance = current
            return cast(Context, current)

    _socket_class = Socket

    def socket(self, socket_type: int, socket_class: Any = None, **kwargs: Any) -> Socket:
        return cast(Socket, super().socket(socket_type, socket_class, **kwargs))


def _fileno(obj: Any) -> int:
    return obj if isinstance(obj, int) else int(obj.fileno())


class Poller(_SyncPoller):
    """pyzmq's asyncio Poller: ``await poller.poll(timeout_ms)`` -> [(socket_or_fd, events)].

    securemq sockets (asyncio or not) are watched through their wakers; other objects (file
    descriptors or objects with ``fileno()``) through ``loop.add_reader`` / ``add_writer``,
    which replaces any other reader/writer the loop has on the same descriptor while polling.
    """

    async def poll(self, timeout: float | None = None) -> list[tuple[Any, int]]:  # type: ignore[override]
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None or timeout < 0 else loop.time() + timeout / 1000.0
        wake: asyncio.Future[None] = loop.create_future()
        scheduled = False
        loop_thread = threading.get_ident()

        def trigger() -> None:
            nonlocal scheduled
            scheduled = False
            if not wake.done():
                wake.set_result(None)

        def from_waker() -> None:
            nonlocal scheduled
            if scheduled:
                return
            scheduled = True
            try:
                if threading.get_ident() == loop_thread:
                    loop.call_soon(trigger)
                else:
                    loop.call_soon_threadsafe(trigger)
            except RuntimeError:
                scheduled = False

        hooked: list[_SyncSocket] = []
        readers: list[int] = []
        writers: list[int] = []
        try:
            for obj, flags in self.sockets:
                if isinstance(obj, _SyncSocket):
                    obj._waker.add_callback(from_waker)
                    hooked.append(obj)
                    continue
                fd = _fileno(obj)
                if flags & PollEvent.POLLIN:
                    loop.add_reader(fd, trigger)
                    readers.append(fd)
                if flags & PollEvent.POLLOUT:
                    loop.add_writer(fd, trigger)
                    writers.append(fd)
            while True:
                wake = loop.create_future()
                ready = self._ready()
                if ready or timeout == 0:
                    return ready
                if deadline is None:
                    await wake
                    continue
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return []
                handle = loop.call_later(remaining, trigger)
                try:
                    await wake
                finally:
                    handle.cancel()
        finally:
            for sock in hooked:
                sock._waker.remove_callback(from_waker)
            for fd in readers:
                loop.remove_reader(fd)
            for fd in writers:
                loop.remove_writer(fd)

    def _ready(self) -> list[tuple[Any, int]]:
        ready: list[tuple[Any, int]] = []
        raw: list[tuple[Any, int, int]] = []
        for obj, flags in self.sockets:
            if isinstance(obj, _SyncSocket):
                if obj._hub.terminated:
                    raise ContextTerminated(Errno.ETERM, "asyncio poll: context was terminated")
                if obj.closed:
                    raise ZMQError(Errno.ENOTSOCK, "asyncio poll: a registered socket is closed")
                events = obj._events() & flags
                if events:
                    ready.append((obj, events))
            else:
                raw.append((obj, _fileno(obj), flags))
        if raw:
            ready.extend(probe_raw(raw))
        return ready


class ZMQEventLoop(asyncio.SelectorEventLoop):
    """Deprecated in pyzmq 17 (any asyncio loop works): kept for code that still names it."""

    def __init__(self, selector: Any = None) -> None:
        _deprecated()
        super().__init__(selector)


def install() -> None:
    """Deprecated in pyzmq 17: no special event loop is needed."""
    _deprecated()


def _deprecated() -> None:
    warnings.warn("ZMQEventLoop and zmq.asyncio.install are deprecated in pyzmq 17: any asyncio "
                  "event loop works", DeprecationWarning, stacklevel=3)
