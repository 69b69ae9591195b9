"""Authorization rules from ZAP, enforced by a securemq server, with libzmq (pyzmq) clients.

The server's ThreadAuthenticator accepts PLAIN users and gives some of them rules
(``set_rules``, a policy's ``Decision.allow(..., rules=...)`` under CURVE, or the metadata of
a trusted certificate):

- a SUB limited to ``sensor:temp`` registers only that prefix on a securemq PUB / XPUB: its
  ``sensor:`` subscription is dropped (counted, logged), an unlimited SUB keeps getting all;
- a read-only DEALER's messages to a securemq ROUTER are dropped (counted, logged), while the
  ROUTER still reaches it and a normal DEALER is served;
- a DEALER bound to routing id ``alice`` is addressed as ``alice`` whatever identity it
  announces, and a DEALER of another user announcing ``alice`` does not get alice's messages.

The libzmq clients are plain pyzmq sockets: nothing changes on their side.
"""

from __future__ import annotations

import importlib
import logging
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import zmq

import securemq

from .conftest import configure, publish_until_received

smq_auth: Any = importlib.import_module("securemq.auth")

pytestmark = pytest.mark.timeout(60)

TIMEOUT_MS = 5000
QUIET_MS = 200
PASSWORDS = {"temp-only": "pw1", "everything": "pw2", "reader": "pw3", "writer": "pw4",
             "alice": "pw5", "mallory": "pw6"}


@pytest.fixture
def auth(smq_ctx: securemq.Context) -> Iterator[Any]:
    authenticator = smq_auth.ThreadAuthenticator(smq_ctx)
    authenticator.configure_plain(passwords=PASSWORDS)
    authenticator.set_rules("temp-only", securemq.AccessRules(subscribe=["sensor:temp"]))
    authenticator.set_rules("reader", securemq.AccessRules(read_only=True))
    authenticator.set_rules("alice", securemq.AccessRules(routing_ids=["alice"]))
    authenticator.start()
    yield authenticator
    authenticator.stop()


def plain_server(ctx: securemq.Context, socket_type: int) -> tuple[securemq.Socket, str]:
    sock = configure(ctx.socket(socket_type))
    sock.plain_server = True
    port = sock.bind_to_random_port("tcp://127.0.0.1")
    return sock, f"tcp://127.0.0.1:{port}"


def plain_client(pz_ctx: zmq.Context[zmq.Socket[bytes]], socket_type: int, endpoint: str,
                 user: str, identity: bytes | None = None) -> zmq.Socket[bytes]:
    sock: zmq.Socket[bytes] = configure(pz_ctx.socket(socket_type))
    sock.plain_username = user.encode()
    sock.plain_password = PASSWORDS[user].encode()
    if identity is not None:
        sock.routing_id = identity
    sock.connect(endpoint)
    return sock


def until(predicate: Any, what: str, timeout: float = TIMEOUT_MS / 1000) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"


@pytest.mark.parametrize("publisher", [securemq.PUB, securemq.XPUB], ids=["PUB", "XPUB"])
def test_a_sub_registers_only_its_prefixes(
    auth: Any, smq_ctx: securemq.Context, pz_ctx: zmq.Context[zmq.Socket[bytes]],
    publisher: int, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="securemq.authz")
    pub, endpoint = plain_server(smq_ctx, publisher)
    limited = plain_client(pz_ctx, zmq.SUB, endpoint, "temp-only")
    limited.subscribe(b"sensor:")  # wider than allowed: dropped
    limited.subscribe(b"sensor:temp")
    free = plain_client(pz_ctx, zmq.SUB, endpoint, "everything")
    free.subscribe(b"sensor:")
    publish_until_received(pub, limited, [b"sensor:temp 20"])
    publish_until_received(pub, free, [b"sensor:temp 20"])
    until(lambda: pub.send(b"-") is None and pub.authz_counts.get("subscribe_refused"),
          "the refused subscription")
    for sub in (limited, free):  # what the sync loop left behind
        while sub.poll(QUIET_MS):
            sub.recv()
    pub.send(b"sensor:temp 21")
    pub.send(b"sensor:humidity 40")
    pub.send(b"sensor:temp 22")
    assert [limited.recv(), limited.recv()] == [b"sensor:temp 21", b"sensor:temp 22"]
    assert [free.recv(), free.recv(), free.recv()] == [
        b"sensor:temp 21", b"sensor:humidity 40", b"sensor:temp 22"]
    assert not limited.poll(QUIET_MS)
    assert pub.authz_counts == {"subscribe_refused": 1}
    lines = [r.getMessage() for r in caplog.records if r.name == "securemq.authz"]
    assert any('refused a subscription to "sensor:"' in line and 'user_id="temp-only"' in line
               for line in lines), lines


def test_xpub_application_never_sees_a_refused_subscription(
    auth: Any, smq_ctx: securemq.Context, pz_ctx: zmq.Context[zmq.Socket[bytes]],
) -> None:
    xpub, endpoint = plain_server(smq_ctx, securemq.XPUB)
    limited = plain_client(pz_ctx, zmq.SUB, endpoint, "temp-only")
    limited.subscribe(b"secret")
    limited.subscribe(b"sensor:temp")
    assert xpub.recv() == b"\x01sensor:temp"
    assert not xpub.poll(QUIET_MS)


