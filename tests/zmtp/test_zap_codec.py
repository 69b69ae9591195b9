"""The ZAP (RFC 27) codec: frames after the empty delimiter, libzmq's validation codes."""

from __future__ import annotations

import errno

import pytest
from hypothesis import given
from hypothesis import strategies as st

from securemq.constants import Event, ProtocolError
from securemq.zmtp.errors import AuthenticationFailure, ProtocolViolation
from securemq.zmtp.mechanisms.base import ZapReplyData
from securemq.zmtp.metadata import encode_metadata
from securemq.zmtp.zap import (
    ZapRequest,
    decode_reply,
    decode_request,
    encode_reply,
    encode_request,
    failure_for_error_command,
    failure_for_status,
)


def good_reply(**changes: bytes) -> list[bytes]:
    frames = {
        "version": b"1.0",
        "request_id": b"1",
        "status": b"200",
        "text": b"OK",
        "user": b"alice",
        "metadata": encode_metadata({"Hello": b"World"}),
    }
    frames.update(changes)
    return list(frames.values())


def test_request_frames_in_libzmq_order() -> None:
    frames = encode_request(
        domain=b"global",
        address=b"127.0.0.1",
        routing_id=b"IDENT",
        mechanism=b"PLAIN",
        credentials=[b"admin", b"password"],
    )
    assert frames == [
        b"1.0",
        b"1",
        b"global",
        b"127.0.0.1",
        b"IDENT",
        b"PLAIN",
        b"admin",
        b"password",
    ]
    assert decode_request(frames) == ZapRequest(
        b"1.0", b"1", b"global", b"127.0.0.1", b"IDENT", b"PLAIN", [b"admin", b"password"]
    )


def test_null_request_has_no_credentials() -> None:
    frames = encode_request(domain=b"", address=b"::1", routing_id=b"", mechanism=b"NULL")
    assert len(frames) == 6
    assert decode_request(frames).credentials == []


@pytest.mark.parametrize(
    "frames",
    [[], [b"1.0", b"1", b"d", b"a", b"r"], [b"2.0", b"1", b"d", b"a", b"r", b"NULL"]],
)
def test_malformed_request_is_value_error(frames: list[bytes]) -> None:
    with pytest.raises(ValueError):
        decode_request(frames)


def test_reply_round_trip() -> None:
    frames = encode_reply(
        request_id=b"1",
        status_code=b"200",
        status_text=b"OK",
        user_id=b"u",
        metadata={"Hello": b"World"},
    )
    assert frames[:5] == [b"1.0", b"1", b"200", b"OK", b"u"]
    assert decode_reply(frames) == ZapReplyData(b"200", b"OK", b"u", {"Hello": b"World"})
    assert decode_reply(encode_reply(request_id=b"7", status_code=b"400"), b"7").metadata == {}


def test_encode_reply_refuses_bad_status() -> None:
    with pytest.raises(ValueError):
        encode_reply(request_id=b"1", status_code=b"201")


@pytest.mark.parametrize(
    ("frames", "code"),
    [
        (good_reply()[:5], ProtocolError.ZAP_MALFORMED_REPLY),
        ([*good_reply(), b"extra"], ProtocolError.ZAP_MALFORMED_REPLY),
        ([b"", *good_reply()], ProtocolError.ZAP_MALFORMED_REPLY),  # delimiter not expected
        (good_reply(version=b"2.0"), ProtocolError.ZAP_BAD_VERSION),
        (good_reply(request_id=b"2"), ProtocolError.ZAP_BAD_REQUEST_ID),
        (good_reply(status=b"201"), ProtocolError.ZAP_INVALID_STATUS_CODE),
        (good_reply(status=b"20"), ProtocolError.ZAP_INVALID_STATUS_CODE),
        (good_reply(metadata=b"\x05Hel"), ProtocolError.ZAP_INVALID_METADATA),
        (
            good_reply(metadata=b"\x05Hello\x00\x00\x00\x09World"),
            ProtocolError.ZAP_INVALID_METADATA,
        ),
    ],
)
def test_bad_replies(frames: list[bytes], code: ProtocolError) -> None:
    with pytest.raises(ProtocolViolation) as info:
        decode_reply(frames)
    assert info.value.value == code
    assert info.value.event == Event.HANDSHAKE_FAILED_PROTOCOL


@given(st.lists(st.binary(max_size=20), max_size=8))
def test_arbitrary_replies_only_raise_protocol_violations(frames: list[bytes]) -> None:
    try:
        reply = decode_reply(frames)
    except ProtocolViolation as exc:
        assert exc.value in {int(c) for c in ProtocolError if c.name.startswith("ZAP_")}
    else:
        assert reply.status_code in (b"200", b"300", b"400", b"500")


@pytest.mark.parametrize(("status", "reason"), [(b"300", None), (b"400", b"400"), (b"500", b"500")])
def test_failure_for_status(status: bytes, reason: bytes | None) -> None:
    assert failure_for_status("X", ZapReplyData(b"200", b"", b"", {})) is None
    failure = failure_for_status("X", ZapReplyData(status, b"", b"", {}))
    assert isinstance(failure, AuthenticationFailure)
    assert failure.status == int(status) and failure.error_reason == reason


def test_failure_for_error_command() -> None:
    auth = failure_for_error_command("X", b"\x03400")
    assert isinstance(auth, AuthenticationFailure) and auth.status == 400
    assert auth.reconnect is False
    other = failure_for_error_command("X", b"\x05nope!trailing")
    assert other.event == Event.HANDSHAKE_FAILED_NO_DETAIL and other.value == errno.EPROTO
    assert other.reconnect is False and "nope!" in other.message
    for bad in (b"", b"\x04400"):
        assert (
            failure_for_error_command("X", bad).value == ProtocolError.ZMTP_MALFORMED_COMMAND_ERROR
        )
    assert not isinstance(failure_for_error_command("X", b"\x03401"), AuthenticationFailure)
