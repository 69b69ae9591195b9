"""The NULL mechanism: alone, and through ZmtpConnection for every ZAP path (REFERENCE table)."""

from __future__ import annotations

import errno

import pytest

from securemq.constants import Event as MonitorEvent
from securemq.constants import ProtocolError, SocketType
from securemq.zmtp.commands import encode_command
from securemq.zmtp.errors import (
    AuthenticationFailure,
    NoDetailFailure,
    ProtocolViolation,
    UsageError,
)
from securemq.zmtp.events import (
    ConnectionFailed,
    HandshakeComplete,
    MessagesReceived,
    ZapRequestNeeded,
)
from securemq.zmtp.frames import COMMAND, FrameDecoder
from securemq.zmtp.mechanisms.base import ZapReplyData, ZapRequestData, ZapSettings
from securemq.zmtp.mechanisms.null import NullMechanism
from securemq.zmtp.metadata import encode_metadata
from tests.zmtp.pump import deliver, null_connection, of_type, pump

ST = SocketType
DEALER = {"Socket-Type": b"DEALER", "Identity": b"me"}
HANDLER = ZapSettings(handler_present=True, domain=b"TEST")


def ready_body(**props: bytes) -> bytes:
    return encode_command(b"READY", encode_metadata(props))


def reply(status: bytes, user_id: bytes = b"", **meta: bytes) -> ZapReplyData:
    return ZapReplyData(
        status_code=status, status_text=b"text", user_id=user_id, metadata=dict(meta)
    )


# ------------------------------------------------------------------ the mechanism alone


def test_client_sends_ready_once_and_becomes_ready() -> None:
    mech = NullMechanism(properties=DEALER)
    assert mech.name == b"NULL"
    assert mech.next_commands() == [ready_body(**DEALER)]
    assert mech.next_commands() == []
    assert not mech.ready
    mech.process_command(ready_body(**{"Socket-Type": b"ROUTER", "X-Extra": b"1"}))
    assert mech.ready
    assert mech.peer_properties == {"Socket-Type": b"ROUTER", "X-Extra": b"1"}
    assert mech.zap_request is None


def test_ready_received_before_sent() -> None:
    mech = NullMechanism(as_server=True, properties=DEALER)
    mech.process_command(ready_body(**{"Socket-Type": b"DEALER"}))
    assert not mech.ready
    mech.next_commands()
    assert mech.ready


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (encode_command(b"HELLO"), ProtocolError.ZMTP_UNEXPECTED_COMMAND),
        (encode_command(b"ERROR", b"\x03400"), ProtocolError.ZMTP_UNEXPECTED_COMMAND),
        (encode_command(b"READY", b"\x05Sock"), ProtocolError.ZMTP_INVALID_METADATA),
        (encode_command(b"READY", b"\x01X\x00\x00\x00\x09ab"), ProtocolError.ZMTP_INVALID_METADATA),
        (ready_body(Other=b"x"), ProtocolError.ZMTP_INVALID_METADATA),  # no Socket-Type
        (b"", ProtocolError.ZMTP_MALFORMED_COMMAND_UNSPECIFIED),
    ],
)
def test_bad_commands(body: bytes, code: int) -> None:
    mech = NullMechanism(properties=DEALER)
    mech.next_commands()
    with pytest.raises(ProtocolViolation) as info:
        mech.process_command(body)
    assert info.value.code == code
    assert not mech.ready


def test_second_ready_is_unexpected() -> None:
    mech = NullMechanism(properties=DEALER)
    mech.process_command(ready_body(**{"Socket-Type": b"ROUTER"}))
    with pytest.raises(ProtocolViolation, match='NULL: unexpected "READY"') as info:
        mech.process_command(ready_body(**{"Socket-Type": b"ROUTER"}))
    assert info.value.code == ProtocolError.ZMTP_UNEXPECTED_COMMAND


def test_incompatible_peer_names_the_step_and_sends_error() -> None:
    mech = NullMechanism(properties={"Socket-Type": b"PUSH"})
    with pytest.raises(ProtocolViolation) as info:
        mech.process_command(ready_body(**{"Socket-Type": b"PUB"}))
    assert info.value.message.startswith("NULL: READY: ")
    assert info.value.error_reason == b"Invalid socket type"


def test_server_with_domain_and_handler_asks_zap_before_ready() -> None:
    mech = NullMechanism(as_server=True, properties=DEALER, zap=HANDLER)
    assert mech.next_commands() == []
    assert mech.zap_request == ZapRequestData(b"NULL", [])
    assert mech.next_commands() == []
    mech.zap_reply(reply(b"200", b"anonymous", Hello=b"World"))
    assert mech.user_id == b"anonymous" and mech.zap_properties == {"Hello": b"World"}
    assert mech.next_commands() == [ready_body(**DEALER)]
    with pytest.raises(UsageError):
        mech.zap_reply(reply(b"200"))


@pytest.mark.parametrize(
    ("zap", "as_server"),
    [
        (ZapSettings(), True),  # no domain: ZAP never asked
        (ZapSettings(handler_present=True), True),  # handler but no domain
        (ZapSettings(domain=b"TEST"), True),  # domain without handler: accepted (legacy)
        (HANDLER, False),  # the connecting side never asks
    ],
)
def test_no_zap_request(zap: ZapSettings, as_server: bool) -> None:
    mech = NullMechanism(as_server=as_server, properties=DEALER, zap=zap)
    assert mech.next_commands() == [ready_body(**DEALER)]
    assert mech.zap_request is None
    with pytest.raises(UsageError):
        mech.zap_reply(reply(b"200"))


