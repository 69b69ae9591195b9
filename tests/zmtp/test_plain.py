"""PLAIN mechanism: in-memory handshakes, ZAP rules, malformed input, ZmtpConnection, pyzmq."""

from __future__ import annotations

import errno
import socket
from collections.abc import Callable, Iterator

import pytest

from securemq.constants import Event, ProtocolError, SocketType
from securemq.zmtp.connection import ZmtpConnection
from securemq.zmtp.errors import AuthenticationFailure, NoDetailFailure, UsageError, ZmtpError
from securemq.zmtp.events import (
    ConnectionFailed,
    HandshakeComplete,
    MessagesReceived,
    ZapRequestNeeded,
)
from securemq.zmtp.events import Event as ConnEvent
from securemq.zmtp.mechanisms.base import ZapReplyData, ZapRequestData, ZapSettings
from securemq.zmtp.mechanisms.plain import PlainMechanism, decode_hello, encode_hello
from securemq.zmtp.metadata import encode_metadata
from tests.zmtp.pump import Responder, of_type, pump, pump_mechanisms

DEALER = {"Socket-Type": b"DEALER"}
SECRET = b"s3cr3t-Pa55"
HANDLER = ZapSettings(handler_present=True)



def reply(status: bytes, user: bytes = b"", meta: dict[str, bytes] | None = None) -> Responder:
    def respond(request: ZapRequestData) -> ZapReplyData:
        return ZapReplyData(status, b"text", user, meta or {})

    return respond


def make_pair(
    *,
    zap: ZapSettings = HANDLER,
    client_props: dict[str, bytes] | None = None,
    server_props: dict[str, bytes] | None = None,
    username: bytes = b"admin",
    password: bytes = SECRET,
) -> tuple[PlainMechanism, PlainMechanism]:
    client = PlainMechanism(
        as_server=False,
        properties=client_props or dict(DEALER),
        username=username,
        password=password,
    )
    server = PlainMechanism(as_server=True, properties=server_props or dict(DEALER), zap=zap)
    return client, server


run = pump_mechanisms


# -- handshakes ------------------------------------------------------------------------------


def test_handshake_with_zap_200() -> None:
    client, server = make_pair(
        client_props={"Socket-Type": b"DEALER", "Identity": b"c1"},
        server_props={"Socket-Type": b"ROUTER"},
    )
    seen: list[ZapRequestData] = []

    def respond(request: ZapRequestData) -> ZapReplyData:
        seen.append(ZapRequestData(request.mechanism, list(request.credentials)))
        return ZapReplyData(b"200", b"OK", b"admin-user", {"Hello": b"World"})

    transcript = run(client, server, respond)
    assert client.ready and server.ready
    assert seen == [ZapRequestData(b"PLAIN", [b"admin", SECRET])]
    assert transcript == [
        b"\x05HELLO\x05admin\x0b" + SECRET,
        b"\x07WELCOME",
        b"\x08INITIATE" + encode_metadata({"Socket-Type": b"DEALER", "Identity": b"c1"}),
        b"\x05READY" + encode_metadata({"Socket-Type": b"ROUTER"}),
    ]
    assert server.user_id == b"admin-user"
    assert server.zap_properties == {"Hello": b"World"}
    assert server.peer_properties == {"Socket-Type": b"DEALER", "Identity": b"c1"}
    assert client.peer_properties == {"Socket-Type": b"ROUTER"}
    assert server.zap_request is None  # credentials dropped after the decision


def test_empty_credentials() -> None:
    client, server = make_pair(username=b"", password=b"")
    transcript = run(client, server, reply(b"200"))
    assert transcript[0] == b"\x05HELLO\x00\x00"
    assert server.ready


def test_welcome_only_after_zap_200() -> None:
    client, server = make_pair()
    run(client, server)
    assert server.zap_request is not None
    assert server.next_commands() == [] and not server.ready and not client.ready
    server.zap_reply(ZapReplyData(b"200", b"", b"u", {}))
    run(client, server)
    assert server.ready and client.ready


