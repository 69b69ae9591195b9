"""A hostile peer on a raw TCP socket: ZMTP handshakes done by hand, so that it can lie.

Each handshake returns once the peer may send traffic; its metadata is whatever the caller
passes (spoofed names included). ``positive controls`` in the tests prove these helpers
complete real handshakes, so a refusal seen elsewhere is the server's doing, not the helper's.
"""

from __future__ import annotations

import socket
import struct
import time

from tests.fuzz.curve_client import RawCurveClient, frame
from tests.io.test_bad_peers import command, data_frame, greeting, read_frame, recv_exact

DEADLINE = 5.0

__all__ = [
    "DEADLINE",
    "RawCurveClient",
    "connect",
    "curve_handshake",
    "data_frame",
    "metadata",
    "null_handshake",
    "plain_handshake",
    "wait_for_eof",
]


def metadata(*pairs: tuple[bytes, bytes]) -> bytes:
    """ZMTP properties, in order, names exactly as given (any case, repeats allowed)."""
    return b"".join(
        bytes((len(name),)) + name + struct.pack(">I", len(value)) + value for name, value in pairs
    )


def connect(port: int, host: str = "127.0.0.1") -> socket.socket:
    sock = socket.create_connection((host, port), timeout=DEADLINE)
    sock.settimeout(DEADLINE)
    return sock


def _expect_command(sock: socket.socket, name: bytes) -> bytes:
    flags, body = read_frame(sock)
    got = body[1 : 1 + body[0]] if body else b""
    if not flags & 0x04 or got != name:
        raise AssertionError(f"raw peer: expected {name!r}, got flags={flags} {body[:16]!r}")
    return body[1 + body[0] :]


def null_handshake(sock: socket.socket, props: bytes) -> bytes:
    """NULL as a client: our READY carries ``props``; returns the server's READY metadata."""
    sock.sendall(greeting(b"NULL"))
    recv_exact(sock, 64)
    sock.sendall(command(b"READY", props))
    return _expect_command(sock, b"READY")


def plain_handshake(sock: socket.socket, user: bytes, password: bytes, props: bytes) -> bytes:
    """PLAIN as a client (HELLO, WELCOME, INITIATE with ``props``, READY)."""
    sock.sendall(greeting(b"PLAIN"))
    recv_exact(sock, 64)
    hello = bytes((len(user),)) + user + bytes((len(password),)) + password
    sock.sendall(command(b"HELLO", hello))
    _expect_command(sock, b"WELCOME")
    sock.sendall(command(b"INITIATE", props))
    return _expect_command(sock, b"READY")


def curve_handshake(sock: socket.socket, server_public: bytes, props: bytes,
                    secret: bytes | None = None) -> RawCurveClient:
    """CURVE as a client, INITIATE metadata exactly ``props``; returns the client state (its
    ``message()`` boxes traffic on the session key)."""
    client = RawCurveClient(server_public, secret)
    sock.sendall(greeting(b"CURVE"))
    recv_exact(sock, 64)
    sock.sendall(frame(client.hello()))
    _, welcome = read_frame(sock)
    sock.sendall(frame(client.initiate(welcome, props)))
    _, ready = read_frame(sock)
    client.open_ready(ready)
    return client


def wait_for_eof(sock: socket.socket, timeout: float = DEADLINE) -> bool:
    """Read until the server closes; False when it is still open at the deadline."""
    sock.settimeout(0.05)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if not sock.recv(65536):
                return True
        except TimeoutError:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return True
    return False
