"""proxy(frontend, backend, capture=None): libzmq's zmq_proxy, built on Poller."""

from __future__ import annotations

from typing import Any

from .constants import PollEvent, SocketType
from .error import ZMQError
from .poll import Poller
from .socket import Socket


def _forward(src: Socket, dst: Socket, capture: Socket | None, stats: list[int],
             src_index: int, dst_index: int) -> None:
    """One whole message across; libzmq's statistics count frames and bytes on both sides."""
    msg = src.recv_multipart()
    size = sum(len(frame) for frame in msg)
    stats[src_index] += len(msg)
    stats[src_index + 1] += size
    if capture is not None:
        try:
            capture.send_multipart(msg)
        except ZMQError:
            pass
    dst.send_multipart(msg)
    stats[dst_index + 2] += len(msg)
    stats[dst_index + 3] += size


def proxy(frontend: Socket, backend: Socket, capture: Socket | None = None) -> None:
    """Shuttle messages both ways until the context is terminated (raises ContextTerminated)."""
    proxy_steerable(frontend, backend, capture, None)


def proxy_steerable(frontend: Socket, backend: Socket, capture: Socket | None = None,
                    control: Socket | None = None) -> Any:
    """As proxy, with a control socket taking PAUSE / RESUME / TERMINATE / STATISTICS.

    STATISTICS answers eight uint64 frames: frontend frames in, bytes in, frames out, bytes
    out, then the same for the backend. On a REQ/REP control socket every other command gets
    an empty reply, as libzmq does.
    """
    data = Poller()
    data.register(frontend, PollEvent.POLLIN)
    if backend is not frontend:
        data.register(backend, PollEvent.POLLIN)
    if control is not None:
        data.register(control, PollEvent.POLLIN)
    paused_poller = Poller()
    if control is not None:
        paused_poller.register(control, PollEvent.POLLIN)
    replies = control is not None and control.socket_type in (SocketType.REP, SocketType.REQ)
    paused = False
    stats = [0] * 8
    while True:
        # While paused only the control socket is watched (no busy loop on waiting input).
        events = dict((paused_poller if paused else data).poll(None))
        if control is not None and events.get(control):
            command = control.recv()
            if command == b"PAUSE":
                paused = True
            elif command == b"RESUME":
                paused = False
            elif command == b"STATISTICS":
                control.send_multipart([value.to_bytes(8, "little") for value in stats])
                continue
            if replies:
                control.send(b"")
            if command == b"TERMINATE":
                return 0
            continue
        if paused:
            continue
        if events.get(frontend):
            _forward(frontend, backend, capture, stats, 0, 4)
        if backend is not frontend and events.get(backend):
            _forward(backend, frontend, capture, stats, 4, 0)