def test_a_read_only_dealer_is_heard_by_nobody(
    auth: Any, smq_ctx: securemq.Context, pz_ctx: zmq.Context[zmq.Socket[bytes]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="securemq.authz")
    router, endpoint = plain_server(smq_ctx, securemq.ROUTER)
    reader = plain_client(pz_ctx, zmq.DEALER, endpoint, "reader", identity=b"reader")
    writer = plain_client(pz_ctx, zmq.DEALER, endpoint, "writer", identity=b"writer")
    reader.send(b"let me write")
    writer.send(b"hello")
    assert router.recv_multipart() == [b"writer", b"hello"]
    until(lambda: router.poll(10) == 0 and router.authz_counts.get("read_only_dropped") == 1,
          "the read-only peer's message to be dropped")
    # The server still reaches it, by its routing id.
    router.send_multipart([b"reader", b"news for you"])
    assert reader.recv() == b"news for you"
    for index in range(20):
        reader.send(b"more %d" % index)
    writer.send(b"again")
    assert router.recv_multipart() == [b"writer", b"again"]
    until(lambda: router.poll(10) == 0 and router.authz_counts["read_only_dropped"] == 21,
          "every read-only message to be dropped")
    lines = [r.getMessage() for r in caplog.records if r.name == "securemq.authz"]
    # Logged at the 1st and 10th drop, not 21 times.
    assert len(lines) == 2 and all('user_id="reader"' in line for line in lines), lines


def test_a_routing_id_belongs_to_its_user(
    auth: Any, smq_ctx: securemq.Context, pz_ctx: zmq.Context[zmq.Socket[bytes]],
) -> None:
    router, endpoint = plain_server(smq_ctx, securemq.ROUTER)
    router.router_mandatory = True
    squatter = plain_client(pz_ctx, zmq.DEALER, endpoint, "mallory", identity=b"alice")
    squatter.send(b"I am alice")
    assert router.recv_multipart() == [b"alice", b"I am alice"]  # nobody else claims it yet
    alice = plain_client(pz_ctx, zmq.DEALER, endpoint, "alice", identity=b"the-admin")
    alice.send(b"really alice")
    # Named by her authorized id, not by what she announced; the squatter is cut off.
    assert router.recv_multipart() == [b"alice", b"really alice"]
    router.send_multipart([b"alice", b"for alice only"])
    assert alice.recv() == b"for alice only"
    assert not squatter.poll(QUIET_MS)
    with pytest.raises(securemq.ZMQError) as info:
        router.send_multipart([b"the-admin", b"x"])
    assert info.value.errno == securemq.EHOSTUNREACH
    assert router.authz_counts == {"routing_id_evicted": 1, "routing_id_replaced": 1}


def test_rules_from_a_curve_policy(
    smq_ctx: securemq.Context, pz_ctx: zmq.Context[zmq.Socket[bytes]],
) -> None:
    """A policy returns the rules in its decision (CURVE: keys, no passwords)."""
    server_public, server_secret = zmq.curve_keypair()
    reader_public, reader_secret = zmq.curve_keypair()

    def policy(request: Any) -> Any:
        if request.mechanism != "CURVE":
            return None
        read_only = request.client_key_z85 == reader_public.decode()
        return smq_auth.Decision.allow(
            "test", rules=securemq.AccessRules(read_only=read_only, routing_ids=["k"]))

    with smq_auth.ThreadAuthenticator(smq_ctx) as authenticator:
        authenticator.add_policy(policy)
        router = configure(smq_ctx.socket(securemq.ROUTER))
        router.curve_server = True
        router.curve_secretkey = server_secret
        port = router.bind_to_random_port("tcp://127.0.0.1")
        dealer: zmq.Socket[bytes] = configure(pz_ctx.socket(zmq.DEALER))
        dealer.curve_serverkey = server_public
        dealer.curve_publickey = reader_public
        dealer.curve_secretkey = reader_secret
        dealer.connect(f"tcp://127.0.0.1:{port}")
        dealer.send(b"dropped")
        until(lambda: router.poll(10) == 0 and router.authz_counts.get("read_only_dropped"),
              "the drop")
        router.send_multipart([b"k", b"to the reader"])
        assert dealer.recv() == b"to the reader"


def test_rules_written_in_a_trusted_certificate(
    smq_ctx: securemq.Context, pz_ctx: zmq.Context[zmq.Socket[bytes]], tmp_path: Path,
) -> None:
    """A key directory's certificate metadata is ZAP metadata: rules can live in the .key."""
    trusted = tmp_path / "trusted"
    trusted.mkdir()
    public_file, secret_file = smq_auth.create_certificates(
        tmp_path, "reader", metadata=securemq.AccessRules(read_only=True).to_metadata())
    shutil.copy(public_file, trusted / "reader.key")
    public, secret = smq_auth.load_certificate(secret_file)
    server_public, server_secret = zmq.curve_keypair()
    with smq_auth.ThreadAuthenticator(smq_ctx) as authenticator:
        authenticator.configure_curve(location=str(trusted))
        router = configure(smq_ctx.socket(securemq.ROUTER))
        router.curve_server = True
        router.curve_secretkey = server_secret
        port = router.bind_to_random_port("tcp://127.0.0.1")
        dealer: zmq.Socket[bytes] = configure(pz_ctx.socket(zmq.DEALER))
        dealer.routing_id = b"reader"
        dealer.curve_serverkey = server_public
        dealer.curve_publickey = public
        dealer.curve_secretkey = secret
        dealer.connect(f"tcp://127.0.0.1:{port}")
        dealer.send(b"dropped")
        until(lambda: router.poll(10) == 0 and router.authz_counts.get("read_only_dropped"),
              "the drop")
        router.send_multipart([b"reader", b"hello"])
        assert dealer.recv() == b"hello"
