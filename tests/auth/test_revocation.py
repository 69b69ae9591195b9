"""Revocation that bites (opt-in ``revoke_live``): removing a CURVE key file or a PLAIN user
closes the live connections that were authenticated with it, not only later handshakes.

The clients are pyzmq (libzmq) DEALERs; the server is a securemq ROUTER whose context runs a
securemq ThreadAuthenticator (or AsyncioAuthenticator). Each test exchanges messages first, then
revokes one client and checks, within a deadline, that its connection is closed (its own
monitor sees DISCONNECTED, then ZAP's 400 when it reconnects), that the server logged which
connection was closed and why, and that the other client keeps working. Keys are made in the
test's temp dir; every socket has LINGER 0 and timeouts; waits are monitor events or polls with
a deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import struct
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import zmq
from securemq.auth import (
    AsyncioAuthenticator,
    ThreadAuthenticator,
    create_certificates,
    load_certificate,
)

import securemq

pytestmark = pytest.mark.timeout(60)

TIMEOUT_MS = 5000
QUIET_MS = 200
RELOAD = 0.05  # how often the authenticator looks at its keys and users


@pytest.fixture
def smq_ctx() -> Iterator[securemq.Context]:
    ctx = securemq.Context()
    yield ctx
    ctx.destroy(linger=0)


def bounded(sock: Any) -> Any:
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.RCVTIMEO, TIMEOUT_MS)
    sock.setsockopt(zmq.SNDTIMEO, TIMEOUT_MS)
    return sock


def next_event(monitor: Any, timeout_ms: int) -> tuple[int, int] | None:
    if not monitor.poll(timeout_ms):
        return None
    head, _endpoint = monitor.recv_multipart()
    event, value = struct.unpack("<HI", head)
    return int(event), int(value)


def events_until(monitor: Any, wanted: int, timeout_ms: int = TIMEOUT_MS) -> list[tuple[int, int]]:
    """Monitor events up to and including the first ``wanted`` one (fail at the deadline)."""
    seen: list[tuple[int, int]] = []
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        left = int((deadline - time.monotonic()) * 1000)
        got = next_event(monitor, max(left, 0))
        if got is None:
            pytest.fail(f"no event {wanted:#x} within {timeout_ms} ms (saw {seen})")
        seen.append(got)
        if got[0] == wanted:
            return seen


class Client:
    """A pyzmq DEALER with its own monitor (who saw the connection close)."""

    def __init__(self, ctx: zmq.Context[zmq.Socket[bytes]], name: bytes, endpoint: str,
                 **options: Any) -> None:
        self.name = name
        self.sock: zmq.Socket[bytes] = bounded(ctx.socket(zmq.DEALER))
        self.sock.routing_id = name
        for option, value in options.items():
            setattr(self.sock, option, value)
        self.monitor = bounded(self.sock.get_monitor_socket(
            zmq.EVENT_HANDSHAKE_SUCCEEDED | zmq.EVENT_DISCONNECTED
            | zmq.EVENT_HANDSHAKE_FAILED_AUTH))
        self.sock.connect(endpoint)

    def round_trip(self, router: securemq.Socket, body: bytes) -> None:
        self.sock.send(body)
        assert router.recv_multipart() == [self.name, body]
        router.send_multipart([self.name, b"re: " + body])
        assert self.sock.recv() == b"re: " + body


def router_server(ctx: securemq.Context, **options: Any) -> tuple[securemq.Socket, str]:
    router = bounded(ctx.socket(securemq.ROUTER))
    for option, value in options.items():
        setattr(router, option, value)
    port = router.bind_to_random_port("tcp://127.0.0.1")
    return router, f"tcp://127.0.0.1:{port}"


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, Any]:
    trusted = tmp_path / "trusted"
    trusted.mkdir()
    made: dict[str, Any] = {"trusted": trusted}
    for name in ("server", "alice", "bob"):
        public_file, secret_file = create_certificates(tmp_path, name)
        made[name] = load_certificate(secret_file)
        if name != "server":
            os.link(public_file, trusted / f"{name}.key")
    return made


def curve_options(keys: dict[str, Any], name: str) -> dict[str, Any]:
    public, secret = keys[name]
    return {"curve_serverkey": keys["server"][0], "curve_publickey": public,
            "curve_secretkey": secret}


def assert_revoked(client: Client, router: securemq.Socket) -> None:
    """The client's connection was closed by the server; its reconnect is refused by ZAP."""
    seen = events_until(client.monitor, zmq.EVENT_HANDSHAKE_FAILED_AUTH)
    kinds = [event for event, _value in seen]
    assert zmq.EVENT_DISCONNECTED in kinds[:-1], seen  # closed, then refused on reconnect
    assert seen[-1] == (zmq.EVENT_HANDSHAKE_FAILED_AUTH, 400)
    # libzmq keeps no pipe after a 400 (nothing will be sent); if it did, nothing arrives.
    with contextlib.suppress(zmq.Again):
        client.sock.send(b"after revocation", zmq.NOBLOCK)
    assert not router.poll(QUIET_MS)


