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


# -- securemq's own: why a connection is not there ----------------------------------------------


class HandshakeError(ZMQError):
    """A connect()ed socket has no peer, and why (``wait_ready``). ``endpoint``: where it
    failed ("" when no connection got that far)."""

    def __init__(self, errno: int, msg: str, endpoint: str = "") -> None:
        super().__init__(errno, msg)
        self.endpoint = endpoint


class AuthenticationFailed(HandshakeError):
    """The server refused us: ``status`` is the ZAP status code it sent in its ERROR (400: not
    allowed; 300: try later; 500: the server's ZAP failed), ``reason`` its ERROR text."""

    def __init__(self, status: int, reason: str, endpoint: str = "") -> None:
        super().__init__(
            _errno.EACCES,
            f"handshake with {endpoint or 'the server'}: authentication failed "
            f"(status {status}: {reason})",
            endpoint,
        )
        self.status = status
        self.reason = reason


class ServerKeyRejected(HandshakeError):
    """The CURVE server hung up right after our HELLO, without an ERROR: the HELLO did not open
    with its key, which almost always means CURVE_SERVERKEY is not that server's public key."""

    def __init__(self, endpoint: str = "") -> None:
        super().__init__(
            _errno.EPROTO,
            f"handshake with {endpoint or 'the server'}: the server closed the connection right "
            "after our CURVE HELLO: likely the wrong server key (CURVE_SERVERKEY)",
            endpoint,
        )


class HandshakeTimeout(HandshakeError, Again, TimeoutError):  # type: ignore[misc]
    """No peer completed a handshake in time (``last``: the last failure seen, if any)."""

    def __init__(self, msg: str, endpoint: str = "", last: str = "") -> None:
        HandshakeError.__init__(self, Errno.EAGAIN, msg, endpoint)
        self.last = last


class ReconnectStopped(HandshakeError):
    """RECONNECT_STOP ended every connect() of the socket: nothing will be dialed again."""

    def __init__(self, why: str, endpoint: str = "") -> None:
        super().__init__(
            _errno.ECONNREFUSED,
            f"connect({endpoint!r}): not reconnecting (RECONNECT_STOP): {why}",
            endpoint,
        )
        self.why = why


class WaitTimeout(Again, TimeoutError):  # type: ignore[misc]
    """A securemq wait (``wait_for_subscribers``) ran out of time."""
