"""What became of a socket's connections, for the caller's thread (``wait_ready``).

The session (reactor thread) records each handshake that completes, each connection that goes
away, and each failure of a connection it dialed, classified by what the caller can do about
it; the facade reads the record under its lock. Nothing here does I/O.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from ..zmtp.errors import AuthenticationFailure, PeerClosed, ZmtpError


class Failure(Enum):
    AUTH = "auth"  # the server sent ERROR (a ZAP status)
    SERVER_KEY = "server-key"  # a CURVE server hung up after our HELLO
    PROTOCOL = "protocol"  # any other handshake failure
    CLOSED = "closed"  # the connection went away during the handshake
    REFUSED = "refused"  # nothing listens there (RECONNECT_STOP gave up on it)


@dataclass(frozen=True, slots=True)
class Outcome:
    endpoint: str
    failure: Failure
    detail: str
    status: int = 0  # Failure.AUTH: the ZAP status code
    reason: str = ""  # Failure.AUTH: the server's ERROR text
    final: bool = False  # the connecter will not dial again


# What the status codes of RFC 27 mean to the client that receives one in an ERROR.
_STATUS_TEXT = {
    300: "temporary failure, try again later",
    400: "not authorized",
    500: "the server's authenticator failed",
}


def classify(error: ZmtpError, *, curve_client: bool, greeted: bool) -> tuple[Failure, int, str]:
    """(kind, status, reason) of a handshake that failed on a connection we dialed."""
    if isinstance(error, AuthenticationFailure):
        status = int(error.status)
        return Failure.AUTH, status, _STATUS_TEXT.get(status, "refused")
    if isinstance(error, PeerClosed):
        if curve_client and greeted:
            return Failure.SERVER_KEY, 0, ""
        return Failure.CLOSED, 0, ""
    return Failure.PROTOCOL, 0, ""


class ConnectionStatus:
    """How many connections are up, and the failures since the last one came up."""

    def __init__(self, wake: Callable[[], None]) -> None:
        self._lock = threading.Lock()
        self._wake = wake
        self._listeners: list[Callable[[], None]] = []
        self.ready = 0
        self.failures: list[Outcome] = []
        self.stopped_connecters = 0
        # Running totals for Socket.stats(): connects, disconnects, reconnects, throttled,
        # handshake_failed_auth / _protocol / _no_detail (both roles).
        self.counts: Counter[str] = Counter()

    def up(self) -> None:
        with self._lock:
            self.ready += 1
            self.failures.clear()
            self.counts["connects"] += 1
        self._changed()

    def down(self) -> None:
        with self._lock:
            self.ready = max(0, self.ready - 1)
            self.counts["disconnects"] += 1
        self._changed()

    def count(self, name: str) -> None:
        """One more of ``name`` (a total that ends no wait: no wake-up)."""
        with self._lock:
            self.counts[name] += 1

    def totals(self) -> dict[str, int]:
        with self._lock:
            return dict(self.counts)

    def failed(self, outcome: Outcome, *, wake: bool = True) -> None:
        """Record a failure; ``wake=False`` for one that ends no wait (a dial to retry): the
        socket's FD then stays quiet, as libzmq's does while it redials."""
        with self._lock:
            self.failures.append(outcome)
            del self.failures[:-16]  # bounded: the recent ones tell the story
            if outcome.final:
                self.stopped_connecters += 1
        if wake:
            self._changed()

    def snapshot(self) -> tuple[int, list[Outcome]]:
        with self._lock:
            return self.ready, list(self.failures)

    def listen(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback`` (on the reactor thread) after every change; returns the undo."""
        with self._lock:
            self._listeners.append(callback)

        def unlisten() -> None:
            with self._lock:
                if callback in self._listeners:
                    self._listeners.remove(callback)

        return unlisten

    def _changed(self) -> None:
        self._wake()
        with self._lock:
            listeners = list(self._listeners)
        for callback in listeners:
            callback()
