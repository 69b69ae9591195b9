"""libzmq's security tests (test_security_{null,plain,curve,zap,no_zap_handler}, test_metadata)
reproduced with a securemq server and a hand-written ZAP handler.

The handler is a securemq ROUTER bound at inproc://zeromq.zap.01 and served by a thread this
file controls, so it can misbehave on purpose. Events are read from monitor sockets with
deadlines (never fixed sleeps). After each failure a good client must still get through to the
same server socket.
"""

from __future__ import annotations

import socket as pysocket
import struct
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

import securemq as zmq
from securemq.utils.monitor import recv_monitor_message

TIMEOUT_MS = 3000
QUIET_MS = 250  # how long "nothing is delivered" is watched
DOMAIN = b"ZAPTEST"

Reply = Callable[[list[bytes]], list[bytes]]


def zap_metadata(**props: bytes) -> bytes:
    return b"".join(
        bytes([len(k)]) + k.encode() + struct.pack(">I", len(v)) + v for k, v in props.items()
    )


def ok_reply(request: list[bytes], user: bytes = b"anonymous", meta: bytes = b"") -> list[bytes]:
    return [b"1.0", request[1], b"200", b"OK", user, meta]


@dataclass
class ZapStub:
    """A ZAP handler thread on a ROUTER socket; ``reply`` maps request frames to reply frames."""

    ctx: zmq.Context
    reply: Reply
    requests: list[list[bytes]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _ready: threading.Event = field(default_factory=threading.Event)

    def start(self) -> ZapStub:
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        assert self._ready.wait(5), "ZAP stub: bind did not complete"
        return self

    def _serve(self) -> None:
        sock = self.ctx.socket(zmq.ROUTER)
        sock.linger = 0
        sock.bind("inproc://zeromq.zap.01")
        self._ready.set()
        try:
            while not self._stop.is_set():
                if not sock.poll(20):
                    continue
                msg = sock.recv_multipart()
                routing_id, delimiter, request = msg[0], msg[1], msg[2:]
                assert delimiter == b""
                self.requests.append(request)
                try:  # never block the stub on a peer that already went away
                    sock.send_multipart([routing_id, b"", *self.reply(request)], zmq.NOBLOCK)
                except zmq.Again:
                    pass
        finally:
            sock.close(linger=0)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            assert not self._thread.is_alive(), "ZAP stub: the handler thread did not stop"


# -- mechanisms: how to configure a server and a client for each ----------------------------

SERVER_PUBLIC, SERVER_SECRET = zmq.curve_keypair()
CLIENT_PUBLIC, CLIENT_SECRET = zmq.curve_keypair()


def setup_server(sock: Any, mechanism: str, domain: bytes | None = DOMAIN) -> None:
    if domain is not None:
        sock.zap_domain = domain
    if mechanism == "PLAIN":
        sock.plain_server = True
    elif mechanism == "CURVE":
        sock.curve_server = True
        sock.curve_publickey = SERVER_PUBLIC
        sock.curve_secretkey = SERVER_SECRET


def setup_client(sock: Any, mechanism: str, password: bytes = b"password",
                 keys: tuple[bytes, bytes] = (CLIENT_PUBLIC, CLIENT_SECRET)) -> None:
    if mechanism == "PLAIN":
        sock.plain_username = b"admin"
        sock.plain_password = password
    elif mechanism == "CURVE":
        sock.curve_serverkey = SERVER_PUBLIC
        sock.curve_publickey, sock.curve_secretkey = keys


# -- helpers --------------------------------------------------------------------------------


@dataclass
class Server:
    sock: Any
    monitor: Any
    endpoint: str


@pytest.fixture
def ctx() -> Iterator[zmq.Context]:
    context = zmq.Context()
    yield context
    context.destroy(linger=0)


@pytest.fixture
def stubs() -> Iterator[list[ZapStub]]:
    started: list[ZapStub] = []
    yield started
    for stub in started:
        stub.stop()


def start_stub(ctx: zmq.Context, stubs: list[ZapStub], reply: Reply) -> ZapStub:
    stub = ZapStub(ctx, reply).start()
    stubs.append(stub)
    return stub


def make_server(ctx: zmq.Context, mechanism: str, domain: bytes | None = DOMAIN,
                routing_id: bytes | None = None) -> Server:
    sock = ctx.socket(zmq.DEALER)
    sock.linger = 0
    if routing_id is not None:
        sock.routing_id = routing_id
    setup_server(sock, mechanism, domain)
    monitor = sock.get_monitor_socket()
    port = sock.bind_to_random_port("tcp://127.0.0.1")
    return Server(sock, monitor, f"tcp://127.0.0.1:{port}")


def make_client(ctx: zmq.Context, server: Server, mechanism: str, **kwargs: Any) -> Any:
    sock = ctx.socket(zmq.DEALER)
    sock.linger = 0
    setup_client(sock, mechanism, **kwargs)
    sock.connect(server.endpoint)
    return sock


HANDSHAKE_OUTCOMES = {
    zmq.EVENT_HANDSHAKE_SUCCEEDED,
    zmq.EVENT_HANDSHAKE_FAILED_AUTH,
    zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL,
    zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL,
}


def next_outcome(monitor: Any, timeout_ms: int = TIMEOUT_MS) -> tuple[int, int] | None:
    """The next handshake outcome (event, value) on a monitor, or None by the deadline."""
    import time

    deadline = time.monotonic() + timeout_ms / 1000
    while (left := deadline - time.monotonic()) > 0:
        if not monitor.poll(int(left * 1000) + 1):
            return None
        event = recv_monitor_message(monitor)
        if event["event"] in HANDSHAKE_OUTCOMES:
            return int(event["event"]), int(event["value"])
    return None


def bounce(server: Server, client: Any) -> None:
    client.send_multipart([b"hello", b"world"])
    assert server.sock.poll(TIMEOUT_MS), "bounce: server received nothing"
    msg = server.sock.recv_multipart()
    assert msg == [b"hello", b"world"]
    server.sock.send_multipart(msg)
    assert client.poll(TIMEOUT_MS), "bounce: client received no echo"
    assert client.recv_multipart() == msg


def not_delivered(server: Server) -> bool:
    return not server.sock.poll(QUIET_MS)


def good_client_still_works(ctx: zmq.Context, server: Server, mechanism: str) -> None:
    client = make_client(ctx, server, mechanism)
    try:
        bounce(server, client)
    finally:
        client.close(linger=0)


# -- 4.1 NULL ---------------------------------------------------------------------------------


def test_null_no_domain_never_asks_zap(ctx: zmq.Context, stubs: list[ZapStub]) -> None:
    stub = start_stub(ctx, stubs, ok_reply)
    server = make_server(ctx, "NULL", domain=None)
    client = make_client(ctx, server, "NULL")
    bounce(server, client)
    assert stub.requests == []


def test_null_wrong_domain_is_refused(ctx: zmq.Context, stubs: list[ZapStub]) -> None:
    def by_domain(req: list[bytes]) -> list[bytes]:
        if req[2] == b"TEST":
            return ok_reply(req)
        return [b"1.0", req[1], b"400", b"BAD DOMAIN", b"", b""]

    stub = start_stub(ctx, stubs, by_domain)
    server = make_server(ctx, "NULL", domain=b"WRONG")
    client = make_client(ctx, server, "NULL")
    client.send(b"sneaky")
    assert next_outcome(server.monitor) == (zmq.EVENT_HANDSHAKE_FAILED_AUTH, 400)
    assert not_delivered(server)
    assert stub.requests and stub.requests[0][2] == b"WRONG"


def test_null_right_domain_user_anonymous(ctx: zmq.Context, stubs: list[ZapStub]) -> None:
    stub = start_stub(ctx, stubs, ok_reply)
    server = make_server(ctx, "NULL", domain=b"TEST")
    client = make_client(ctx, server, "NULL")
    client.send(b"hi")
    assert server.sock.poll(TIMEOUT_MS)
    frame = server.sock.recv(copy=False)
    assert frame.bytes == b"hi" and frame.get("User-Id") == "anonymous"
    assert stub.requests == [[b"1.0", b"1", b"TEST", b"127.0.0.1", b"", b"NULL"]]


# -- 4.3 PLAIN --------------------------------------------------------------------------------


def plain_handler(req: list[bytes]) -> list[bytes]:
    assert req[0] == b"1.0" and req[5] == b"PLAIN"
    if req[6:] == [b"admin", b"password"]:
        return ok_reply(req, user=b"admin")
    return [b"1.0", req[1], b"400", b"Invalid username or password", b"", b""]


def test_plain_request_frames_carry_the_server_routing_id(
    ctx: zmq.Context, stubs: list[ZapStub]
) -> None:
    stub = start_stub(ctx, stubs, plain_handler)
    server = make_server(ctx, "PLAIN", domain=None, routing_id=b"IDENT")
    client = make_client(ctx, server, "PLAIN")
    bounce(server, client)
    assert stub.requests == [
        [b"1.0", b"1", b"", b"127.0.0.1", b"IDENT", b"PLAIN", b"admin", b"password"]
    ]


def test_plain_wrong_password_fails_then_good_client_works(
    ctx: zmq.Context, stubs: list[ZapStub]
) -> None:
    start_stub(ctx, stubs, plain_handler)
    server = make_server(ctx, "PLAIN")
    client = make_client(ctx, server, "PLAIN", password=b"wrong")
    client_monitor = client.get_monitor_socket()
    client.send(b"sneaky")
    assert next_outcome(server.monitor) == (zmq.EVENT_HANDSHAKE_FAILED_AUTH, 400)
    assert next_outcome(client_monitor) == (zmq.EVENT_HANDSHAKE_FAILED_AUTH, 400)
    assert not_delivered(server)
    client_monitor.close(linger=0)
    client.close(linger=0)
    good_client_still_works(ctx, server, "PLAIN")


def test_plain_client_configured_as_server_fails(ctx: zmq.Context, stubs: list[ZapStub]) -> None:
    start_stub(ctx, stubs, plain_handler)
    server = make_server(ctx, "PLAIN")
    client = ctx.socket(zmq.DEALER)
    client.linger = 0
    client.plain_server = True
    client.connect(server.endpoint)
    client.send(b"sneaky")
    assert next_outcome(server.monitor, QUIET_MS * 2) != (zmq.EVENT_HANDSHAKE_SUCCEEDED, 0)
    assert not_delivered(server)
    client.close(linger=0)
    good_client_still_works(ctx, server, "PLAIN")


# -- 4.4 CURVE --------------------------------------------------------------------------------


def curve_handler(req: list[bytes]) -> list[bytes]:
    assert req[5] == b"CURVE" and len(req) == 7
    if req[6] == zmq.z85.decode(CLIENT_PUBLIC):
        return ok_reply(req, user=CLIENT_PUBLIC)
    return [b"1.0", req[1], b"400", b"Unknown key", b"", b""]


def test_curve_valid_client(ctx: zmq.Context, stubs: list[ZapStub]) -> None:
    stub = start_stub(ctx, stubs, curve_handler)
    server = make_server(ctx, "CURVE")
    client = ctx.socket(zmq.DEALER)
    client.linger = 0
    setup_client(client, "CURVE")
    client_monitor = client.get_monitor_socket()
    client.connect(server.endpoint)
    assert next_outcome(server.monitor) == (zmq.EVENT_HANDSHAKE_SUCCEEDED, 0)
    assert next_outcome(client_monitor) == (zmq.EVENT_HANDSHAKE_SUCCEEDED, 0)
    bounce(server, client)
    assert len(stub.requests) == 1 and stub.requests[0][6] == zmq.z85.decode(CLIENT_PUBLIC)
    client_monitor.close(linger=0)


def test_curve_bogus_client_key_is_refused_400(ctx: zmq.Context, stubs: list[ZapStub]) -> None:
    start_stub(ctx, stubs, curve_handler)
    server = make_server(ctx, "CURVE")
    client = make_client(ctx, server, "CURVE", keys=zmq.curve_keypair())
    client_monitor = client.get_monitor_socket()
    client.send(b"sneaky")
    assert next_outcome(server.monitor) == (zmq.EVENT_HANDSHAKE_FAILED_AUTH, 400)
    assert next_outcome(client_monitor) == (zmq.EVENT_HANDSHAKE_FAILED_AUTH, 400)
    assert not_delivered(server)
    client_monitor.close(linger=0)
    client.close(linger=0)
    good_client_still_works(ctx, server, "CURVE")


@pytest.mark.parametrize("client_mechanism", ["NULL", "PLAIN"])
def test_curve_server_refuses_other_mechanisms_without_asking_zap(
    ctx: zmq.Context, stubs: list[ZapStub], client_mechanism: str
) -> None:
    stub = start_stub(ctx, stubs, curve_handler)
    server = make_server(ctx, "CURVE")
    client = make_client(ctx, server, client_mechanism)
    client.send(b"sneaky")
    assert next_outcome(server.monitor) == (
        zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL,
        zmq.PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH,
    )
    assert not_delivered(server)
    assert stub.requests == []
    client.close(linger=0)
    good_client_still_works(ctx, server, "CURVE")


# -- 4.5 ZAP handler misbehaviour, for each mechanism ---------------------------------------

MECHANISMS = ["NULL", "PLAIN", "CURVE"]


def good_reply(req: list[bytes]) -> list[bytes]:
    return ok_reply(req, user=b"admin")


MISBEHAVIOUR: dict[str, tuple[Reply, tuple[int, int]]] = {
    "wrong-version": (
        lambda r: [b"2.0", r[1], b"200", b"OK", b"u", b""],
        (zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL, zmq.PROTOCOL_ERROR_ZAP_BAD_VERSION),
    ),
    "wrong-request-id": (
        lambda r: [b"1.0", b"bad", b"200", b"OK", b"u", b""],
        (zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL, zmq.PROTOCOL_ERROR_ZAP_BAD_REQUEST_ID),
    ),
    "invalid-status": (
        lambda r: [b"1.0", r[1], b"invalid", b"OK", b"u", b""],
        (zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL, zmq.PROTOCOL_ERROR_ZAP_INVALID_STATUS_CODE),
    ),
    "too-many-parts": (
        lambda r: [b"1.0", r[1], b"200", b"OK", b"u", b"", b"extra"],
        (zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL, zmq.PROTOCOL_ERROR_ZAP_MALFORMED_REPLY),
    ),
    "status-300": (
        lambda r: [b"1.0", r[1], b"300", b"Try later", b"", b""],
        (zmq.EVENT_HANDSHAKE_FAILED_AUTH, 300),
    ),
    "status-500": (
        lambda r: [b"1.0", r[1], b"500", b"Internal error", b"", b""],
        (zmq.EVENT_HANDSHAKE_FAILED_AUTH, 500),
    ),
}


@pytest.mark.parametrize("case", sorted(MISBEHAVIOUR))
@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_zap_handler_misbehaviour(
    ctx: zmq.Context, stubs: list[ZapStub], mechanism: str, case: str
) -> None:
    bad, expected = MISBEHAVIOUR[case]
    behave = threading.Event()

    def handler(req: list[bytes]) -> list[bytes]:
        return good_reply(req) if behave.is_set() else bad(req)

    stub = start_stub(ctx, stubs, handler)
    server = make_server(ctx, mechanism)
    client = make_client(ctx, server, mechanism)
    client_monitor = client.get_monitor_socket()
    client.send(b"sneaky")
    assert next_outcome(server.monitor) == expected
    if case == "status-500":
        assert next_outcome(client_monitor) == expected
    if case == "status-300":
        # no ERROR command is sent for 300: the client never hears a verdict
        assert next_outcome(client_monitor, QUIET_MS) is None
    assert not_delivered(server)
    assert stub.requests  # the handler was asked
    client_monitor.close(linger=0)
    client.close(linger=0)
    behave.set()
    good_client_still_works(ctx, server, mechanism)


# -- 4.2 no handler bound, domain set --------------------------------------------------------


@pytest.mark.parametrize("mechanism", ["NULL", "CURVE"])
def test_no_handler_with_domain_accepts_null_and_curve(ctx: zmq.Context, mechanism: str) -> None:
    server = make_server(ctx, mechanism)
    good_client_still_works(ctx, server, mechanism)
    assert next_outcome(server.monitor) == (zmq.EVENT_HANDSHAKE_SUCCEEDED, 0)


def test_no_handler_plain_fails(ctx: zmq.Context) -> None:
    server = make_server(ctx, "PLAIN")
    client = make_client(ctx, server, "PLAIN")
    client.send(b"sneaky")
    outcome = next_outcome(server.monitor)
    assert outcome is not None and outcome[0] == zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
    assert not_delivered(server)


# -- 4.6 metadata -----------------------------------------------------------------------------


def test_zap_metadata_becomes_message_properties(ctx: zmq.Context, stubs: list[ZapStub]) -> None:
    start_stub(ctx, stubs, lambda r: ok_reply(r, meta=zap_metadata(Hello=b"World")))
    server = make_server(ctx, "NULL")
    client = make_client(ctx, server, "NULL")
    client.send(b"hi")
    assert server.sock.poll(TIMEOUT_MS)
    frame = server.sock.recv(copy=False)
    assert frame.get("Hello") == "World"
    assert frame.get("Socket-Type") == "DEALER"
    assert frame.get("User-Id") == "anonymous"
    assert frame.get("Peer-Address") == "127.0.0.1"
    with pytest.raises(zmq.ZMQError) as info:
        frame.get("Unknown-Property")
    assert info.value.errno == zmq.EINVAL


# -- raw ZMTP/1.0 client: never delivered ----------------------------------------------------


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_raw_zmtp10_client_cannot_inject(
    ctx: zmq.Context, stubs: list[ZapStub], mechanism: str
) -> None:
    start_stub(ctx, stubs, good_reply)
    server = make_server(ctx, mechanism)
    host, port = server.endpoint.removeprefix("tcp://").split(":")
    with pysocket.create_connection((host, int(port)), timeout=TIMEOUT_MS / 1000) as raw:
        raw.sendall(b"\x01\x00")  # ZMTP/1.0 greeting: length 1, flags 0 (anonymous identity)
        raw.sendall(b"\x08\x00sneaky\x00")  # a ZMTP/1.0 message frame
        assert not_delivered(server)
    good_client_still_works(ctx, server, mechanism)
