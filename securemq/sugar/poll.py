"""``zmq.sugar.poll``: securemq's Poller and select under pyzmq's path."""

from __future__ import annotations

from securemq import Poller, select

__all__ = ["Poller", "select"]
