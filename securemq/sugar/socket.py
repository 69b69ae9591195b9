"""``zmq.sugar.socket``: securemq's Socket under pyzmq's path."""

from __future__ import annotations

from securemq import Socket

SyncSocket = Socket  # pyzmq: Socket[bytes]; securemq's Socket is not generic

__all__ = ["Socket", "SyncSocket"]