@pytest.mark.parametrize("zap", [ZapSettings(), ZapSettings(domain=b"global")])
def test_no_zap_handler_fails_efault(zap: ZapSettings) -> None:
    client, server = make_pair(zap=zap)
    with pytest.raises(NoDetailFailure) as info:
        run(client, server)
    assert info.value.value == errno.EFAULT
    assert info.value.event == Event.HANDSHAKE_FAILED_NO_DETAIL


@pytest.mark.parametrize(("status", "reason"), [(b"300", None), (b"400", b"400"), (b"500", b"500")])
def test_zap_refusal(status: bytes, reason: bytes | None) -> None:
    client, server = make_pair()
    with pytest.raises(AuthenticationFailure) as info:
        run(client, server, reply(status))
    assert info.value.status == int(status)
    assert info.value.error_reason == reason
    assert info.value.event == Event.HANDSHAKE_FAILED_AUTH
    assert SECRET.decode() not in str(info.value)


def test_zap_reply_without_request_is_usage_error() -> None:
    _, server = make_pair()
    with pytest.raises(UsageError):
        server.zap_reply(ZapReplyData(b"200", b"", b"", {}))


def test_long_credentials_are_usage_errors() -> None:
    with pytest.raises(UsageError):
        PlainMechanism(as_server=False, properties=DEALER, username=b"u" * 256)
    with pytest.raises(UsageError):
        PlainMechanism(as_server=False, properties=DEALER, password=b"p" * 256)
    max_len = PlainMechanism(as_server=False, properties=DEALER, password=b"p" * 255)
    assert decode_hello(max_len.next_commands()[0][6:]) == (b"", b"p" * 255)


# -- malformed and unexpected input ----------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [b"", b"\x05adm", b"\x05admin", b"\x05admin\x04pas", b"\x05admin\x00\x00", b"\x00\x00extra"],
)
def test_malformed_hello(data: bytes) -> None:
    _, server = make_pair()
    with pytest.raises(ZmtpError) as info:
        server.process_command(b"\x05HELLO" + data)
    assert info.value.value == ProtocolError.ZMTP_MALFORMED_COMMAND_HELLO
    assert server.zap_request is None


def test_hello_codec_round_trip_and_byte_at_a_time_prefixes() -> None:
    body = encode_hello(b"user", SECRET)
    assert decode_hello(body[6:]) == (b"user", SECRET)
    for cut in range(6, len(body)):  # every strict prefix is malformed, never another exception
        with pytest.raises(ZmtpError):
            decode_hello(body[6:cut])


def test_secrets_never_in_error_messages() -> None:
    _, server = make_pair()
    for body in (
        b"\x05HELLO\x05admin\x0b" + SECRET + b"!",
        b"\x05HELLO\x05admin\x0c" + SECRET,
        b"\x05HELLO\x05admin\x0b" + SECRET,  # then a second HELLO while waiting for ZAP
        b"\x05HELLO\x05admin\x0b" + SECRET,
    ):
        try:
            server.process_command(body)
        except ZmtpError as exc:
            assert SECRET.decode() not in str(exc) and SECRET not in repr(exc.args).encode()


def test_welcome_with_data_is_malformed() -> None:
    client, _ = make_pair()
    client.next_commands()
    with pytest.raises(ZmtpError) as info:
        client.process_command(b"\x07WELCOMEx")
    assert info.value.value == ProtocolError.ZMTP_MALFORMED_COMMAND_WELCOME


@pytest.mark.parametrize(
    ("role", "body"),
    [
        ("server", b"\x05READY"),
        ("server", b"\x08INITIATE"),
        ("server", b"\x07WELCOME"),
        ("client", b"\x05HELLO\x00\x00"),
        ("client", b"\x05READY" + encode_metadata(DEALER)),
        ("client", b"\x04PING\x00\x00"),
    ],
)
def test_unexpected_commands(role: str, body: bytes) -> None:
    client, server = make_pair()
    client.next_commands()
    with pytest.raises(ZmtpError) as info:
        (server if role == "server" else client).process_command(body)
    assert info.value.value == ProtocolError.ZMTP_UNEXPECTED_COMMAND


