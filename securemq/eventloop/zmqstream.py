"""``zmq.eventloop.zmqstream.ZMQStream``: callbacks for a socket, driven by tornado's IOLoop.

How this works
--------------
The stream registers the socket's ``FD`` with the IOLoop for reading. As with libzmq, that
descriptor only says "something may have changed": the handler reads ``EVENTS`` and then
receives one message (if ``on_recv`` is set and POLLIN is up) and sends one queued message (if
POLLOUT is up and the send queue is not empty). The descriptor is edge-triggered, so after
every step the stream checks ``EVENTS`` again and, when work is left, schedules itself with
``add_callback`` instead of waiting for a readability that will not come. One message per
direction per turn keeps other handlers on the loop served under load.

Sends are queued and written from the loop when the socket can take them; ``on_send`` callbacks
get ``(msg, status)`` where ``status`` is what ``send_multipart`` returned, or the ``ZMQError``
it raised. Callbacks may be coroutine functions: their coroutines are scheduled on the loop.
"""

from __future__ import annotations

import asyncio
import pickle
import warnings
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import Any

from tornado.ioloop import IOLoop
from tornado.log import gen_log

import securemq
import securemq.asyncio
from securemq import POLLIN, POLLOUT
from securemq.utils import jsonapi

__all__ = ["ZMQStream"]

RecvCallback = Callable[[list[Any]], object]
SendCallback = Callable[[list[Any], Any], object]


def _ignore(*_args: Any) -> None:
    return None


