"""Live-server helpers for raw-socket fuzzing: servers per mechanism, good clients, raw peers.

A ``LiveServer`` is a securemq ROUTER bound on a random loopback port with NULL, PLAIN (a
``ThreadAuthenticator`` holding one password) or CURVE (server keys, a ``ThreadAuthenticator``
allowing any client key, so ZAP is in the loop as in CVE-2020-15166). ``round_trip`` proves a
well-behaved client still gets a full echo through it; raw peers are plain TCP sockets.
"""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

import zmq as pyzmq
from securemq.auth import (  # type: ignore[import-not-found, unused-ignore]
    CURVE_ALLOW_ANY,
    ThreadAuthenticator,
)

import securemq
from securemq.zmtp.greeting import encode_greeting

DEADLINE_MS = 5000
USERNAME, PASSWORD = b"admin", b"s3cret"


@dataclass
class LiveServer:
    mechanism: str
    ctx: securemq.Context
    sock: securemq.Socket
    port: int
    server_public: bytes = b""

    @property
    def endpoint(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def configure_client(self, client: Any, keypair: tuple[bytes, bytes]) -> None:
        """Security options for a securemq or pyzmq client socket."""
        client.linger = 0
        client.rcvtimeo = DEADLINE_MS
        client.sndtimeo = DEADLINE_MS
        if self.mechanism == "PLAIN":
            client.plain_username = USERNAME
            client.plain_password = PASSWORD
        elif self.mechanism == "CURVE":
            client.curve_serverkey = self.server_public
            client.curve_publickey, client.curve_secretkey = keypair

    def serve_one(self, payload: bytes) -> None:
        """Receive the good client's message (and nothing else) and echo it back."""
        if not self.sock.poll(DEADLINE_MS):
            raise AssertionError(f"{self.mechanism}: the good client's message never arrived")
        routing_id, body = self.sock.recv_multipart()
        assert body == payload, f"{self.mechanism}: unexpected message {body[:40]!r}"
        self.sock.send_multipart([routing_id, b"echo:" + body])


@contextmanager
def live_server(mechanism: str, *, maxmsgsize: int = -1) -> Iterator[LiveServer]:
    ctx = securemq.Context()
    auth: ThreadAuthenticator | None = None
    try:
        sock = ctx.socket(securemq.ROUTER)
        sock.linger = 0
        sock.rcvtimeo = DEADLINE_MS
        sock.sndtimeo = DEADLINE_MS
        sock.maxmsgsize = maxmsgsize
        public = b""
        if mechanism in ("PLAIN", "CURVE"):
            auth = ThreadAuthenticator(ctx)
            auth.start()
        if mechanism == "PLAIN":
            assert auth is not None
            auth.configure_plain(passwords={USERNAME.decode(): PASSWORD.decode()})
            sock.plain_server = True
        elif mechanism == "CURVE":
            assert auth is not None
            auth.configure_curve(location=CURVE_ALLOW_ANY)
            public, secret = securemq.curve_keypair()
            sock.curve_server = True
            sock.curve_secretkey = secret
        port = sock.bind_to_random_port("tcp://127.0.0.1")
        yield LiveServer(mechanism, ctx, sock, port, public)
    finally:
        if auth is not None:
            auth.stop()
        ctx.destroy(linger=0)


def round_trip(server: LiveServer, payload: bytes = b"ping", *, use_pyzmq: bool = False) -> float:
    """A fresh well-behaved client sends, the server echoes, the client receives; seconds taken."""
    started = time.monotonic()
    pyctx: Any = pyzmq.Context() if use_pyzmq else None
    try:
        client: Any = (pyctx or server.ctx).socket(securemq.DEALER)
        server.configure_client(client, securemq.curve_keypair())
        client.connect(server.endpoint)
        client.send(payload)
        server.serve_one(payload)
        assert client.recv() == b"echo:" + payload
        client.close(0)
    finally:
        if pyctx is not None:
            pyctx.destroy(linger=0)
    return time.monotonic() - started


def raw_connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=DEADLINE_MS / 1000)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def send_quietly(sock: socket.socket, chunks: list[bytes]) -> None:
    """Send each chunk; the server hanging up on us midway is an allowed outcome."""
    with suppress(OSError):
        for chunk in chunks:
            sock.sendall(chunk)


def drain(sock: socket.socket) -> bytes:
    """Whatever the server already sent, without waiting."""
    got = b""
    sock.setblocking(False)
    with suppress(OSError):
        while chunk := sock.recv(65536):
            got += chunk
    return got


def recv_exact(sock: socket.socket, size: int) -> bytes:
    sock.setblocking(True)
    sock.settimeout(DEADLINE_MS / 1000)
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError(f"EOF after {len(data)} of {size} bytes")
        data += chunk
    return data


def read_frame(sock: socket.socket) -> tuple[int, bytes]:
    flags = recv_exact(sock, 1)[0]
    size = struct.unpack(">Q", recv_exact(sock, 8))[0] if flags & 0x02 else recv_exact(sock, 1)[0]
    return flags, recv_exact(sock, size)


def closed_by_server(sock: socket.socket, timeout: float = DEADLINE_MS / 1000) -> bool:
    """Read and discard until EOF/reset; False if the server still holds it open at the end."""
    sock.setblocking(True)
    sock.settimeout(0.05)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if not sock.recv(65536):
                return True
        except TimeoutError:
            continue
        except OSError:
            return True
    return False


def greeting(mechanism: str) -> bytes:
    return encode_greeting(mechanism.encode(), False)
