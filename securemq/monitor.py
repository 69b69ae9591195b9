"""Socket monitors: libzmq's v1 two-frame events, pushed to a PAIR bound at an inproc address."""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any

from .constants import Event, SocketType

if TYPE_CHECKING:
    from .context import Context


class SocketMonitor:
    """Owns an internal PAIR bound at the monitor address; events go straight into its pipes."""

    def __init__(self, context: Context, addr: str, events: int) -> None:
        self.events = events
        self._socket = context.socket(SocketType.PAIR)
        self._socket.linger = 0
        self._socket.bind(addr)
        self.addr = addr

    def emit(self, event: int, value: int, endpoint: str) -> None:
        if not event & self.events:
            return
        frames = [struct.pack("<HI", event & 0xFFFF, value & 0xFFFFFFFF), endpoint.encode()]
        for _ in range(3):
            try:
                links = list(self._socket._inproc_links)
                break
            except RuntimeError:
                continue
        else:
            return
        for peer in links[:1]:
            peer.outbound.write(frames)

    def stop(self) -> None:
        self.emit(Event.MONITOR_STOPPED, 0, "")
        self._socket.close(linger=-1)


def parse_monitor_message(msg: list[bytes]) -> dict[str, Any]:
    """pyzmq's dict: event, value, endpoint."""
    if len(msg) != 2 or len(msg[0]) != 6:
        raise RuntimeError(f"Invalid event message format: {msg}")
    event, value = struct.unpack("<HI", msg[0])
    return {"event": Event(event), "value": value, "endpoint": msg[1]}


def recv_monitor_message(socket: Any, flags: int = 0) -> dict[str, Any]:
    return parse_monitor_message(socket.recv_multipart(flags))
