"""RADIO/DISH at the byte level against libzmq 4.3.5 (the DRAFT oracle): the tcp wire format
through securemq's RadioDishConnection on a plain socket, the udp:// datagram codec on a plain
UDP socket, and DGRAM's address frames. Also documents the libzmq 4.3.5 crashes the codecs
guard against.

Skipped unless zmq.DRAFT_API; see tests/interop/draft_driver.py for how to run.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from typing import Any

import pytest
import zmq

from securemq.constants import SocketType
from securemq.zmtp.connection import ZmtpConnection
from securemq.zmtp.events import HandshakeComplete
from securemq.zmtp.mechanisms.base import Mechanism
from securemq.zmtp.mechanisms.curve import CurveMechanism
from securemq.zmtp.mechanisms.null import NullMechanism
from securemq.zmtp.radio_dish_connection import RadioDishConnection
from securemq.zmtp.udp import (
    LIBZMQ_SAFE_GROUP_MAX,
    decode_datagram,
    dgram_address_frame,
    encode_datagram,
    parse_dgram_address,
)
from tests.interop.draft_driver import (
    DRAFT_SKIP_REASON,
    HAS_DRAFTS,
    Wire,
    accept,
    free_udp_port,
    has,
    listener,
    oracle,
    received,
)

if not HAS_DRAFTS:
    pytest.skip(DRAFT_SKIP_REASON, allow_module_level=True)

ST = SocketType
SERVER_PUB, SERVER_SEC = zmq.curve_keypair()
CLIENT_PUB, CLIENT_SEC = zmq.curve_keypair()


@pytest.fixture
def ctx() -> Iterator[zmq.Context[Any]]:
    context: zmq.Context[Any] = zmq.Context()
    yield context
    context.destroy(linger=0)


def mechanism(socket_type: int, *, server: bool, curve: bool = False) -> Mechanism:
    props = ZmtpConnection.local_properties(socket_type, b"")
    if not curve:
        return NullMechanism(as_server=server, properties=props)
    if server:
        return CurveMechanism(as_server=True, properties=props, public_key=SERVER_PUB,
                              secret_key=SERVER_SEC)
    return CurveMechanism(as_server=False, properties=props, public_key=CLIENT_PUB,
                          secret_key=CLIENT_SEC, server_key=SERVER_PUB)


def send_until(send: Any, condition: Any, timeout: float = 5.0) -> None:
    """Joins and udp:// binds settle asynchronously in libzmq: repeat a send until it shows."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        send()
        if condition():
            return
    raise AssertionError("never arrived")


# -- tcp: our DISH, libzmq's RADIO ------------------------------------------------------------
@pytest.mark.parametrize("curve", [False, True], ids=["NULL", "CURVE"])
def test_our_dish_joins_a_libzmq_radio(ctx: zmq.Context[Any], curve: bool) -> None:
    radio = oracle(ctx, zmq.RADIO)
    if curve:
        radio.curve_server = True
        radio.curve_secretkey = SERVER_SEC
    port = radio.bind_to_random_port("tcp://127.0.0.1")
    conn = RadioDishConnection(socket_type=ST.DISH,
                               mechanism=mechanism(ST.DISH, server=False, curve=curve))
    wire = Wire(socket.create_connection(("127.0.0.1", port)), conn)
    done = next(e for e in wire.pump(has(HandshakeComplete)) if isinstance(e, HandshakeComplete))
    assert done.peer_properties["Socket-Type"] == b"RADIO"
    conn.send_messages([[b"\x04JOINMovies"]])
    wire.flush()

    def godfather() -> bool:
        wire.settle(0.05)
        return [b"Movies", b"Godfather"] in received(wire.events)

    send_until(lambda: (radio.send(b"Friends", group="TV"),
                        radio.send(b"Godfather", group="Movies")), godfather)
    assert all(m[0] == b"Movies" for m in received(wire.events))
    long_group = "g" * 255
    conn.send_messages([[b"\x05LEAVEMovies"], [b"\x04JOIN" + long_group.encode()]])
    wire.flush()
    count = len(received(wire.events))

    def long_one() -> bool:
        wire.settle(0.05)
        return any(m[0] == long_group.encode() for m in received(wire.events)[count:])

    send_until(lambda: (radio.send(b"Godfather", group="Movies"),
                        radio.send(b"body", group=long_group)), long_one)
    late = received(wire.events)[count:]
    assert [b"Movies", b"Godfather"] not in late[1:]  # at most one was in flight at the LEAVE
    assert [long_group.encode(), b"body"] in late


