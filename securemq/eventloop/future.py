"""``zmq.eventloop.future``: sockets whose methods return futures for tornado coroutines.

tornado >= 5 runs on asyncio and its ``Future`` is ``asyncio.Future``, so these are securemq's
asyncio classes under pyzmq's tornado names. One difference from pyzmq: a cancelled future is
cancelled the asyncio way (awaiting it raises ``asyncio.CancelledError``), where pyzmq's tornado
futures complete with this module's ``CancelledError`` exception.
"""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

from tornado.concurrent import Future
from tornado.ioloop import IOLoop

import securemq
import securemq.asyncio as _aio

__all__ = ["CancelledError", "Context", "Future", "IOLoop", "Poller", "Socket"]


class CancelledError(Exception):
    """pyzmq's exception for a cancelled tornado future (see the module docstring)."""


class Poller(_aio.Poller):
    """``await poller.poll(timeout_ms)`` inside a tornado coroutine."""


class Socket(_aio.Socket):
    """A socket whose send/recv/poll return futures that tornado coroutines can yield."""


class Context(_aio.Context):
    """A Context making future-returning Sockets; ``io_loop=`` is accepted and ignored."""

    _instance: ClassVar[securemq.Context | None] = None
    io_loop: Any = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if kwargs.pop("io_loop", None) is not None:
            warnings.warn(
                f"{type(self).__name__}(io_loop) argument is deprecated in pyzmq 22.2."
                " The currently active loop will always be used.",
                DeprecationWarning,
                stacklevel=2,
            )
        super().__init__(*args, **kwargs)

    def socket(self, socket_type: int, socket_class: type[Any] | None = None,
               **kwargs: Any) -> Any:
        """A new future-returning Socket (or ``socket_class(self, socket_type)``)."""
        if self.closed:
            raise securemq.ZMQError(securemq.ENOTSUP, "socket(): context is closed")
        sock = (socket_class or Socket)(self, socket_type)
        for name, value in kwargs.items():
            setattr(sock, name, value)
        return sock
