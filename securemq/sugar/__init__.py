"""pyzmq's ``zmq.sugar`` import paths, re-exporting securemq's public classes.

securemq has no separate "sugar" layer over a C backend: these modules only name the same
objects as ``securemq`` (``zmq.sugar.socket.Socket is securemq.Socket``).
"""

from __future__ import annotations

from securemq import device
from securemq.error import (
    Again,
    ContextTerminated,
    NotDone,
    ZMQBaseError,
    ZMQBindError,
    ZMQError,
    ZMQVersionError,
)

from . import attrsettr, constants, context, frame, poll, socket, stopwatch, tracker, version
from .context import Context, SyncContext
from .frame import Frame, Message
from .poll import Poller, select
from .socket import Socket, SyncSocket
from .stopwatch import Stopwatch
from .tracker import _FINISHED_TRACKER, MessageTracker
from .version import (
    __revision__,
    __version__,
    pyzmq_version,
    pyzmq_version_info,
    zmq_version,
    zmq_version_info,
)

__all__ = [
    "Again", "Context", "ContextTerminated", "Frame", "Message", "MessageTracker", "NotDone",
    "Poller", "Socket", "Stopwatch", "SyncContext", "SyncSocket", "ZMQBaseError", "ZMQBindError",
    "ZMQError", "ZMQVersionError", "_FINISHED_TRACKER", "__revision__", "__version__",
    "attrsettr", "constants", "context", "device", "frame", "poll", "pyzmq_version",
    "pyzmq_version_info", "select", "socket", "stopwatch", "tracker", "version", "zmq_version",
    "zmq_version_info",
]
