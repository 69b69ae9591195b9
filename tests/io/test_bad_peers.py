"""A misbehaving raw TCP peer costs only its own connection.

Against a securemq PULL bound on tcp, a raw socket sends garbage, a truncated greeting, a
ZMTP/1.0 greeting, the wrong mechanism, or (after a NULL handshake done by hand) a frame that
declares 2**40 bytes. After each, a well-behaved securemq PUSH still delivers, and nothing from
the bad peer reaches the application. The hand-made handshake is itself checked by a positive
control, so the negative tests cannot pass just because the helper is wrong.
"""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Iterator

import pytest

import securemq as zmq

DEADLINE = 5.0


# -- ZMTP bytes by hand (RFC 23 / 37) -----------------------------------------------------------
def greeting(mechanism: bytes = b"NULL", as_server: bool = False) -> bytes:
    signature = b"\xff" + b"\x00" * 8 + b"\x7f"
    return (signature + b"\x03\x01" + mechanism.ljust(20, b"\x00")
            + (b"\x01" if as_server else b"\x00") + b"\x00" * 31)


def command(name: bytes, body: bytes) -> bytes:
    payload = bytes([len(name)]) + name + body
    if len(payload) < 256:
        return bytes([0x04, len(payload)]) + payload
    return bytes([0x06]) + struct.pack(">Q", len(payload)) + payload


def ready(socket_type: bytes) -> bytes:
    name = b"Socket-Type"
    prop = bytes([len(name)]) + name + struct.pack(">I", len(socket_type)) + socket_type
    return command(b"READY", prop)


def data_frame(body: bytes, more: bool = False) -> bytes:
    flags = 0x01 if more else 0x00
    if len(body) < 256:
        return bytes([flags, len(body)]) + body
    return bytes([flags | 0x02]) + struct.pack(">Q", len(body)) + body


def recv_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError(f"EOF after {len(data)} of {n} bytes")
        data += chunk
    return data


def read_frame(sock: socket.socket) -> tuple[int, bytes]:
    flags = recv_exact(sock, 1)[0]
    if flags & 0x02:
        (size,) = struct.unpack(">Q", recv_exact(sock, 8))
    else:
        size = recv_exact(sock, 1)[0]
    return flags, recv_exact(sock, size)


def null_handshake(sock: socket.socket, socket_type: bytes = b"PUSH") -> None:
    """Do a NULL handshake as a client; check the server's greeting and READY."""
    sock.sendall(greeting(b"NULL"))
    theirs = recv_exact(sock, 64)
    assert theirs[0] == 0xFF and theirs[9] == 0x7F and theirs[10] == 3
    assert theirs[12:32].rstrip(b"\x00") == b"NULL"
    sock.sendall(ready(socket_type))
    flags, body = read_frame(sock)
    assert flags & 0x04, "expected a command"
    assert body[1:1 + body[0]] == b"READY"
    assert b"Socket-Type" in body and b"PULL" in body


def wait_for_eof(sock: socket.socket, timeout: float = DEADLINE) -> bool:
    """Read (and discard) until the server closes; False if it is still open at the deadline."""
    sock.settimeout(0.05)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if not sock.recv(65536):
                return True
        except TimeoutError:
            continue
        except ConnectionResetError:
            return True
    return False


# -- fixtures ---------------------------------------------------------------------------------
@pytest.fixture
def ctx() -> Iterator[zmq.Context]:
    context = zmq.Context()
    yield context
    context.destroy(linger=0)


@pytest.fixture
def server(ctx: zmq.Context) -> tuple[zmq.Socket, int]:
    pull = ctx.socket(zmq.PULL)
    pull.linger = 0
    pull.rcvtimeo = int(DEADLINE * 1000)
    pull.maxmsgsize = 1000
    port = pull.bind_to_random_port("tcp://127.0.0.1")
    return pull, port


def raw_client(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=DEADLINE)
    sock.settimeout(DEADLINE)
    return sock


def good_peer_still_delivers(ctx: zmq.Context, pull: zmq.Socket, port: int) -> None:
    push = ctx.socket(zmq.PUSH)
    push.linger = 0
    push.connect(f"tcp://127.0.0.1:{port}")
    try:
        push.send(b"good")
        assert pull.recv() == b"good"
        # Nothing from the bad peer was queued before or after the good message.
        with pytest.raises(zmq.Again):
            pull.recv(zmq.NOBLOCK)
    finally:
        push.close()


# -- positive control ---------------------------------------------------------------------------
def test_hand_made_null_handshake_delivers(ctx: zmq.Context,
                                           server: tuple[zmq.Socket, int]) -> None:
    pull, port = server
    with raw_client(port) as sock:
        null_handshake(sock)
        sock.sendall(data_frame(b"part1", more=True) + data_frame(b"part2"))
        assert pull.recv_multipart() == [b"part1", b"part2"]
        sock.sendall(data_frame(b"y" * 1000))  # exactly MAXMSGSIZE is allowed
        assert pull.recv() == b"y" * 1000


# -- misbehaving peers ------------------------------------------------------------------------
def test_garbage(ctx: zmq.Context, server: tuple[zmq.Socket, int]) -> None:
    pull, port = server
    with raw_client(port) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" + bytes(range(256)) * 4)
        good_peer_still_delivers(ctx, pull, port)


