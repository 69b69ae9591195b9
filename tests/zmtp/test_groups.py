"""RADIO/DISH over ZMTP: the JOIN/LEAVE and group-frame codec, and the RadioDishConnection
prototype pumped in memory (whole chunks and one byte at a time, NULL and CURVE)."""

from __future__ import annotations

import pytest

from securemq.constants import ProtocolError, SocketType
from securemq.zmtp.connection import ConnectionState
from securemq.zmtp.errors import ProtocolViolation, UsageError
from securemq.zmtp.events import ConnectionFailed, HandshakeComplete, MessagesReceived
from securemq.zmtp.frames import COMMAND, MORE, FrameDecoder
from securemq.zmtp.groups import (
    GroupCommand,
    check_group_message,
    encode_group_message,
    encode_join,
    encode_leave,
    join_frame,
    leave_frame,
    parse_group_command,
)
from securemq.zmtp.mechanisms.base import ZapReplyData
from securemq.zmtp.radio_dish_connection import RadioDishConnection
from tests.zmtp.draft_helpers import mechanism
from tests.zmtp.pump import deliver, of_type, pump

ST = SocketType


# -- the codec -------------------------------------------------------------------------------
def test_join_leave_bodies_match_libzmq() -> None:
    # Bytes seen from libzmq 4.3.5: dish_session_t::pull_msg.
    assert encode_join(b"grp") == b"\x04JOINgrp"
    assert encode_leave(b"grp") == b"\x05LEAVEgrp"
    assert join_frame(b"g0") == b"\x04\x07\x04JOINg0"
    assert leave_frame(b"") == b"\x04\x06\x05LEAVE"
    assert len(encode_join(b"a" * 255)) == 260
    with pytest.raises(UsageError):
        encode_join(b"a" * 256)
    with pytest.raises(UsageError):
        encode_leave(b"a" * 256)


def test_group_message_is_two_frames() -> None:
    assert encode_group_message(b"grp", b"hello") == b"\x01\x03grp\x00\x05hello"
    long_body = b"x" * 300
    frames = FrameDecoder().feed(encode_group_message(b"g", long_body))
    assert frames == [(MORE, b"g"), (0, long_body)]
    with pytest.raises(UsageError):
        encode_group_message(b"g" * 256, b"")


def test_parse_group_command() -> None:
    assert parse_group_command(b"\x04JOINTV") == (GroupCommand.JOIN, b"TV")
    assert parse_group_command(b"\x05LEAVE") == (GroupCommand.LEAVE, b"")
    assert parse_group_command(b"\x04PING\x00\x00") is None
    assert parse_group_command(b"\x09SUBSCRIBEx") is None
    assert parse_group_command(b"\x04JOIN" + b"a" * 255) == (GroupCommand.JOIN, b"a" * 255)
    with pytest.raises(ProtocolViolation) as err:
        parse_group_command(b"\x04JOIN" + b"a" * 256)  # libzmq's RADIO aborts on this one
    assert err.value.code == ProtocolError.ZMTP_MALFORMED_COMMAND_UNSPECIFIED


@pytest.mark.parametrize(
    "frames",
    [[b"g"], [b"g", b"a", b"b"], [], [b"g" * 256, b"body"]],
    ids=["lone", "three", "none", "long-group"],
)
def test_check_group_message_refuses_what_libzmq_refuses(frames: list[bytes]) -> None:
    with pytest.raises(ProtocolViolation):
        check_group_message(frames)


def test_check_group_message_accepts() -> None:
    assert check_group_message([b"", b""]) == (b"", b"")
    assert check_group_message([b"g" * 255, b"x"]) == (b"g" * 255, b"x")


# -- RadioDishConnection in memory -----------------------------------------------------------
def connected(
    name: str = "NULL", *, byte_at_a_time: bool = False
) -> tuple[RadioDishConnection, RadioDishConnection]:
    """(RADIO, DISH) through their handshake; the DISH connects, the RADIO is the server."""
    dish = RadioDishConnection(
        socket_type=ST.DISH, mechanism=mechanism(name, ST.DISH, server=False)
    )
    radio = RadioDishConnection(
        socket_type=ST.RADIO, mechanism=mechanism(name, ST.RADIO, server=True), accepted=True
    )
    events_d, events_r = pump(dish, radio, byte_at_a_time=byte_at_a_time)
    if name == "PLAIN":
        events_r += radio.zap_reply(ZapReplyData(b"200", b"OK", b"admin", {}))
        more_d, more_r = pump(dish, radio, byte_at_a_time=byte_at_a_time)
        events_d += more_d
        events_r += more_r
    assert len(of_type(HandshakeComplete, events_d)) == 1, events_d
    assert len(of_type(HandshakeComplete, events_r)) == 1, events_r
    return radio, dish


