"""Every CURVE failure after the handshake is seen on the monitor, as libzmq reports it.

A raw CURVE client completes a real handshake and delivers one good MESSAGE, then sends a
MESSAGE whose box was tampered with, or replays a MESSAGE (its nonce does not increase). The
server must emit ``HANDSHAKE_FAILED_PROTOCOL`` with ``ZMTP_CRYPTOGRAPHIC`` or
``ZMTP_INVALID_SEQUENCE`` -- the event libzmq (pyzmq) emits for the same bytes, checked side by
side -- then disconnect the peer (RFC 26: "SHALL reject and disconnect from peers who send
malformed MESSAGE commands", "SHALL disconnect clients that reuse a short nonce"; libzmq 4.3.5
reports the failure but keeps the connection open), and keep serving a good client.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import zmq as pyzmq
from zmq.utils.monitor import recv_monitor_message

import securemq as zmq
from tests.security import raw

SERVER_PUBLIC, SERVER_SECRET = zmq.curve_keypair()


def tamper(good: bytes) -> bytes:
    """Flip one bit inside the ciphertext of a MESSAGE body."""
    return good[:-3] + bytes((good[-3] ^ 0x01,)) + good[-2:]


ATTACKS: dict[str, tuple[Callable[[raw.RawCurveClient, bytes], bytes], int]] = {
    "tampered": (lambda client, good: tamper(client.message(b"evil")),
                 zmq.PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC),
    "replayed": (lambda client, good: good, zmq.PROTOCOL_ERROR_ZMTP_INVALID_SEQUENCE),
}


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


def make_server(context: Any, lib: Any) -> tuple[Any, Any, int]:
    pull = context.socket(lib.PULL)
    pull.linger = 0
    pull.rcvtimeo = 5000
    pull.curve_server = True
    pull.curve_secretkey = SERVER_SECRET
    pull.curve_publickey = SERVER_PUBLIC
    monitor = pull.get_monitor_socket()
    monitor.rcvtimeo = 5000
    port = pull.bind_to_random_port("tcp://127.0.0.1")
    return pull, monitor, port


def events_after_handshake(monitor: Any, lib: Any, until: int) -> list[tuple[int, int]]:
    """Monitor events after HANDSHAKE_SUCCEEDED, up to and including the first ``until``."""
    seen: list[tuple[int, int]] = []
    started = False
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        event = recv_monitor_message(monitor)  # (only calls recv_multipart: works on both)
        kind, value = int(event["event"]), int(event["value"])
        if started:
            seen.append((kind, value))
            if kind == until:
                return seen
        started = started or kind == lib.EVENT_HANDSHAKE_SUCCEEDED
    raise AssertionError(f"no event {until} within the deadline: {seen}")


def attack(port: int, pull: Any, kind: str, expect_eof: bool) -> None:
    make_bad, _ = ATTACKS[kind]
    with raw.connect(port) as sock:
        client = raw.curve_handshake(sock, zmq.z85.decode(SERVER_PUBLIC),
                                     raw.metadata((b"Socket-Type", b"PUSH")))
        good = client.message(b"first")
        sock.sendall(raw.data_frame(good))
        assert pull.recv() == b"first"
        sock.sendall(raw.data_frame(make_bad(client, good)))
        if expect_eof:
            assert raw.wait_for_eof(sock), "the attacker's connection must be closed"


@pytest.mark.parametrize("kind", sorted(ATTACKS))
def test_post_handshake_attack_is_reported_like_libzmq(ctx: zmq.Context, pz: pyzmq.Context,
                                                       kind: str) -> None:
    _, code = ATTACKS[kind]
    pull, monitor, port = make_server(pz, pyzmq)
    attack(port, pull, kind, expect_eof=False)
    failed = pyzmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
    assert events_after_handshake(monitor, pyzmq, until=failed) == [(failed, code)]

    pull, monitor, port = make_server(ctx, zmq)
    attack(port, pull, kind, expect_eof=True)
    events = events_after_handshake(monitor, zmq, until=zmq.EVENT_DISCONNECTED)
    assert events[0] == (zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL, code)
    assert [kind for kind, _ in events] == [zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL,
                                            zmq.EVENT_DISCONNECTED]


@pytest.mark.parametrize("kind", sorted(ATTACKS))
def test_good_client_still_served_after_the_attack(ctx: zmq.Context, kind: str) -> None:
    pull, _monitor, port = make_server(ctx, zmq)
    attack(port, pull, kind, expect_eof=True)
    client_public, client_secret = zmq.curve_keypair()
    push = ctx.socket(zmq.PUSH)
    push.linger = 0
    push.curve_serverkey = SERVER_PUBLIC
    push.curve_publickey, push.curve_secretkey = client_public, client_secret
    push.connect(f"tcp://127.0.0.1:{port}")
    push.send(b"good")
    assert pull.recv() == b"good"
