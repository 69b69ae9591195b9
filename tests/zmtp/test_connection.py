"""ZmtpConnection driven in memory with the NULL mechanism (whole chunks and byte by byte)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from securemq.constants import ProtocolError, SocketType
from securemq.zmtp.commands import encode_command
from securemq.zmtp.connection import HANDSHAKE_FRAME_LIMIT, ConnectionState, ZmtpConnection
from securemq.zmtp.errors import (
    AuthenticationFailure,
    PeerClosed,
    ProtocolViolation,
    UsageError,
)
from securemq.zmtp.events import (
    ConnectionFailed,
    HandshakeComplete,
    MessagesReceived,
    PingReceived,
)
from securemq.zmtp.frames import COMMAND, FrameDecoder, encode_frame, encode_message
from securemq.zmtp.mechanisms.null import NullMechanism
from securemq.zmtp.metadata import encode_metadata
from tests.zmtp.pump import (
    command_frame,
    deliver,
    null_connection,
    of_type,
    peer_greeting,
    pump,
    ready_frame,
)

ST = SocketType


def connected(
    client_type: int = ST.DEALER,
    server_type: int = ST.ROUTER,
    *,
    byte_at_a_time: bool = False,
    client_id: bytes = b"",
    server_id: bytes = b"",
    max_message_size: int = -1,
) -> tuple[ZmtpConnection, ZmtpConnection]:
    client = null_connection(client_type, routing_id=client_id, max_message_size=max_message_size)
    server = null_connection(
        server_type, as_server=True, routing_id=server_id, max_message_size=max_message_size
    )
    events_c, events_s = pump(client, server, byte_at_a_time=byte_at_a_time)
    assert len(of_type(HandshakeComplete, events_c)) == 1
    assert len(of_type(HandshakeComplete, events_s)) == 1
    return client, server


def received(events: Sequence[object]) -> list[list[bytes]]:
    return [m for e in events if isinstance(e, MessagesReceived) for m in e.messages]


GREETING_REST = 64 - 10


def wire_frames(data: list[bytes]) -> list[tuple[int, bytes]]:
    """The frames in some output; the second part of our greeting (sent once the peer's
    signature arrived, as libzmq stages it) is skipped when it leads."""
    raw = b"".join(data)
    if raw[:2] == b"\x03\x01":  # version 3.1: the rest of our greeting, not a frame
        raw = raw[GREETING_REST:]
    return FrameDecoder().feed(raw)


def failure(events: Sequence[object]) -> ConnectionFailed:
    failures = [e for e in events if isinstance(e, ConnectionFailed)]
    assert len(failures) == 1, events
    return failures[0]


def raw_peer(
    socket_type: int = ST.DEALER, *, minor: int = 1, peer_type: bytes = b"ROUTER"
) -> ZmtpConnection:
    """A connection that already exchanged greeting + READY with a hand-made peer."""
    conn = null_connection(socket_type)
    conn.data_to_send()
    events = conn.receive_data(peer_greeting(minor=minor) + ready_frame(peer_type))
    assert of_type(HandshakeComplete, events)
    conn.data_to_send()
    return conn


# ------------------------------------------------------------------ handshake


def test_local_properties_as_libzmq() -> None:
    assert ZmtpConnection.local_properties(ST.DEALER, b"") == {
        "Socket-Type": b"DEALER",
        "Identity": b"",
    }
    assert ZmtpConnection.local_properties(ST.REQ, b"me")["Identity"] == b"me"
    assert ZmtpConnection.local_properties(ST.PUSH, b"me") == {"Socket-Type": b"PUSH"}
    with pytest.raises(UsageError):
        ZmtpConnection.local_properties(99, b"")


def test_greeting_is_staged_like_libzmq(byte_at_a_time: bool) -> None:
    """The signature goes out at once, the major version once the peer's signature is in, the
    rest once the peer's major version is in (libzmq's stages)."""
    conn = null_connection(ST.PUSH, as_server=True)
    assert conn.wants_write()
    first = b"".join(conn.data_to_send())
    assert len(first) == 10 and first[0] == 0xFF and first[9] == 0x7F
    assert not conn.wants_write()
    deliver(conn, peer_greeting()[:9], byte_at_a_time=byte_at_a_time)
    assert not conn.wants_write()  # 9 bytes of the peer's signature: still waiting
    deliver(conn, peer_greeting()[9:10], byte_at_a_time=byte_at_a_time)
    major = b"".join(conn.data_to_send())
    assert major == b"\x03"
    deliver(conn, peer_greeting()[10:11], byte_at_a_time=byte_at_a_time)
    data = first + major + b"".join(conn.data_to_send())
    assert len(data) == 64 and data[12:16] == b"NULL" and data[32] == 0
    assert conn.state == "greeting"


def _null_pull() -> NullMechanism:
    return NullMechanism(properties={"Socket-Type": b"PULL"})


def test_accepting_side_sends_its_mechanism_after_the_peers(byte_at_a_time: bool) -> None:
    """A libzmq client that sees a mechanism it does not want hangs up at once: the accepting
    side keeps its mechanism back until it has the client's, so it can report the mismatch."""
    conn = ZmtpConnection(socket_type=ST.PULL, mechanism=_null_pull(), accepted=True)
    sent = b"".join(conn.data_to_send())
    deliver(conn, peer_greeting()[:63], byte_at_a_time=byte_at_a_time)
    sent += b"".join(conn.data_to_send())
    assert len(sent) == 11  # signature and major version only
    deliver(conn, peer_greeting()[63:], byte_at_a_time=byte_at_a_time)
    sent += b"".join(conn.data_to_send())
    assert sent[12:16] == b"NULL"