def received(events: list[object]) -> list[list[bytes]]:
    return [m for e in events if isinstance(e, MessagesReceived) for m in e.messages]


@pytest.mark.parametrize("name", ["NULL", "PLAIN", "CURVE"])
def test_join_message_leave_both_ways(name: str, byte_at_a_time: bool) -> None:
    radio, dish = connected(name, byte_at_a_time=byte_at_a_time)
    # DISH -> RADIO: the routing's one-frame JOIN/LEAVE messages go as commands.
    dish.send_messages([[b"\x04JOINTV"], [b"\x04JOINMovies"]])
    _, events_r = pump(dish, radio, byte_at_a_time=byte_at_a_time)
    assert received(events_r) == [[b"\x04JOINTV"], [b"\x04JOINMovies"]]
    # RADIO -> DISH: [group, body] is the two frames.
    radio.send_messages([[b"TV", b"Friends"], [b"Movies", b"x" * 70000]])
    events_d, _ = pump(dish, radio, byte_at_a_time=byte_at_a_time and name != "CURVE")
    assert received(events_d) == [[b"TV", b"Friends"], [b"Movies", b"x" * 70000]]
    # Data and a command in one batch keep their order.
    dish.send_messages([[b"\x05LEAVETV"], [b"not", b"a command"], [b"\x04JOINNews"]])
    _, events_r = pump(dish, radio)
    assert received(events_r) == [[b"\x05LEAVETV"], [b"not", b"a command"], [b"\x04JOINNews"]]


def test_wire_bytes_under_null() -> None:
    radio, dish = connected()
    dish.send_messages([[b"\x04JOINgrp"]])
    assert b"".join(dish.data_to_send()) == b"\x04\x08\x04JOINgrp"
    radio.send_messages([[b"grp", b"hello"]])
    assert b"".join(radio.data_to_send()) == b"\x01\x03grp\x00\x05hello"


def test_radio_takes_join_commands_from_the_wire(byte_at_a_time: bool) -> None:
    radio, _ = connected()
    events = deliver(radio, join_frame(b"g") + leave_frame(b"g"), byte_at_a_time=byte_at_a_time)
    assert received(events) == [[b"\x04JOINg"], [b"\x05LEAVEg"]]


def test_radio_refuses_an_overlong_join() -> None:
    radio, _ = connected()
    body = b"\x04JOIN" + b"a" * 256
    events = radio.receive_data(bytes((COMMAND | 0x02,)) + len(body).to_bytes(8, "big") + body)
    failed = of_type(ConnectionFailed, events)
    assert len(failed) == 1 and radio.state is ConnectionState.CLOSED


@pytest.mark.parametrize(
    "wire",
    [
        b"\x00\x02g1",  # a group frame without MORE
        b"\x03" + (256).to_bytes(8, "big") + b"a" * 256 + b"\x00\x01x",  # group of 256
        b"\x01\x02g1\x01\x01x\x00\x01y",  # three frames
        b"\x04\x07\x04JOINz",  # a JOIN sent to a DISH
    ],
    ids=["no-more", "long-group", "three-frames", "join-to-dish"],
)
def test_dish_drops_the_connection_like_libzmq(wire: bytes) -> None:
    _, dish = connected()
    events = dish.receive_data(b"\x01\x02g0\x00\x02ok" + wire + b"\x01\x02g0\x00\x05after")
    # What came before the bad message is delivered; nothing after; the connection fails.
    assert received(events) == [[b"g0", b"ok"]]
    assert len(of_type(ConnectionFailed, events)) == 1
    assert dish.state is ConnectionState.CLOSED
    assert dish.receive_data(b"\x01\x02g0\x00\x01z") == []


def test_dish_accepts_empty_group_and_body() -> None:
    _, dish = connected()
    assert received(dish.receive_data(b"\x01\x00\x00\x00")) == [[b"", b""]]


def test_dish_refuses_sending_an_overlong_join_and_before_ready() -> None:
    _, dish = connected()
    with pytest.raises(UsageError):
        dish.send_messages([[b"\x04JOIN" + b"a" * 256]])
    fresh = RadioDishConnection(
        socket_type=ST.DISH, mechanism=mechanism("NULL", ST.DISH, server=False)
    )
    with pytest.raises(UsageError):
        fresh.send_messages([[b"\x04JOINg"]])


def test_only_radio_and_dish() -> None:
    with pytest.raises(UsageError):
        RadioDishConnection(
            socket_type=ST.PUB, mechanism=mechanism("NULL", ST.PUB, server=False)
        )
