"""A peer's own metadata never speaks for the server (issue: authorization bypass).

``Peer-Address`` comes from the OS, ``User-Id`` from the ZAP reply only, every ZAP metadata
property beats the peer's property of the same name, and names compare case-insensitively. Each
attack is a raw-socket client that completes a real NULL / PLAIN / CURVE handshake while its
READY / INITIATE metadata claims ``User-Id: admin``, ``peer-address: 10.66.6.6`` and
``role: admin``. After each attack a well-behaved securemq client is still served, with the
properties ZAP gave it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from securemq.auth import Decision, ThreadAuthenticator, ZapRequest

import securemq as zmq
from tests.security import raw

SPOOFED = raw.metadata(
    (b"Socket-Type", b"PUSH"),
    (b"User-Id", b"admin"),
    (b"USER-ID", b"admin"),
    (b"peer-address", b"10.66.6.6"),
    (b"role", b"admin"),
    (b"X-Client-Note", b"kept"),
)
ZAP_ROLE = {"Role": "user"}


@pytest.fixture
def ctx() -> Iterator[zmq.Context]:
    context = zmq.Context()
    yield context
    context.destroy(linger=0)


class Zap:
    """A ZAP policy that answers 200 with a chosen user id and ``Role: user``."""

    def __init__(self, user_id: str | None) -> None:
        self.user_id = user_id
        self.requests: list[ZapRequest] = []

    def __call__(self, request: ZapRequest) -> Decision:
        self.requests.append(request)
        return Decision.allow("test", user_id=self.user_id, metadata=ZAP_ROLE)


def start_zap(ctx: zmq.Context, user_id: str | None) -> ThreadAuthenticator:
    auth = ThreadAuthenticator(ctx)
    auth.add_policy(Zap(user_id))
    auth.start()
    return auth


def pull_server(ctx: zmq.Context, **options: Any) -> tuple[zmq.Socket, int]:
    pull = ctx.socket(zmq.PULL)
    pull.linger = 0
    pull.rcvtimeo = int(raw.DEADLINE * 1000)
    for name, value in options.items():
        setattr(pull, name, value)
    return pull, pull.bind_to_random_port("tcp://127.0.0.1")


def props_of(frame: zmq.Frame) -> dict[str, str | None]:
    seen: dict[str, str | None] = {}
    for name in ("User-Id", "user-id", "USER-ID", "Peer-Address", "peer-address", "Role",
                 "ROLE", "X-Client-Note", "Socket-Type"):
        try:
            seen[name] = frame.get(name)
        except zmq.ZMQError as exc:
            assert exc.errno == zmq.EINVAL
            seen[name] = None
    return seen


def expected(user_id: str | None, role: str | None, note: str = "kept",
             socket_type: str = "PUSH") -> dict[str, str | None]:
    return {
        "User-Id": user_id, "user-id": user_id, "USER-ID": user_id,
        "Peer-Address": "127.0.0.1", "peer-address": "127.0.0.1",
        "Role": role, "ROLE": role, "X-Client-Note": note, "Socket-Type": socket_type,
    }


def good_client(ctx: zmq.Context, port: int, **options: Any) -> zmq.Socket:
    """A well-behaved client that sends b"good" (keep it referenced until that arrives: a
    socket nobody holds is closed, and LINGER 0 drops what it had queued)."""
    push = ctx.socket(zmq.PUSH)
    push.linger = 0
    for name, value in options.items():
        setattr(push, name, value)
    push.connect(f"tcp://127.0.0.1:{port}")
    push.send(b"good")
    return push


def test_plain_peer_cannot_claim_user_id_address_or_role(ctx: zmq.Context) -> None:
    start_zap(ctx, "alice")
    pull, port = pull_server(ctx, plain_server=True)
    with raw.connect(port) as sock:
        raw.plain_handshake(sock, b"alice", b"secret", SPOOFED)
        sock.sendall(raw.data_frame(b"attack"))
        frame = pull.recv(copy=False)
        assert frame.bytes == b"attack"
        assert props_of(frame) == expected("alice", "user")
    _client = good_client(ctx, port, plain_username=b"alice", plain_password=b"secret")
    frame = pull.recv(copy=False)
    assert frame.bytes == b"good"
    assert props_of(frame) == expected("alice", "user", note=None)


def test_curve_peer_cannot_replace_the_key_derived_user_id(ctx: zmq.Context) -> None:
    server_public, server_secret = zmq.curve_keypair()
    client_public, client_secret = zmq.curve_keypair()
    start_zap(ctx, None)  # the handler's default: the client key in Z85
    pull, port = pull_server(ctx, curve_server=True, curve_secretkey=server_secret,
                             curve_publickey=server_public)
    with raw.connect(port) as sock:
        attacker = raw.curve_handshake(sock, zmq.z85.decode(server_public), SPOOFED,
                                       secret=zmq.z85.decode(client_secret))
        sock.sendall(raw.data_frame(attacker.message(b"attack")))
        frame = pull.recv(copy=False)
        assert frame.bytes == b"attack"
        assert props_of(frame) == expected(client_public.decode(), "user")
    good_public, good_secret = zmq.curve_keypair()
    _client = good_client(ctx, port, curve_serverkey=server_public, curve_publickey=good_public,
                curve_secretkey=good_secret)
    frame = pull.recv(copy=False)
    assert frame.bytes == b"good"
    assert props_of(frame) == expected(good_public.decode(), "user", note=None)


def test_null_with_zap_empty_user_id_is_reported_empty(ctx: zmq.Context) -> None:
    start_zap(ctx, "")
    pull, port = pull_server(ctx, zap_domain=b"global")
    with raw.connect(port) as sock:
        raw.null_handshake(sock, SPOOFED)
        sock.sendall(raw.data_frame(b"attack"))
        frame = pull.recv(copy=False)
        assert props_of(frame) == expected("", "user")
    _client = good_client(ctx, port)
    assert props_of(pull.recv(copy=False)) == expected("", "user", note=None)


def test_without_zap_there_is_no_user_id_at_all(ctx: zmq.Context) -> None:
    """libzmq 4.3.5 reports the peer's own User-Id here; securemq reports none."""
    pull, port = pull_server(ctx)
    with raw.connect(port) as sock:
        raw.null_handshake(sock, SPOOFED)
        sock.sendall(raw.data_frame(b"attack"))
        # The peer's "role" stays (nothing overrides it), but it is only ever the peer's word.
        assert props_of(pull.recv(copy=False)) == expected(None, "admin")
    _client = good_client(ctx, port)
    assert props_of(pull.recv(copy=False)) == expected(None, None, note=None)


def test_client_side_ignores_a_server_claiming_user_id(ctx: zmq.Context) -> None:
    """The connecting side has no ZAP: a server's READY cannot give it a User-Id either."""
    import socket

    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    pull = ctx.socket(zmq.PULL)
    pull.linger = 0
    pull.rcvtimeo = int(raw.DEADLINE * 1000)
    pull.connect(f"tcp://127.0.0.1:{port}")
    conn, _ = listener.accept()
    with conn, listener:
        conn.settimeout(raw.DEADLINE)
        raw.null_handshake(conn, SPOOFED)
        conn.sendall(raw.data_frame(b"from a lying server"))
        assert props_of(pull.recv(copy=False)) == expected(None, "admin")
