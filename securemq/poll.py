"""Poller and select over securemq sockets and raw file descriptors together."""

from __future__ import annotations

import select as _select
import time
from typing import Any

from .constants import Errno, PollEvent
from .error import ContextTerminated, ZMQError
from .socket import Socket


def _fileno(obj: Any) -> int:
    if isinstance(obj, int):
        return obj
    return int(obj.fileno())


def probe_raw(raw: list[tuple[Any, int, int]]) -> list[tuple[int, int]]:
    """Ready raw descriptors now, as (fd, events) for (object, fd, wanted flags) entries;
    pyzmq reports raw sockets by their descriptor number."""
    probe = _select.poll()
    for _, fd, _flags in raw:
        probe.register(fd, _select.POLLIN | _select.POLLOUT | _select.POLLERR)
    got = dict(probe.poll(0))
    ready: list[tuple[int, int]] = []
    for _obj, fd, flags in raw:
        mask = got.get(fd, 0)
        events = 0
        if mask & (_select.POLLIN | _select.POLLHUP) and flags & PollEvent.POLLIN:
            events |= PollEvent.POLLIN
        if mask & _select.POLLOUT and flags & PollEvent.POLLOUT:
            events |= PollEvent.POLLOUT
        if mask & _select.POLLERR and flags & PollEvent.POLLERR:
            events |= PollEvent.POLLERR
        if events:
            ready.append((fd, events))
    return ready


class Poller:
    """pyzmq's Poller: register/modify/unregister, poll(timeout ms) -> [(socket_or_fd, events)]."""

    def __init__(self) -> None:
        self.sockets: list[tuple[Any, int]] = []
        self._map: dict[Any, int] = {}

    def __contains__(self, socket: Any) -> bool:
        return socket in self._map

    def register(self, socket: Any, flags: int = PollEvent.POLLIN | PollEvent.POLLOUT) -> None:
        if flags:
            if socket in self._map:
                self.sockets[self._map[socket]] = (socket, flags)
            else:
                self._map[socket] = len(self.sockets)
                self.sockets.append((socket, flags))
        elif socket in self._map:
            self.unregister(socket)

    def modify(self, socket: Any, flags: int = PollEvent.POLLIN | PollEvent.POLLOUT) -> None:
        self.register(socket, flags)

    def unregister(self, socket: Any) -> None:
        idx = self._map.pop(socket)
        self.sockets.pop(idx)
        for other, index in self._map.items():
            if index > idx:
                self._map[other] = index - 1

    def poll(self, timeout: float | None = None) -> list[tuple[Any, int]]:
        """Wait up to ``timeout`` ms (None or negative: forever) for registered events."""
        deadline = None if timeout is None or timeout < 0 else time.monotonic() + timeout / 1000.0
        while True:
            ready, fds = self._check()
            if ready:
                return ready
            wait_ms = -1.0
            if deadline is not None:
                wait_ms = (deadline - time.monotonic()) * 1000.0
                if wait_ms <= 0:
                    return []
            # Every registered socket's waker was cleared by _check, so its descriptor turns
            # readable on the next change (and close()/term() wake it too): no time slices.
            poller = _select.poll()
            for fd, mask in fds:
                poller.register(fd, mask)
            poller.poll(wait_ms)

    def _check(self) -> tuple[list[tuple[Any, int]], list[tuple[int, int]]]:
        ready: list[tuple[Any, int]] = []
        fds: list[tuple[int, int]] = []
        raw: list[tuple[Any, int, int]] = []
        for obj, flags in self.sockets:
            if isinstance(obj, Socket):
                # Clear first, then look: a close() or term() that races with this check has
                # either been seen below or left the waker set (so the wait returns at once).
                obj._waker.clear()
                if obj._hub.terminated:
                    raise ContextTerminated(Errno.ETERM, "poll: context was terminated")
                if obj.closed:
                    raise ZMQError(Errno.ENOTSOCK, "poll: a registered socket is closed")
                events = obj._events() & flags
                if events:
                    ready.append((obj, events))
                fds.append((obj._waker.fileno(), _select.POLLIN))
            else:
                fd = _fileno(obj)
                mask = 0
                if flags & PollEvent.POLLIN:
                    mask |= _select.POLLIN
                if flags & PollEvent.POLLOUT:
                    mask |= _select.POLLOUT
                if flags & PollEvent.POLLERR:
                    mask |= _select.POLLERR
                raw.append((obj, fd, flags))
                fds.append((fd, mask))
        if raw:
            ready.extend(probe_raw(raw))
        return ready, fds


def select(rlist: list[Any], wlist: list[Any], xlist: list[Any],
           timeout: float | None = None) -> tuple[list[Any], list[Any], list[Any]]:
    """pyzmq's zmq.select: timeout in seconds."""
    poller = Poller()
    for obj in rlist:
        poller.register(obj, PollEvent.POLLIN)
    for obj in wlist:
        poller.register(obj, poller_flags(poller, obj) | PollEvent.POLLOUT)
    for obj in xlist:
        poller.register(obj, poller_flags(poller, obj) | PollEvent.POLLERR)
    result = dict(poller.poll(None if timeout is None else timeout * 1000.0))
    return (
        [o for o in rlist if _key(o) in result and result[_key(o)] & PollEvent.POLLIN],
        [o for o in wlist if _key(o) in result and result[_key(o)] & PollEvent.POLLOUT],
        [o for o in xlist if _key(o) in result and result[_key(o)] & PollEvent.POLLERR],
    )


def _key(obj: Any) -> Any:
    return obj if isinstance(obj, Socket | int) else _fileno(obj)


def poller_flags(poller: Poller, obj: Any) -> int:
    for registered, flags in poller.sockets:
        if registered is obj:
            return flags
    return 0


def zmq_poll(sockets: list[tuple[Any, int]], timeout: float | None = -1) -> list[tuple[Any, int]]:
    """pyzmq's ``zmq_poll``: poll ``[(socket_or_fd, flags), ...]`` for up to ``timeout`` ms
    (negative or None: no limit); ``[(socket_or_fd, events), ...]`` for those ready."""
    if not sockets:
        return []
    poller = Poller()
    for sock, flags in sockets:
        poller.register(sock, flags)
    return poller.poll(timeout)
