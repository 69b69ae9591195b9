"""securemq: a pure-Python ZeroMQ with pyzmq's API.

``import securemq as zmq`` runs code written for pyzmq: Context, Socket, Poller, select, Frame,
proxy, the constants (libzmq numbering), ZMQError and friends, curve_keypair / curve_public.
"""

from __future__ import annotations

from typing import Any

from . import constants, utils
from .constants import *  # noqa: F403
from .constants import (
    FAILED_AUTH_BACKOFF,
    ContextOption,
    DeviceType,
    Errno,
    Event,
    Flag,
    MessageOption,
    NormMode,
    PollEvent,
    ProtocolError,
    SecurityMechanism,
    SocketOption,
    SocketType,
)
from .context import Context
from .error import (
    Again,
    AuthenticationFailed,
    ContextTerminated,
    DraftFDWarning,
    HandshakeError,
    HandshakeTimeout,
    InterruptedSystemCall,
    NotDone,
    ReconnectStopped,
    ServerKeyRejected,
    WaitTimeout,
    ZMQBaseError,
    ZMQBindError,
    ZMQError,
    ZMQVersionError,
    strerror,
)
from .frame import Frame, Message
from .poll import Poller, select
from .proxy import proxy, proxy_steerable
from .routing.authz import AccessRules
from .socket import Socket
from .z85 import curve_keypair, curve_public

__version__ = "0.1.0"
VERSION_MAJOR, VERSION_MINOR, VERSION_PATCH = 4, 3, 5


def zmq_version() -> str:
    """The libzmq version whose behaviour securemq follows."""
    return "4.3.5"


def zmq_version_info() -> tuple[int, int, int]:
    return (VERSION_MAJOR, VERSION_MINOR, VERSION_PATCH)


# The pyzmq API level securemq follows (what code that checks pyzmq's version needs to see);
# securemq's own release is __version__.
PYZMQ_API_VERSION = "27.3.0"


def pyzmq_version() -> str:
    return PYZMQ_API_VERSION


def has(capability: str) -> bool:
    """Which libzmq capabilities securemq offers (zmq.has)."""
    if capability in ("ws", "wss", "WS", "WSS"):
        # libzmq 4.3.5 knows only the upper-case names; both work here.
        from .io.streams import ws_available

        return ws_available()
    return capability in _CAPABILITIES


_CAPABILITIES = frozenset({"ipc", "curve", "draft"})


def device(device_type: int, frontend: Socket, backend: Socket) -> None:
    """Deprecated pyzmq alias of proxy."""
    proxy(frontend, backend)


# pyzmq's other top-level names.
from .poll import zmq_poll  # noqa: E402
from .stopwatch import Stopwatch  # noqa: E402
from .tracker import MessageTracker  # noqa: E402

SyncContext = Context  # pyzmq 27: Context[SyncSocket]; securemq's classes are not generic
SyncSocket = Socket
__revision__ = ""
COPY_THRESHOLD = 65536
# sizeof(sockaddr_un.sun_path) - 1 on Linux, as libzmq reports it.
IPC_PATH_MAX_LEN = 107
PYZMQ_DRAFT_API = DRAFT_API = has("draft")


def pyzmq_version_info() -> tuple[int, int, int]:
    major, minor, patch = (int(part) for part in pyzmq_version().split(".")[:3])
    return major, minor, patch


def zmq_errno() -> int:
    """libzmq's last errno; always 0 here (errors are raised, never stored)."""
    return 0


def __getattr__(name: str) -> Any:
    # ``zmq.backend`` / ``zmq.sugar`` as attributes, as pyzmq has them; imported on first use
    # (they are built on this module, which must not import them back).
    if name in ("backend", "sugar"):
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "COPY_THRESHOLD", "DRAFT_API", "IPC_PATH_MAX_LEN", "MessageTracker", "PYZMQ_DRAFT_API",
    "Stopwatch", "SyncContext", "SyncSocket", "__revision__", "pyzmq_version_info",
    "zmq_errno", "zmq_poll",
    "FAILED_AUTH_BACKOFF",
    "AuthenticationFailed", "HandshakeError", "HandshakeTimeout", "ReconnectStopped",
    "ServerKeyRejected", "WaitTimeout",
    "AccessRules", "Again", "Context", "DraftFDWarning", "InterruptedSystemCall",
    "ContextOption", "ContextTerminated", "DeviceType", "Errno", "Event",
    "Flag", "Frame", "Message", "MessageOption", "NotDone", "PollEvent", "Poller",
    "ProtocolError", "SecurityMechanism", "Socket", "SocketOption", "SocketType", "ZMQBaseError",
    "ZMQBindError", "ZMQError", "ZMQVersionError", "constants", "curve_keypair", "curve_public",
    "NormMode", "utils",
    "device", "has", "proxy", "proxy_steerable", "pyzmq_version", "select", "strerror",
    "zmq_version", "zmq_version_info",
]