def test_commands_while_waiting_for_zap_and_after_ready_are_unexpected() -> None:
    client, server = make_pair()
    transcript = run(client, server)
    with pytest.raises(ZmtpError) as info:
        server.process_command(transcript[0])
    assert info.value.value == ProtocolError.ZMTP_UNEXPECTED_COMMAND
    client, server = make_pair()
    run(client, server, reply(b"200"))
    for mech, body in ((server, b"\x08INITIATE"), (client, b"\x05READY")):
        with pytest.raises(ZmtpError) as info:
            mech.process_command(body)
        assert info.value.value == ProtocolError.ZMTP_UNEXPECTED_COMMAND


def test_malformed_command_frame() -> None:
    _, server = make_pair()
    for body in (b"", b"\x09HELLO"):
        with pytest.raises(ZmtpError) as info:
            server.process_command(body)
        assert info.value.value == ProtocolError.ZMTP_MALFORMED_COMMAND_UNSPECIFIED


@pytest.mark.parametrize("metadata", [b"\x0bSocket-Type\x00\x00\x00\x09DEA", b"\x00", b"\x01"])
def test_malformed_metadata(metadata: bytes) -> None:
    client, server = make_pair()
    run(client, server, reply(b"200"))  # completes; now test fresh instances at each step
    client, server = make_pair()
    server.process_command(client.next_commands()[0])
    server.zap_reply(ZapReplyData(b"200", b"", b"", {}))
    client.process_command(server.next_commands()[0])
    with pytest.raises(ZmtpError) as info:
        server.process_command(b"\x08INITIATE" + metadata)
    assert info.value.value == ProtocolError.ZMTP_INVALID_METADATA
    with pytest.raises(ZmtpError) as info:
        client.process_command(b"\x05READY" + metadata)
    assert info.value.value == ProtocolError.ZMTP_INVALID_METADATA


def test_incompatible_or_missing_socket_type() -> None:
    client, server = make_pair(client_props={"Socket-Type": b"PUSH"})
    with pytest.raises(ZmtpError) as info:
        run(client, server, reply(b"200"))
    assert info.value.value == ProtocolError.ZMTP_INVALID_METADATA
    client, server = make_pair(server_props={"Socket-Type": b"DEALER", "X": b"1"})
    client.next_commands()
    client.process_command(b"\x07WELCOME")
    with pytest.raises(ZmtpError) as info:
        client.process_command(b"\x05READY" + encode_metadata({"X": b"1"}))
    assert info.value.value == ProtocolError.ZMTP_INVALID_METADATA


def test_error_command_reaching_the_mechanism() -> None:
    client, _ = make_pair()
    client.next_commands()
    with pytest.raises(AuthenticationFailure) as info:
        client.process_command(b"\x05ERROR\x03400")
    assert info.value.status == 400 and info.value.reconnect is False


@pytest.mark.parametrize("state", ["welcome", "ready"])
def test_libzmq_plain_error_spelling_is_understood(state: str) -> None:
    client, _ = make_pair()
    client.next_commands()
    if state == "ready":
        client.process_command(b"\x07WELCOME")
    with pytest.raises(AuthenticationFailure) as info:
        client.process_command(b"^RROR\x03500")
    assert info.value.status == 500 and info.value.reconnect is False
    assert PlainMechanism.error_command_prefix == b"^RROR"


def test_libzmq_plain_error_spelling_is_not_accepted_by_a_server() -> None:
    _, server = make_pair()
    with pytest.raises(ZmtpError) as info:
        server.process_command(b"^RROR\x03500")
    assert info.value.value == ProtocolError.ZMTP_MALFORMED_COMMAND_UNSPECIFIED


