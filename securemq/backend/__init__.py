"""pyzmq's ``zmq.backend``: the names of the libzmq binding layer, here securemq's own.

pyzmq picks a Cython or CFFI backend over libzmq; securemq has no C layer, so ``Context``,
``Socket``, ``Frame`` and friends are the public securemq classes. ``zmq_errno()`` is 0:
securemq reports errors only as exceptions, never through a saved errno.
"""

from __future__ import annotations

from typing import Any

import securemq
from securemq import (
    Context,
    Frame,
    Message,
    Socket,
    curve_keypair,
    curve_public,
    has,
    strerror,
    zmq_version_info,
)
from securemq.proxy import proxy, proxy_steerable

# sizeof(sockaddr_un.sun_path) - 1 on Linux, as libzmq reports it.
IPC_PATH_MAX_LEN = 107
# Whether the draft socket types (SERVER/CLIENT, RADIO/DISH, ...) are there, as the core says.
PYZMQ_DRAFT_API = has("draft")


def zmq_errno() -> int:
    """libzmq's last errno; always 0 here (errors are raised, never stored)."""
    return 0


def zmq_poll(sockets: list[tuple[Any, int]], timeout: float | None = -1) -> list[tuple[Any, int]]:
    """Poll ``[(socket_or_fd, flags), ...]`` for up to ``timeout`` ms (negative: no limit);
    return ``[(socket_or_fd, events), ...]`` for those ready."""
    if not sockets:
        return []
    poller = securemq.Poller()
    for sock, flags in sockets:
        poller.register(sock, flags)
    return poller.poll(timeout)


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