def test_enforced_domain_without_handler_fails_no_detail_efault() -> None:
    mech = NullMechanism(
        as_server=True, properties=DEALER, zap=ZapSettings(domain=b"TEST", enforce=True)
    )
    with pytest.raises(NoDetailFailure) as info:
        mech.next_commands()
    assert info.value.value == errno.EFAULT
    assert info.value.event == MonitorEvent.HANDSHAKE_FAILED_NO_DETAIL


# ------------------------------------------------------------------ ZAP through the connection


def test_zap_200_completes_with_user_id_and_metadata(byte_at_a_time: bool) -> None:
    client = null_connection(ST.DEALER, routing_id=b"cli")
    server = null_connection(ST.DEALER, as_server=True, zap=HANDLER)
    events_c, events_s = pump(client, server, byte_at_a_time=byte_at_a_time)
    assert of_type(ZapRequestNeeded, events_s) == [ZapRequestNeeded(b"NULL", [])]
    assert not of_type(HandshakeComplete, events_s + events_c)
    assert server.state == "handshake"
    events = server.zap_reply(reply(b"200", b"anonymous", Hello=b"World"))
    (done,) = of_type(HandshakeComplete, events)
    assert done.user_id == b"anonymous"
    assert done.zap_properties == {"Hello": b"World"}
    assert done.peer_properties["Identity"] == b"cli"
    events_c, _ = pump(client, server, byte_at_a_time=byte_at_a_time)
    assert len(of_type(HandshakeComplete, events_c)) == 1
    client.send_message([b"hi"])
    _, events_s = pump(client, server, byte_at_a_time=byte_at_a_time)
    assert events_s == [MessagesReceived([[b"hi"]])]


def test_zap_300_fails_server_silently(byte_at_a_time: bool) -> None:
    client = null_connection(ST.DEALER)
    server = null_connection(ST.DEALER, as_server=True, zap=HANDLER)
    pump(client, server, byte_at_a_time=byte_at_a_time)
    (fail,) = server.zap_reply(reply(b"300"))
    assert isinstance(fail, ConnectionFailed) and fail.during_handshake
    assert isinstance(fail.error, AuthenticationFailure) and fail.error.status == 300
    assert server.data_to_send() == []  # no ERROR for 300
    assert server.state == "closed"


@pytest.mark.parametrize("status", [b"400", b"500"])
def test_zap_400_500_send_error_and_client_stops(status: bytes, byte_at_a_time: bool) -> None:
    client = null_connection(ST.DEALER)
    server = null_connection(ST.DEALER, as_server=True, zap=HANDLER)
    pump(client, server, byte_at_a_time=byte_at_a_time)
    (fail,) = server.zap_reply(reply(status))
    assert isinstance(fail, ConnectionFailed)
    assert isinstance(fail.error, AuthenticationFailure)
    assert fail.error.status == int(status) and fail.error.error_reason == status
    out = server.data_to_send()
    assert FrameDecoder().feed(b"".join(out)) == [
        (COMMAND, encode_command(b"ERROR", b"\x03" + status))
    ]
    events_c = deliver(client, b"".join(out), byte_at_a_time=byte_at_a_time)
    (client_fail,) = of_type(ConnectionFailed, events_c)
    assert isinstance(client_fail.error, AuthenticationFailure)
    assert client_fail.error.status == int(status)
    assert client_fail.error.reconnect is False


def test_zap_failed_ends_the_connection() -> None:
    client = null_connection(ST.DEALER)
    server = null_connection(ST.DEALER, as_server=True, zap=HANDLER)
    pump(client, server)
    error = NoDetailFailure("ZAP: handler went away", errno.EPIPE)
    assert server.zap_failed(error) == [ConnectionFailed(error, during_handshake=True)]
    assert server.data_to_send() == []
    assert server.zap_failed(error) == []
    assert server.zap_reply(reply(b"200")) == []  # late reply after failure: ignored


def test_zap_reply_without_request_is_usage_error() -> None:
    client = null_connection(ST.DEALER)
    server = null_connection(ST.DEALER, as_server=True)
    pump(client, server)
    with pytest.raises(UsageError):
        server.zap_reply(reply(b"200"))


@pytest.mark.parametrize(
    "zap", [ZapSettings(), ZapSettings(domain=b"TEST"), ZapSettings(handler_present=True)]
)
def test_no_zap_paths_complete_directly(zap: ZapSettings, byte_at_a_time: bool) -> None:
    client = null_connection(ST.DEALER)
    server = null_connection(ST.DEALER, as_server=True, zap=zap)
    events_c, events_s = pump(client, server, byte_at_a_time=byte_at_a_time)
    assert not of_type(ZapRequestNeeded, events_s)
    assert len(of_type(HandshakeComplete, events_c)) == len(of_type(HandshakeComplete, events_s))
    assert server.state == client.state == "ready"


def test_enforced_domain_without_handler_fails_the_connection(byte_at_a_time: bool) -> None:
    client = null_connection(ST.DEALER)
    server = null_connection(
        ST.DEALER, as_server=True, zap=ZapSettings(domain=b"TEST", enforce=True)
    )
    events_c, events_s = pump(client, server, byte_at_a_time=byte_at_a_time)
    (fail,) = of_type(ConnectionFailed, events_s)
    assert isinstance(fail.error, NoDetailFailure) and fail.error.value == errno.EFAULT
    assert not of_type(ConnectionFailed, events_c)  # silently dropped, as libzmq
    assert client.state == "handshake"