# -- tcp: libzmq's DISH, our RADIO ------------------------------------------------------------
@pytest.mark.parametrize("curve", [False, True], ids=["NULL", "CURVE"])
def test_libzmq_dish_joins_our_radio(ctx: zmq.Context[Any], curve: bool) -> None:
    lst = listener()
    dish = oracle(ctx, zmq.DISH)
    if curve:
        dish.curve_serverkey = SERVER_PUB
        dish.curve_publickey = CLIENT_PUB
        dish.curve_secretkey = CLIENT_SEC
    dish.join(b"TV")
    dish.join(b"Movies")
    dish.connect(f"tcp://127.0.0.1:{lst.getsockname()[1]}")
    conn = RadioDishConnection(socket_type=ST.RADIO, accepted=True,
                               mechanism=mechanism(ST.RADIO, server=True, curve=curve))
    wire = Wire(accept(lst), conn)
    lst.close()
    # A connecting libzmq DISH sends its JOINs as soon as the handshake is done (sorted set).
    assert wire.messages(2) == [[b"\x04JOINMovies"], [b"\x04JOINTV"]]
    conn.send_messages([[b"TV", b"Friends"], [b"Movies", b"x" * 5000], [b"", b"empty group"]])
    wire.flush()
    got = [dish.recv(copy=False) for _ in range(2)]
    assert [(f.group, f.bytes) for f in got] == [("TV", b"Friends"), ("Movies", b"x" * 5000)]
    dish.leave(b"TV")
    assert wire.messages(3)[-1] == [b"\x05LEAVETV"]


def test_libzmq_dish_drops_a_malformed_group_message(ctx: zmq.Context[Any]) -> None:
    """What check_group_message refuses, libzmq's DISH refuses too (it hangs up)."""
    lst = listener()
    dish = oracle(ctx, zmq.DISH, timeout_ms=300)
    dish.join(b"g")
    dish.connect(f"tcp://127.0.0.1:{lst.getsockname()[1]}")
    conn = RadioDishConnection(socket_type=ST.RADIO, accepted=True,
                               mechanism=mechanism(ST.RADIO, server=True))
    wire = Wire(accept(lst), conn)
    lst.close()
    wire.messages(1)
    conn.send_messages([[b"g"]])  # one frame: no MORE on the group frame
    wire.flush()
    with pytest.raises(zmq.Again):
        dish.recv()


# -- udp ------------------------------------------------------------------------------------
def test_libzmq_radio_datagrams_decode(ctx: zmq.Context[Any]) -> None:
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(5)
    radio = oracle(ctx, zmq.RADIO)
    radio.connect(f"udp://127.0.0.1:{receiver.getsockname()[1]}")
    cases = [("grp", b"hello"), ("", b""), ("g" * 255, b"x" * 100), ("g", b"y" * 8000)]
    try:
        for group, body in cases:
            radio.send(body, group=group)
            datagram, _ = receiver.recvfrom(65536)
            assert decode_datagram(datagram) == (group.encode(), body)
        radio.send(b"hello", group="grp")
        assert receiver.recvfrom(100)[0] == encode_datagram(b"grp", b"hello")
    finally:
        receiver.close()


