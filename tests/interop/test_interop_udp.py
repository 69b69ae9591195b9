"""udp:// for RADIO/DISH, as libzmq's udp engine frames it, against libzmq 4.3.5 (the oracle,
draft API) both ways, unicast and multicast; the transport rules (ENOCOMPATPROTO for any other
type or direction); and a raw UDP socket sending garbage that costs nothing.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
import zmq

import securemq

ORACLE = pytest.mark.skipif(
    not getattr(zmq, "DRAFT_API", False),
    reason="needs the draft-enabled pyzmq/libzmq oracle (../shared/oracle), not installed",
)


@pytest.fixture
def smq() -> Iterator[securemq.Context]:
    context = securemq.Context()
    yield context
    context.destroy(linger=0)


@pytest.fixture
def pz() -> Iterator[Any]:
    context = zmq.Context()
    yield context
    context.destroy(linger=0)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def dish(context: Any, endpoint: str, *groups: str) -> Any:
    lib = securemq if isinstance(context, securemq.Context) else zmq
    sock = context.socket(lib.DISH)
    sock.linger = 0
    sock.rcvtimeo = 100
    sock.bind(endpoint)
    for group in groups:
        sock.join(group if lib is securemq else group.encode())
    return sock


def radio(context: Any, endpoint: str) -> Any:
    lib = securemq if isinstance(context, securemq.Context) else zmq
    sock = context.socket(lib.RADIO)
    sock.linger = 0
    sock.connect(endpoint)
    return sock


def first(receiver: Any, send: Any, deadline: float = 5.0) -> Any:
    """Send until one arrives (the first datagrams after a udp bind can be lost)."""
    end = time.monotonic() + deadline
    while True:
        send()
        try:
            return receiver.recv(copy=False)
        except (zmq.Again, securemq.Again):
            assert time.monotonic() < end, "nothing arrived over udp"


def drain(receiver: Any) -> list[tuple[bytes, str]]:
    got = []
    while True:
        try:
            frame = receiver.recv(copy=False)
        except (zmq.Again, securemq.Again):
            return got
        got.append((frame.bytes, frame.group))


@ORACLE
@pytest.mark.parametrize("direction", ["securemq-radio", "libzmq-radio"])
def test_unicast_both_ways(smq: securemq.Context, pz: Any, direction: str) -> None:
    radio_ctx, dish_ctx = (smq, pz) if direction == "securemq-radio" else (pz, smq)
    endpoint = f"udp://127.0.0.1:{free_port()}"
    d = dish(dish_ctx, endpoint, "news")
    r = radio(radio_ctx, endpoint)
    frame = first(d, lambda: r.send(b"hello", group="news"))
    assert (frame.bytes, frame.group) == (b"hello", "news")
    drain(d)
    r.send(b"other group", group="sport")
    r.send(b"x" * 8000, group="news")  # near libzmq's 8192-byte datagram
    deadline = time.monotonic() + 5
    got: list[tuple[bytes, str]] = []
    while not got and time.monotonic() < deadline:
        got = drain(d)
    assert got == [(b"x" * 8000, "news")]


@ORACLE
def test_multicast_on_loopback(smq: securemq.Context, pz: Any) -> None:
    port = free_port()
    endpoint = f"udp://127.0.0.1;239.1.2.{port % 250 + 1}:{port}"
    ours, theirs = dish(smq, endpoint, "m"), dish(pz, endpoint, "m")
    r = radio(smq, endpoint)
    frame = first(ours, lambda: r.send(b"to the group", group="m"))
    assert frame.bytes == b"to the group"
    assert first(theirs, lambda: r.send(b"to the group", group="m")).bytes == b"to the group"


def test_transport_rules(smq: securemq.Context) -> None:
    endpoint = f"udp://127.0.0.1:{free_port()}"
    for kind, verb in (("RADIO", "bind"), ("DISH", "connect"), ("PUB", "connect"),
                       ("SUB", "bind"), ("SERVER", "bind")):
        sock = smq.socket(getattr(securemq, kind))
        sock.linger = 0
        with pytest.raises(securemq.ZMQError) as info:
            getattr(sock, verb)(endpoint)
        assert info.value.errno == securemq.ENOCOMPATPROTO, (kind, verb)


def test_garbage_datagrams_cost_nothing(smq: securemq.Context) -> None:
    endpoint = f"udp://127.0.0.1:{free_port()}"
    d = dish(smq, endpoint, "g")
    host, port = "127.0.0.1", int(endpoint.rsplit(":", 1)[1])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as raw:
        for garbage in (b"", b"\xff", b"\x05abc", b"\x01g" + b"z" * 9000, bytes(range(256))):
            raw.sendto(garbage, (host, port))
    r = radio(smq, endpoint)
    frame = first(d, lambda: r.send(b"good", group="g"))
    assert (frame.bytes, frame.group) == (b"good", "g")
