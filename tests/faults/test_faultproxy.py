"""The fault proxy itself, with plain TCP sockets: forwarding, stall, cut after N bytes, delay."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from .faultproxy import DOWN, UP, FaultProxy
from .helpers import wait_until


@pytest.fixture
def echo_target() -> Iterator[socket.socket]:
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(5)
    yield server
    server.close()


def _pair(proxy: FaultProxy, server: socket.socket) -> tuple[socket.socket, socket.socket]:
    before = proxy.accepted
    client = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
    upstream, _ = server.accept()
    assert proxy.wait_for("accepted", before + 1)
    upstream.settimeout(5)
    return client, upstream


def _recv_exactly(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            break
        data += chunk
    return data


def _recv_until_eof(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def test_forwards_both_directions(echo_target: socket.socket) -> None:
    with FaultProxy("127.0.0.1", echo_target.getsockname()[1]) as proxy:
        client, upstream = _pair(proxy, echo_target)
        payload = bytes(range(256)) * 4096  # 1 MiB, larger than any single read
        client.sendall(payload)
        assert _recv_exactly(upstream, len(payload)) == payload
        upstream.sendall(b"pong")
        assert _recv_exactly(client, 4) == b"pong"
        assert wait_until(lambda: proxy.forwarded[DOWN] == 4)
        assert proxy.forwarded[UP] == len(payload)
        client.close()
        assert _recv_until_eof(upstream) == b""  # a close on one side closes the other
        upstream.close()


def test_stall_holds_bytes_until_unstall(echo_target: socket.socket) -> None:
    with FaultProxy("127.0.0.1", echo_target.getsockname()[1]) as proxy:
        client, upstream = _pair(proxy, echo_target)
        proxy.stall(UP)
        client.sendall(b"held")
        deadline = time.monotonic() + 5
        while proxy.stalled_bytes(UP) < 4 and time.monotonic() < deadline:
            time.sleep(0.002)
        assert proxy.stalled_bytes(UP) == 4
        upstream.settimeout(0.1)
        with pytest.raises(TimeoutError):
            upstream.recv(16)
        upstream.sendall(b"down still flows")
        assert _recv_exactly(client, 16) == b"down still flows"
        proxy.unstall()
        upstream.settimeout(5)
        assert _recv_exactly(upstream, 4) == b"held"
        client.close()
        upstream.close()


def test_cut_after_exact_byte_count(echo_target: socket.socket) -> None:
    with FaultProxy("127.0.0.1", echo_target.getsockname()[1]) as proxy:
        client, upstream = _pair(proxy, echo_target)
        proxy.cut_after(1000, UP)
        client.sendall(b"a" * 5000)
        assert _recv_until_eof(upstream) == b"a" * 1000
        assert proxy.wait_for("cuts", 1)
        client.settimeout(5)
        assert _recv_until_eof_or_reset(client) == b""
        # A new connection is not affected by the old cut.
        client2, upstream2 = _pair(proxy, echo_target)
        client2.sendall(b"b" * 5000)
        assert _recv_exactly(upstream2, 5000) == b"b" * 5000
        for sock in (client, upstream, client2, upstream2):
            sock.close()


def test_reset_cut_sends_rst(echo_target: socket.socket) -> None:
    with FaultProxy("127.0.0.1", echo_target.getsockname()[1]) as proxy:
        client, upstream = _pair(proxy, echo_target)
        proxy.cut_all(reset=True)
        assert proxy.wait_for("cuts", 1)
        with pytest.raises(ConnectionResetError):
            while upstream.recv(16):
                pass
        client.close()
        upstream.close()


def test_delay_postpones_every_chunk(echo_target: socket.socket) -> None:
    with FaultProxy("127.0.0.1", echo_target.getsockname()[1]) as proxy:
        client, upstream = _pair(proxy, echo_target)
        proxy.set_delay(0.15)
        started = time.monotonic()
        client.sendall(b"late")
        assert _recv_exactly(upstream, 4) == b"late"
        assert time.monotonic() - started >= 0.14
        proxy.set_delay(0.0)
        started = time.monotonic()
        client.sendall(b"soon")
        assert _recv_exactly(upstream, 4) == b"soon"
        assert time.monotonic() - started < 0.1
        client.close()
        upstream.close()


def _recv_until_eof_or_reset(sock: socket.socket) -> bytes:
    try:
        return _recv_until_eof(sock)
    except ConnectionResetError:
        return b""
