"""``zmq.sugar.tracker``: securemq's MessageTracker under pyzmq's path."""

from __future__ import annotations

from securemq.tracker import FINISHED_TRACKER, MessageTracker

_FINISHED_TRACKER = FINISHED_TRACKER  # (pyzmq's name)

__all__ = ["MessageTracker", "_FINISHED_TRACKER"]
