"""Slowing down, then refusing, addresses whose handshakes keep failing (securemq's
FAILED_AUTH_BACKOFF and FAILED_AUTH_LIMIT).

A bound socket remembers, per peer address, how many handshakes failed lately. The next
connection from that address waits min(cap, 100 ms * 2**(failures - 1)) before the socket spends
any work on it; a success or a quiet minute forgets the address. Off when the cap is 0.
"""

from __future__ import annotations

import time
from collections.abc import Callable

_BASE = 0.1
_FORGET_AFTER = 60.0
_MAX_TRACKED = 4096


class FailureBackoff:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._failures: dict[str, tuple[int, float]] = {}

    def failed(self, address: str) -> None:
        now = self._clock()
        count, last = self._failures.get(address, (0, now))
        if now - last > _FORGET_AFTER:
            count = 0
        if len(self._failures) >= _MAX_TRACKED and address not in self._failures:
            # Bounded memory: forget the oldest address.
            oldest = min(self._failures, key=lambda a: self._failures[a][1])
            del self._failures[oldest]
        self._failures[address] = (count + 1, now)

    def succeeded(self, address: str) -> None:
        self._failures.pop(address, None)

    def delay(self, address: str, cap_ms: int) -> float:
        """Seconds to wait before handling a new connection from ``address``."""
        if cap_ms <= 0:
            return 0.0
        entry = self._failures.get(address)
        if entry is None:
            return 0.0
        count, last = entry
        if self._clock() - last > _FORGET_AFTER:
            del self._failures[address]
            return 0.0
        return float(min(cap_ms / 1000.0, _BASE * 2 ** (count - 1)))


class FailureBudget:
    """A token bucket per peer address (securemq's FAILED_AUTH_LIMIT): each failed handshake
    takes a token; an address with none left is refused at accept, before any work, until
    tokens come back (``limit`` per minute, up to ``limit``). Bounded: at most _MAX_TRACKED
    addresses, the least recently seen forgotten first."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        # address -> (tokens, when they were counted)
        self._buckets: dict[str, tuple[float, float]] = {}
        self.refused = 0  # connections refused so far

    def _tokens(self, address: str, limit: int, now: float) -> float:
        entry = self._buckets.get(address)
        if entry is None:
            return float(limit)
        tokens, then = entry
        return min(float(limit), tokens + (now - then) * limit / 60.0)

    def allows(self, address: str, limit: int) -> bool:
        """Whether a new connection from ``address`` may start its handshake (counts a
        refusal when it may not)."""
        if limit <= 0:
            return True
        if self._tokens(address, limit, self._clock()) >= 1.0:
            return True
        self.refused += 1
        return False

    def failed(self, address: str, limit: int) -> None:
        if limit <= 0:
            return
        now = self._clock()
        tokens = self._tokens(address, limit, now)
        self._buckets.pop(address, None)  # (re-inserted last: most recently seen)
        if len(self._buckets) >= _MAX_TRACKED:
            del self._buckets[next(iter(self._buckets))]
        self._buckets[address] = (max(0.0, tokens - 1.0), now)
