"""``wait_ready`` and ``wait_for_subscribers``: knowing whether a socket is connected, and why
not.

libzmq hides connection state: a client whose server refused it, whose CURVE_SERVERKEY is wrong,
or whose server is not up yet sees the same thing -- messages that queue. Here a socket's session
records every handshake that completes and every failure of a connection it dialed
(``io/status.py``), and these functions turn that record into an answer or a typed error.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from .constants import Errno
from .error import (
    Again,
    AuthenticationFailed,
    HandshakeError,
    HandshakeTimeout,
    ReconnectStopped,
    ServerKeyRejected,
    WaitTimeout,
)
from .io.status import ConnectionStatus, Failure, Outcome

T = TypeVar("T")


class _Socket(Protocol):
    """What these waits use of a socket (the facade, securemq/socket.py)."""

    _bound: dict[str, str]
    _connect_eps: dict[str, str]
    _status: ConnectionStatus
    _session: Any

    def _has_inproc_peer(self) -> bool: ...
    def _process_commands(self) -> None: ...
    def _wait_for(self, attempt: Callable[[], T | None], flags: int, timeout_ms: int,
                  what: str, reading: bool = False, tried: bool = False) -> T: ...


def verdict(ready: int, failures: Sequence[Outcome], dialing: int) -> HandshakeError | None:
    """The error that ends a wait for a connection now, or None to keep waiting. ``dialing``:
    how many connect()s the socket still dials."""
    if ready:
        return None
    for outcome in reversed(failures):
        if outcome.failure is Failure.AUTH:
            return AuthenticationFailed(outcome.status, outcome.reason, outcome.endpoint)
        if outcome.failure is Failure.SERVER_KEY:
            return ServerKeyRejected(outcome.endpoint)
    if dialing == 0:
        stopped = [outcome for outcome in failures if outcome.final]
        if stopped:
            last = stopped[-1]
            return ReconnectStopped(_describe(last), last.endpoint)
    return None


def _describe(outcome: Outcome) -> str:
    if outcome.failure is Failure.REFUSED:
        return outcome.detail
    return f"the handshake failed ({outcome.detail})"


def ready_now(sock: _Socket) -> bool:
    """True once a connection is up; raises when waiting longer cannot help; else False."""
    if not sock._bound and not sock._connect_eps:
        raise HandshakeError(Errno.EFSM,
                             "wait_ready: the socket has neither bound nor connected")
    if sock._has_inproc_peer():
        return True
    session = sock._session
    dialing = session.dialing() if session is not None else 0
    ready, failures = sock._status.snapshot()
    error = verdict(ready, failures, dialing)
    if error is not None:
        raise error
    return ready > 0


def timed_out(sock: _Socket, timeout: float | None) -> HandshakeTimeout:
    _, failures = sock._status.snapshot()
    last = failures[-1] if failures else None
    seen = f"; last failure at {last.endpoint}: {last.detail}" if last else ""
    return HandshakeTimeout(f"wait_ready: no handshake completed within {timeout} s{seen}",
                            last.endpoint if last else "", last.detail if last else "")


def wait_ready(sock: _Socket, timeout: float | None) -> None:
    """See ``Socket.wait_ready``."""

    def attempt() -> bool | None:
        return True if ready_now(sock) else None

    try:
        sock._wait_for(attempt, 0, _milliseconds(timeout), "wait_ready")
    except Again:
        raise timed_out(sock, timeout) from None


def _milliseconds(timeout: float | None) -> int:
    return -1 if timeout is None else max(0, int(timeout * 1000))


def subscribers_timed_out(count: int, have: int, timeout: float | None) -> WaitTimeout:
    return WaitTimeout(
        Errno.EAGAIN, f"wait_for_subscribers: {have} of {count} subscribers within {timeout} s"
    )


def wait_for_subscribers(sock: _Socket, count: int, timeout: float | None,
                         subscribers: Callable[[], int]) -> int:
    """See ``Socket.wait_for_subscribers``."""
    if count < 1:
        raise ValueError(f"wait_for_subscribers: count must be at least 1, not {count}")

    def attempt() -> int | None:
        sock._process_commands()
        have = subscribers()
        return have if have >= count else None

    try:
        return sock._wait_for(attempt, 0, _milliseconds(timeout), "wait_for_subscribers")
    except Again:
        raise subscribers_timed_out(count, subscribers(), timeout) from None
