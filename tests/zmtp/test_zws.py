"""ZWS 2.0 (RFC 45) adapter in memory: the upgrade as libzmq writes and parses it, framing,
mechanisms over WebSocket, ping/pong/close, limits; whole chunks and one byte at a time."""

from __future__ import annotations

import base64
import hashlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wsproto.frame_protocol import CloseReason, FrameProtocol, Opcode

from securemq.constants import Event, ProtocolError, SocketType
from securemq.zmtp.connection import ConnectionState
from securemq.zmtp.errors import PeerClosed, UsageError
from securemq.zmtp.events import (
    ConnectionFailed,
    HandshakeComplete,
    MessagesReceived,
    PingReceived,
    ZapRequestNeeded,
)
from securemq.zmtp.events import Event as ConnEvent
from securemq.zmtp.mechanisms.base import ZapReplyData
from securemq.zmtp.radio_dish_connection import RadioDishConnection
from securemq.zmtp.zws import (
    PROTOCOL_ERROR_WS_UNSPECIFIED,
    WebSocketError,
    ZwsConnection,
    client_offer,
    made_up_greeting,
    server_select,
)
from tests.zmtp.draft_helpers import mechanism
from tests.zmtp.pump import deliver, of_type, pump

ST = SocketType
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
KEY = b"dGhlIHNhbXBsZSBub25jZQ=="


def accept_token(key: bytes) -> bytes:
    return base64.b64encode(hashlib.sha1(key + GUID).digest())