def test_accepting_side_reports_mechanism_mismatch_without_revealing_its_own() -> None:
    conn = ZmtpConnection(socket_type=ST.PULL, mechanism=_null_pull(), accepted=True)
    conn.data_to_send()
    fail = failure(conn.receive_data(peer_greeting(b"CURVE")))
    assert fail.error.code == ProtocolError.ZMTP_MECHANISM_MISMATCH


def test_handshake_exchanges_properties(byte_at_a_time: bool) -> None:
    client = null_connection(ST.DEALER, routing_id=b"client-1")
    server = null_connection(ST.ROUTER, as_server=True, routing_id=b"srv")
    events_c, events_s = pump(client, server, byte_at_a_time=byte_at_a_time)
    (done_c,) = of_type(HandshakeComplete, events_c)
    (done_s,) = of_type(HandshakeComplete, events_s)
    assert done_s.peer_properties == {"Socket-Type": b"DEALER", "Identity": b"client-1"}
    assert done_c.peer_properties == {"Socket-Type": b"ROUTER", "Identity": b"srv"}
    assert done_c.peer_version == done_s.peer_version == (3, 1)
    assert done_s.user_id is None and done_s.zap_properties == {}
    assert client.state == server.state == ConnectionState.READY
    assert client.peer_greeting is not None and client.peer_greeting.mechanism == b"NULL"


def test_push_pull_have_no_identity(byte_at_a_time: bool) -> None:
    push = null_connection(ST.PUSH)
    pull = null_connection(ST.PULL, as_server=True)
    _, events = pump(push, pull, byte_at_a_time=byte_at_a_time)
    (done,) = of_type(HandshakeComplete, events)
    assert done.peer_properties == {"Socket-Type": b"PUSH"}


def test_greeting_ready_and_message_in_one_chunk(byte_at_a_time: bool) -> None:
    conn = null_connection(ST.DEALER)
    assert len(b"".join(conn.data_to_send())) == 10  # the signature alone, nothing else yet
    chunk = peer_greeting() + ready_frame(b"ROUTER") + encode_message([b"a", b"b"])
    events = deliver(conn, chunk, byte_at_a_time=byte_at_a_time)
    assert isinstance(events[0], HandshakeComplete)
    assert received(events) == [[b"a", b"b"]]
    # Our READY went out once the peer's greeting was in.
    assert wire_frames(conn.data_to_send()) == [
        (
            COMMAND,
            encode_command(b"READY", encode_metadata({"Socket-Type": b"DEALER", "Identity": b""})),
        )
    ]


