"""connect() does not wait for the I/O thread (as libzmq's: the connecter does its work, and
reports its failures, on its own); what the socket asks of the reactor afterwards runs in order
after it, so a close() right after a connect() still closes the connection it makes."""

from __future__ import annotations

import threading
import time

import pytest

import securemq as zmq
import securemq.utils.monitor

pytestmark = pytest.mark.timeout(30)


def _block_reactor(ctx: zmq.Context) -> threading.Event:
    """Hold the context's I/O thread until the returned event is set."""
    release = threading.Event()
    entered = threading.Event()

    def hold() -> None:
        entered.set()
        release.wait(20)

    ctx.io.reactor().call_soon(hold)
    assert entered.wait(10), "the reactor never ran the call"
    return release


def test_connect_returns_while_the_io_thread_is_busy() -> None:
    ctx = zmq.Context()
    server = ctx.socket(zmq.REP)
    server.linger = 0
    port = server.bind_to_random_port("tcp://127.0.0.1")
    client = ctx.socket(zmq.REQ)
    client.linger = 0
    client.rcvtimeo = 10_000
    release = _block_reactor(ctx)
    try:
        started = time.monotonic()
        client.connect(f"tcp://127.0.0.1:{port}")
        client.send(b"queued before the connection exists")
        assert time.monotonic() - started < 5, "connect() waited for the I/O thread"
    finally:
        release.set()
    assert server.recv() == b"queued before the connection exists"
    server.send(b"reply")
    assert client.recv() == b"reply"
    ctx.destroy(linger=0)


def test_close_right_after_connect_closes_what_the_connect_makes() -> None:
    ctx = zmq.Context()
    server = ctx.socket(zmq.ROUTER)
    server.linger = 0
    port = server.bind_to_random_port("tcp://127.0.0.1")
    monitor = server.get_monitor_socket(zmq.EVENT_ACCEPTED | zmq.EVENT_DISCONNECTED)
    monitor.rcvtimeo = 200
    endpoint = f"tcp://127.0.0.1:{port}"
    closed_early = ctx.socket(zmq.DEALER)
    closed_early.linger = 0
    release = _block_reactor(ctx)
    try:
        closed_early.connect(endpoint)
        closed_early.close()  # before the I/O thread even made the connecter
    finally:
        release.set()
    # A second client proves the server works; then exactly one connection must be left (the
    # early one never dialed, or it was accepted and then closed).
    client = ctx.socket(zmq.DEALER)
    client.linger = 0
    client.rcvtimeo = 10_000
    client.connect(endpoint)
    client.send(b"ping")
    server.rcvtimeo = 10_000
    identity, body = server.recv_multipart()
    assert body == b"ping"
    server.send_multipart([identity, b"pong"])
    assert client.recv() == b"pong"
    live = 0
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            event = zmq.utils.monitor.recv_monitor_message(monitor)
        except zmq.Again:
            if live == 1:
                break
            continue
        live += 1 if event["event"] == zmq.EVENT_ACCEPTED else -1
    assert live == 1, f"{live} connections open on the server: the early one was left open"
    ctx.destroy(linger=0)


def test_a_bad_udp_endpoint_is_still_an_error_of_connect() -> None:
    ctx = zmq.Context()
    dish = ctx.socket(zmq.RADIO)
    dish.linger = 0
    with pytest.raises(zmq.ZMQError):
        dish.connect("udp://no-such-interface-zz;239.0.0.1:5555")
    ctx.destroy(linger=0)
