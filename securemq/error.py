"""pyzmq's exception family: ZMQError(errno) and its subclasses."""

from __future__ import annotations

import errno as _errno
import os

from .constants import Errno

_ZMQ_MESSAGES = {
    Errno.EFSM: "Operation cannot be accomplished in current state",
    Errno.ENOCOMPATPROTO: "The protocol is not compatible with the socket type",
    Errno.ETERM: "Context was terminated",
    Errno.EMTHREAD: "No thread available",
}


def strerror(errno: int) -> str:
    """The text libzmq gives for an errno."""
    if errno in _ZMQ_MESSAGES:
        return _ZMQ_MESSAGES[Errno(errno)]
    return os.strerror(errno)


class ZMQBaseError(Exception):
    """Base of every securemq exception (pyzmq's name)."""


class ZMQError(ZMQBaseError):
    """An error with a ZeroMQ errno; ``str()`` gives the message."""

    errno: int
    strerror: str

    def __init__(self, errno: int = Errno.EINVAL, msg: str | None = None) -> None:
        self.errno = int(errno)
        self.strerror = msg if msg is not None else strerror(self.errno)
        super().__init__(self.errno, self.strerror)

    def __str__(self) -> str:
        return self.strerror

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.strerror!r})"


class Again(ZMQError):
    """EAGAIN: the operation would block (NOBLOCK, or a timeout expired)."""

    def __init__(self, errno: int = Errno.EAGAIN, msg: str | None = None) -> None:
        super().__init__(errno, msg)


class ContextTerminated(ZMQError):
    """ETERM: the context was terminated while the call was in progress."""

    def __init__(self, errno: int = Errno.ETERM, msg: str | None = None) -> None:
        super().__init__(errno, msg)


class InterruptedSystemCall(ZMQError, InterruptedError):  # type: ignore[misc]
    """EINTR (pyzmq's name; securemq retries interrupted system calls itself)."""

    def __init__(self, errno: int = _errno.EINTR, msg: str | None = None) -> None:
        super().__init__(errno, msg)


class DraftFDWarning(RuntimeWarning):
    """pyzmq warns when FD is used on a thread-safe (draft) socket; kept for its name."""


class NotDone(ZMQBaseError):
    """Raised by MessageTracker.wait on timeout (pyzmq's name)."""


class ZMQBindError(ZMQBaseError):
    """bind_to_random_port found no free port."""


class ZMQVersionError(NotImplementedError):
    """A feature is not available in this version."""


def make_error(errno: int, msg: str | None = None) -> ZMQError:
    """The ZMQError subclass pyzmq raises for an errno."""
    if errno == Errno.EAGAIN:
        return Again(errno, msg)
    if errno == Errno.ETERM:
        return ContextTerminated(errno, msg)
    return ZMQError(errno, msg)
