"""``zmq.sugar.stopwatch``: securemq's Stopwatch under pyzmq's path."""

from __future__ import annotations

from securemq.stopwatch import Stopwatch

__all__ = ["Stopwatch"]