def test_our_datagrams_reach_a_libzmq_dish(ctx: zmq.Context[Any]) -> None:
    dish = oracle(ctx, zmq.DISH, timeout_ms=50)
    port = free_udp_port()
    dish.bind(f"udp://127.0.0.1:{port}")
    dish.join(b"TV")
    dish.join(b"")
    dish.join(b"g" * LIBZMQ_SAFE_GROUP_MAX)
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    got: list[tuple[str, bytes]] = []

    def take() -> bool:
        try:
            frame = dish.recv(copy=False)
        except zmq.Again:
            return False
        got.append((frame.group, frame.bytes))
        return True

    try:
        target = ("127.0.0.1", port)
        # The first datagrams after a udp:// bind can be lost: send until one shows.
        send_until(lambda: sender.sendto(encode_datagram(b"TV", b"Friends"), target), take)
        for datagram in (
            b"",  # ignored by libzmq
            b"\x05TV",  # group size beyond the datagram: ignored
            encode_datagram(b"News", b"not joined"),
            encode_datagram(b"", b"empty group"),
            encode_datagram(b"TV", b""),
            encode_datagram(b"g" * LIBZMQ_SAFE_GROUP_MAX, b"longest safe group"),
        ):
            sender.sendto(datagram, target)
        while take():
            pass
    finally:
        sender.close()
    assert got[0] == ("TV", b"Friends")
    assert got[-3:] == [("", b"empty group"), ("TV", b""),
                        ("g" * LIBZMQ_SAFE_GROUP_MAX, b"longest safe group")]


def test_libzmq_dish_aborts_on_a_group_of_128_bytes() -> None:
    """Why LIBZMQ_SAFE_GROUP_MAX exists: libzmq 4.3.5 reads the size byte as a signed char and
    aborts ("Cannot allocate memory", udp_engine.cpp:547). Run in a child process."""
    port = free_udp_port()
    child = textwrap.dedent(f"""
        import socket, time, zmq
        ctx = zmq.Context()
        dish = ctx.socket(zmq.DISH)
        dish.bind("udp://127.0.0.1:{port}")
        dish.join(b"g" * 128)
        dish.join(b"ok")
        dish.rcvtimeo = 100
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for _ in range(50):
            s.sendto(bytes((2,)) + b"okhi", ("127.0.0.1", {port}))
            try:
                dish.recv()
                break
            except zmq.Again:
                pass
        s.sendto(bytes((128,)) + b"g" * 128 + b"boom", ("127.0.0.1", {port}))
        time.sleep(1)
        print("survived")
    """)
    result = subprocess.run([sys.executable, "-c", child], capture_output=True, timeout=60,
                            env={**os.environ, "PYTHONFAULTHANDLER": ""})
    assert result.returncode == -signal.SIGABRT, (result.returncode, result.stdout)
    assert b"udp_engine.cpp" in result.stderr


def test_dgram_address_frames_match_libzmq(ctx: zmq.Context[Any]) -> None:
    dgram = oracle(ctx, zmq.DGRAM)
    port = free_udp_port()
    dgram.bind(f"udp://127.0.0.1:{port}")
    raw = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    raw.bind(("127.0.0.1", 0))
    raw.settimeout(5)
    try:
        raw_port = raw.getsockname()[1]
        dgram.rcvtimeo = 50
        messages: list[list[bytes]] = []

        def take() -> bool:
            try:
                messages.append(dgram.recv_multipart())
            except zmq.Again:
                return False
            return True

        send_until(lambda: raw.sendto(b"datagram", ("127.0.0.1", port)), take)
        address, body = messages[0]
        assert body == b"datagram"  # DGRAM: the body alone, no group byte
        assert address == dgram_address_frame("127.0.0.1", raw_port)  # NUL-terminated
        assert parse_dgram_address(address) == ("127.0.0.1", raw_port)
        dgram.send_multipart([address, b"reply"])
        assert raw.recvfrom(100)[0] == b"reply"
    finally:
        raw.close()