# -- through ZmtpConnection (the colleague's sans-IO connection) ------------------------------


def _connections(
    *, password: bytes = SECRET, client_type: int = SocketType.DEALER
) -> tuple[ZmtpConnection, ZmtpConnection]:
    client = ZmtpConnection(
        socket_type=client_type,
        mechanism=PlainMechanism(
            as_server=False,
            properties=ZmtpConnection.local_properties(client_type, b"cid"),
            username=b"admin",
            password=password,
        ),
    )
    server = ZmtpConnection(
        socket_type=SocketType.ROUTER,
        mechanism=PlainMechanism(
            as_server=True,
            properties=ZmtpConnection.local_properties(SocketType.ROUTER, b""),
            zap=HANDLER,
        ),
    )
    return client, server


def _decide(request: ZapRequestNeeded) -> ZapReplyData:
    ok = request.credentials == [b"admin", SECRET]
    return ZapReplyData(b"200" if ok else b"400", b"", b"admin" if ok else b"", {"K": b"v"})


def _handshake_via_connections(
    client: ZmtpConnection, server: ZmtpConnection, byte_at_a_time: bool
) -> tuple[list[ConnEvent], list[ConnEvent]]:
    events_c, events_s = pump(client, server, byte_at_a_time=byte_at_a_time)
    (request,) = of_type(ZapRequestNeeded, events_s)
    assert request.mechanism == b"PLAIN"
    events_s += server.zap_reply(_decide(request))
    more_c, more_s = pump(client, server, byte_at_a_time=byte_at_a_time)
    return events_c + more_c, events_s + more_s


def test_connection_handshake_and_messages(byte_at_a_time: bool) -> None:
    client, server = _connections()
    events_c, events_s = _handshake_via_connections(client, server, byte_at_a_time)
    (done_s,) = of_type(HandshakeComplete, events_s)
    (done_c,) = of_type(HandshakeComplete, events_c)
    assert done_s.user_id == b"admin" and done_s.zap_properties == {"K": b"v"}
    assert done_s.peer_properties["Identity"] == b"cid"
    assert done_c.peer_properties["Socket-Type"] == b"ROUTER"
    client.send_message([b"a", b"b" * 300])
    _, events_s = pump(client, server, byte_at_a_time=byte_at_a_time)
    assert [m for e in of_type(MessagesReceived, events_s) for m in e.messages] == [
        [b"a", b"b" * 300]
    ]


def test_connection_wrong_password_sends_error_400() -> None:
    client, server = _connections(password=b"wrong")
    events_c, events_s = _handshake_via_connections(client, server, False)
    (failed_s,) = of_type(ConnectionFailed, events_s)
    (failed_c,) = of_type(ConnectionFailed, events_c)
    assert failed_s.error.value == 400 and failed_s.error.event == Event.HANDSHAKE_FAILED_AUTH
    assert failed_c.error.value == 400 and failed_c.error.reconnect is False
    assert not of_type(HandshakeComplete, events_c)


def test_connection_without_zap_handler_fails() -> None:
    client = ZmtpConnection(
        socket_type=SocketType.DEALER,
        mechanism=PlainMechanism(as_server=False, properties=dict(DEALER)),
    )
    server = ZmtpConnection(
        socket_type=SocketType.DEALER,
        mechanism=PlainMechanism(as_server=True, properties=dict(DEALER)),
    )
    _, events_s = pump(client, server)
    (failed,) = of_type(ConnectionFailed, events_s)
    assert failed.error.value == errno.EFAULT


# -- interop with libzmq (pyzmq) over loopback TCP, driven by a tiny blocking loop ------------

try:
    import zmq
except ImportError:  # pragma: no cover - pyzmq is a test dependency
    zmq = None  # type: ignore[assignment]
needs_pyzmq = pytest.mark.skipif(zmq is None, reason="pyzmq (the libzmq peer) is not installed")


