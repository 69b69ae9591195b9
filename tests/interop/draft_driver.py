"""Drive a sans-IO connection (ZmtpConnection, RadioDishConnection, ZwsConnection) over a plain
Python socket against the oracle (pyzmq built on libzmq 4.3.5 with the DRAFT API).

These tests need that oracle: the main venv's stock pyzmq has no draft sockets, no udp:// and no
ws://, so they skip there. Run them with::

    python3 -m venv /tmp/oracle-venv
    /tmp/oracle-venv/bin/pip install \\
        /work/shared/oracle/pyzmq-27.3.0+libzmq4.3.5.drafts-cp311-cp311-manylinux_2_35_x86_64.whl \\
        pytest pytest-timeout hypothesis wsproto pynacl cryptography
    PYTHONPATH=. /tmp/oracle-venv/bin/pytest tests/interop/test_draft_*.py
"""

from __future__ import annotations

import re
import select
import socket
import time
from collections.abc import Callable
from typing import Any, Protocol

import pytest
import zmq

from securemq.zmtp.events import ConnectionFailed, Event, MessagesReceived, ZapRequestNeeded
from securemq.zmtp.mechanisms.base import ZapReplyData

DRAFT_SKIP_REASON = (
    "needs pyzmq with the DRAFT API (the oracle wheel; zmq.DRAFT_API is False here): "
    "PYTHONPATH=. /tmp/oracle-venv/bin/pytest tests/interop/test_draft_*.py"
)
HAS_DRAFTS = bool(getattr(zmq, "DRAFT_API", False))
TIMEOUT = 5.0


class SansIO(Protocol):
    def receive_data(self, data: bytes) -> list[Event]: ...
    def data_to_send(self) -> list[bytes]: ...


class Wire:
    """One sans-IO connection on one connected socket, pumped on demand."""

    def __init__(
        self,
        sock: socket.socket,
        conn: Any,
        *,
        zap: Callable[[ZapRequestNeeded], ZapReplyData] | None = None,
    ) -> None:
        self.sock = sock
        self.conn = conn
        self.zap = zap
        self.events: list[Event] = []
        sock.setblocking(True)
        self.flush()

    def flush(self) -> None:
        """Send what the connection has queued (a peer that hung up already is not an error
        here: its EOF shows up on the next read)."""
        for chunk in self.conn.data_to_send():
            try:
                self.sock.sendall(chunk)
            except ConnectionError:
                return

    def _take(self, events: list[Event]) -> None:
        for event in events:
            self.events.append(event)
            if isinstance(event, ZapRequestNeeded) and self.zap is not None:
                self._take(self.conn.zap_reply(self.zap(event)))

    def pump(self, until: Callable[[list[Event]], bool], timeout: float = TIMEOUT,
             allow_failure: bool = False) -> list[Event]:
        """Move bytes both ways until ``until(all events so far)`` holds."""
        deadline = time.monotonic() + timeout
        while True:
            self.flush()
            if until(self.events):
                return self.events
            failed = [e for e in self.events if isinstance(e, ConnectionFailed)]
            if failed and not allow_failure:
                raise AssertionError(f"connection failed: {failed[0].error!r}")
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out; events so far: {self.events!r}")
            ready, _, _ = select.select([self.sock], [], [], min(left, 0.05))
            if ready:
                try:
                    data = self.sock.recv(1 << 16)
                except ConnectionError:
                    data = b""
                self._take(self.conn.receive_data(data))

    def settle(self, seconds: float) -> list[Event]:
        """Move bytes both ways for ``seconds`` whatever arrives; all events so far."""
        deadline = time.monotonic() + seconds
        try:
            return self.pump(lambda events: time.monotonic() >= deadline, seconds + 1.0)
        except AssertionError:
            return self.events

    def messages(self, count: int, timeout: float = TIMEOUT) -> list[list[bytes]]:
        """Pump until ``count`` messages arrived in total; all of them."""

        def enough(events: list[Event]) -> bool:
            return len(received(events)) >= count

        return received(self.pump(enough, timeout))

    def close(self) -> None:
        self.sock.close()


def received(events: list[Event]) -> list[list[bytes]]:
    return [m for e in events if isinstance(e, MessagesReceived) for m in e.messages]


def has(kind: type) -> Callable[[list[Event]], bool]:
    return lambda events: any(isinstance(e, kind) for e in events)


def port_of(endpoint: str | bytes) -> int:
    text = endpoint.decode() if isinstance(endpoint, bytes) else endpoint
    match = re.search(r":(\d+)/?$", text)
    if match is None:
        raise ValueError(f"no port in {text!r}")
    return int(match.group(1))


def listener() -> socket.socket:
    lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lst.bind(("127.0.0.1", 0))
    lst.listen(4)
    return lst


def accept(lst: socket.socket, timeout: float = TIMEOUT) -> socket.socket:
    lst.settimeout(timeout)
    sock, _ = lst.accept()
    return sock


def oracle(ctx: zmq.Context[Any], kind: int, timeout_ms: int = 5000) -> Any:
    sock = ctx.socket(kind)
    sock.linger = 0
    sock.rcvtimeo = timeout_ms
    sock.sndtimeo = timeout_ms
    return sock


def free_udp_port() -> int:
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
    finally:
        probe.close()


def skip_without_drafts() -> None:
    if not HAS_DRAFTS:
        pytest.skip(DRAFT_SKIP_REASON, allow_module_level=True)
