"""A fault-injecting TCP proxy for the fault tests.

How this works: one daemon thread runs a ``selectors`` loop. It accepts clients on a loopback
port, dials the target for each one, and forwards bytes both ways ("up" = client -> target,
"down" = target -> client). Each direction of each link has a queue of chunks with a release
time (the added delay) and a byte budget (cut after N bytes). Controls are called from the test
thread; they take a lock, change the settings and wake the loop through a socketpair.

- ``stall(direction)``: bytes in that direction of the live links are read and *held* (so the
  proxy still notices when a side closes) but not forwarded, until ``unstall()``. New links start
  unstalled, so a reconnect restores the flow.
- ``cut_after(n, direction)``: the live links forward ``n`` more bytes in that direction, then
  both sides are closed (``reset=True`` sends an RST instead of a FIN). ``stall_after`` holds
  instead of cutting.
- ``set_delay(seconds)``: every chunk read from now on is forwarded that much later.
- ``cut_all()``: close every live link now.

When one side of a link closes, the proxy forwards what it already holds for the other side and
then closes that side too.
"""

from __future__ import annotations

import selectors
import socket
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass, field

UP = "up"
DOWN = "down"
_DIRECTIONS = (UP, DOWN)
_READ_SIZE = 1 << 16
_MAX_HELD = 8 << 20  # stop reading a direction once this much is queued in it


@dataclass
class _Flow:
    """One direction of one link: where bytes come from, where they go, and what is queued."""

    src: socket.socket
    dst: socket.socket
    queue: deque[tuple[float, bytes]] = field(default_factory=deque)
    queued: int = 0
    stalled: bool = False
    budget: int | None = None  # bytes still allowed through before the cut / stall
    budget_action: str = "cut"  # "cut" or "stall"
    src_eof: bool = False
    forwarded: int = 0

    def wants_read(self) -> bool:
        return not self.src_eof and self.queued < _MAX_HELD

    def ready_bytes(self, now: float) -> bool:
        return not self.stalled and bool(self.queue) and self.queue[0][0] <= now


class _Link:
    def __init__(self, client: socket.socket, upstream: socket.socket) -> None:
        self.client = client
        self.upstream = upstream
        self.flows = {UP: _Flow(client, upstream), DOWN: _Flow(upstream, client)}
        self.closing = False  # close both sides once the budget-limited flow has drained
        self.reset = False
        self.closed = False


