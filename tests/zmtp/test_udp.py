"""The udp:// datagram codec of RADIO/DISH and DGRAM (libzmq 4.3.5 udp_engine.cpp)."""

from __future__ import annotations

import errno

import pytest
from hypothesis import given
from hypothesis import strategies as st

from securemq.zmtp.errors import ProtocolViolation, UsageError
from securemq.zmtp.udp import (
    GROUP_MAX_LENGTH,
    LIBZMQ_SAFE_GROUP_MAX,
    MAX_DATAGRAM,
    DatagramTooLarge,
    MalformedDatagram,
    decode_datagram,
    decode_message,
    dgram_address_frame,
    encode_datagram,
    encode_message,
    parse_dgram_address,
)


def test_layout_matches_libzmq() -> None:
    # Captured from a libzmq 4.3.5 RADIO: radio.send(b"hello", group="grp").
    assert encode_datagram(b"grp", b"hello") == b"\x03grphello"
    assert encode_datagram(b"", b"") == b"\x00"
    assert decode_datagram(b"\x03grphello") == (b"grp", b"hello")
    assert decode_datagram(b"\x00") == (b"", b"")
    assert decode_datagram(b"\x02g1") == (b"g1", b"")
    assert decode_datagram(bytearray(b"\x01gX")) == (b"g", b"X")


def test_message_form_is_the_pipe_message() -> None:
    assert encode_message([b"TV", b"Friends"]) == b"\x02TVFriends"
    assert decode_message(b"\x02TVFriends") == [b"TV", b"Friends"]
    for bad in ([b"only"], [b"a", b"b", b"c"], []):
        with pytest.raises(UsageError):
            encode_message(bad)


def test_group_limits() -> None:
    group = b"g" * GROUP_MAX_LENGTH
    assert decode_datagram(encode_datagram(group, b"x")) == (group, b"x")
    with pytest.raises(UsageError):
        encode_datagram(b"g" * 256, b"")
    # Groups of 128+ bytes abort a libzmq 4.3.5 DISH: refusable on request.
    assert encode_datagram(b"g" * 127, b"", group_limit=LIBZMQ_SAFE_GROUP_MAX)[0] == 127
    with pytest.raises(UsageError):
        encode_datagram(b"g" * 128, b"", group_limit=LIBZMQ_SAFE_GROUP_MAX)
    # Unsigned on receipt (libzmq's signed char is its bug, not the format).
    assert decode_datagram(bytes((200,)) + b"g" * 200 + b"body") == (b"g" * 200, b"body")


def test_size_limit_both_ways() -> None:
    body = b"z" * (MAX_DATAGRAM - 3)
    assert len(encode_datagram(b"g1", body)) == MAX_DATAGRAM
    with pytest.raises(DatagramTooLarge) as err:
        encode_datagram(b"g1", body + b"z")
    assert err.value.value == errno.EMSGSIZE
    assert decode_datagram(b"\x02g1" + body) == (b"g1", body)
    with pytest.raises(MalformedDatagram):
        decode_datagram(b"\x02g1" + body + b"z")
    assert decode_datagram(b"\x02g1" + body + b"z", max_size=MAX_DATAGRAM + 1)[1] == body + b"z"


@pytest.mark.parametrize(
    "datagram", [b"", b"\x05g1", b"\x01", b"\xff" + b"g" * 254], ids=["empty", "short", "no-group",
                                                                      "255-short"]
)
def test_malformed_datagrams(datagram: bytes) -> None:
    with pytest.raises(MalformedDatagram) as err:
        decode_datagram(datagram)
    assert isinstance(err.value, ProtocolViolation)


@given(st.binary(max_size=255), st.binary(max_size=MAX_DATAGRAM - 256))
def test_round_trip(group: bytes, body: bytes) -> None:
    assert decode_datagram(encode_datagram(group, body)) == (group, body)


@given(st.binary(max_size=600))
def test_decoding_arbitrary_bytes_never_crashes(data: bytes) -> None:
    try:
        group, body = decode_datagram(data)
    except MalformedDatagram:
        return
    assert bytes((len(group),)) + group + body == data


# -- DGRAM -------------------------------------------------------------------------------------
def test_dgram_address_frames() -> None:
    assert dgram_address_frame("127.0.0.1", 5555) == b"127.0.0.1:5555\x00"
    assert parse_dgram_address(b"127.0.0.1:5555\x00") == ("127.0.0.1", 5555)
    assert parse_dgram_address(b"10.1.2.3:1") == ("10.1.2.3", 1)
    assert parse_dgram_address(b"1.2.3.4:65535") == ("1.2.3.4", 65535)


@pytest.mark.parametrize(
    "frame",
    [b"", b"127.0.0.1", b"127.0.0.1:0", b"127.0.0.1:", b":5555", b"127.0.0.1:65536",
     b"127.0.0.1:-1", b"host.example:80", b"255.255.255.255:80", b"::1:80", b"1.2.3.4:8x",
     b"\xff\xfe:80"],
)
def test_dgram_addresses_libzmq_discards(frame: bytes) -> None:
    assert parse_dgram_address(frame) is None
