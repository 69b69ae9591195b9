"""Socket monitors: libzmq's v1 two-frame events, sent by an internal PAIR bound at an inproc
address, to which the user's PAIR connects.

A monitor is its own channel: events come from the reactor thread (the socket's session) and
from the socket's own thread (a bind that fails before reaching the reactor), so every send on
the internal PAIR is serialized by the monitor's lock; events nobody is connected to receive, or
that meet the HWM, are dropped (as libzmq).
"""

from __future__ import annotations

import struct
import threading
from collections.abc import Callable
from typing import Any

from .constants import Event, Flag
from .error import ZMQError


class SocketMonitor:
    """Owns the internal PAIR bound at the monitor address; ``emit`` from any thread."""

    def __init__(self, make_pair: Callable[[], Any], addr: str, events: int) -> None:
        self.events = events
        self.addr = addr
        self._lock = threading.Lock()
        self._socket = make_pair()
        self._socket.linger = 0
        self._socket.bind(addr)

    def emit(self, event: int, value: int, endpoint: str) -> None:
        if not event & self.events:
            return
        if event > 0xFFFF:  # securemq's own: a wider first frame (see constants.Event)
            head = struct.pack("<II", event & 0xFFFFFFFF, value & 0xFFFFFFFF)
        else:
            head = struct.pack("<HI", event, value & 0xFFFFFFFF)
        frames = [head, endpoint.encode()]
        with self._lock:
            if self._socket.closed:
                return
            try:
                self._socket.send_multipart(frames, Flag.DONTWAIT)
            except ZMQError:
                pass  # nobody listening, or the listener is behind: dropped, as libzmq

    def stop(self) -> None:
        self.emit(Event.MONITOR_STOPPED, 0, "")
        with self._lock:
            self._socket.close(linger=-1)


def parse_monitor_message(msg: list[bytes]) -> dict[str, Any]:
    """pyzmq's dict: event, value, endpoint (securemq's own events too: 8-byte first frame)."""
    if len(msg) != 2 or len(msg[0]) not in (6, 8):
        raise RuntimeError(f"Invalid event message format: {msg}")
    event, value = struct.unpack("<HI" if len(msg[0]) == 6 else "<II", msg[0])
    return {"event": Event(event), "value": value, "endpoint": msg[1]}


def recv_monitor_message(socket: Any, flags: int = 0) -> dict[str, Any]:
    return parse_monitor_message(socket.recv_multipart(flags))
