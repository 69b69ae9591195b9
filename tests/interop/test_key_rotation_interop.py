"""CURVE server key rotation against libzmq 4.3.5 (pyzmq) on the other side.

- A securemq server holding ``curve_secretkeys = [new, old]`` serves libzmq clients of either
  key; after ``curve_secretkeys = [new]`` (no unbind), a libzmq client of the old key is refused
  (HANDSHAKE_FAILED_PROTOCOL / ZMTP_CRYPTOGRAPHIC on the server, nothing delivered), a client of
  the new key is served, and a connection made with the old key before the change goes on.
- A securemq client with ``curve_serverkeys = [old, new]`` finds a libzmq server that holds only
  the new key (the first attempt fails as a wrong key fails, the next one uses the next key),
  ``wait_ready`` waits through that, and reports ServerKeyRejected only once every listed key
  went unanswered; a new list set on a connected socket is used from the next attempt on.

LINGER 0 and RCVTIMEO/SNDTIMEO on every socket (``configure``); random tcp ports; waits are
monitor events or polls with deadlines.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Iterator
from typing import Any

import pytest
import zmq

import securemq

from .conftest import configure, next_event, wait_event

smq_auth: Any = importlib.import_module("securemq.auth")

pytestmark = pytest.mark.timeout(60)

TIMEOUT_MS = 5000
QUIET_MS = 200
NEW_PUBLIC, NEW_SECRET = zmq.curve_keypair()
OLD_PUBLIC, OLD_SECRET = zmq.curve_keypair()
CLIENT_PUBLIC, CLIENT_SECRET = zmq.curve_keypair()


@pytest.fixture
def server(smq_ctx: securemq.Context) -> Iterator[tuple[securemq.Socket, str, Any]]:
    """A securemq ROUTER in the overlap window, its endpoint and its monitor."""
    sock = configure(smq_ctx.socket(securemq.ROUTER))
    sock.curve_server = True
    sock.curve_secretkeys = [NEW_SECRET, OLD_SECRET]
    monitor = configure(sock.get_monitor_socket(
        securemq.EVENT_HANDSHAKE_SUCCEEDED | securemq.EVENT_HANDSHAKE_FAILED_PROTOCOL))
    port = sock.bind_to_random_port("tcp://127.0.0.1")
    yield sock, f"tcp://127.0.0.1:{port}", monitor
    monitor.close()


def libzmq_client(pz_ctx: zmq.Context[zmq.Socket[bytes]], endpoint: str, server_key: bytes,
                  name: bytes) -> zmq.Socket[bytes]:
    sock: zmq.Socket[bytes] = configure(pz_ctx.socket(zmq.DEALER))
    sock.routing_id = name
    sock.curve_serverkey = server_key
    sock.curve_publickey = CLIENT_PUBLIC
    sock.curve_secretkey = CLIENT_SECRET
    sock.connect(endpoint)
    return sock


def round_trip(router: Any, dealer: Any, name: bytes, body: bytes) -> None:
    dealer.send(body)
    assert router.recv_multipart() == [name, body]
    router.send_multipart([name, b"re: " + body])
    assert dealer.recv() == b"re: " + body


def test_libzmq_clients_of_both_keys_then_the_old_one_refused(
    server: tuple[securemq.Socket, str, Any], pz_ctx: zmq.Context[zmq.Socket[bytes]],
) -> None:
    router, endpoint, monitor = server
    old = libzmq_client(pz_ctx, endpoint, OLD_PUBLIC, b"old")
    new = libzmq_client(pz_ctx, endpoint, NEW_PUBLIC, b"new")
    round_trip(router, old, b"old", b"hello with the old key")
    round_trip(router, new, b"new", b"hello with the new key")

    router.curve_secretkeys = [NEW_SECRET]  # the window closes; no unbind, no rebind
    late_old = libzmq_client(pz_ctx, endpoint, OLD_PUBLIC, b"late-old")
    event = next_event(monitor, TIMEOUT_MS)
    while event is not None and event[0] == zmq.EVENT_HANDSHAKE_SUCCEEDED:
        event = next_event(monitor, TIMEOUT_MS)  # (the two handshakes above)
    assert event is not None
    assert event[:2] == (zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL, zmq.PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC)
    late_old.send(b"let me in")
    assert not router.poll(QUIET_MS)

    late_new = libzmq_client(pz_ctx, endpoint, NEW_PUBLIC, b"late-new")
    round_trip(router, late_new, b"late-new", b"hello after the window")
    # A connection made with the old key before the change keeps its key.
    round_trip(router, old, b"old", b"still here")


def test_rotation_with_an_authenticator(
    smq_ctx: securemq.Context, pz_ctx: zmq.Context[zmq.Socket[bytes]],
) -> None:
    """ZAP sees the client's key whichever server key its HELLO opened with."""
    with smq_auth.ThreadAuthenticator(smq_ctx) as auth:
        auth.configure_curve(location=smq_auth.CURVE_ALLOW_ANY)
        pull = configure(smq_ctx.socket(securemq.PULL))
        pull.curve_server = True
        pull.curve_secretkeys = [NEW_SECRET, OLD_SECRET]
        port = pull.bind_to_random_port("tcp://127.0.0.1")
        for key in (OLD_PUBLIC, NEW_PUBLIC):
            push: zmq.Socket[bytes] = configure(pz_ctx.socket(zmq.PUSH))
            push.curve_serverkey = key
            push.curve_publickey = CLIENT_PUBLIC
            push.curve_secretkey = CLIENT_SECRET
            push.connect(f"tcp://127.0.0.1:{port}")
            push.send(b"x")
            frame = pull.recv(copy=False)
            assert frame.get("User-Id") == CLIENT_PUBLIC.decode()


