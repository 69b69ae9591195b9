"""``zmq.MessageTracker``: is ZeroMQ done with one or more sent messages?

A tracker watches ``threading.Event`` objects, other trackers and tracked Frames. securemq
copies every message when it is sent, so a send never hands out a tracker in use: securemq
only provides the class (for code that builds, combines or type-checks trackers) and the
already-finished ``FINISHED_TRACKER``.
"""

from __future__ import annotations

import time
from threading import Event
from typing import Any

from .error import NotDone

_FOREVER = 7 * 24 * 3600.0


class MessageTracker:
    """Tracks Events, MessageTrackers and tracked Frames; ``done`` when all of them are."""

    events: set[Event]
    peers: set[MessageTracker]

    def __init__(self, *towatch: MessageTracker | Event | Any) -> None:
        self.events = set()
        self.peers = set()
        for obj in towatch:
            if isinstance(obj, Event):
                self.events.add(obj)
            elif isinstance(obj, MessageTracker):
                self.peers.add(obj)
            elif hasattr(obj, "tracker") and hasattr(obj, "bytes"):  # a Frame
                tracker: Any = obj.tracker
                if not tracker:
                    raise ValueError("Not a tracked message")
                self.peers.add(tracker)
            else:
                raise TypeError(f"Require Events or Message Frames, not {type(obj)}")

    @property
    def done(self) -> bool:
        return all(e.is_set() for e in self.events) and all(p.done for p in self.peers)

    def wait(self, timeout: float = -1) -> None:
        """Block until done; ``NotDone`` after ``timeout`` seconds (negative: no limit)."""
        budget = _FOREVER if timeout is False or timeout < 0 else float(timeout)
        deadline = time.monotonic() + budget
        for event in self.events:
            remaining = deadline - time.monotonic()
            if remaining < 0 or not event.wait(timeout=remaining):
                raise NotDone
        for peer in self.peers:
            remaining = deadline - time.monotonic()
            if remaining < 0:
                raise NotDone
            peer.wait(timeout=remaining)


FINISHED_TRACKER = MessageTracker()

__all__ = ["FINISHED_TRACKER", "MessageTracker"]