def libzmq_request(protocols: bytes = b"ZWS2.0/NULL,ZWS2.0", path: bytes = b"/") -> bytes:
    """The upgrade request exactly as libzmq's ws_engine.cpp formats it."""
    return (
        b"GET " + path + b" HTTP/1.1\r\nHost: 127.0.0.1:5555\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: " + KEY + b"\r\n"
        b"Sec-WebSocket-Protocol: " + protocols + b"\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )


def libzmq_response(key: bytes, protocol: bytes = b"ZWS2.0/NULL") -> bytes:
    """The 101 response exactly as libzmq's ws_engine.cpp formats it."""
    return (
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: " + accept_token(key) + b"\r\n"
        b"Sec-WebSocket-Protocol: " + protocol + b"\r\n\r\n"
    )


def ws_frames(data: bytes, *, from_client: bool) -> list[tuple[Opcode, bytes]]:
    """Decode WebSocket frames (wsproto's parser, in the receiving role)."""
    proto = FrameProtocol(client=not from_client, extensions=[])
    proto.receive_bytes(data)
    out: list[tuple[Opcode, bytes]] = []
    for frame in proto.received_frames():
        payload = frame.payload
        if isinstance(payload, tuple):  # close: (code, reason)
            payload = int(payload[0]).to_bytes(2, "big") + payload[1].encode()
        out.append((frame.opcode, bytes(payload) if not isinstance(payload, str) else b""))
    return out


def server_binary(body: bytes) -> bytes:
    """One unmasked binary frame, as a libzmq server sends it (via wsproto, server role)."""
    return bytes(FrameProtocol(client=False, extensions=[]).send_data(body, True))


def client_binary(body: bytes, *, fin: bool = True) -> bytes:
    return bytes(FrameProtocol(client=True, extensions=[]).send_data(body, fin))


def pair(
    name: str = "NULL",
    client_type: int = ST.DEALER,
    server_type: int = ST.ROUTER,
    *,
    client_id: bytes = b"",
    server_id: bytes = b"",
    max_message_size: int = -1,
) -> tuple[ZwsConnection, ZwsConnection]:
    client = ZwsConnection(
        client=True,
        socket_type=client_type,
        mechanism=mechanism(name, client_type, server=False, routing_id=client_id),
        host="example.org",
        path="/zmq",
        max_message_size=max_message_size,
    )
    server = ZwsConnection(
        client=False,
        socket_type=server_type,
        mechanism=mechanism(name, server_type, server=True, routing_id=server_id),
        max_message_size=max_message_size,
    )
    return client, server


def connected(
    name: str = "NULL", *, byte_at_a_time: bool = False, **kwargs: object
) -> tuple[ZwsConnection, ZwsConnection, list[ConnEvent], list[ConnEvent]]:
    client, server = pair(name, **kwargs)
    events_c, events_s = pump(client, server, byte_at_a_time=byte_at_a_time)
    if of_type(ZapRequestNeeded, events_s):
        events_s += server.zap_reply(ZapReplyData(b"200", b"OK", b"admin", {}))
        more_c, more_s = pump(client, server, byte_at_a_time=byte_at_a_time)
        events_c += more_c
        events_s += more_s
    assert len(of_type(HandshakeComplete, events_c)) == 1, events_c
    assert len(of_type(HandshakeComplete, events_s)) == 1, events_s
    return client, server, events_c, events_s


def received(events: list[ConnEvent]) -> list[list[bytes]]:
    return [m for e in events if isinstance(e, MessagesReceived) for m in e.messages]


def failure(events: list[ConnEvent]) -> ConnectionFailed:
    failed = of_type(ConnectionFailed, events)
    assert len(failed) == 1, events
    return failed[0]


# -- subprotocols ----------------------------------------------------------------------------
def test_offers_and_selection_follow_libzmq() -> None:
    assert client_offer(b"NULL") == ["ZWS2.0/NULL", "ZWS2.0"]
    assert client_offer(b"PLAIN") == ["ZWS2.0/PLAIN"]
    assert client_offer(b"CURVE") == ["ZWS2.0/CURVE"]
    assert server_select(["ZWS2.0/NULL", "ZWS2.0"], b"NULL") == "ZWS2.0/NULL"
    assert server_select(["ZWS2.0", "ZWS2.0/NULL"], b"NULL") == "ZWS2.0"  # first fitting
    assert server_select(["ZWS2.0"], b"NULL", allow_bare=False) is None
    assert server_select(["ZWS2.0/NULL", "ZWS2.0"], b"CURVE") is None
    assert server_select(["zws2.0/curve", "ZWS2.0/CURVE"], b"CURVE") == "ZWS2.0/CURVE"
    assert server_select(["ZWS2.0"], b"PLAIN") is None


def test_made_up_greeting_is_zmtp_30() -> None:
    greeting = made_up_greeting(b"CURVE")
    assert len(greeting) == 64 and greeting[10:12] == b"\x03\x00"
    assert greeting[12:32] == b"CURVE".ljust(20, b"\x00")


# -- in memory, both roles -------------------------------------------------------------------
@pytest.mark.parametrize("name", ["NULL", "PLAIN", "CURVE"])
def test_handshake_and_messages(name: str, byte_at_a_time: bool) -> None:
    client, server, events_c, events_s = connected(
        name, byte_at_a_time=byte_at_a_time, client_id=b"C1", server_id=b"S1"
    )
    assert client.subprotocol == server.subprotocol == f"ZWS2.0/{name}"
    done_s = of_type(HandshakeComplete, events_s)[0]
    assert done_s.peer_properties["Socket-Type"] == b"DEALER"
    assert done_s.peer_properties["Identity"] == b"C1"
    assert done_s.peer_version == (3, 0) == client.peer_version
    assert client.state is ConnectionState.READY is server.state
    big = b"x" * 70000
    client.send_messages([[b"", b"hello"], [b"one"], [big]])
    _, events_s = pump(client, server, byte_at_a_time=byte_at_a_time and name == "NULL")
    assert received(events_s) == [[b"", b"hello"], [b"one"], [big]]
    server.send_message([b"", b"world"])
    events_c, _ = pump(client, server, byte_at_a_time=byte_at_a_time)
    assert received(events_c) == [[b"", b"world"]]


def test_client_request_is_what_libzmq_parses() -> None:
    client, _ = pair()
    request = b"".join(client.data_to_send())
    assert request.startswith(b"GET /zmq HTTP/1.1\r\n")
    lines = request.split(b"\r\n")
    assert b"Sec-WebSocket-Protocol: ZWS2.0/NULL, ZWS2.0" in lines  # libzmq skips one space
    assert any(line.lower() == b"upgrade: websocket" for line in lines)
    assert any(line.lower() == b"connection: upgrade" for line in lines)
    assert b"Sec-WebSocket-Version: 13" in lines and request.endswith(b"\r\n\r\n")
    assert client.state is ConnectionState.GREETING


def test_server_answers_a_libzmq_client(byte_at_a_time: bool) -> None:
    server = ZwsConnection(
        client=False, socket_type=ST.PAIR, mechanism=mechanism("NULL", ST.PAIR, server=True)
    )
    events = deliver(server, libzmq_request(), byte_at_a_time=byte_at_a_time)
    assert events == []
    out = b"".join(server.data_to_send())
    head, _, rest = out.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"HTTP/1.1 101 Switching Protocols"  # libzmq's client insists on it
    assert b"Sec-WebSocket-Accept: " + accept_token(KEY) in lines
    assert b"Sec-WebSocket-Protocol: ZWS2.0/NULL" in lines
    # Right after the upgrade: READY as one unmasked binary message, flags 0x02 (COMMAND).
    frames = ws_frames(rest, from_client=False)
    assert frames == [(Opcode.BINARY, b"\x02\x05READY\x0bSocket-Type\x00\x00\x00\x04PAIR")]
    assert rest[0] == 0x82 and not rest[1] & 0x80
    # The client's READY, masked, then a two-frame message.
    events = deliver(
        server,
        client_binary(b"\x02\x05READY\x0bSocket-Type\x00\x00\x00\x04PAIR")
        + client_binary(b"\x01m1")
        + client_binary(b"\x00m2"),
        byte_at_a_time=byte_at_a_time,
    )
    assert len(of_type(HandshakeComplete, events)) == 1
    assert received(events) == [[b"m1", b"m2"]]


def test_client_talks_to_a_libzmq_server(byte_at_a_time: bool) -> None:
    client = ZwsConnection(
        client=True, socket_type=ST.PAIR, mechanism=mechanism("NULL", ST.PAIR, server=False)
    )
    request = b"".join(client.data_to_send())
    key = next(
        line.split(b": ", 1)[1]
        for line in request.split(b"\r\n")
        if line.lower().startswith(b"sec-websocket-key")
    )
    # The 101 and the server's READY in one chunk (trailing data after the upgrade).
    wire = libzmq_response(key) + server_binary(b"\x02\x05READY\x0bSocket-Type\x00\x00\x00\x04PAIR")
    events = deliver(client, wire, byte_at_a_time=byte_at_a_time)
    assert len(of_type(HandshakeComplete, events)) == 1
    frames = ws_frames(b"".join(client.data_to_send()), from_client=True)
    assert frames == [(Opcode.BINARY, b"\x02\x05READY\x0bSocket-Type\x00\x00\x00\x04PAIR")]
    client.send_messages([[b"a", b"b"]])
    frames = ws_frames(b"".join(client.data_to_send()), from_client=True)
    assert frames == [(Opcode.BINARY, b"\x01a"), (Opcode.BINARY, b"\x00b")]


def test_subscriptions_travel_in_the_legacy_form() -> None:
    client, server = pair("NULL", ST.SUB, ST.XPUB)
    pump(client, server)
    client.send_messages([[b"\x01topic"]])
    frames = ws_frames(b"".join(client.data_to_send()), from_client=True)
    assert frames == [(Opcode.BINARY, b"\x00\x01topic")]  # a data message, as libzmq's ws


def test_libzmq_curve_subscribe_command_is_understood() -> None:
    client, server = pair("CURVE", ST.XSUB, ST.XPUB)
    _, events_s = pump(client, server)
    assert of_type(HandshakeComplete, events_s)
    # libzmq over ws+CURVE boxes SUBSCRIBE as a command; emulate it through the inner mechanism.
    out: list[bytes] = []
    client.zmtp.mechanism.box_frames([(0x02, b"\x09SUBSCRIBEnews")], out)
    wire = b"".join(bytes(b) for b in out)
    body = wire[2:] if wire[0] == 0 else wire[9:]
    events = server.receive_data(client_binary(b"\x00" + body))
    assert received(events) == [[b"\x01news"]]


def test_incompatible_socket_types_fail_with_error_and_close() -> None:
    client, server = pair("NULL", ST.PUSH, ST.PUB)
    events_c, events_s = pump(client, server)
    fail_s = failure(events_s)
    assert fail_s.error.value == ProtocolError.ZMTP_INVALID_METADATA
    assert client.state is ConnectionState.CLOSED and server.state is ConnectionState.CLOSED
    assert failure(events_c)


def test_plain_zap_refusal() -> None:
    client, server = pair("PLAIN", ST.DEALER, ST.ROUTER)
    events_c, events_s = pump(client, server)
    assert of_type(ZapRequestNeeded, events_s)
    events_s = server.zap_reply(ZapReplyData(b"400", b"No", None, {}))
    assert failure(events_s).error.event == Event.HANDSHAKE_FAILED_AUTH
    events_c, _ = pump(client, server)
    assert failure(events_c).error.value == 400
    assert server.zap_reply(ZapReplyData(b"200", b"", None, {})) == []


def test_zap_failed_and_zap_outside_zmtp() -> None:
    client, server = pair("PLAIN", ST.DEALER, ST.ROUTER)
    pump(client, server)
    events = server.zap_failed(PeerClosed("no handler"))
    assert failure(events)
    upgrading = pair()[1]
    with pytest.raises(UsageError):
        upgrading.zap_reply(ZapReplyData(b"200", b"", None, {}))
    assert failure(upgrading.zap_failed(UsageError("x")))


def test_sending_before_ready_is_usage_error() -> None:
    client, _ = pair()
    with pytest.raises(UsageError):
        client.send_messages([[b"x"]])
    with pytest.raises(UsageError):
        client.send_ping()


# -- upgrade failures ------------------------------------------------------------------------
def test_server_refuses_unsupported_subprotocols_with_400() -> None:
    server = ZwsConnection(
        client=False, socket_type=ST.PAIR, mechanism=mechanism("CURVE", ST.PAIR, server=True)
    )
    events = server.receive_data(libzmq_request())
    error = failure(events).error
    assert isinstance(error, WebSocketError) and error.value == PROTOCOL_ERROR_WS_UNSPECIFIED
    assert error.event == Event.HANDSHAKE_FAILED_PROTOCOL
    assert b"".join(server.data_to_send()).startswith(b"HTTP/1.1 400")
    assert server.state is ConnectionState.CLOSED and server.receive_data(b"more") == []


def test_server_refuses_bare_when_not_allowed() -> None:
    server = ZwsConnection(
        client=False,
        socket_type=ST.PAIR,
        mechanism=mechanism("NULL", ST.PAIR, server=True),
        allow_bare=False,
    )
    assert failure(server.receive_data(libzmq_request(b"ZWS2.0")))


@pytest.mark.parametrize(
    "request_bytes",
    [b"POST / HTTP/1.1\r\nHost: x\r\n\r\n", b"\x16\x03\x01\x02\x00garbage\r\n\r\n",
     b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"],
    ids=["post", "tls-hello", "plain-get"],
)
def test_server_fails_on_a_bad_upgrade(request_bytes: bytes) -> None:
    server = pair()[1]
    error = failure(server.receive_data(request_bytes)).error
    assert isinstance(error, WebSocketError)


@pytest.mark.parametrize(
    "protocol", [b"ZWS2.0/PLAIN", b"", b"chat"], ids=["not-offered", "empty", "other"]
)
def test_client_fails_on_a_wrong_subprotocol(protocol: bytes) -> None:
    client, _ = pair()
    request = b"".join(client.data_to_send())
    key = next(
        line.split(b": ", 1)[1]
        for line in request.split(b"\r\n")
        if line.lower().startswith(b"sec-websocket-key")
    )
    response = libzmq_response(key, protocol)
    if not protocol:
        response = response.replace(b"Sec-WebSocket-Protocol: \r\n", b"")
    assert isinstance(failure(client.receive_data(response)).error, WebSocketError)


def test_client_fails_on_a_refusal_and_bad_accept() -> None:
    client, _ = pair()
    client.data_to_send()
    error = failure(client.receive_data(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"))
    assert isinstance(error.error, WebSocketError)
    client, _ = pair()
    client.data_to_send()
    assert failure(client.receive_data(libzmq_response(b"wrong-key")))


# -- framing ---------------------------------------------------------------------------------
def test_fragmented_messages_are_reassembled(byte_at_a_time: bool) -> None:
    _, server, _, _ = connected()
    wire = (
        client_binary(b"\x00fir", fin=False)
        + bytes(FrameProtocol(client=True, extensions=[])._serialize_frame(
            Opcode.CONTINUATION, b"st", fin=True))
    )
    events = deliver(server, wire, byte_at_a_time=byte_at_a_time)
    assert received(events) == [[b"first"]]


@pytest.mark.parametrize(
    ("wire", "code"),
    [
        (None, CloseReason.UNSUPPORTED_DATA),  # a text message
        (client_binary(b""), CloseReason.PROTOCOL_ERROR),  # no flags byte
        (server_binary(b"\x00unmasked"), CloseReason.PROTOCOL_ERROR),  # a client must mask
    ],
    ids=["text", "empty", "unmasked"],
)
def test_framing_errors_close_the_connection(wire: bytes | None, code: int) -> None:
    _, server, _, _ = connected()
    if wire is None:
        wire = bytes(FrameProtocol(client=True, extensions=[])._serialize_frame(
            Opcode.TEXT, b"\x00hello", fin=True))
    error = failure(server.receive_data(wire)).error
    assert isinstance(error, WebSocketError) and error.value == PROTOCOL_ERROR_WS_UNSPECIFIED
    frames = ws_frames(b"".join(server.data_to_send()), from_client=False)
    assert frames[-1][0] is Opcode.CLOSE and int.from_bytes(frames[-1][1][:2], "big") == code
    assert server.state is ConnectionState.CLOSED


def test_message_size_limit_while_arriving() -> None:
    client, server, _, _ = connected(max_message_size=100)
    client.send_messages([[b"x" * 100]])
    _, events = pump(client, server)
    assert received(events) == [[b"x" * 100]]
    frame = client_binary(b"\x00" + b"y" * 1000)
    events = server.receive_data(frame[:500])  # refused before the message is complete
    error = failure(events).error
    assert isinstance(error, WebSocketError) and error.close_code == CloseReason.MESSAGE_TOO_BIG


def test_handshake_messages_are_capped_at_one_mib() -> None:
    server = pair()[1]
    server.receive_data(libzmq_request())
    server.data_to_send()
    frame = client_binary(b"\x02" + b"z" * ((1 << 20) + 1))
    assert server.receive_data(frame[: 1 << 19]) == []  # under the cap so far: buffered
    error = failure(server.receive_data(frame[1 << 19 :])).error
    assert isinstance(error, WebSocketError) and error.close_code == CloseReason.MESSAGE_TOO_BIG


# -- ping / pong / close / EOF ---------------------------------------------------------------
def test_ping_is_answered_and_reported() -> None:
    client, server, _, _ = connected()
    ping = bytes(FrameProtocol(client=True, extensions=[]).ping(b"ctx"))
    events = server.receive_data(ping)
    assert events == [PingReceived(0)]
    assert ws_frames(b"".join(server.data_to_send()), from_client=False) == [(Opcode.PONG, b"ctx")]
    client.send_ping(1000, b"hb")
    assert ws_frames(b"".join(client.data_to_send()), from_client=True) == [(Opcode.PING, b"hb")]
    with pytest.raises(UsageError):
        client.send_ping(0, b"x" * 126)
    pong = bytes(FrameProtocol(client=False, extensions=[]).pong(b"hb"))
    assert client.receive_data(pong) == []


def test_peer_close_is_echoed() -> None:
    client, server, _, _ = connected()
    client.close(1000, "bye")
    assert client.state is ConnectionState.CLOSED
    with pytest.raises(UsageError):
        client.send_messages([[b"late"]])
    wire = b"".join(client.data_to_send())
    assert ws_frames(wire, from_client=True)[0][0] is Opcode.CLOSE
    events = server.receive_data(wire)
    assert isinstance(failure(events).error, PeerClosed)
    echoed = ws_frames(b"".join(server.data_to_send()), from_client=False)
    assert echoed == [(Opcode.CLOSE, (1000).to_bytes(2, "big") + b"bye")]
    client.close()  # twice: nothing


def test_eof_is_peer_closed() -> None:
    client, _, _, _ = connected()
    assert isinstance(failure(client.receive_data(b"")).error, PeerClosed)
    assert client.data_to_send() == []


# -- bare ZWS2.0 -----------------------------------------------------------------------------
def test_bare_server_exchanges_routing_ids(byte_at_a_time: bool) -> None:
    server = ZwsConnection(
        client=False,
        socket_type=ST.ROUTER,
        mechanism=mechanism("NULL", ST.ROUTER, server=True),
        routing_id=b"SRV",
    )
    deliver(server, libzmq_request(b"ZWS2.0"), byte_at_a_time=byte_at_a_time)
    assert server.subprotocol == "ZWS2.0" and server.state is ConnectionState.HANDSHAKE
    head, _, rest = b"".join(server.data_to_send()).partition(b"\r\n\r\n")
    assert b"Sec-WebSocket-Protocol: ZWS2.0" in head.split(b"\r\n")
    assert ws_frames(rest, from_client=False) == [(Opcode.BINARY, b"\x00SRV")]
    wire = (client_binary(b"\x00peer-id") + client_binary(b"\x02\x04PING\x00\x00")
            + client_binary(b"\x01a") + client_binary(b"\x00b") + client_binary(b"\x00c"))
    events = deliver(server, wire, byte_at_a_time=byte_at_a_time)
    done = of_type(HandshakeComplete, events)
    assert len(done) == 1 and done[0].peer_properties == {"Identity": b"peer-id"}
    assert received(events) == [[b"a", b"b"], [b"c"]]
    assert server.state is ConnectionState.READY
    server.send_messages([[b"x", b"y"]])
    frames = ws_frames(b"".join(server.data_to_send()), from_client=False)
    assert frames == [(Opcode.BINARY, b"\x01x"), (Opcode.BINARY, b"\x00y")]
    with pytest.raises(UsageError):
        server.send_messages([[]])
    server.send_ping()


def test_bare_client_when_the_server_picks_it() -> None:
    client = ZwsConnection(
        client=True, socket_type=ST.DEALER, mechanism=mechanism("NULL", ST.DEALER, server=False)
    )
    request = b"".join(client.data_to_send())
    key = next(
        line.split(b": ", 1)[1]
        for line in request.split(b"\r\n")
        if line.lower().startswith(b"sec-websocket-key")
    )
    events = client.receive_data(libzmq_response(key, b"ZWS2.0") + server_binary(b"\x00"))
    done = of_type(HandshakeComplete, events)
    assert len(done) == 1 and done[0].peer_properties == {}
    assert ws_frames(b"".join(client.data_to_send()), from_client=True) == [
        (Opcode.BINARY, b"\x00")
    ]
    with pytest.raises(UsageError):  # no mechanism, no ZAP
        client.zap_reply(ZapReplyData(b"200", b"", None, {}))


# -- arbitrary input and arbitrary chunking --------------------------------------------------
def _ready_server() -> ZwsConnection:
    server = ZwsConnection(
        client=False, socket_type=ST.PAIR, mechanism=mechanism("NULL", ST.PAIR, server=True)
    )
    server.receive_data(libzmq_request())
    server.receive_data(client_binary(b"\x02\x05READY\x0bSocket-Type\x00\x00\x00\x04PAIR"))
    server.data_to_send()
    assert server.state is ConnectionState.READY
    return server


_STREAM = b"".join(
    [client_binary(b"\x01a"), client_binary(b"\x00" + b"b" * 300),
     bytes(FrameProtocol(client=True, extensions=[]).ping(b"p")),
     client_binary(b"\x00" + b"c" * 70000), client_binary(b"\x00")]
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(min_value=1, max_value=len(_STREAM)), max_size=12))
def test_any_chunking_gives_the_same_messages(cuts: list[int]) -> None:
    server = _ready_server()
    events: list[ConnEvent] = []
    start = 0
    for cut in [*sorted(set(cuts)), len(_STREAM)]:
        if cut > start:
            events += server.receive_data(_STREAM[start:cut])
            start = cut
    assert received(events) == [[b"a", b"b" * 300], [b"c" * 70000], [b""]]
    assert of_type(PingReceived, events) == [PingReceived(0)]
    assert not of_type(ConnectionFailed, events)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_escape_as_exceptions(data: bytes) -> None:
    for server in (_ready_server(), pair()[1]):
        events = server.receive_data(data)
        assert all(
            isinstance(e, MessagesReceived | PingReceived | ConnectionFailed | HandshakeComplete)
            for e in events
        )
        server.data_to_send()


# -- RADIO/DISH over ZWS ---------------------------------------------------------------------
def test_radio_dish_over_zws(byte_at_a_time: bool) -> None:
    dish = ZwsConnection(
        client=True, socket_type=ST.DISH, mechanism=mechanism("NULL", ST.DISH, server=False),
        connection_class=RadioDishConnection,
    )
    radio = ZwsConnection(
        client=False, socket_type=ST.RADIO, mechanism=mechanism("NULL", ST.RADIO, server=True),
        connection_class=RadioDishConnection,
    )
    events_d, events_r = pump(dish, radio, byte_at_a_time=byte_at_a_time)
    assert of_type(HandshakeComplete, events_d) and of_type(HandshakeComplete, events_r)
    dish.send_messages([[b"\x04JOINTV"]])
    wire = b"".join(dish.data_to_send())
    assert ws_frames(wire, from_client=True) == [(Opcode.BINARY, b"\x02\x04JOINTV")]
    assert received(radio.receive_data(wire)) == [[b"\x04JOINTV"]]
    radio.send_messages([[b"TV", b"Friends"]])
    wire = b"".join(radio.data_to_send())
    assert ws_frames(wire, from_client=False) == [
        (Opcode.BINARY, b"\x01TV"), (Opcode.BINARY, b"\x00Friends")
    ]
    assert received(dish.receive_data(wire)) == [[b"TV", b"Friends"]]
