"""Kernel buffers of stream connections: SNDBUF/RCVBUF are applied; ipc gets a larger default."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

import securemq as zmq
from securemq.transports.tcp import IPC_SNDBUF

pytestmark = pytest.mark.timeout(20)


def _wmem_max() -> int:
    try:
        return int(Path("/proc/sys/net/core/wmem_max").read_text())
    except (OSError, ValueError):
        return 0


def _connected_os_socket(sock: zmq.Socket) -> socket.socket:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        session = sock._session
        ready = [e for e in (session.ready_engines if session else []) if not e.closed]
        if ready:
            return ready[0].sock
        time.sleep(0.005)
    raise AssertionError("no connection came up within 5 s")


def _pair(ctx: zmq.Context, endpoint: str, **options: int) -> tuple[zmq.Socket, zmq.Socket]:
    server = ctx.socket(zmq.PULL)
    client = ctx.socket(zmq.PUSH)
    for sock in (server, client):
        sock.linger = 0
        for name, value in options.items():
            setattr(sock, name, value)
    server.bind(endpoint)
    client.connect(server.last_endpoint)
    return server, client


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
def test_sndbuf_and_rcvbuf_reach_the_os_socket(tmp_path: Path, transport: str) -> None:
    endpoint = "tcp://127.0.0.1:*" if transport == "tcp" else f"ipc://{tmp_path}/b.sock"
    with zmq.Context() as ctx:
        server, client = _pair(ctx, endpoint, sndbuf=65536, rcvbuf=98304)
        for sock in (server, client):
            os_sock = _connected_os_socket(sock)
            # Linux doubles what it is given (bookkeeping overhead).
            assert os_sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF) == 2 * 65536
            assert os_sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) == 2 * 98304
        client.send(b"still works")
        server.rcvtimeo = 5000
        assert server.recv() == b"still works"
        server.close()
        client.close()


def test_ipc_default_send_buffer_is_raised(tmp_path: Path) -> None:
    with zmq.Context() as ctx:
        server, client = _pair(ctx, f"ipc://{tmp_path}/d.sock")
        expected = 2 * min(IPC_SNDBUF, _wmem_max() or IPC_SNDBUF)
        for sock in (server, client):
            os_sock = _connected_os_socket(sock)
            assert os_sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF) >= expected
        server.close()
        client.close()