def drive(
    sock: socket.socket,
    conn: ZmtpConnection,
    until: Callable[[list[ConnEvent]], bool],
    zap: Callable[[ZapRequestNeeded], ZapReplyData] | None = None,
) -> list[ConnEvent]:
    """Send what the connection has, read, feed, answer ZAP; stop when ``until`` says so."""
    events: list[ConnEvent] = []
    for _ in range(1000):
        for chunk in conn.data_to_send():
            sock.sendall(chunk)
        if until(events):
            return events
        new = conn.receive_data(sock.recv(65536))
        for event in list(new):
            if isinstance(event, ZapRequestNeeded) and zap is not None:
                new += conn.zap_reply(zap(event))
        events += new
    raise AssertionError("drive: condition never met")


def _has(kind: type) -> Callable[[list[ConnEvent]], bool]:
    return lambda events: any(isinstance(e, kind | ConnectionFailed) for e in events)


@pytest.fixture
def zctx() -> Iterator[object]:
    ctx = zmq.Context()
    yield ctx
    ctx.destroy(linger=0)


@pytest.fixture
def authenticator(zctx):  # type: ignore[no-untyped-def]
    from zmq.auth.thread import ThreadAuthenticator

    auth = ThreadAuthenticator(zctx)
    auth.start()
    auth.configure_plain(domain="*", passwords={"admin": SECRET.decode()})
    yield auth
    auth.stop()


def _our_client(password: bytes) -> ZmtpConnection:
    return ZmtpConnection(
        socket_type=SocketType.PUSH,
        mechanism=PlainMechanism(
            as_server=False,
            properties={"Socket-Type": b"PUSH"},
            username=b"admin",
            password=password,
        ),
    )


@needs_pyzmq
def test_interop_our_client_pyzmq_server(zctx, authenticator) -> None:  # type: ignore[no-untyped-def]
    pull = zctx.socket(zmq.PULL)
    pull.plain_server = True
    pull.rcvtimeo = 5000
    port = pull.bind_to_random_port("tcp://127.0.0.1")
    conn = _our_client(SECRET)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        events = drive(sock, conn, _has(HandshakeComplete))
        (done,) = of_type(HandshakeComplete, events)
        assert done.peer_properties["Socket-Type"] == b"PULL"
        conn.send_message([b"plain", b"hello"])
        for chunk in conn.data_to_send():
            sock.sendall(chunk)
        assert pull.recv_multipart() == [b"plain", b"hello"]


@needs_pyzmq
def test_interop_wrong_password_gets_error_400(zctx, authenticator) -> None:  # type: ignore[no-untyped-def]
    pull = zctx.socket(zmq.PULL)
    pull.plain_server = True
    port = pull.bind_to_random_port("tcp://127.0.0.1")
    conn = _our_client(b"nope")
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        events = drive(sock, conn, _has(HandshakeComplete))
    (failed,) = of_type(ConnectionFailed, events)
    assert isinstance(failed.error, AuthenticationFailure) and failed.error.status == 400


@needs_pyzmq
def test_interop_pyzmq_client_our_server(zctx) -> None:  # type: ignore[no-untyped-def]
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(5)
    push = zctx.socket(zmq.PUSH)
    push.plain_username = b"admin"
    push.plain_password = SECRET
    push.connect(f"tcp://127.0.0.1:{listener.getsockname()[1]}")
    push.send_multipart([b"from", b"libzmq"])
    conn = ZmtpConnection(
        socket_type=SocketType.PULL,
        mechanism=PlainMechanism(as_server=True, properties={"Socket-Type": b"PULL"}, zap=HANDLER),
    )
    sock, _ = listener.accept()
    with sock, listener:
        sock.settimeout(5)
        events = drive(sock, conn, _has(MessagesReceived), zap=_decide)
    (done,) = of_type(HandshakeComplete, events)
    assert done.user_id == b"admin"
    assert [m for e in of_type(MessagesReceived, events) for m in e.messages] == [
        [b"from", b"libzmq"]
    ]
