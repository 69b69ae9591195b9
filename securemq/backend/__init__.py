"""pyzmq's ``zmq.backend``: the names of the libzmq binding layer, here securemq's own.

pyzmq picks a Cython or CFFI backend over libzmq; securemq has no C layer, so ``Context``,
``Socket``, ``Frame`` and friends are the public securemq classes. ``zmq_errno()`` is 0:
securemq reports errors only as exceptions, never through a saved errno.
"""

from __future__ import annotations

from typing import Any

from securemq import (
    IPC_PATH_MAX_LEN,
    PYZMQ_DRAFT_API,
    Context,
    Frame,
    Message,
    Socket,
    curve_keypair,
    curve_public,
    has,
    strerror,
    zmq_errno,
    zmq_poll,
    zmq_version_info,
)
from securemq.proxy import proxy, proxy_steerable


def __getattr__(name: str) -> Any:
    # pyzmq's backends also carry monitored_queue; loaded lazily to keep ``import securemq``
    # free of the devices package.
    if name == "monitored_queue":
        from securemq.devices.monitoredqueue import monitored_queue

        return monitored_queue
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "IPC_PATH_MAX_LEN", "PYZMQ_DRAFT_API", "Context", "Frame", "Message", "Socket",
    "curve_keypair", "curve_public", "has", "proxy", "proxy_steerable", "strerror",
    "zmq_errno", "zmq_poll", "zmq_version_info",
]
