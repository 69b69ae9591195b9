"""``zmq.sugar.frame``: securemq's Frame (alias Message) under pyzmq's path."""

from __future__ import annotations

from securemq import Frame, Message

__all__ = ["Frame", "Message"]