class FaultProxy:
    """Forward ``127.0.0.1:<port>`` to ``target``; see the module docstring for the controls."""

    def __init__(self, target_host: str, target_port: int, host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self._listener = socket.create_server((host, 0))
        self._listener.setblocking(False)
        self.port: int = self._listener.getsockname()[1]
        self.endpoint = f"tcp://{host}:{self.port}"
        self._lock = threading.Lock()
        self._links: list[_Link] = []
        self._delay = 0.0
        self._future: tuple[int, str, str, bool] | None = None
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._stop = threading.Event()
        self._sel = selectors.DefaultSelector()
        self._changed = threading.Condition(self._lock)
        self.accepted = 0  # links ever accepted
        self.cuts = 0  # links closed by cut_after / cut_all
        self.forwarded = {UP: 0, DOWN: 0}
        self._thread = threading.Thread(target=self._run, name="faultproxy", daemon=True)
        self._thread.start()

    # -- controls (test thread) -------------------------------------------------------------
    def stall(self, direction: str | None = None) -> None:
        """Hold the bytes of ``direction`` (both when None) on every live link."""
        self._set_stalled(direction, True)

    def unstall(self, direction: str | None = None) -> None:
        self._set_stalled(direction, False)

    def cut_after(self, nbytes: int, direction: str = UP, *, reset: bool = False,
                  future: bool = False) -> None:
        """Let ``nbytes`` more bytes through in ``direction`` on the live links, then close.

        With ``future`` the budget applies to the links accepted from now on instead.
        """
        self._arm(nbytes, direction, "cut", reset, future)

    def stall_after(self, nbytes: int, direction: str = UP, *, future: bool = False) -> None:
        """Let ``nbytes`` more bytes through in ``direction``, then hold everything after."""
        self._arm(nbytes, direction, "stall", False, future)

    def disarm_future(self) -> None:
        """Links accepted from now on start without a budget."""
        with self._lock:
            self._future = None

    def set_delay(self, seconds: float) -> None:
        with self._lock:
            self._delay = seconds
        self._wake()

    def cut_all(self, *, reset: bool = False) -> None:
        with self._lock:
            for link in self._links:
                link.closing = True
                link.reset = reset
                for flow in link.flows.values():
                    flow.budget = 0
                    flow.budget_action = "cut"
        self._wake()

    def live_links(self) -> int:
        with self._lock:
            return sum(1 for link in self._links if not link.closed)

    def wait_for(self, predicate: str, value: int, timeout: float = 5.0) -> bool:
        """Wait until ``accepted``/``cuts``/``live`` reaches ``value``; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                current = {
                    "accepted": self.accepted,
                    "cuts": self.cuts,
                    "live": sum(1 for link in self._links if not link.closed),
                }[predicate]
                if (current == value) if predicate == "live" else (current >= value):
                    return True
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)

    def stalled_bytes(self, direction: str) -> int:
        """Bytes held (queued, not forwarded) in ``direction`` over the live links."""
        with self._lock:
            return sum(link.flows[direction].queued for link in self._links if not link.closed)

    def close(self) -> None:
        self._stop.set()
        self._wake()
        self._thread.join(5)
        with self._lock:
            for link in self._links:
                self._close_link(link)
        self._listener.close()
        self._wake_r.close()
        self._wake_w.close()

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals --------------------------------------------------------------------------
    def _set_stalled(self, direction: str | None, stalled: bool) -> None:
        with self._lock:
            for link in self._links:
                for name in _DIRECTIONS if direction is None else (direction,):
                    link.flows[name].stalled = stalled
        self._wake()

    def _arm(self, nbytes: int, direction: str, action: str, reset: bool,
             future: bool = False) -> None:
        if direction not in _DIRECTIONS:
            raise ValueError(f"faultproxy: unknown direction {direction!r}")
        with self._lock:
            if future:
                self._future = (nbytes, direction, action, reset)
                return
            for link in self._links:
                if link.closed:
                    continue
                flow = link.flows[direction]
                flow.budget = nbytes
                flow.budget_action = action
                link.reset = reset
        self._wake()

    def _wake(self) -> None:
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                self._loop_once(self._sel)
        finally:
            with self._lock:
                self._sel.close()

    def _loop_once(self, sel: selectors.BaseSelector) -> None:
        now = time.monotonic()
        timeout: float | None = None
        wanted: dict[socket.socket, int] = {self._listener: selectors.EVENT_READ,
                                            self._wake_r: selectors.EVENT_READ}
        with self._lock:
            self._links = [link for link in self._links if not link.closed]
            for link in self._links:
                for flow in link.flows.values():
                    if flow.wants_read():
                        wanted[flow.src] = wanted.get(flow.src, 0) | selectors.EVENT_READ
                    if flow.ready_bytes(now):
                        wanted[flow.dst] = wanted.get(flow.dst, 0) | selectors.EVENT_WRITE
                    elif flow.queue and not flow.stalled:
                        wait = flow.queue[0][0] - now
                        timeout = wait if timeout is None else min(timeout, wait)
        registered = {key.fileobj: key.events for key in sel.get_map().values()}
        for sock in registered:
            if sock not in wanted:
                sel.unregister(sock)
        for sock, events in wanted.items():
            if sock in registered:
                if registered[sock] != events:
                    sel.modify(sock, events)
            else:
                sel.register(sock, events)
        for key, mask in sel.select(timeout):
            sock = key.fileobj
            if sock is self._listener:
                self._accept()
            elif sock is self._wake_r:
                try:
                    while self._wake_r.recv(4096):
                        pass
                except BlockingIOError:
                    pass
            else:
                assert isinstance(sock, socket.socket)
                with self._lock:
                    self._service(sock, mask)
        with self._lock:
            for link in self._links:
                self._maybe_finish(link)
            self._changed.notify_all()

    def _accept(self) -> None:
        try:
            client, _ = self._listener.accept()
        except BlockingIOError:
            return
        try:
            upstream = socket.create_connection(self.target, timeout=2)
        except OSError:
            client.close()
            return
        for sock in (client, upstream):
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        link = _Link(client, upstream)
        with self._lock:
            if self._future is not None:
                nbytes, direction, action, reset = self._future
                link.flows[direction].budget = nbytes
                link.flows[direction].budget_action = action
                link.reset = reset
            self._links.append(link)
            self.accepted += 1

    def _service(self, sock: socket.socket, mask: int) -> None:
        now = time.monotonic()
        for link in self._links:
            if link.closed:
                continue
            for name, flow in link.flows.items():
                if mask & selectors.EVENT_READ and flow.src is sock and flow.wants_read():
                    self._read(link, flow, now)
                if mask & selectors.EVENT_WRITE and flow.dst is sock:
                    self._write(link, name, flow, now)

    def _read(self, link: _Link, flow: _Flow, now: float) -> None:
        try:
            data = flow.src.recv(_READ_SIZE)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            flow.src_eof = True
            return
        flow.queue.append((now + self._delay, data))
        flow.queued += len(data)

    def _write(self, link: _Link, name: str, flow: _Flow, now: float) -> None:
        while flow.ready_bytes(now) and not link.closed:
            release, chunk = flow.queue[0]
            if flow.budget is not None:
                if flow.budget <= 0:
                    self._budget_spent(link, flow)
                    return
                chunk = chunk[: flow.budget]
            try:
                sent = flow.dst.send(chunk)
            except BlockingIOError:
                return
            except OSError:
                self._close_link(link)
                return
            head = flow.queue[0][1]
            if sent < len(head):
                flow.queue[0] = (release, head[sent:])
            else:
                flow.queue.popleft()
            flow.queued -= sent
            flow.forwarded += sent
            self.forwarded[name] += sent
            if flow.budget is not None:
                flow.budget -= sent
                if flow.budget <= 0:
                    self._budget_spent(link, flow)
                    return

    def _budget_spent(self, link: _Link, flow: _Flow) -> None:
        flow.budget = None
        if flow.budget_action == "stall":
            flow.stalled = True
            return
        self.cuts += 1
        self._close_link(link)

    def _maybe_finish(self, link: _Link) -> None:
        """A side closed: once what is held for the other side is out, close the link."""
        if link.closed:
            return
        if link.closing and all(flow.budget is None or flow.budget <= 0
                                for flow in link.flows.values()):
            self.cuts += 1
            self._close_link(link)
            return
        for flow in link.flows.values():
            if flow.src_eof and (not flow.queue or flow.stalled):
                self._close_link(link)
                return

    def _close_link(self, link: _Link) -> None:
        if link.closed:
            return
        link.closed = True
        for sock in (link.client, link.upstream):
            try:
                self._sel.unregister(sock)
            except (KeyError, ValueError, RuntimeError):
                pass
            try:
                if link.reset:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                sock.close()
            except OSError:
                pass
