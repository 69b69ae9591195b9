"""proxy(frontend, backend, capture=None): libzmq's zmq_proxy, built on Poller."""

from __future__ import annotations

from typing import Any

from .constants import PollEvent
from .error import ContextTerminated, ZMQError
from .poll import Poller
from .socket import Socket


def _forward(src: Socket, dst: Socket, capture: Socket | None) -> None:
    msg = src.recv_multipart()
    if capture is not None:
        try:
            capture.send_multipart(msg)
        except ZMQError:
            pass
    dst.send_multipart(msg)


def proxy(frontend: Socket, backend: Socket, capture: Socket | None = None) -> None:
    """Shuttle messages both ways until the context is terminated (raises ContextTerminated)."""
    proxy_steerable(frontend, backend, capture, None)


def proxy_steerable(frontend: Socket, backend: Socket, capture: Socket | None = None,
                    control: Socket | None = None) -> Any:
    """As proxy, with a control socket taking PAUSE / RESUME / TERMINATE / STATISTICS."""
    poller = Poller()
    poller.register(frontend, PollEvent.POLLIN)
    if backend is not frontend:
        poller.register(backend, PollEvent.POLLIN)
    if control is not None:
        poller.register(control, PollEvent.POLLIN)
    paused = False
    stats = [0, 0, 0, 0, 0, 0, 0, 0]
    while True:
        try:
            events = dict(poller.poll(None))
        except ContextTerminated:
            raise
        if control is not None and events.get(control):
            command = control.recv()
            if command == b"PAUSE":
                paused = True
            elif command == b"RESUME":
                paused = False
            elif command == b"TERMINATE":
                return None
            elif command == b"STATISTICS":
                control.send_multipart([v.to_bytes(8, "little") for v in stats])
        if paused:
            continue
        if events.get(frontend):
            _forward(frontend, backend, capture)
            stats[0] += 1
        if backend is not frontend and events.get(backend):
            _forward(backend, frontend, capture)
            stats[4] += 1
