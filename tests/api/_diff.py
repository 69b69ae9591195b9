"""Run the same operation on pyzmq and on securemq and compare what happens."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import zmq as pyzmq

import securemq

Outcome = tuple[str, Any]


def outcome(fn: Callable[[], Any]) -> Outcome:
    """("ok", value) or (exception class name, errno) - comparable across the two libraries."""
    try:
        return ("ok", fn())
    except (pyzmq.ZMQError, securemq.ZMQError) as exc:
        return (type(exc).__name__, exc.errno)
    except (TypeError, ValueError, AttributeError) as exc:
        return (type(exc).__name__, None)


def both_sockets(socket_type_name: str) -> tuple[Any, Any, Callable[[], None]]:
    """A pyzmq and a securemq socket of the same type, and a cleanup function."""
    zctx, sctx = pyzmq.Context(), securemq.Context()
    zsock = zctx.socket(getattr(pyzmq, socket_type_name))
    ssock = sctx.socket(getattr(securemq, socket_type_name))

    def cleanup() -> None:
        zsock.close(0)
        ssock.close(0)
        zctx.term()
        sctx.term()

    return zsock, ssock, cleanup


def getsockopt_outcome(sock: Any, code: int) -> Outcome:
    return outcome(lambda: sock.getsockopt(code))


def getattr_outcome(sock: Any, name: str) -> Outcome:
    return outcome(lambda: getattr(sock, name))
