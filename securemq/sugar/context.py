"""``zmq.sugar.context``: securemq's Context under pyzmq's path."""

from __future__ import annotations

from securemq import Context

# pyzmq 27 spells the synchronous Context ``Context[SyncSocket]``; securemq's Context is not
# generic, so the alias is the class itself.
SyncContext = Context

__all__ = ["Context", "SyncContext"]