def test_garbage_after_signature(ctx: zmq.Context, server: tuple[zmq.Socket, int]) -> None:
    pull, port = server
    with raw_client(port) as sock:
        sock.sendall(b"\xff" + b"\x00" * 8 + b"\x7f" + b"\xee" * 200)
        assert wait_for_eof(sock), "a broken greeting must cost the connection"
    good_peer_still_delivers(ctx, pull, port)


def test_truncated_greeting_does_not_stall_others(ctx: zmq.Context,
                                                  server: tuple[zmq.Socket, int]) -> None:
    pull, port = server
    with raw_client(port) as sock:
        sock.sendall(greeting()[:30])
        good_peer_still_delivers(ctx, pull, port)
        sock.sendall(greeting()[30:40])  # still incomplete: the server keeps waiting
        good_peer_still_delivers(ctx, pull, port)


def test_zmtp_1_0_greeting_cannot_inject(ctx: zmq.Context,
                                         server: tuple[zmq.Socket, int]) -> None:
    pull, port = server
    with raw_client(port) as sock:
        # ZMTP/1.0: identity frame (length 1, flags 0), then a message "EVIL".
        sock.sendall(b"\x01\x00" + b"\x05\x00EVIL")
        pull.rcvtimeo = 250
        with pytest.raises(zmq.Again):
            pull.recv()
        pull.rcvtimeo = int(DEADLINE * 1000)
        good_peer_still_delivers(ctx, pull, port)


def test_wrong_mechanism_is_dropped(ctx: zmq.Context, server: tuple[zmq.Socket, int]) -> None:
    pull, port = server
    with raw_client(port) as sock:
        sock.sendall(greeting(b"PLAIN"))
        hello = command(b"HELLO", b"\x05admin\x06secret")
        sock.sendall(hello + data_frame(b"EVIL"))
        assert wait_for_eof(sock), "a PLAIN client against a NULL server must be dropped"
    good_peer_still_delivers(ctx, pull, port)


def test_incompatible_socket_type_is_dropped(ctx: zmq.Context,
                                             server: tuple[zmq.Socket, int]) -> None:
    pull, port = server
    with raw_client(port) as sock:
        sock.sendall(greeting(b"NULL"))
        recv_exact(sock, 64)
        sock.sendall(ready(b"PULL") + data_frame(b"EVIL"))  # PULL-PULL is not a valid pair
        assert wait_for_eof(sock)
    good_peer_still_delivers(ctx, pull, port)


def test_oversized_frame_is_refused_before_allocation(ctx: zmq.Context,
                                                      server: tuple[zmq.Socket, int]) -> None:
    pull, port = server
    with raw_client(port) as sock:
        null_handshake(sock)
        sock.sendall(data_frame(b"fine"))
        assert pull.recv() == b"fine"
        # Declare 2**40 bytes and send only a few: the server must hang up at once.
        sock.sendall(b"\x02" + struct.pack(">Q", 2**40) + b"EVIL")
        assert wait_for_eof(sock), "a frame over MAXMSGSIZE must cost the connection"
    good_peer_still_delivers(ctx, pull, port)


def test_frame_just_over_maxmsgsize_is_refused(ctx: zmq.Context,
                                               server: tuple[zmq.Socket, int]) -> None:
    pull, port = server
    with raw_client(port) as sock:
        null_handshake(sock)
        sock.sendall(data_frame(b"z" * 1001))
        assert wait_for_eof(sock)
    good_peer_still_delivers(ctx, pull, port)


def test_multipart_over_maxmsgsize_in_total_is_refused(ctx: zmq.Context,
                                                       server: tuple[zmq.Socket, int]) -> None:
    """libzmq checks MAXMSGSIZE per frame; either way no part of the message is delivered."""
    pull, port = server
    with raw_client(port) as sock:
        null_handshake(sock)
        sock.sendall(data_frame(b"a" * 600, more=True) + data_frame(b"b" * 600))
        pull.rcvtimeo = 500
        try:
            got = pull.recv_multipart()
        except zmq.Again:
            got = []
        assert got in ([], [b"a" * 600, b"b" * 600]), "a message must arrive whole or not at all"
        pull.rcvtimeo = int(DEADLINE * 1000)
    good_peer_still_delivers(ctx, pull, port)


def test_handshake_ivl_drops_a_silent_client(ctx: zmq.Context) -> None:
    pull = ctx.socket(zmq.PULL)
    pull.linger = 0
    pull.handshake_ivl = 200
    port = pull.bind_to_random_port("tcp://127.0.0.1")
    with raw_client(port) as sock:
        start = time.monotonic()
        assert wait_for_eof(sock, timeout=DEADLINE), "silent client not dropped"
        elapsed = time.monotonic() - start
    assert 0.15 <= elapsed < 3.0, elapsed


def test_handshake_ivl_zero_keeps_a_silent_client(ctx: zmq.Context) -> None:
    pull = ctx.socket(zmq.PULL)
    pull.linger = 0
    pull.handshake_ivl = 0
    port = pull.bind_to_random_port("tcp://127.0.0.1")
    with raw_client(port) as sock:
        assert not wait_for_eof(sock, timeout=0.4)
