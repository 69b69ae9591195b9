"""A peer cannot set its own authorization rules (the reserved ``Securemq-*`` properties).

Each attacker is a raw-socket client completing a real NULL / PLAIN handshake whose READY /
INITIATE metadata carries reserved names: to lift a read-only rule ZAP gave it, to make itself
entitled to a routing id another user owns (with ROUTER_HANDOVER on, the entitlement would let
it take the id over), or just to show the names to the application. The server takes the rules
from ZAP only; the names a peer sent never reach ``Frame.get``. A well-behaved client is served
afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from securemq.auth import ThreadAuthenticator

import securemq as zmq
from tests.security import raw

pytestmark = pytest.mark.timeout(60)

TIMEOUT_MS = 5000
QUIET_MS = 200
PASSWORDS = {"mallory": "m", "victim": "v"}
CLAIMS = raw.metadata(
    (b"Socket-Type", b"DEALER"),
    (b"Identity", b"victim"),
    (b"Securemq-Read-Only", b"0"),
    (b"SECUREMQ-ROUTING-IDS", b"victim"),
    (b"securemq-subscribe", b"victim,secret"),
)


@pytest.fixture
def ctx() -> Iterator[zmq.Context]:
    context = zmq.Context()
    yield context
    context.destroy(linger=0)


def bounded(sock: zmq.Socket) -> zmq.Socket:
    sock.linger = 0
    sock.rcvtimeo = TIMEOUT_MS
    sock.sndtimeo = TIMEOUT_MS
    return sock


def plain_router(ctx: zmq.Context, **options: Any) -> tuple[zmq.Socket, int]:
    router = bounded(ctx.socket(zmq.ROUTER))
    router.plain_server = True
    for name, value in options.items():
        setattr(router, name, value)
    return router, router.bind_to_random_port("tcp://127.0.0.1")


def dealer(ctx: zmq.Context, port: int, user: str) -> zmq.Socket:
    sock = bounded(ctx.socket(zmq.DEALER))
    sock.plain_username = user.encode()
    sock.plain_password = PASSWORDS[user].encode()
    sock.routing_id = user.encode()
    sock.connect(f"tcp://127.0.0.1:{port}")
    return sock


def wait_refusal(router: zmq.Socket, kind: str) -> None:
    """Poll (reading drops what is refused) until ``kind`` was counted once; nothing may be
    received meanwhile."""
    for _ in range(TIMEOUT_MS // 50):
        if router.authz_counts.get(kind) == 1:
            return
        assert not router.poll(50), "the attacker was heard"
    pytest.fail(f"no {kind} within {TIMEOUT_MS} ms")


def test_a_read_only_peer_cannot_lift_its_rule(ctx: zmq.Context) -> None:
    with ThreadAuthenticator(ctx) as auth:
        auth.configure_plain(passwords=PASSWORDS)
        auth.set_rules("mallory", zmq.AccessRules(read_only=True))
        router, port = plain_router(ctx)
        with raw.connect(port) as sock:
            raw.plain_handshake(sock, b"mallory", b"m", CLAIMS)
            sock.sendall(raw.data_frame(b"I said I am not read-only"))
            wait_refusal(router, "read_only_dropped")
        good = dealer(ctx, port, "victim")
        good.send(b"good")
        assert router.recv_multipart() == [b"victim", b"good"]


def test_a_peer_cannot_entitle_itself_to_a_routing_id(ctx: zmq.Context) -> None:
    with ThreadAuthenticator(ctx) as auth:
        auth.configure_plain(passwords=PASSWORDS)
        auth.set_rules("victim", zmq.AccessRules(routing_ids=["victim"]))
        router, port = plain_router(ctx, router_handover=1)
        victim = dealer(ctx, port, "victim")
        victim.send(b"hello")
        assert router.recv_multipart() == [b"victim", b"hello"]
        with raw.connect(port) as sock:
            raw.plain_handshake(sock, b"mallory", b"m", CLAIMS)
            sock.sendall(raw.data_frame(b"I am the victim now"))
            wait_refusal(router, "routing_id_refused")
            router.send_multipart([b"victim", b"for the victim"])
            assert victim.recv() == b"for the victim"
            sock.settimeout(QUIET_MS / 1000)
            with pytest.raises(TimeoutError):
                sock.recv(1)  # nothing was routed to the attacker
        victim.send(b"still me")
        assert router.recv_multipart() == [b"victim", b"still me"]


def test_reserved_names_from_a_peer_never_reach_the_application(ctx: zmq.Context) -> None:
    """No ZAP at all (NULL): the peer's own reserved names are dropped, the rest is kept."""
    pull = bounded(ctx.socket(zmq.PULL))
    port = pull.bind_to_random_port("tcp://127.0.0.1")
    claims = raw.metadata((b"Socket-Type", b"PUSH"), (b"Securemq-Read-Only", b"1"),
                          (b"Securemq-Subscribe", b"x"), (b"X-Note", b"kept"))
    with raw.connect(port) as sock:
        raw.null_handshake(sock, claims)
        sock.sendall(raw.data_frame(b"delivered"))
        frame = pull.recv(copy=False)
    assert frame.bytes == b"delivered"  # not read-only: that was only the peer's word
    assert frame.get("X-Note") == "kept"
    for name in ("Securemq-Read-Only", "securemq-subscribe"):
        with pytest.raises(zmq.ZMQError) as info:
            frame.get(name)
        assert info.value.errno == zmq.EINVAL
    assert pull.authz_counts == {}