class ZMQStream:
    """Register callbacks run when ``socket`` receives and sends, on a tornado IOLoop.

    ``on_recv(callback)`` runs ``callback(msg)`` for every incoming multipart message;
    ``send_multipart(msg)`` (and ``send``, ``send_string``, ``send_json``, ``send_pyobj``)
    queue a message written when the socket is writable, then call the ``on_send`` callback.
    ``bind``, ``connect``, ``setsockopt`` and friends are the socket's own methods.
    """

    socket: securemq.Socket
    io_loop: IOLoop
    poller: securemq.Poller

    def __init__(self, socket: securemq.Socket, io_loop: IOLoop | None = None) -> None:
        recv_multipart: Callable[..., list[Any]] = socket.recv_multipart
        send_multipart: Callable[..., Any] = socket.send_multipart
        if isinstance(socket, securemq.asyncio.Socket):
            warnings.warn(
                "ZMQStream only supports the base zmq.Socket class: callbacks get the results"
                " of the synchronous socket methods, not futures.",
                RuntimeWarning,
                stacklevel=2,
            )
            # pyzmq would shadow the socket as a plain Socket; calling the base class's
            # methods gives the same results.
            recv_multipart = partial(securemq.Socket.recv_multipart, socket)
            send_multipart = partial(securemq.Socket.send_multipart, socket)
        self.socket = socket
        self._recv_multipart = recv_multipart
        self._send_multipart = send_multipart
        self.io_loop = io_loop or IOLoop.current()
        self.poller = securemq.Poller()
        self._fd: int = socket.getsockopt(securemq.FD)

        self._send_queue: deque[tuple[Sequence[Any], dict[str, Any]]] = deque()
        self._recv_callback: RecvCallback | None = None
        self._send_callback: SendCallback | None = None
        self._close_callback: Callable[[], object] | None = None
        self._recv_copy = True
        self._flushed = False
        self._state = 0

        self.bind = socket.bind
        self.bind_to_random_port = socket.bind_to_random_port
        self.connect = socket.connect
        self.setsockopt = socket.setsockopt
        self.getsockopt = socket.getsockopt
        self.setsockopt_string = socket.setsockopt_string
        self.getsockopt_string = socket.getsockopt_string
        self.setsockopt_unicode = getattr(socket, "setsockopt_unicode", socket.setsockopt_string)
        self.getsockopt_unicode = getattr(socket, "getsockopt_unicode", socket.getsockopt_string)

        # The socket itself is registered (it has fileno()), as pyzmq does: then
        # ``IOLoop.close(all_fds=True)`` closes the socket, not the descriptor behind its back.
        self.io_loop.add_handler(self.socket, self._handle_events, IOLoop.READ)

    # -- callbacks ---------------------------------------------------------------------------
    def on_recv(self, callback: RecvCallback | None, copy: bool = True) -> None:
        """Run ``callback(msg)`` for each received message (a list of bytes, or of Frames
        with ``copy=False``); replaces the previous callback. ``None`` stops receiving."""
        self._check_closed()
        if callback is not None and not callable(callback):
            raise TypeError(f"on_recv: {callback!r} is not callable")
        self._recv_callback = callback
        self._recv_copy = copy
        if callback is None:
            self._drop_io_state(POLLIN)
        else:
            self._add_io_state(POLLIN)

    def on_recv_stream(self, callback: Callable[[ZMQStream, list[Any]], object] | None,
                       copy: bool = True) -> None:
        """As ``on_recv``, calling ``callback(stream, msg)``."""
        if callback is None:
            self.stop_on_recv()
        else:
            self.on_recv(partial(callback, self), copy=copy)

    def on_send(self, callback: SendCallback | None) -> None:
        """Run ``callback(msg, status)`` after each queued message is sent."""
        self._check_closed()
        if callback is not None and not callable(callback):
            raise TypeError(f"on_send: {callback!r} is not callable")
        self._send_callback = callback

    def on_send_stream(self, callback: Callable[[ZMQStream, list[Any], Any], object] | None,
                       ) -> None:
        """As ``on_send``, calling ``callback(stream, msg, status)``."""
        if callback is None:
            self.stop_on_send()
        else:
            self.on_send(partial(callback, self))

    def stop_on_recv(self) -> None:
        """Stop receiving (and calling the recv callback)."""
        self.on_recv(None)

    def stop_on_send(self) -> None:
        """Stop calling a send callback."""
        self.on_send(None)

    def on_err(self, callback: Callable[..., object]) -> None:
        """Deprecated in pyzmq: does nothing."""
        gen_log.warning("on_err does nothing, and will be removed")

    def stop_on_err(self) -> None:
        """Deprecated in pyzmq: does nothing."""
        gen_log.warning("on_err does nothing, and will be removed")

    def set_close_callback(self, callback: Callable[[], object] | None) -> None:
        """Call ``callback()`` when the stream is closed."""
        self._close_callback = callback

    # -- sending ---------------------------------------------------------------------------------
    def send(self, msg: Any, flags: int = 0, copy: bool = True, track: bool = False,
             callback: SendCallback | None = None, **kwargs: Any) -> None:
        """Queue a one-part message (see ``send_multipart``)."""
        self.send_multipart([msg], flags=flags, copy=copy, track=track, callback=callback,
                            **kwargs)

    def send_multipart(self, msg: Sequence[Any], flags: int = 0, copy: bool = True,
                       track: bool = False, callback: SendCallback | None = None,
                       **kwargs: Any) -> None:
        """Queue ``msg``, sent from the loop when the socket is writable; ``callback``
        (if given) becomes the send callback."""
        kwargs.update(flags=flags, copy=copy, track=track)
        self._send_queue.append((msg, kwargs))
        self.on_send(callback or self._send_callback or _ignore)
        self._add_io_state(POLLOUT)

    def send_string(self, u: str, flags: int = 0, encoding: str = "utf-8",
                    callback: SendCallback | None = None, **kwargs: Any) -> None:
        """Queue ``u`` encoded with ``encoding``."""
        if not isinstance(u, str):
            raise TypeError("unicode/str objects only")
        self.send(u.encode(encoding), flags=flags, callback=callback, **kwargs)

    send_unicode = send_string

    def send_json(self, obj: Any, flags: int = 0, callback: SendCallback | None = None,
                  **kwargs: Any) -> None:
        """Queue ``obj`` as JSON."""
        self.send(jsonapi.dumps(obj), flags=flags, callback=callback, **kwargs)

    def send_pyobj(self, obj: Any, flags: int = 0, protocol: int = -1,
                   callback: SendCallback | None = None, **kwargs: Any) -> None:
        """Queue ``obj`` pickled with ``protocol``."""
        self.send(pickle.dumps(obj, protocol), flags, callback=callback, **kwargs)

    # -- state -----------------------------------------------------------------------------------
    def receiving(self) -> bool:
        """True while a recv callback is registered."""
        return self._recv_callback is not None

    def sending(self) -> bool:
        """True while messages wait in the send queue."""
        return bool(self._send_queue)

    def closed(self) -> bool:
        """True once the stream is closed; a socket closed behind the stream's back closes it."""
        if self.socket is None:
            return True
        if self.socket.closed:
            self.close()
            return True
        return False

    def close(self, linger: int | None = None) -> None:
        """Stop watching the socket, close it (with ``linger``), run the close callback."""
        sock = self.socket
        if sock is None:
            return
        if sock.closed:
            warnings.warn(
                f"Unregistering FD {self._fd} after closing socket. This could result in"
                " unregistering handlers for the wrong socket. Please use stream.close()"
                " instead of closing the socket directly.",
                stacklevel=2,
            )
            self.io_loop.remove_handler(self._fd)
        else:
            self.io_loop.remove_handler(sock)
            sock.close(linger)
        self.socket = None  # type: ignore[assignment]
        if self._close_callback is not None:
            self._run_callback(self._close_callback)

    def flush(self, flag: int = POLLIN | POLLOUT, limit: int | None = None) -> int:
        """Handle pending messages now, bypassing the loop; return how many were handled.

        ``flag`` chooses receiving (POLLIN: incoming messages are taken even without a recv
        callback, i.e. dropped) and/or sending (POLLOUT); ``limit`` caps the count. Callbacks
        already scheduled for this loop turn are then skipped.
        """
        self._check_closed()
        already_flushed = self._flushed
        self._flushed = False
        count = 0

        def wanted() -> int:
            return (flag & POLLIN) | (flag & POLLOUT if self.sending() else 0)

        while (mask := wanted()) and not (limit and count >= limit):
            self.poller.register(self.socket, mask)
            ready = self.poller.poll(0)
            if not ready:
                break
            events = ready[0][1]
            if events & POLLIN:
                self._handle_recv()
                count += 1
                if self.socket is None:
                    break
            if events & POLLOUT and self.sending():
                self._handle_send()
                count += 1
                if self.socket is None:
                    break
        if count:
            self._flushed = True
            if not already_flushed:
                self.io_loop.add_callback(self._finish_flush)
        elif already_flushed:
            self._flushed = True
        self._rebuild_io_state()
        return count

    def _finish_flush(self) -> None:
        self._flushed = False

    # -- the loop side ------------------------------------------------------------------------
    def _run_callback(self, callback: Callable[..., object], *args: Any) -> None:
        """Run a user callback; an awaitable result is scheduled and its error logged."""
        try:
            result = callback(*args)
        except Exception:
            gen_log.error("Uncaught exception in ZMQStream callback", exc_info=True)
            raise
        if isinstance(result, Awaitable):
            future = asyncio.ensure_future(result)
            future.add_done_callback(_log_failure)

    def _handle_events(self, fd: Any, events: int) -> None:
        """IOLoop handler: the FD fired (or work was left), so look at EVENTS and act."""
        if self.socket is None:
            gen_log.warning("Got events for closed stream %s", self)
            return
        try:
            zmq_events = self.socket.getsockopt(securemq.EVENTS)
        except securemq.ContextTerminated:
            gen_log.warning("Got events for stream %s after terminating context", self)
            self.closed()
            return
        except securemq.ZMQError as exc:
            if self.closed():
                gen_log.warning("Got events for stream %s attached to closed socket: %s",
                                self, exc)
            else:
                gen_log.error("Error getting events for %s: %s", self, exc)
            return
        try:
            if zmq_events & POLLIN and self.receiving():
                self._handle_recv()
                if self.socket is None:
                    return
            if zmq_events & POLLOUT and self.sending():
                self._handle_send()
                if self.socket is None:
                    return
            self._rebuild_io_state()
        except Exception:
            gen_log.error("Uncaught exception in zmqstream callback", exc_info=True)
            raise

    def _handle_recv(self) -> None:
        if self._flushed:
            return
        try:
            msg = self._recv_multipart(securemq.NOBLOCK, copy=self._recv_copy)
        except securemq.Again:
            return  # taken by someone else since EVENTS was read
        callback = self._recv_callback
        if callback is not None:
            self._run_callback(callback, msg)

    def _handle_send(self) -> None:
        if self._flushed:
            return
        if not self._send_queue:
            gen_log.error("Shouldn't have handled a send event")
            return
        msg, kwargs = self._send_queue.popleft()
        status: Any
        try:
            status = self._send_multipart(msg, **kwargs)
        except securemq.ZMQError as exc:
            gen_log.error("SEND Error: %s", exc)
            status = exc
        callback = self._send_callback
        if callback is not None:
            self._run_callback(callback, msg, status)

    def _check_closed(self) -> None:
        if self.socket is None:
            raise OSError("Stream is closed")

    def _rebuild_io_state(self) -> None:
        if self.socket is None:
            return
        state = (POLLIN if self.receiving() else 0) | (POLLOUT if self.sending() else 0)
        self._state = state
        self._update_handler(state)

    def _add_io_state(self, state: int) -> None:
        self._state |= state
        self._update_handler(self._state)

    def _drop_io_state(self, state: int) -> None:
        self._state &= ~state
        self._update_handler(self._state)

    def _update_handler(self, state: int) -> None:
        """The FD will not fire again for work already pending: schedule it explicitly."""
        if self.socket is None:
            return
        if state & self.socket.getsockopt(securemq.EVENTS):
            self.io_loop.add_callback(self._handle_events, self._fd, 0)


def _log_failure(future: asyncio.Future[Any]) -> None:
    if future.cancelled():
        return
    exc = future.exception()
    if exc is not None:
        gen_log.error("Uncaught exception in ZMQStream callback",
                      exc_info=(type(exc), exc, exc.__traceback__))