def test_securemq_client_walks_its_server_key_list(
    smq_ctx: securemq.Context, pz_ctx: zmq.Context[zmq.Socket[bytes]],
) -> None:
    router: zmq.Socket[bytes] = configure(pz_ctx.socket(zmq.ROUTER))
    router.curve_server = True
    router.curve_secretkey = NEW_SECRET
    router.curve_publickey = NEW_PUBLIC
    port = router.bind_to_random_port("tcp://127.0.0.1")
    dealer = configure(smq_ctx.socket(securemq.DEALER))
    dealer.curve_publickey = CLIENT_PUBLIC
    dealer.curve_secretkey = CLIENT_SECRET
    dealer.curve_serverkeys = [OLD_PUBLIC, NEW_PUBLIC]
    assert dealer.curve_serverkeys == [OLD_PUBLIC, NEW_PUBLIC]
    monitor = configure(dealer.get_monitor_socket(
        securemq.EVENT_HANDSHAKE_SUCCEEDED | securemq.EVENT_HANDSHAKE_FAILED_NO_DETAIL))
    dealer.connect(f"tcp://127.0.0.1:{port}")
    dealer.wait_ready(timeout=TIMEOUT_MS / 1000)  # not ServerKeyRejected: a key is left
    # What the client saw: the old key went unanswered, then the new one was served.
    assert wait_event(monitor, securemq.EVENT_HANDSHAKE_SUCCEEDED) == [
        securemq.EVENT_HANDSHAKE_FAILED_NO_DETAIL]
    dealer.send(b"found you")
    ident, body = router.recv_multipart()
    assert body == b"found you"
    router.send_multipart([ident, b"hello"])
    assert dealer.recv() == b"hello"
    monitor.close()


def test_server_key_rejected_only_when_every_key_went_unanswered(
    smq_ctx: securemq.Context, pz_ctx: zmq.Context[zmq.Socket[bytes]],
) -> None:
    router: zmq.Socket[bytes] = configure(pz_ctx.socket(zmq.ROUTER))
    router.curve_server = True
    router.curve_secretkey = NEW_SECRET
    port = router.bind_to_random_port("tcp://127.0.0.1")
    dealer = configure(smq_ctx.socket(securemq.DEALER))
    dealer.curve_publickey = CLIENT_PUBLIC
    dealer.curve_secretkey = CLIENT_SECRET
    wrong_a, _ = zmq.curve_keypair()
    wrong_b, _ = zmq.curve_keypair()
    dealer.curve_serverkeys = [wrong_a, wrong_b]
    monitor = configure(dealer.get_monitor_socket(securemq.EVENT_HANDSHAKE_FAILED_NO_DETAIL))
    dealer.connect(f"tcp://127.0.0.1:{port}")
    with pytest.raises(securemq.ServerKeyRejected):
        dealer.wait_ready(timeout=TIMEOUT_MS / 1000)
    failures = 0
    while next_event(monitor, 0) is not None:
        failures += 1
    assert failures >= 2  # both keys were tried before the verdict

    # A new list on the connected socket applies from the next attempt on.
    dealer.curve_serverkeys = [NEW_PUBLIC]
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    dealer.send(b"with the right key")
    while not router.poll(100):
        assert time.monotonic() < deadline, "the new server key list was never used"
    assert router.recv_multipart()[1] == b"with the right key"
    monitor.close()
