"""FAILED_AUTH_LIMIT (securemq, off by default): a token bucket of failed handshakes per peer
address; an address that used it up is refused at accept, before any work, until it refills --
visible as EVENT_HANDSHAKE_THROTTLED -- while other addresses are served as before."""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator

import pytest
import zmq as pyzmq

import securemq as zmq
from securemq.io.backoff import FailureBudget
from securemq.zmtp.greeting import encode_greeting


@pytest.fixture
def ctx() -> Iterator[zmq.Context]:
    context = zmq.Context()
    yield context
    context.destroy(linger=0)


def test_bucket_refuses_then_refills() -> None:
    now = [0.0]
    budget = FailureBudget(clock=lambda: now[0])
    assert budget.allows("10.0.0.1", 3)
    for _ in range(3):
        budget.failed("10.0.0.1", 3)
    assert not budget.allows("10.0.0.1", 3)
    assert budget.allows("10.0.0.2", 3)  # another address: untouched
    assert budget.allows("10.0.0.1", 0)  # off
    now[0] += 20  # 3 per minute: one token every 20 s
    assert budget.allows("10.0.0.1", 3)
    budget.failed("10.0.0.1", 3)
    assert not budget.allows("10.0.0.1", 3)
    assert budget.refused == 2


def _failing_handshake(port: int, source: str = "127.0.0.1") -> bytes:
    """A raw client whose handshake fails (PLAIN against a NULL server); what it read."""
    with socket.socket() as raw:
        raw.settimeout(5)
        raw.bind((source, 0))
        raw.connect(("127.0.0.1", port))
        raw.sendall(encode_greeting(b"PLAIN", False))
        got = b""
        try:
            while chunk := raw.recv(4096):
                got += chunk
        except OSError:
            pass
        return got


def _second_loopback() -> str:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.2", 0))
        except OSError:
            pytest.skip("127.0.0.2 is not a local address here")
    return "127.0.0.2"


def test_an_address_that_keeps_failing_is_refused_others_are_served(ctx: zmq.Context) -> None:
    server = ctx.socket(zmq.PULL)
    server.linger = 0
    server.rcvtimeo = 5000
    server.failed_auth_limit = 3
    events = server.get_monitor_socket(zmq.EVENT_HANDSHAKE_THROTTLED)
    events.rcvtimeo = 5000
    port = int(server.bind("tcp://127.0.0.1:*").addr.rsplit(":", 1)[1])
    for _ in range(3):  # within the budget: each gets the server's greeting, then fails
        assert len(_failing_handshake(port)) >= 10
    assert _failing_handshake(port) == b"", "the fourth was served although over its budget"
    head, address = events.recv_multipart()
    assert struct.unpack("<II", head) == (zmq.EVENT_HANDSHAKE_THROTTLED, 1)
    assert address == b"127.0.0.1"
    # A libzmq client from another address is served.
    other = _second_loopback()
    pctx = pyzmq.Context()
    try:
        push = pctx.socket(pyzmq.PUSH)
        push.linger = 0
        push.connect(f"tcp://{other}:0;127.0.0.1:{port}")
        push.send(b"from elsewhere")
        assert server.recv() == b"from elsewhere"
    finally:
        pctx.destroy(linger=0)


def test_off_by_default(ctx: zmq.Context) -> None:
    server = ctx.socket(zmq.PULL)
    server.linger = 0
    port = int(server.bind("tcp://127.0.0.1:*").addr.rsplit(":", 1)[1])
    for _ in range(5):
        assert len(_failing_handshake(port)) >= 10
