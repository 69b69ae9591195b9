"""FAILED_AUTH_BACKOFF: addresses whose handshakes keep failing are slowed down; a refused client
backs off up to RECONNECT_IVL_MAX instead of hammering the server."""

from __future__ import annotations

import itertools
import socket
import time
from collections.abc import Iterator

import pytest

import securemq as zmq
from securemq.io.backoff import FailureBackoff
from securemq.zmtp.greeting import encode_greeting


@pytest.fixture
def ctx() -> Iterator[zmq.Context]:
    context = zmq.Context()
    yield context
    context.destroy(linger=0)


def test_backoff_table_grows_caps_and_forgets() -> None:
    now = [100.0]
    table = FailureBackoff(clock=lambda: now[0])
    assert table.delay("10.0.0.1", 5000) == 0.0
    for _ in range(3):
        table.failed("10.0.0.1")
    assert table.delay("10.0.0.1", 5000) == pytest.approx(0.4)
    assert table.delay("10.0.0.1", 250) == pytest.approx(0.25)  # capped
    assert table.delay("10.0.0.1", 0) == 0.0  # off
    assert table.delay("10.0.0.2", 5000) == 0.0  # other addresses unaffected
    now[0] += 61
    assert table.delay("10.0.0.1", 5000) == 0.0  # a quiet minute forgets
    table.failed("10.0.0.3")
    table.succeeded("10.0.0.3")
    assert table.delay("10.0.0.3", 5000) == 0.0


def _garbage_handshake(port: int) -> None:
    """A raw client whose handshake fails at once (wrong mechanism for a NULL server)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        raw.sendall(encode_greeting(b"PLAIN", False))
        raw.settimeout(5)
        try:
            while raw.recv(4096):
                pass
        except OSError:
            pass


def _time_to_handshake(port: int) -> float:
    """Seconds until a raw NULL client gets the server's greeting bytes back."""
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        raw.sendall(encode_greeting(b"NULL", False))
        raw.settimeout(5)
        raw.recv(10)
    return time.monotonic() - start


def test_repeated_failures_delay_the_next_handshake(ctx: zmq.Context) -> None:
    server = ctx.socket(zmq.PULL)
    server.linger = 0
    server.failed_auth_backoff = 2000
    port = int(server.bind("tcp://127.0.0.1:*").addr.rsplit(":", 1)[1])
    assert _time_to_handshake(port) < 0.09  # no failures yet: served at once
    for _ in range(4):
        _garbage_handshake(port)
    # four failures from 127.0.0.1: the next connection waits 100 ms * 2**3 = 0.8 s
    assert _time_to_handshake(port) >= 0.7


def test_backoff_is_off_by_default_as_libzmq(ctx: zmq.Context) -> None:
    server = ctx.socket(zmq.PULL)
    server.linger = 0
    assert server.failed_auth_backoff == 0
    port = int(server.bind("tcp://127.0.0.1:*").addr.rsplit(":", 1)[1])
    for _ in range(4):
        _garbage_handshake(port)
    assert _time_to_handshake(port) < 0.5


def test_refused_client_backs_off_up_to_reconnect_ivl_max(ctx: zmq.Context) -> None:
    """A server that accepts TCP but fails every handshake: the client's retries slow down."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.settimeout(0.05)
    port = listener.getsockname()[1]
    client = ctx.socket(zmq.PUSH)
    client.linger = 0
    client.reconnect_ivl = 20
    client.reconnect_ivl_max = 320
    client.connect(f"tcp://127.0.0.1:{port}")
    accepted: list[float] = []
    deadline = time.monotonic() + 2.5
    try:
        while time.monotonic() < deadline:
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            accepted.append(time.monotonic())
            conn.sendall(b"\x01\x00")  # not ZMTP 3: the client's handshake fails at once
            conn.close()
    finally:
        listener.close()
    gaps = [b - a for a, b in itertools.pairwise(accepted)]
    assert len(accepted) >= 4
    # At a fixed 20 ms the client would reconnect ~100 times in 2.5 s; with back-off to
    # 320 ms (plus jitter) it is a couple of dozen at most, and the late gaps are long.
    assert len(accepted) < 30
    assert max(gaps) >= 0.3