def test_large_message_right_after_ready_uses_maxmsgsize_not_handshake_limit() -> None:
    conn = null_connection(ST.DEALER)
    big = b"z" * (HANDSHAKE_FRAME_LIMIT + 10)
    events = conn.receive_data(peer_greeting() + ready_frame(b"ROUTER") + encode_message([big]))
    assert received(events) == [[big]]


def test_handshake_command_over_one_mib_rejected_whatever_maxmsgsize() -> None:
    conn = null_connection(ST.DEALER, max_message_size=-1)
    header = b"\x06" + (HANDSHAKE_FRAME_LIMIT + 1).to_bytes(8, "big")
    fail = failure(conn.receive_data(peer_greeting() + header))
    assert "exceeds the handshake frame limit" in fail.error.message
    assert fail.during_handshake


def test_handshake_limit_is_maxmsgsize_when_smaller() -> None:
    conn = null_connection(ST.DEALER, max_message_size=20)
    fail = failure(conn.receive_data(peer_greeting() + ready_frame(b"ROUTER", Pad=b"x" * 30)))
    assert "exceeds the handshake frame limit 20" in fail.error.message


# ------------------------------------------------------------------ failures


def test_incompatible_socket_types_fail_on_both_sides_with_error(byte_at_a_time: bool) -> None:
    push = null_connection(ST.PUSH)
    pub = null_connection(ST.PUB, as_server=True)
    # Greetings both ways, then each side's READY reaches the other.
    for _ in range(3):  # signatures, major versions, then the rest of the greetings
        greeting_push, greeting_pub = push.data_to_send(), pub.data_to_send()
        deliver(pub, b"".join(greeting_push), byte_at_a_time=byte_at_a_time)
        deliver(push, b"".join(greeting_pub), byte_at_a_time=byte_at_a_time)
    ready_push, ready_pub = push.data_to_send(), pub.data_to_send()
    fail_pub = failure(deliver(pub, b"".join(ready_push), byte_at_a_time=byte_at_a_time))
    fail_push = failure(deliver(push, b"".join(ready_pub), byte_at_a_time=byte_at_a_time))
    for fail, conn in ((fail_pub, pub), (fail_push, push)):
        assert isinstance(fail.error, ProtocolViolation)
        assert fail.error.code == ProtocolError.ZMTP_INVALID_METADATA
        assert fail.during_handshake
        assert conn.state == ConnectionState.CLOSED
        assert wire_frames(conn.data_to_send()) == [
            (COMMAND, encode_command(b"ERROR", b"\x13Invalid socket type"))
        ]
    assert '"PUSH" cannot talk to "PUB"' in fail_pub.error.message


def test_incompatible_socket_types_through_pump(byte_at_a_time: bool) -> None:
    events_a, events_b = pump(
        null_connection(ST.PUSH), null_connection(ST.PUB), byte_at_a_time=byte_at_a_time
    )
    assert failure(events_a).error.value == ProtocolError.ZMTP_INVALID_METADATA
    assert failure(events_b).error.value == ProtocolError.ZMTP_INVALID_METADATA


def test_mechanism_mismatch_sends_no_error(byte_at_a_time: bool) -> None:
    conn = null_connection(ST.DEALER)
    conn.data_to_send()
    fail = failure(deliver(conn, peer_greeting(b"PLAIN"), byte_at_a_time=byte_at_a_time))
    assert isinstance(fail.error, ProtocolViolation)
    assert fail.error.code == ProtocolError.ZMTP_MECHANISM_MISMATCH
    assert '"PLAIN" does not match ours "NULL"' in fail.error.message
    assert wire_frames(conn.data_to_send()) == []  # the rest of our greeting, no ERROR


def test_zmtp10_peer_fails_at_once() -> None:
    conn = null_connection(ST.REP, as_server=True)
    fail = failure(conn.receive_data(b"\x01\x00"))
    assert "first byte 0x01" in fail.error.message
    # Further input is ignored, nothing leaks.
    assert conn.receive_data(b"\x00hello") == []
    assert conn.state == "closed"