def test_deleting_a_key_file_closes_that_key_s_connection(
    smq_ctx: securemq.Context, pyzmq_context: zmq.Context[zmq.Socket[bytes]],
    keys: dict[str, Any], caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    with ThreadAuthenticator(smq_ctx, curve_reload_interval=RELOAD) as auth:
        auth.configure_curve(location=str(keys["trusted"]), revoke_live=True)
        router, endpoint = router_server(smq_ctx, curve_server=True,
                                         curve_secretkey=keys["server"][1])
        server_monitor = bounded(router.get_monitor_socket(securemq.EVENT_DISCONNECTED))
        alice = Client(pyzmq_context, b"alice", endpoint, **curve_options(keys, "alice"))
        bob = Client(pyzmq_context, b"bob", endpoint, **curve_options(keys, "bob"))
        alice.round_trip(router, b"one")
        bob.round_trip(router, b"one")

        (keys["trusted"] / "alice.key").unlink()
        assert events_until(server_monitor, securemq.EVENT_DISCONNECTED)
        assert_revoked(alice, router)
        bob.round_trip(router, b"two")  # the other key is untouched
        assert next_event(bob.monitor, 0) == (zmq.EVENT_HANDSHAKE_SUCCEEDED, 0)
        assert next_event(bob.monitor, 0) is None
        server_monitor.close()
    alice_key = keys["alice"][0].decode()
    io_lines = [r.getMessage() for r in caplog.records if r.name == "securemq.io"]
    assert any(line.startswith("revocation: closing connection") and alice_key in line
               and "CURVE key removed" in line for line in io_lines), io_lines
    auth_lines = [r.getMessage() for r in caplog.records if r.name == "securemq.auth"]
    assert any("revoked" in line and alice_key in line and "closed 1" in line
               for line in auth_lines), auth_lines


def test_removing_a_plain_user_closes_its_connection(
    smq_ctx: securemq.Context, pyzmq_context: zmq.Context[zmq.Socket[bytes]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    passwords = {"al\nice": "a-secret", "bob": "b-secret", "carol": "c-secret"}
    with ThreadAuthenticator(smq_ctx, curve_reload_interval=RELOAD, revoke_live=True) as auth:
        auth.configure_plain(passwords=passwords)
        router, endpoint = router_server(smq_ctx, plain_server=True)
        clients = {
            name: Client(pyzmq_context, name.encode().replace(b"\n", b"-"), endpoint,
                         plain_username=name.encode(), plain_password=password.encode())
            for name, password in passwords.items()
        }
        for client in clients.values():
            client.round_trip(router, b"hello")
        del passwords["al\nice"]  # (the mapping is kept by reference, as pyzmq)
        assert_revoked(clients["al\nice"], router)
        passwords["carol"] = "a new password"  # a changed password revokes the old one too
        assert_revoked(clients["carol"], router)
        clients["bob"].round_trip(router, b"still here")
    lines = [r.getMessage() for r in caplog.records if r.name == "securemq.io"]
    closing = [line for line in lines if line.startswith("revocation: closing")]
    assert len(closing) == 2
    # The user name a peer chose is escaped: one record, one line.
    assert any('user_id "al\\nice"' in line and "\n" not in line for line in closing), closing
    assert all("a-secret" not in r.getMessage() for r in caplog.records)


def test_without_revoke_live_connections_stay_up_as_in_libzmq(
    smq_ctx: securemq.Context, pyzmq_context: zmq.Context[zmq.Socket[bytes]],
    keys: dict[str, Any],
) -> None:
    with ThreadAuthenticator(smq_ctx, curve_reload_interval=RELOAD) as auth:
        auth.configure_curve(location=str(keys["trusted"]))
        router, endpoint = router_server(smq_ctx, curve_server=True,
                                         curve_secretkey=keys["server"][1])
        alice = Client(pyzmq_context, b"alice", endpoint, **curve_options(keys, "alice"))
        alice.round_trip(router, b"one")
        (keys["trusted"] / "alice.key").unlink()
        assert auth.refresh() == 0  # sees the removal, closes nothing: not asked to
        alice.round_trip(router, b"two")
        again = Client(pyzmq_context, b"alice2", endpoint, **curve_options(keys, "alice"))
        assert events_until(again.monitor, zmq.EVENT_HANDSHAKE_FAILED_AUTH)[-1] == (
            zmq.EVENT_HANDSHAKE_FAILED_AUTH, 400)
        assert next_event(alice.monitor, 0) == (zmq.EVENT_HANDSHAKE_SUCCEEDED, 0)
        assert next_event(alice.monitor, 0) is None


def test_close_connections_by_user_id_and_its_guards(
    smq_ctx: securemq.Context, pyzmq_context: zmq.Context[zmq.Socket[bytes]],
) -> None:
    with ThreadAuthenticator(smq_ctx) as auth:
        auth.configure_plain(passwords={"alice": "a", "bob": "b"})
        router, endpoint = router_server(smq_ctx, plain_server=True)
        alice = Client(pyzmq_context, b"alice", endpoint, plain_username=b"alice",
                       plain_password=b"a")
        bob = Client(pyzmq_context, b"bob", endpoint, plain_username=b"bob",
                     plain_password=b"b")
        alice.round_trip(router, b"x")
        bob.round_trip(router, b"x")
        with pytest.raises(ValueError):
            smq_ctx.close_connections(zap_domain="")  # would close everyone: refused
        with pytest.raises(securemq.ZMQError):
            smq_ctx.close_connections(curve_key=b"not a key")
        assert smq_ctx.close_connections(user_id="nobody") == 0
        assert smq_ctx.close_connections(user_id="alice", zap_domain="other") == 0
        assert smq_ctx.close_connections(user_id="alice", reason="test") == 1
        assert events_until(alice.monitor, zmq.EVENT_DISCONNECTED)
        # Not removed from the policy: the client reconnects and is served again.
        alice.round_trip(router, b"back")
        assert auth.revoke_connections(plain_username="bob") == 1
        assert events_until(bob.monitor, zmq.EVENT_DISCONNECTED)


def test_revoke_connections_on_a_pyzmq_context_says_it_cannot(
    pyzmq_context: zmq.Context[zmq.Socket[bytes]], caplog: pytest.LogCaptureFixture,
) -> None:
    auth = ThreadAuthenticator(pyzmq_context)
    assert auth.revoke_connections(user_id="alice") == 0
    assert any("not a securemq Context" in r.getMessage() for r in caplog.records)


def test_asyncio_authenticator_revokes_too(
    smq_ctx: securemq.Context, pyzmq_context: zmq.Context[zmq.Socket[bytes]],
) -> None:
    passwords = {"alice": "a", "bob": "b"}
    router, endpoint = router_server(smq_ctx, plain_server=True)

    async def scenario() -> None:
        auth = AsyncioAuthenticator(smq_ctx, curve_reload_interval=RELOAD, revoke_live=True)
        auth.configure_plain(passwords=passwords)
        auth.start()
        try:
            alice = Client(pyzmq_context, b"alice", endpoint, plain_username=b"alice",
                           plain_password=b"a")
            bob = Client(pyzmq_context, b"bob", endpoint, plain_username=b"bob",
                         plain_password=b"b")
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, alice.round_trip, router, b"x")
            await loop.run_in_executor(None, bob.round_trip, router, b"x")
            del passwords["alice"]
            await loop.run_in_executor(None, assert_revoked, alice, router)
            await loop.run_in_executor(None, bob.round_trip, router, b"y")
        finally:
            auth.stop()

    asyncio.run(asyncio.wait_for(scenario(), 30))


class FakeContext:
    """Records what the authenticator asks a context to close."""

    def __init__(self) -> None:
        self.closed: list[dict[str, Any]] = []

    def close_connections(self, **criteria: Any) -> int:
        self.closed.append(criteria)
        return 1


def test_the_authenticator_revokes_exactly_what_it_granted(keys: dict[str, Any]) -> None:
    """No sockets: grants come from decisions, removals from the policy's state now."""
    from tests.auth.auth_helpers import zap_request

    context = FakeContext()
    passwords = {"alice": "a", "bob": "b"}
    auth = ThreadAuthenticator(context, revoke_live=True)
    auth.configure_plain(passwords=passwords)
    auth.configure_curve(domain="keys", location=str(keys["trusted"]))
    alice_key = securemq.z85.decode(keys["alice"][0])
    for frames in (zap_request("PLAIN", b"alice", b"a"), zap_request("PLAIN", b"bob", b"b"),
                   zap_request("PLAIN", b"bob", b"wrong"),
                   zap_request("CURVE", alice_key, domain="keys")):
        auth.decide(frames)
    assert auth.refresh() == 0 and context.closed == []  # nothing changed
    passwords["bob"] = "rotated"
    (keys["trusted"] / "alice.key").unlink()
    assert auth.refresh() == 2
    assert sorted(context.closed, key=str) == sorted([
        {"user_id": None, "curve_key": keys["alice"][0], "plain_username": None,
         "zap_domain": "keys", "reason": "CURVE key removed from the trusted directory"},
        {"user_id": None, "curve_key": None, "plain_username": "bob", "zap_domain": "",
         "reason": "PLAIN user removed or its password changed"},
    ], key=str)
    assert auth.refresh() == 0  # each revoked once
