"""Wire behaviours where a peer could pin a connection or hide its death.

* A frame header declaring an absurd length (2**62, 2**63, 2**64-1 bytes, or more than
  MAXMSGSIZE) drops the connection at once -- as libzmq does, checked side by side -- instead
  of waiting for bytes that will never come.
* With HEARTBEAT_IVL set, PINGs go to a peer that greeted as ZMTP 3.0 too, and a silent one is
  dropped after HEARTBEAT_TIMEOUT (as libzmq, checked side by side).

Both attackers are raw sockets; a good client is still served after each.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Iterator
from typing import Any

import pytest
import zmq as pyzmq

import securemq as zmq
from tests.io.test_bad_peers import read_frame, ready, recv_exact
from tests.security import raw


@pytest.fixture
def ctx() -> Iterator[zmq.Context]:
    context = zmq.Context()
    yield context
    context.destroy(linger=0)


@pytest.fixture
def pz() -> Iterator[pyzmq.Context]:
    context = pyzmq.Context()
    yield context
    context.destroy(linger=0)


def pull_server(context: Any, lib: Any, **options: Any) -> tuple[Any, int]:
    pull = context.socket(lib.PULL)
    pull.linger = 0
    pull.rcvtimeo = 5000
    for name, value in options.items():
        setattr(pull, name, value)
    return pull, pull.bind_to_random_port("tcp://127.0.0.1")


def greeting_30() -> bytes:
    """A NULL greeting announcing ZMTP 3.0 (minor version 0)."""
    return b"\xff" + b"\x00" * 8 + b"\x7f" + b"\x03\x00" + b"NULL".ljust(20, b"\x00") + bytes(32)


def good_client_delivers(ctx: zmq.Context, pull: Any, port: int) -> None:
    push = ctx.socket(zmq.PUSH)
    push.linger = 0
    push.connect(f"tcp://127.0.0.1:{port}")
    push.send(b"good")
    assert pull.recv() == b"good"


@pytest.mark.parametrize("size", [1 << 62, 1 << 63, (1 << 64) - 1])
@pytest.mark.parametrize("impl", ["securemq", "libzmq"])
def test_absurd_frame_length_drops_the_connection(ctx: zmq.Context, pz: pyzmq.Context,
                                                  impl: str, size: int) -> None:
    context, lib = (ctx, zmq) if impl == "securemq" else (pz, pyzmq)
    pull, port = pull_server(context, lib)
    with raw.connect(port) as sock:
        raw.null_handshake(sock, raw.metadata((b"Socket-Type", b"PUSH")))
        sock.sendall(b"\x02" + struct.pack(">Q", size) + b"some of the body")
        assert raw.wait_for_eof(sock, timeout=3), f"{impl} kept a 2**{size.bit_length()} frame"
    if impl == "securemq":
        good_client_delivers(ctx, pull, port)


def test_frame_above_maxmsgsize_drops_the_connection(ctx: zmq.Context) -> None:
    pull, port = pull_server(ctx, zmq, maxmsgsize=1 << 20)
    with raw.connect(port) as sock:
        raw.null_handshake(sock, raw.metadata((b"Socket-Type", b"PUSH")))
        sock.sendall(b"\x02" + struct.pack(">Q", (1 << 20) + 1))  # the header alone
        assert raw.wait_for_eof(sock, timeout=3)
    good_client_delivers(ctx, pull, port)


@pytest.mark.parametrize("impl", ["securemq", "libzmq"])
def test_heartbeats_reach_a_zmtp_30_peer_and_drop_it_when_silent(ctx: zmq.Context,
                                                                  pz: pyzmq.Context,
                                                                  impl: str) -> None:
    context, lib = (ctx, zmq) if impl == "securemq" else (pz, pyzmq)
    pull, port = pull_server(context, lib, heartbeat_ivl=50, heartbeat_timeout=300)
    with raw.connect(port) as sock:
        sock.sendall(greeting_30())
        theirs = recv_exact(sock, 64)
        assert theirs[10:12] == b"\x03\x01"
        sock.sendall(ready(b"PUSH"))
        flags, body = read_frame(sock)
        assert body[1:6] == b"READY"
        pings = 0
        deadline = time.monotonic() + 5
        sock.settimeout(0.5)
        while time.monotonic() < deadline:
            try:
                flags, body = read_frame(sock)
            except (ConnectionError, TimeoutError, OSError):
                break
            if flags & 0x04 and body[1 : 1 + body[0]] == b"PING":
                pings += 1  # never answered
        else:
            pytest.fail(f"{impl} kept a silent ZMTP 3.0 peer for 5 s")
        assert pings >= 1, f"{impl} sent no PING to a ZMTP 3.0 peer"
    if impl == "securemq":
        good_client_delivers(ctx, pull, port)
