"""PLAIN and CURVE across implementations: securemq against libzmq 4.3.5 (through pyzmq).

How this file is laid out:

- ``server_lib`` says which implementation plays the *security server* (PLAIN server / CURVE
  server, and the ZAP handler when there is one); the client is always the other one, so every
  test is an interop test and both directions are covered by that one parameter.
- The server binds and the client connects, except in the "server connects" cases.
- Patterns x mechanisms x direction run over tcp; a subset that still covers every pattern,
  mechanism and direction runs over ipc.
- PLAIN needs a ZAP handler: securemq.auth.ThreadAuthenticator on a securemq server,
  zmq.auth.thread.ThreadAuthenticator on a pyzmq one, both configured for domain "*" (the
  empty domain). CURVE runs without a handler (any client with the server key gets in), plus
  one case per direction with a key directory.
- Failure cases wait for the server's handshake-failure monitor event (the expected event and
  value are libzmq's, so both servers must agree), check that nothing is delivered within a
  short deadline, and then check that a good client still gets through the same server socket.

Every socket has LINGER 0 and RCVTIMEO/SNDTIMEO (``configure``); tcp ports are random.
"""

from __future__ import annotations

import importlib
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import zmq
import zmq.auth
import zmq.auth.thread

import securemq

from .conftest import WS_TRANSPORTS, Endpoints, configure, next_event, publish_until_received

# securemq.auth lives in auth/ (mapped by the editable install), which mypy run from the work
# tree cannot see: import it at run time.
smq_auth: Any = importlib.import_module("securemq.auth")

TIMEOUT_MS = 5000
QUIET_MS = 200  # how long "nothing is delivered" is watched
MiB = 1 << 20
USER, PASSWORD = b"admin", b"s3cret"

SERVER_PUBLIC, SERVER_SECRET = zmq.curve_keypair()
CLIENT_PUBLIC, CLIENT_SECRET = zmq.curve_keypair()
OTHER_PUBLIC, _OTHER_SECRET = zmq.curve_keypair()

HANDSHAKE_OUTCOMES = {
    zmq.EVENT_HANDSHAKE_SUCCEEDED,
    zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL,
    zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL,
    zmq.EVENT_HANDSHAKE_FAILED_AUTH,
}


# -- the two sides ----------------------------------------------------------------------------


@dataclass
class Side:
    """One implementation in one test: its module and its context."""

    name: str
    lib: Any
    ctx: Any

    def socket(self, socket_type: int) -> Any:
        return configure(self.ctx.socket(socket_type))

    def authenticator(self) -> Any:
        if self.lib is securemq:
            return smq_auth.ThreadAuthenticator(self.ctx)
        return zmq.auth.thread.ThreadAuthenticator(self.ctx)


@dataclass
class Sides:
    server: Side
    client: Side
    endpoints: Endpoints
    auths: list[Any]

    def start_plain_auth(self) -> None:
        auth = self.server.authenticator()
        auth.start()
        self.auths.append(auth)
        auth.configure_plain(domain="*", passwords={USER.decode(): PASSWORD.decode()})

    def start_curve_auth(self, location: str) -> None:
        auth = self.server.authenticator()
        auth.start()
        self.auths.append(auth)
        auth.configure_curve(domain="*", location=location)


@pytest.fixture
def auths() -> Iterator[list[Any]]:
    started: list[Any] = []
    yield started
    for auth in started:
        auth.stop()


def make_sides(server_lib: str, smq_ctx: securemq.Context, pz_ctx: Any, endpoints: Endpoints,
               auths: list[Any]) -> Sides:
    smq = Side("securemq", securemq, smq_ctx)
    pz = Side("pyzmq", zmq, pz_ctx)
    server, client = (smq, pz) if server_lib == "securemq" else (pz, smq)
    return Sides(server, client, endpoints, auths)


