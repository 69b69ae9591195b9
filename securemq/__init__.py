"""securemq: a pure-Python ZeroMQ with pyzmq's API.

``import securemq as zmq`` runs code written for pyzmq: Context, Socket, Poller, select, Frame,
proxy, the constants (libzmq numbering), ZMQError and friends, curve_keypair / curve_public.
"""

from __future__ import annotations

from . import constants
from .constants import *  # noqa: F403
from .constants import (
    FAILED_AUTH_BACKOFF,
    ContextOption,
    DeviceType,
    Errno,
    Event,
    Flag,
    MessageOption,
    PollEvent,
    ProtocolError,
    SecurityMechanism,
    SocketOption,
    SocketType,
)
from .context import Context
from .error import (
    Again,
    ContextTerminated,
    NotDone,
    ZMQBaseError,
    ZMQBindError,
    ZMQError,
    ZMQVersionError,
    strerror,
)
from .frame import Frame, Message
from .poll import Poller, select
from .proxy import proxy, proxy_steerable
from .socket import Socket
from .z85 import curve_keypair, curve_public

__version__ = "0.1.0"
VERSION_MAJOR, VERSION_MINOR, VERSION_PATCH = 4, 3, 5


def zmq_version() -> str:
    """The libzmq version whose behaviour securemq follows."""
    return "4.3.5"


def zmq_version_info() -> tuple[int, int, int]:
    return (VERSION_MAJOR, VERSION_MINOR, VERSION_PATCH)


def pyzmq_version() -> str:
    return __version__


def has(capability: str) -> bool:
    """Which libzmq capabilities securemq offers (zmq.has)."""
    return capability in ("ipc", "curve")


def device(device_type: int, frontend: Socket, backend: Socket) -> None:
    """Deprecated pyzmq alias of proxy."""
    proxy(frontend, backend)


# pyzmq's other top-level names, from the API-level packages built on the names above.
from . import backend, sugar  # noqa: E402
from .backend import IPC_PATH_MAX_LEN, PYZMQ_DRAFT_API, zmq_errno, zmq_poll  # noqa: E402
from .sugar import (  # noqa: E402
    MessageTracker,
    Stopwatch,
    SyncContext,
    SyncSocket,
    __revision__,
    pyzmq_version_info,
)

COPY_THRESHOLD = 65536
DRAFT_API = PYZMQ_DRAFT_API

__all__ = [
    "COPY_THRESHOLD", "DRAFT_API", "IPC_PATH_MAX_LEN", "MessageTracker", "PYZMQ_DRAFT_API",
    "Stopwatch", "SyncContext", "SyncSocket", "__revision__", "backend", "pyzmq_version_info",
    "sugar", "zmq_errno", "zmq_poll",
    "FAILED_AUTH_BACKOFF",
    "Again", "Context", "ContextOption", "ContextTerminated", "DeviceType", "Errno", "Event",
    "Flag", "Frame", "Message", "MessageOption", "NotDone", "PollEvent", "Poller",
    "ProtocolError", "SecurityMechanism", "Socket", "SocketOption", "SocketType", "ZMQBaseError",
    "ZMQBindError", "ZMQError", "ZMQVersionError", "constants", "curve_keypair", "curve_public",
    "device", "has", "proxy", "proxy_steerable", "pyzmq_version", "select", "strerror",
    "zmq_version", "zmq_version_info",
]