@pytest.mark.parametrize(
    ("reason", "kind", "value"),
    [
        (b"400", AuthenticationFailure, 400),
        (b"500", AuthenticationFailure, 500),
        (b"300", AuthenticationFailure, 300),
        (b"401", ProtocolViolation, ProtocolError.ZMTP_UNSPECIFIED),
        (b"Bad thing", ProtocolViolation, ProtocolError.ZMTP_UNSPECIFIED),
    ],
)
def test_error_from_peer_during_handshake(
    reason: bytes, kind: type, value: int, byte_at_a_time: bool
) -> None:
    conn = null_connection(ST.DEALER)
    conn.data_to_send()  # our greeting
    data = peer_greeting() + command_frame(b"ERROR", bytes((len(reason),)) + reason)
    fail = failure(deliver(conn, data, byte_at_a_time=byte_at_a_time))
    assert type(fail.error) is kind
    assert fail.error.value == value
    assert fail.during_handshake
    if kind is AuthenticationFailure:
        assert fail.error.reconnect is False
    else:
        assert reason.decode() in fail.error.message
    # Our READY went out; no ERROR is sent back.
    assert [body[:6] for _, body in wire_frames(conn.data_to_send())] == [b"\x05READY"]


def test_malformed_error_command() -> None:
    conn = null_connection(ST.DEALER)
    fail = failure(conn.receive_data(peer_greeting() + command_frame(b"ERROR", b"\x09abc")))
    assert fail.error.value == ProtocolError.ZMTP_MALFORMED_COMMAND_ERROR


def test_error_from_peer_when_ready(byte_at_a_time: bool) -> None:
    conn = raw_peer()
    data = encode_message([b"before"]) + command_frame(b"ERROR", b"\x04oops")
    events = deliver(conn, data, byte_at_a_time=byte_at_a_time)
    assert received(events) == [[b"before"]]
    fail = failure(events)
    assert not fail.during_handshake
    assert "oops" in fail.error.message


def test_data_frame_during_handshake(byte_at_a_time: bool) -> None:
    conn = null_connection(ST.DEALER)
    data = peer_greeting() + encode_message([b"sneaky"]) + ready_frame(b"ROUTER")
    events = deliver(conn, data, byte_at_a_time=byte_at_a_time)
    fail = failure(events)
    assert fail.error.value == ProtocolError.ZMTP_UNEXPECTED_COMMAND
    assert not received(events) and not of_type(HandshakeComplete, events)


@pytest.mark.parametrize(
    ("garbage", "code"),
    [
        (b"\xff" * 20, ProtocolError.ZMTP_UNSPECIFIED),  # a declared size over the cap
        (b"\x04\x00", ProtocolError.ZMTP_MALFORMED_COMMAND_UNSPECIFIED),  # empty command
        (b"\x04\x03\x09ab", ProtocolError.ZMTP_MALFORMED_COMMAND_UNSPECIFIED),  # name overrun
        (command_frame(b"HELLO"), ProtocolError.ZMTP_UNEXPECTED_COMMAND),
        (command_frame(b"READY", b"\x00\x01"), ProtocolError.ZMTP_INVALID_METADATA),
    ],
)
def test_garbage_after_greeting(garbage: bytes, code: int, byte_at_a_time: bool) -> None:
    conn = null_connection(ST.DEALER)
    events = deliver(conn, peer_greeting() + garbage, byte_at_a_time=byte_at_a_time)
    assert failure(events).error.value == code
    assert conn.state == ConnectionState.CLOSED


def test_oversized_frame_when_ready(byte_at_a_time: bool) -> None:
    client, server = connected(max_message_size=100, byte_at_a_time=byte_at_a_time)
    client.send_messages([[b"k" * 100], [b"k" * 101], [b"after"]])
    events_c, events_s = pump(client, server, byte_at_a_time=byte_at_a_time)
    assert received(events_s) == [[b"k" * 100]]
    fail = failure(events_s)
    assert "frame of 101 bytes exceeds MAXMSGSIZE 100" in fail.error.message
    assert not fail.during_handshake
    assert events_c == []