@pytest.fixture(params=["securemq", "pyzmq"], ids=["smq_server", "pyzmq_server"])
def server_lib(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def tcp(ipc_dir: Path) -> Endpoints:
    return Endpoints("tcp", ipc_dir)


@pytest.fixture
def ipc(ipc_dir: Path) -> Endpoints:
    return Endpoints("ipc", ipc_dir)


# -- mechanisms -------------------------------------------------------------------------------


def make_server(sides: Sides, socket_type: int, mechanism: str) -> Any:
    sock = sides.server.socket(socket_type)
    if mechanism == "PLAIN":
        sock.plain_server = True
    elif mechanism == "CURVE":
        sock.curve_server = True
        sock.curve_publickey = SERVER_PUBLIC
        sock.curve_secretkey = SERVER_SECRET
    return sock


def as_plain_client(sock: Any, password: bytes = PASSWORD) -> None:
    sock.plain_username = USER
    sock.plain_password = password


def as_curve_client(sock: Any, server_key: bytes = SERVER_PUBLIC,
                    keys: tuple[bytes, bytes] = (CLIENT_PUBLIC, CLIENT_SECRET)) -> None:
    sock.curve_serverkey = server_key
    sock.curve_publickey, sock.curve_secretkey = keys


def make_client(sides: Sides, socket_type: int, mechanism: str) -> Any:
    sock = sides.client.socket(socket_type)
    if mechanism == "PLAIN":
        as_plain_client(sock)
    elif mechanism == "CURVE":
        as_curve_client(sock)
    return sock


def expected_user_id(mechanism: str) -> str | None:
    """The User-Id the server's messages carry (None: not checked, no ZAP handler ran)."""
    return USER.decode() if mechanism == "PLAIN" else None


def recv_checked(sock: Any, user_id: str | None) -> list[bytes]:
    """Receive one multipart message, checking the User-Id property of its first frame."""
    assert sock.poll(TIMEOUT_MS), "server: nothing received from the client"
    frames = sock.recv_multipart(copy=False)
    if user_id is not None:
        assert frames[0].get("User-Id") == user_id
    return [bytes(f.bytes) for f in frames]


# -- patterns: (server socket type, client socket type, exchange) -----------------------------

Exchange = Callable[[Any, Any, "str | None"], None]


def exchange_req_rep(rep: Any, req: Any, user_id: str | None) -> None:
    for i in range(3):
        req.send(b"ping %d" % i)
        assert recv_checked(rep, user_id) == [b"ping %d" % i]
        rep.send(b"pong %d" % i)
        assert req.recv() == b"pong %d" % i


def exchange_dealer_router(router: Any, dealer: Any, user_id: str | None) -> None:
    dealer.send_multipart([b"hello", b"world"])
    ident, *body = recv_checked(router, user_id)
    assert body == [b"hello", b"world"]
    router.send_multipart([ident, b"reply", b""])
    assert dealer.recv_multipart() == [b"reply", b""]


def exchange_pub_sub(pub: Any, sub: Any, user_id: str | None) -> None:
    sub.setsockopt(zmq.SUBSCRIBE, b"news")
    got = publish_until_received(pub, sub, [b"news", b"secure"])
    assert got == [b"news", b"secure"]
    pub.send_multipart([b"other", b"dropped"])
    pub.send_multipart([b"news", b"last"])
    # publish_until_received may have sent more copies than the one it took
    while (got := sub.recv_multipart()) == [b"news", b"secure"]:
        pass
    assert got == [b"news", b"last"]


def exchange_push_pull(pull: Any, push: Any, user_id: str | None) -> None:
    for i in range(3):
        push.send_multipart([b"job", b"%d" % i])
    for i in range(3):
        assert recv_checked(pull, user_id) == [b"job", b"%d" % i]


PATTERNS: dict[str, tuple[int, int, Exchange]] = {
    "REQ-REP": (zmq.REP, zmq.REQ, exchange_req_rep),
    "DEALER-ROUTER": (zmq.ROUTER, zmq.DEALER, exchange_dealer_router),
    "PUB-SUB": (zmq.PUB, zmq.SUB, exchange_pub_sub),
    "PUSH-PULL": (zmq.PULL, zmq.PUSH, exchange_push_pull),
}


def run_pattern(sides: Sides, pattern: str, mechanism: str, server_binds: bool = True) -> None:
    server_type, client_type, exchange = PATTERNS[pattern]
    if mechanism == "PLAIN":
        sides.start_plain_auth()
    server = make_server(sides, server_type, mechanism)
    client = make_client(sides, client_type, mechanism)
    binder, connecter = (server, client) if server_binds else (client, server)
    sides.endpoints.connect(connecter, sides.endpoints.bind(binder))
    exchange(server, client, expected_user_id(mechanism))


# -- the pattern matrix -----------------------------------------------------------------------


@pytest.mark.parametrize("mechanism", ["PLAIN", "CURVE"])
@pytest.mark.parametrize("pattern", sorted(PATTERNS))
def test_patterns_over_tcp(smq_ctx: securemq.Context, pz_ctx: Any, tcp: Endpoints,
                           auths: list[Any], server_lib: str, pattern: str,
                           mechanism: str) -> None:
    run_pattern(make_sides(server_lib, smq_ctx, pz_ctx, tcp, auths), pattern, mechanism)


# Every pattern once, every mechanism and every direction twice.
IPC_CASES = [
    ("REQ-REP", "PLAIN", "securemq"),
    ("DEALER-ROUTER", "CURVE", "pyzmq"),
    ("PUB-SUB", "CURVE", "securemq"),
    ("PUSH-PULL", "PLAIN", "pyzmq"),
]


@pytest.mark.parametrize(("pattern", "mechanism", "server"), IPC_CASES)
def test_patterns_over_ipc(smq_ctx: securemq.Context, pz_ctx: Any, ipc: Endpoints,
                           auths: list[Any], pattern: str, mechanism: str, server: str) -> None:
    run_pattern(make_sides(server, smq_ctx, pz_ctx, ipc, auths), pattern, mechanism)


@pytest.mark.parametrize("transport", WS_TRANSPORTS)
@pytest.mark.parametrize("mechanism", ["PLAIN", "CURVE"])
@pytest.mark.parametrize("pattern", sorted(PATTERNS))
def test_patterns_over_websockets(smq_ctx: securemq.Context, pz_ctx: Any, ipc_dir: Path,
                                  auths: list[Any], server_lib: str, pattern: str,
                                  mechanism: str, transport: str) -> None:
    """ZWS 2.0 carries every mechanism: the subprotocol names it, then its handshake runs in
    WebSocket messages (inside TLS on wss)."""
    endpoints = Endpoints(transport, ipc_dir)
    run_pattern(make_sides(server_lib, smq_ctx, pz_ctx, endpoints, auths), pattern, mechanism)


@pytest.mark.parametrize("mechanism", ["PLAIN", "CURVE"])
def test_security_server_may_be_the_connecting_side(
    smq_ctx: securemq.Context, pz_ctx: Any, tcp: Endpoints, auths: list[Any], server_lib: str,
    mechanism: str,
) -> None:
    """The security role is independent of bind/connect: the client binds here."""
    sides = make_sides(server_lib, smq_ctx, pz_ctx, tcp, auths)
    run_pattern(sides, "DEALER-ROUTER", mechanism, server_binds=False)


# -- CURVE with a key directory ---------------------------------------------------------------


@pytest.fixture
def curve_certs(tmp_path: Path) -> dict[str, Any]:
    """server / client / stranger certificates; only the client is in the trusted directory."""
    keys, trusted = tmp_path / "keys", tmp_path / "trusted"
    keys.mkdir()
    trusted.mkdir()
    for name in ("server", "client", "stranger"):
        smq_auth.create_certificates(keys, name)
    shutil.copy(keys / "client.key", trusted / "client.key")
    certs: dict[str, Any] = {
        name: smq_auth.load_certificate(keys / f"{name}.key_secret")
        for name in ("server", "client", "stranger")
    }
    certs["trusted"] = str(trusted)
    return certs


def test_curve_key_directory(smq_ctx: securemq.Context, pz_ctx: Any, tcp: Endpoints,
                             auths: list[Any], server_lib: str,
                             curve_certs: dict[str, Any]) -> None:
    sides = make_sides(server_lib, smq_ctx, pz_ctx, tcp, auths)
    sides.start_curve_auth(curve_certs["trusted"])
    server = sides.server.socket(zmq.PULL)
    server.curve_server = True
    server.curve_publickey, server.curve_secretkey = curve_certs["server"]
    monitor = watch_outcomes(server)
    endpoint = tcp.bind(server)

    stranger = sides.client.socket(zmq.PUSH)
    as_curve_client(stranger, curve_certs["server"][0], curve_certs["stranger"])
    stranger.connect(endpoint)
    stranger.send(b"stranger", zmq.NOBLOCK)
    assert first_outcome(monitor) == (zmq.EVENT_HANDSHAKE_FAILED_AUTH, 400)
    assert not server.poll(QUIET_MS), "a client missing from the key directory was delivered"
    stranger.close(linger=0)

    client = sides.client.socket(zmq.PUSH)
    as_curve_client(client, curve_certs["server"][0], curve_certs["client"])
    client.connect(endpoint)
    client.send(b"trusted")
    client_z85 = curve_certs["client"][0]
    assert recv_checked(server, client_z85.decode()) == [b"trusted"]


# -- failures ---------------------------------------------------------------------------------


def watch_outcomes(sock: Any) -> Any:
    monitor = sock.get_monitor_socket(
        zmq.EVENT_HANDSHAKE_SUCCEEDED | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
        | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL | zmq.EVENT_HANDSHAKE_FAILED_AUTH
    )
    return configure(monitor)


def first_outcome(monitor: Any, timeout_ms: int = TIMEOUT_MS) -> tuple[int, int] | None:
    """(event, value) of the first handshake outcome on ``monitor``, None by the deadline."""
    got = next_event(monitor, timeout_ms)
    while got is not None and got[0] not in HANDSHAKE_OUTCOMES:
        got = next_event(monitor, timeout_ms)
    return None if got is None else (got[0], got[1])


def no_client_keys(sock: Any) -> None:
    """A CURVE client that knows the server key but has no key pair of its own."""
    sock.curve_serverkey = SERVER_PUBLIC


FAILURE_CASES: dict[str, tuple[str, Callable[[Any], None], tuple[int, int]]] = {
    # case: (server mechanism, bad client setup, libzmq's server monitor outcome)
    "curve-wrong-server-key": (
        "CURVE",
        lambda s: as_curve_client(s, server_key=OTHER_PUBLIC),
        (zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL, zmq.PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC),
    ),
    "curve-client-without-keys": (
        "CURVE",
        no_client_keys,
        (zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL, zmq.PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC),
    ),
    "null-client-curve-server": (
        "CURVE",
        lambda s: None,
        (zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL, zmq.PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH),
    ),
    "plain-client-curve-server": (
        "CURVE",
        as_plain_client,
        (zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL, zmq.PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH),
    ),
    "plain-wrong-password": (
        "PLAIN",
        lambda s: as_plain_client(s, password=b"wrong"),
        (zmq.EVENT_HANDSHAKE_FAILED_AUTH, 400),
    ),
}


@pytest.mark.parametrize("case", sorted(FAILURE_CASES))
def test_bad_client_is_refused_and_good_client_still_works(
    smq_ctx: securemq.Context, pz_ctx: Any, tcp: Endpoints, auths: list[Any], server_lib: str,
    case: str,
) -> None:
    mechanism, setup_bad, expected = FAILURE_CASES[case]
    sides = make_sides(server_lib, smq_ctx, pz_ctx, tcp, auths)
    if mechanism == "PLAIN":
        sides.start_plain_auth()
    server = make_server(sides, zmq.PULL, mechanism)
    monitor = watch_outcomes(server)
    endpoint = tcp.bind(server)

    bad = sides.client.socket(zmq.PUSH)
    setup_bad(bad)
    bad.connect(endpoint)
    try:
        bad.send(b"sneaky", zmq.NOBLOCK)
    except (zmq.Again, securemq.Again):
        pass  # no pipe before the handshake: nothing to deliver anyway
    assert first_outcome(monitor) == expected, f"{case}: server monitor"
    assert not server.poll(QUIET_MS), f"{case}: a refused client's message was delivered"
    bad.close(linger=0)

    good = make_client(sides, zmq.PUSH, mechanism)
    good.connect(endpoint)
    good.send(b"good")
    assert recv_checked(server, expected_user_id(mechanism)) == [b"good"]


# -- CURVE payload sizes, both directions -----------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, MiB, 10 * MiB], ids=["0B", "1B", "1MiB", "10MiB"])
def test_curve_payload_sizes_both_directions(
    smq_ctx: securemq.Context, pz_ctx: Any, tcp: Endpoints, auths: list[Any], server_lib: str,
    size: int,
) -> None:
    """One CURVE connection; the payload goes client -> server, then server -> client, so
    every size crosses securemq -> libzmq and libzmq -> securemq in each test."""
    sides = make_sides(server_lib, smq_ctx, pz_ctx, tcp, auths)
    server = make_server(sides, zmq.DEALER, "CURVE")
    client = make_client(sides, zmq.DEALER, "CURVE")
    client.connect(tcp.bind(server))
    up, down = os.urandom(size), os.urandom(size)
    client.send_multipart([up, b"end"])
    got = server.recv_multipart()
    assert len(got[0]) == size and got == [up, b"end"]
    server.send_multipart([down, b"end"])
    got = client.recv_multipart()
    assert len(got[0]) == size and got == [down, b"end"]
