"""ThreadAuthenticator on a PYZMQ context: libzmq servers are the ZAP clients of our handler.

This proves the handler against libzmq's ZAP client (request framing, reply parsing, status
codes, user id and metadata reaching the application). The same tests will later run on a
securemq context.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import zmq
from securemq.auth import (
    CURVE_ALLOW_ANY,
    AuditRecord,
    Decision,
    ThreadAuthenticator,
    ZapRequest,
    create_certificates,
    load_certificate,
)
from zmq.utils.monitor import recv_monitor_message

from securemq import z85

Ctx = zmq.Context[zmq.Socket[bytes]]
Sock = zmq.Socket[bytes]
DEADLINE = 5.0
SUCCEEDED = zmq.EVENT_HANDSHAKE_SUCCEEDED
FAILED_AUTH = zmq.EVENT_HANDSHAKE_FAILED_AUTH
HANDSHAKE_EVENTS = {
    SUCCEEDED,
    FAILED_AUTH,
    zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL,
    zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL,
}


@pytest.fixture
def records() -> list[AuditRecord]:
    return []


@pytest.fixture
def auth(pyzmq_context: Ctx, records: list[AuditRecord]) -> Iterator[ThreadAuthenticator]:
    authenticator = ThreadAuthenticator(pyzmq_context, on_decision=records.append)
    authenticator.start()
    yield authenticator
    authenticator.stop()


def _handshake(
    ctx: Ctx, configure_server: Callable[[Sock], None], configure_client: Callable[[Sock], None]
) -> tuple[int, int, Sock, Sock]:
    """Bind a DEALER server and connect a DEALER client; wait for the server's handshake event.

    Returns (event, value, server, client); the caller's context fixture closes the sockets.
    """
    server = ctx.socket(zmq.DEALER)
    client = ctx.socket(zmq.DEALER)
    for sock in (server, client):
        sock.linger = 0
    configure_server(server)
    configure_client(client)
    monitor = server.get_monitor_socket(zmq.EVENT_ALL)
    port = server.bind_to_random_port("tcp://127.0.0.1")
    client.connect(f"tcp://127.0.0.1:{port}")
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if not monitor.poll(int((deadline - time.monotonic()) * 1000) + 1):
            break
        message = recv_monitor_message(monitor)
        if message["event"] in HANDSHAKE_EVENTS:
            server.disable_monitor()
            monitor.close(0)
            return message["event"], message["value"], server, client
    raise AssertionError("no handshake event on the server within the deadline")


def _exchange(server: Sock, client: Sock) -> zmq.Frame:
    client.send(b"hello")
    assert server.poll(int(DEADLINE * 1000)), "message not delivered"
    frame = server.recv(copy=False)
    assert frame.bytes == b"hello"
    return frame


def _plain(
    username: bytes, password: bytes
) -> tuple[Callable[[Sock], None], Callable[[Sock], None]]:
    def server(sock: Sock) -> None:
        sock.plain_server = True

    def client(sock: Sock) -> None:
        sock.plain_username = username
        sock.plain_password = password

    return server, client


def _curve(
    server_secret: bytes, server_public: bytes, client_pair: tuple[bytes, bytes]
) -> tuple[Callable[[Sock], None], Callable[[Sock], None]]:
    def server(sock: Sock) -> None:
        sock.curve_server = True
        sock.curve_secretkey = server_secret

    def client(sock: Sock) -> None:
        sock.curve_serverkey = server_public
        sock.curve_publickey, sock.curve_secretkey = client_pair

    return server, client


def test_plain_accepted_with_user_id(
    pyzmq_context: Ctx, auth: ThreadAuthenticator, records: list[AuditRecord]
) -> None:
    auth.configure_plain(domain="*", passwords={"admin": "password"})
    event, _, server, client = _handshake(pyzmq_context, *_plain(b"admin", b"password"))
    assert event == SUCCEEDED
    frame = _exchange(server, client)
    assert frame.get("User-Id") == "admin"
    assert records[-1].status == 200 and records[-1].principal == "admin"


def test_plain_wrong_password_denied(
    pyzmq_context: Ctx, auth: ThreadAuthenticator, records: list[AuditRecord]
) -> None:
    auth.configure_plain(domain="*", passwords={"admin": "password"})
    event, value, _, _ = _handshake(pyzmq_context, *_plain(b"admin", b"wrong"))
    assert (event, value) == (FAILED_AUTH, 400)
    assert records[-1].reason == "Invalid password"


def test_plain_unconfigured_denied(pyzmq_context: Ctx, auth: ThreadAuthenticator) -> None:
    event, value, _, _ = _handshake(pyzmq_context, *_plain(b"admin", b"password"))
    assert (event, value) == (FAILED_AUTH, 400)


def test_curve_key_directory_accepts_known_key_with_metadata(
    pyzmq_context: Ctx, auth: ThreadAuthenticator, tmp_path: Path
) -> None:
    server_public, server_secret = zmq.curve_keypair()
    trusted = tmp_path / "trusted"
    trusted.mkdir()
    _, client_secret_file = create_certificates(trusted, "client", {"Role": "reader"})
    client_public, client_secret = load_certificate(client_secret_file)
    assert client_secret is not None
    auth.configure_curve(domain="*", location=trusted)
    event, _, server, client = _handshake(
        pyzmq_context, *_curve(server_secret, server_public, (client_public, client_secret))
    )
    assert event == SUCCEEDED
    frame = _exchange(server, client)
    assert frame.get("User-Id") == client_public.decode()
    assert frame.get("Role") == "reader"


def test_curve_unknown_key_denied(
    pyzmq_context: Ctx, auth: ThreadAuthenticator, tmp_path: Path
) -> None:
    server_public, server_secret = zmq.curve_keypair()
    create_certificates(tmp_path, "someone-else")
    auth.configure_curve(domain="*", location=tmp_path)
    event, value, _, _ = _handshake(
        pyzmq_context, *_curve(server_secret, server_public, zmq.curve_keypair())
    )
    assert (event, value) == (FAILED_AUTH, 400)


def test_curve_allow_any_and_async_callback(pyzmq_context: Ctx, auth: ThreadAuthenticator) -> None:
    server_public, server_secret = zmq.curve_keypair()
    client_pair = zmq.curve_keypair()
    good = client_pair[0]

    async def provider(domain: str, key: bytes) -> bool:
        return key == good

    auth.configure_curve_callback(domain="*", credentials_provider=provider)
    event, _, _, _ = _handshake(pyzmq_context, *_curve(server_secret, server_public, client_pair))
    assert event == SUCCEEDED
    event, value, _, _ = _handshake(
        pyzmq_context, *_curve(server_secret, server_public, zmq.curve_keypair())
    )
    assert (event, value) == (FAILED_AUTH, 400)
    auth.configure_curve(location=CURVE_ALLOW_ANY)
    event, _, _, _ = _handshake(
        pyzmq_context, *_curve(server_secret, server_public, zmq.curve_keypair())
    )
    assert event == SUCCEEDED


def test_null_with_domain_and_denied_address(
    pyzmq_context: Ctx, auth: ThreadAuthenticator, records: list[AuditRecord]
) -> None:
    def with_domain(sock: Sock) -> None:
        sock.zap_domain = b"global"

    event, _, server, client = _handshake(pyzmq_context, with_domain, lambda s: None)
    assert event == SUCCEEDED
    assert _exchange(server, client).get("User-Id") == "anonymous"
    assert records[-1].domain == "global" and records[-1].mechanism == "NULL"
    auth.deny("127.0.0.1")
    event, value, _, _ = _handshake(pyzmq_context, with_domain, lambda s: None)
    assert (event, value) == (FAILED_AUTH, 400)
    assert records[-1].reason == "Address denied"


def test_request_frames_as_libzmq_sends_them(pyzmq_context: Ctx, auth: ThreadAuthenticator) -> None:
    seen: list[ZapRequest] = []

    def spy(request: ZapRequest) -> Decision | None:
        seen.append(request)
        return None

    auth.add_policy(spy)
    auth.configure_plain(passwords={"admin": "pw"})
    server_cfg, client_cfg = _plain(b"admin", b"pw")

    def server(sock: Sock) -> None:
        server_cfg(sock)
        sock.routing_id = b"IDENT"

    event, _, _, _ = _handshake(pyzmq_context, server, client_cfg)
    assert event == SUCCEEDED
    request = seen[-1]
    assert (request.request_id, request.domain, request.address) == (b"1", "", "127.0.0.1")
    assert request.routing_id == b"IDENT"  # the SERVER's routing id, as libzmq sends it
    assert (request.mechanism, request.username, request.password) == ("PLAIN", "admin", b"pw")


def test_policy_exception_answers_500_and_handler_keeps_serving(
    pyzmq_context: Ctx, auth: ThreadAuthenticator, records: list[AuditRecord]
) -> None:
    calls = [0]

    def flaky(request: ZapRequest) -> Decision | None:
        calls[0] += 1
        if calls[0] == 1:
            raise RuntimeError("boom")
        return None

    auth.add_policy(flaky)
    auth.configure_plain(passwords={"admin": "pw"})
    event, value, _, _ = _handshake(pyzmq_context, *_plain(b"admin", b"pw"))
    assert (event, value) == (FAILED_AUTH, 500)
    event, _, _, _ = _handshake(pyzmq_context, *_plain(b"admin", b"pw"))
    assert event == SUCCEEDED
    assert auth.is_alive()
    assert [r.status for r in records] == [500, 200]


def test_stop_is_prompt_and_endpoint_is_released(pyzmq_context: Ctx) -> None:
    with ThreadAuthenticator(pyzmq_context) as auth:
        assert auth.is_alive()
        started = time.monotonic()
        auth.stop()
        assert time.monotonic() - started < 1.0
        assert not auth.is_alive()
    # the endpoint is free again: a new handler can bind it, and PLAIN works through it
    with ThreadAuthenticator(pyzmq_context) as again:
        again.configure_plain(passwords={"u": "p"})
        event, _, _, _ = _handshake(pyzmq_context, *_plain(b"u", b"p"))
        assert event == SUCCEEDED
    assert not again.is_alive()


def test_start_twice_is_refused_and_bind_conflict_raises(pyzmq_context: Ctx) -> None:
    first = ThreadAuthenticator(pyzmq_context)
    first.start()
    try:
        with pytest.raises(RuntimeError):
            first.start()
        with pytest.raises(zmq.ZMQError):
            ThreadAuthenticator(pyzmq_context).start()  # EADDRINUSE on the ZAP endpoint
    finally:
        first.stop()


def test_plain_push_pull_works_again_after_stop(pyzmq_context: Ctx) -> None:
    auth = ThreadAuthenticator(pyzmq_context)
    auth.start()
    auth.deny("127.0.0.1")
    auth.stop()

    def with_domain(sock: Sock) -> None:
        sock.zap_domain = b"global"

    # no handler bound: NULL with a domain is accepted (libzmq's legacy behaviour)
    event, _, server, client = _handshake(pyzmq_context, with_domain, lambda s: None)
    assert event == SUCCEEDED
    _exchange(server, client)


def test_z85_user_id_matches_pyzmq_curve_public(pyzmq_context: Ctx) -> None:
    public, secret = zmq.curve_keypair()
    assert z85.curve_public(secret) == zmq.curve_public(secret) == public