@pytest.mark.parametrize("declared", [1 << 62, 1 << 63, (1 << 64) - 1])
def test_absurd_declared_length_fails_at_the_header(byte_at_a_time: bool, declared: int) -> None:
    """Without MAXMSGSIZE, a frame bigger than the machine can hold fails as soon as its header
    is complete (the connection never waits for, nor allocates, what the peer declares)."""
    _, server = connected(byte_at_a_time=byte_at_a_time)
    header = b"\x02" + declared.to_bytes(8, "big")
    fail = failure(deliver(server, header, byte_at_a_time=byte_at_a_time))
    assert "exceeds what this machine can hold" in fail.error.message
    assert server.state == ConnectionState.CLOSED


def test_frame_size_cap_is_the_drivers_to_set() -> None:
    client = null_connection(ST.DEALER)
    server = ZmtpConnection(socket_type=ST.ROUTER, mechanism=NullMechanism(
        as_server=True, properties={"Socket-Type": b"ROUTER"}), frame_size_cap=1000)
    pump(client, server)
    client.send_messages([[b"k" * 1000], [b"k" * 1001]])
    events = deliver(server, b"".join(client.data_to_send()))
    assert received(events) == [[b"k" * 1000]]
    assert "frame of 1001 bytes exceeds what this machine can hold" in failure(events).error.message


def test_eof_fails_once() -> None:
    conn = null_connection(ST.DEALER)
    fail = failure(conn.receive_data(b""))
    assert isinstance(fail.error, PeerClosed) and fail.during_handshake
    assert conn.receive_data(b"") == []
    _client, server = connected()
    fail = failure(server.receive_data(b""))
    assert not fail.during_handshake


def test_sending_before_ready_is_usage_error() -> None:
    conn = null_connection(ST.DEALER)
    with pytest.raises(UsageError):
        conn.send_message([b"x"])
    with pytest.raises(UsageError):
        conn.send_ping(1000)
    client, _ = connected()
    with pytest.raises(UsageError):
        client.send_message([])


def test_a_buggy_mechanism_cannot_crash_the_driver() -> None:
    class Broken(NullMechanism):
        def process_command(self, body: bytes) -> None:
            raise KeyError("bug")

    conn = ZmtpConnection(
        socket_type=ST.DEALER,
        mechanism=Broken(properties={"Socket-Type": b"DEALER"}),
    )
    fail = failure(conn.receive_data(peer_greeting() + ready_frame(b"ROUTER")))
    assert "internal error" in fail.error.message


# ------------------------------------------------------------------ messages


MESSAGES = [
    [b"single"],
    [b"multi", b"part", b"message"],
    [b"", b"with", b"", b"empty frames"],
    [b""],
    [b"x" * 300],
    [b"a" * 255, b"b" * 256],
]


def test_messages_both_ways(byte_at_a_time: bool) -> None:
    client, server = connected(byte_at_a_time=byte_at_a_time)
    for msg in MESSAGES:
        client.send_message(msg)
    server.send_messages(reversed(MESSAGES))
    events_c, events_s = pump(client, server, byte_at_a_time=byte_at_a_time)
    assert received(events_s) == MESSAGES
    assert received(events_c) == MESSAGES[::-1]
    if not byte_at_a_time:
        # All whole messages of one chunk arrive in ONE event.
        assert len(of_type(MessagesReceived, events_s)) == 1


def test_large_bodies_are_not_copied_into_the_output() -> None:
    client, _ = connected()
    big = b"B" * 100_000
    client.send_messages([[b"small", big], [b"tail"]])
    out = client.data_to_send()
    assert any(buf is big for buf in out)
    assert FrameDecoder().feed(b"".join(out)) == [(1, b"small"), (0, big), (0, b"tail")]


def test_partial_message_waits_for_its_last_frame() -> None:
    conn = raw_peer()
    wire = encode_message([b"one", b"two"])
    assert conn.receive_data(wire[:-4]) == []
    (event,) = conn.receive_data(wire[-4:])
    assert event == MessagesReceived([[b"one", b"two"]])


