"""The 64-byte ZMTP 3 greeting: encoding and the incremental parser."""

from __future__ import annotations

import pytest

from securemq.constants import ProtocolError
from securemq.zmtp.errors import ProtocolViolation
from securemq.zmtp.greeting import Greeting, GreetingParser, encode_greeting


def parse(data: bytes, bytewise: bool) -> tuple[GreetingParser, bytes | None]:
    parser = GreetingParser()
    if not bytewise:
        return parser, parser.feed(data)
    rest: bytes | None = None
    for index in range(len(data)):
        result = parser.feed(data[index : index + 1])
        if result is not None:
            rest = (rest or b"") + result
    return parser, rest


def test_encoding_layout() -> None:
    wire = encode_greeting(b"CURVE", True)
    assert len(wire) == 64
    assert wire[:10] == b"\xff" + bytes(8) + b"\x7f"
    assert wire[10:12] == b"\x03\x01"
    assert wire[12:32] == b"CURVE" + bytes(15)
    assert wire[32] == 1
    assert wire[33:] == bytes(31)
    assert encode_greeting(b"NULL", False)[32] == 0
    with pytest.raises(ValueError):
        encode_greeting(b"X" * 21, False)


def test_round_trip_with_trailing_bytes(byte_at_a_time: bool) -> None:
    parser, rest = parse(encode_greeting(b"PLAIN", True) + b"\x04\x00more", byte_at_a_time)
    assert parser.greeting == Greeting(version=(3, 1), mechanism=b"PLAIN", as_server=True)
    assert rest == b"\x04\x00more"


def test_incomplete_greeting_returns_none() -> None:
    parser = GreetingParser()
    assert parser.feed(encode_greeting(b"NULL", False)[:63]) is None
    assert parser.greeting is None
    assert parser.feed(b"\x00") == b""


def libzmq_style(minor: int) -> bytes:
    """What libzmq sends: signature padding 00..01, as-server never set."""
    return (
        b"\xff" + bytes(7) + b"\x01\x7f" + bytes((3, minor)) + b"NULL".ljust(20, b"\0") + bytes(32)
    )


@pytest.mark.parametrize("minor", [0, 1, 7])
def test_accepts_libzmq_signature_and_any_minor(minor: int, byte_at_a_time: bool) -> None:
    parser, rest = parse(libzmq_style(minor), byte_at_a_time)
    assert parser.greeting == Greeting(version=(3, minor), mechanism=b"NULL", as_server=False)
    assert rest == b""


def test_zmtp10_rejected_on_first_byte() -> None:
    parser = GreetingParser()
    with pytest.raises(ProtocolViolation) as info:
        parser.feed(b"\x01")
    assert "not ZMTP 3 (first byte 0x01)" in str(info.value)
    assert info.value.code == ProtocolError.ZMTP_UNSPECIFIED
    with pytest.raises(ProtocolViolation, match="first byte 0x01"):
        GreetingParser().feed(b"\x01\x00")


def test_signature_byte_9_must_have_bit_0() -> None:
    parser = GreetingParser()
    assert parser.feed(b"\xff" + bytes(8)) is None
    with pytest.raises(ProtocolViolation, match="byte 9 is 0x7e"):
        parser.feed(b"\x7e")


@pytest.mark.parametrize("major", [1, 2])
def test_old_major_version_rejected_at_once(major: int) -> None:
    parser = GreetingParser()
    assert parser.feed(b"\xff" + bytes(8) + b"\x7f") is None
    with pytest.raises(ProtocolViolation, match=f"major version {major}"):
        parser.feed(bytes((major,)))


def test_mechanism_name_stops_at_first_nul() -> None:
    wire = bytearray(encode_greeting(b"NULL", False))
    wire[12:32] = b"AB\x00CD" + bytes(15)
    parser = GreetingParser()
    assert parser.feed(bytes(wire)) == b""
    assert parser.greeting is not None
    assert parser.greeting.mechanism == b"AB"
