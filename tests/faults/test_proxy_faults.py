"""Faults injected by the proxy between securemq peers, and between securemq and pyzmq (libzmq).

Each case is (connect side, bind side): the PUSH connects through the proxy to the PULL. Every
received message is checked whole and in sequence: messages caught in flight by a fault may be
lost (as with libzmq), but none may arrive partial, twice or out of order, and the flow must come
back after the reconnect.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import zmq as pyzmq

import securemq

from .faultproxy import UP, FaultProxy
from .helpers import (
    HEARTBEAT,
    Monitor,
    assert_ordered_per_connection,
    check_message,
    seq_message,
)

PAIRS = [("securemq", "securemq"), ("securemq", "pyzmq"), ("pyzmq", "securemq")]
MakeSocket = Callable[..., Any]


@pytest.fixture
def make(sctx: securemq.Context, pctx: Any) -> MakeSocket:
    def factory(impl: str, kind: str, **options: Any) -> Any:
        module: Any = securemq if impl == "securemq" else pyzmq
        ctx: Any = sctx if impl == "securemq" else pctx
        sock = ctx.socket(getattr(module, kind))
        sock.linger = 0
        sock.rcvtimeo = 5000
        sock.sndtimeo = 5000
        for name, value in options.items():
            setattr(sock, name, value)
        return sock

    return factory


def _module(impl: str) -> Any:
    return securemq if impl == "securemq" else pyzmq


class Link:
    """PUSH (connect side) -> proxy -> PULL (bind side), with monitors on the securemq ends."""

    def __init__(self, make: MakeSocket, connect_impl: str, bind_impl: str,
                 **options: Any) -> None:
        bind_opts = dict(options.pop("bind_options", {}))
        connect_opts = dict(options.pop("connect_options", {}))
        self.pull = make(bind_impl, "PULL", **options, **bind_opts)
        self.pull.bind("tcp://127.0.0.1:*")
        port = int(self.pull.getsockopt(pyzmq.LAST_ENDPOINT).decode().rsplit(":", 1)[1])
        self.proxy = FaultProxy("127.0.0.1", port)
        self.push = make(connect_impl, "PUSH", **options, **connect_opts)
        self.monitors: list[Monitor] = []
        for sock, impl in ((self.push, connect_impl), (self.pull, bind_impl)):
            if impl == "securemq":
                self.monitors.append(Monitor(sock, securemq))
        self.push.connect(self.proxy.endpoint)
        self.received: list[int] = []

    def send(self, seqs: range, parts: int = 1, size: int = 16) -> None:
        for seq in seqs:
            self.push.send_multipart(seq_message(seq, parts, size))

    def receive_until(self, last: int, parts: int = 1, size: int = 16,
                      timeout: float = 10.0) -> None:
        """Receive (checking each message whole) until ``last`` arrives."""
        deadline = time.monotonic() + timeout
        while last not in self.received:
            assert time.monotonic() < deadline, (
                f"seq {last} never arrived; got {self.received[-5:]}"
            )
            try:
                msg = self.pull.recv_multipart()
            except (securemq.Again, pyzmq.Again):
                continue
            self.received.append(check_message(msg, parts, size))
        assert_ordered_per_connection(self.received, max(1, self.proxy.accepted))

    def wait_all(self, event: int, n: int, timeout: float = 5.0) -> None:
        for monitor in self.monitors:
            assert monitor.wait(event, n, timeout), (
                f"expected {n} x {securemq.Event(event).name}; events: {monitor.names()}"
            )

    def close(self) -> None:
        self.proxy.close()


@pytest.fixture
def links() -> Iterator[list[Link]]:
    made: list[Link] = []
    yield made
    for link in made:
        link.close()


@pytest.mark.parametrize(("connect_impl", "bind_impl"), PAIRS)
def test_heartbeat_detects_stalled_peer_and_reconnect_restores_flow(
    make: MakeSocket, links: list[Link], connect_impl: str, bind_impl: str
) -> None:
    link = Link(make, connect_impl, bind_impl, **HEARTBEAT)
    links.append(link)
    link.send(range(10))
    link.receive_until(9)
    link.wait_all(securemq.EVENT_HANDSHAKE_SUCCEEDED, 1)

    stalled_at = time.monotonic()
    link.proxy.stall()  # the peer goes silent both ways: no data, no PING, no PONG
    link.wait_all(securemq.EVENT_DISCONNECTED, 1, timeout=5)
    took = time.monotonic() - stalled_at
    assert took >= 0.25, f"disconnected after {took:.3f} s, before HEARTBEAT_TIMEOUT (300 ms)"

    assert link.proxy.wait_for("accepted", 2), "the connect side did not reconnect"
    link.wait_all(securemq.EVENT_HANDSHAKE_SUCCEEDED, 2)
    link.send(range(10, 20))
    link.receive_until(19)
    assert set(range(10)) <= set(link.received)


@pytest.mark.parametrize("mechanism", ["null", "curve"])
@pytest.mark.parametrize(("connect_impl", "bind_impl"), PAIRS)
def test_cut_mid_frame_delivers_no_partial_message_and_reconnects(
    make: MakeSocket, links: list[Link], connect_impl: str, bind_impl: str, mechanism: str
) -> None:
    options: dict[str, Any] = {}
    if mechanism == "curve":
        server_public, server_secret = securemq.curve_keypair()
        client_public, client_secret = securemq.curve_keypair()
        options["bind_options"] = {"curve_server": 1, "curve_secretkey": server_secret,
                                   "curve_publickey": server_public}
        options["connect_options"] = {"curve_serverkey": server_public,
                                      "curve_publickey": client_public,
                                      "curve_secretkey": client_secret}
    link = Link(make, connect_impl, bind_impl, **options)
    links.append(link)
    parts, size = 2, 64 * 1024
    link.send(range(1), parts, size)
    link.receive_until(0, parts, size)
    link.wait_all(securemq.EVENT_HANDSHAKE_SUCCEEDED, 1)

    # 300 000 bytes from now is inside the third message's first part: mid-frame.
    link.proxy.cut_after(300_000, UP)
    link.send(range(1, 21), parts, size)
    assert link.proxy.wait_for("cuts", 1), "the proxy never cut the connection"
    assert link.proxy.wait_for("accepted", 2), "the connect side did not reconnect"
    link.wait_all(securemq.EVENT_HANDSHAKE_SUCCEEDED, 2)  # CURVE: a second full handshake
    link.send(range(1000, 1005), parts, size)
    link.receive_until(1004, parts, size)
    # Each message arrived whole (checked on receipt), once, in order; the two before the cut
    # point made it, and everything sent after the reconnect made it.
    assert {1, 2} <= set(link.received)
    assert set(range(1000, 1005)) <= set(link.received)
    for monitor in link.monitors:
        assert monitor.count(securemq.EVENT_DISCONNECTED) >= 1


def test_delay_below_heartbeat_timeout_keeps_the_connection(
    make: MakeSocket, links: list[Link]
) -> None:
    link = Link(make, "securemq", "securemq", **HEARTBEAT)
    links.append(link)
    link.send(range(1))
    link.receive_until(0)
    link.proxy.set_delay(0.12)  # each way; heartbeats keep arriving, only later
    seq = 1
    started = time.monotonic()
    while time.monotonic() - started < 0.8:  # twice IVL + TIMEOUT
        link.send(range(seq, seq + 1))
        link.receive_until(seq)
        seq += 1
    for monitor in link.monitors:
        assert monitor.count(securemq.EVENT_DISCONNECTED) == 0, monitor.names()
    assert link.proxy.accepted == 1
    assert link.received == list(range(seq))