# ------------------------------------------------------------------ PING / PONG


def test_ping_pong_between_connections(byte_at_a_time: bool) -> None:
    client, server = connected(byte_at_a_time=byte_at_a_time)
    client.send_ping(1550, b"ctx")
    events_c, events_s = pump(client, server, byte_at_a_time=byte_at_a_time)
    assert of_type(PingReceived, events_s) == [PingReceived(1500)]
    assert events_c == []  # PONG is consumed silently


def test_pong_echoes_context_truncated_to_16(byte_at_a_time: bool) -> None:
    conn = raw_peer()
    context = bytes(range(65))
    events = deliver(conn, command_frame(b"PING", b"\x00\x0a" + context), byte_at_a_time=False)
    assert events == [PingReceived(1000)]
    assert wire_frames(conn.data_to_send()) == [(COMMAND, encode_command(b"PONG", context[:16]))]
    events = deliver(conn, command_frame(b"PING", b"\x00\x00LOL"), byte_at_a_time=byte_at_a_time)
    assert events == [PingReceived(0)]
    assert wire_frames(conn.data_to_send()) == [(COMMAND, encode_command(b"PONG", b"LOL"))]


def test_ping_encoding_and_limits() -> None:
    client, _ = connected()
    client.send_ping(10**9)
    client.send_ping(99, b"c" * 16)
    assert wire_frames(client.data_to_send()) == [
        (COMMAND, encode_command(b"PING", b"\xff\xff")),
        (COMMAND, encode_command(b"PING", b"\x00\x00" + b"c" * 16)),
    ]
    with pytest.raises(UsageError):
        client.send_ping(1000, b"c" * 17)


def test_truncated_ping_and_unknown_commands() -> None:
    conn = raw_peer()
    assert conn.receive_data(command_frame(b"PONG") + command_frame(b"WHATEVER", b"x")) == []
    fail = failure(conn.receive_data(command_frame(b"PING", b"\x01")))
    assert fail.error.value == ProtocolError.ZMTP_MALFORMED_COMMAND_UNSPECIFIED


# ------------------------------------------------------------------ subscriptions


def test_sub_sends_subscribe_and_cancel_commands_to_31_peer(byte_at_a_time: bool) -> None:
    sub, pub = connected(ST.SUB, ST.XPUB, byte_at_a_time=byte_at_a_time)
    sub.send_messages([[b"\x01topic"], [b"\x00topic"], [b"\x01"]])
    wire = wire_frames(sub.data_to_send())
    assert wire == [
        (COMMAND, encode_command(b"SUBSCRIBE", b"topic")),
        (COMMAND, encode_command(b"CANCEL", b"topic")),
        (COMMAND, encode_command(b"SUBSCRIBE", b"")),
    ]
    sub.send_messages([[b"\x01topic"], [b"\x00topic"], [b"\x01"]])
    _, events = pump(sub, pub, byte_at_a_time=byte_at_a_time)
    assert received(events) == [[b"\x01topic"], [b"\x00topic"], [b"\x01"]]


def test_sub_to_30_peer_sends_legacy_messages() -> None:
    sub = raw_peer(ST.SUB, minor=0, peer_type=b"PUB")
    assert sub.peer_version == (3, 0)
    sub.send_message([b"\x01A"])
    assert b"".join(sub.data_to_send()) == b"\x00\x02\x01A"


def test_non_subscriber_sends_subscription_like_data_as_data() -> None:
    conn = raw_peer(ST.DEALER)
    conn.send_message([b"\x01A"])
    assert b"".join(conn.data_to_send()) == b"\x00\x02\x01A"


def test_xpub_accepts_both_subscription_forms(byte_at_a_time: bool) -> None:
    xpub = raw_peer(ST.XPUB, peer_type=b"SUB")
    data = (
        b"\x04\x0b\x09SUBSCRIBEA"  # ZMTP 3.1 command
        + b"\x00\x02\x01B"  # legacy form
        + command_frame(b"CANCEL", b"A")
        + b"\x00\x02\x00B"
    )
    events = deliver(xpub, data, byte_at_a_time=byte_at_a_time)
    assert received(events) == [[b"\x01A"], [b"\x01B"], [b"\x00A"], [b"\x00B"]]


# ------------------------------------------------------------------ transforming mechanism


class BoxingNull(NullMechanism):
    """NULL with a toy box (flags byte + body reversed) to exercise the transform path."""

    transforms_traffic = True

    def encode_frame(self, flags: int, body: bytes) -> bytes:
        return bytes((flags,)) + body[::-1]

    def decode_frame(self, body: bytes) -> tuple[int, bytes]:
        if not body:
            raise ProtocolViolation(
                "BOX: empty frame", ProtocolError.ZMTP_MALFORMED_COMMAND_MESSAGE
            )
        return body[0], body[1:][::-1]


def boxing(socket_type: int, as_server: bool) -> ZmtpConnection:
    props = ZmtpConnection.local_properties(socket_type, b"")
    return ZmtpConnection(
        socket_type=socket_type, mechanism=BoxingNull(as_server=as_server, properties=props)
    )


def test_transforming_mechanism_boxes_all_traffic(byte_at_a_time: bool) -> None:
    sub, pub = boxing(ST.SUB, False), boxing(ST.PUB, True)
    pump(sub, pub, byte_at_a_time=byte_at_a_time)
    assert sub.state == pub.state == "ready"
    sub.send_message([b"\x01news"])
    sub.send_ping(200, b"hi")
    assert wire_frames(sub.data_to_send()) == [
        (0, b"\x02" + encode_command(b"SUBSCRIBE", b"news")[::-1]),
        (0, b"\x02" + encode_command(b"PING", b"\x00\x02hi")[::-1]),
    ]
    sub.send_message([b"\x01news"])
    sub.send_ping(200, b"hi")
    pub.send_messages([[b"news", b"", b"body"], [b"x" * 300]])
    events_sub, events_pub = pump(sub, pub, byte_at_a_time=byte_at_a_time)
    assert received(events_pub) == [[b"\x01news"]]
    assert of_type(PingReceived, events_pub) == [PingReceived(200)]
    assert received(events_sub) == [[b"news", b"", b"body"], [b"x" * 300]]


def test_transforming_mechanism_failure_in_decode() -> None:
    conn = boxing(ST.DEALER, False)
    conn.receive_data(peer_greeting() + ready_frame(b"ROUTER"))
    fail = failure(conn.receive_data(b"\x00\x00"))
    assert fail.error.value == ProtocolError.ZMTP_MALFORMED_COMMAND_MESSAGE


# ------------------------------------------------------------------ libzmq 4.3 PLAIN ERROR quirk


class PlainNamedNull(NullMechanism):
    """NULL's handshake under the name PLAIN, to see how ERROR is spelled for PLAIN peers."""

    name = b"PLAIN"


def test_error_under_plain_uses_libzmq_spelling() -> None:
    conn = ZmtpConnection(
        socket_type=ST.PUSH, mechanism=PlainNamedNull(properties={"Socket-Type": b"PUSH"})
    )
    conn.data_to_send()
    fail = failure(conn.receive_data(peer_greeting(b"PLAIN") + ready_frame(b"PUB")))
    assert fail.error.value == ProtocolError.ZMTP_INVALID_METADATA
    data = b"".join(conn.data_to_send())
    assert data.endswith(b"\x04\x19^RROR\x13Invalid socket type")


@pytest.mark.parametrize("body", [b"^RROR\x03400", encode_command(b"ERROR", b"\x03400")])
def test_both_error_spellings_accepted(body: bytes, byte_at_a_time: bool) -> None:
    conn = null_connection(ST.DEALER)
    data = peer_greeting() + encode_frame(COMMAND, body)
    fail = failure(deliver(conn, data, byte_at_a_time=byte_at_a_time))
    assert isinstance(fail.error, AuthenticationFailure) and fail.error.status == 400
