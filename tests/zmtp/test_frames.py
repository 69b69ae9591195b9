"""Frame encoding and the incremental frame decoder."""

from __future__ import annotations

import pytest

from securemq.constants import ProtocolError
from securemq.zmtp.errors import ProtocolViolation
from securemq.zmtp.frames import (
    COMMAND,
    MORE,
    FrameDecoder,
    encode_frame,
    encode_message,
    frame_header,
)


def feed_all(decoder: FrameDecoder, data: bytes, bytewise: bool) -> list[tuple[int, bytes]]:
    if not bytewise:
        return decoder.feed(data)
    frames: list[tuple[int, bytes]] = []
    for index in range(len(data)):
        frames.extend(decoder.feed(data[index : index + 1]))
    return frames


def test_short_and_long_boundary() -> None:
    assert encode_frame(0, b"x" * 255)[:2] == b"\x00\xff"
    assert len(encode_frame(0, b"x" * 255)) == 257
    long_frame = encode_frame(MORE, b"x" * 256)
    assert long_frame[:9] == b"\x03" + (256).to_bytes(8, "big")
    assert len(long_frame) == 9 + 256
    assert encode_frame(COMMAND, b"") == b"\x04\x00"
    # LONG is chosen by size, never taken from the caller's flags.
    assert frame_header(0x02, 1) == b"\x00\x01"


def test_encode_message_sets_more_on_all_but_last() -> None:
    wire = encode_message([b"a", b"", b"y" * 300])
    assert wire == b"\x01\x01a" + b"\x01\x00" + b"\x02" + (300).to_bytes(8, "big") + b"y" * 300
    with pytest.raises(ValueError):
        encode_message([])


@pytest.mark.parametrize("size", [0, 1, 254, 255, 256, 257, 70000])
def test_round_trip_sizes(size: int, byte_at_a_time: bool) -> None:
    body = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
    wire = encode_frame(MORE, body) + encode_frame(COMMAND, b"cmd") + encode_frame(0, body)
    frames = feed_all(FrameDecoder(), wire, byte_at_a_time)
    assert frames == [(MORE, body), (COMMAND, b"cmd"), (0, body)]


def test_many_frames_in_one_chunk_and_split_anywhere() -> None:
    bodies = [bytes([i % 251]) * (i % 300) for i in range(200)]
    wire = b"".join(encode_frame(MORE if i % 3 else 0, b) for i, b in enumerate(bodies))
    expected = [(MORE if i % 3 else 0, b) for i, b in enumerate(bodies)]
    assert FrameDecoder().feed(wire) == expected
    for cut in (1, 2, 5, 9, 10, 257, len(wire) // 2, len(wire) - 1):
        decoder = FrameDecoder()
        assert decoder.feed(wire[:cut]) + decoder.feed(wire[cut:]) == expected


def test_unknown_flag_bits_are_ignored() -> None:
    frames = FrameDecoder().feed(b"\xf1\x01a" + b"\xf8\x01b")
    assert frames == [(MORE, b"a"), (0, b"b")]


def test_oversized_declared_frame_rejected_from_header_alone() -> None:
    decoder = FrameDecoder(max_frame_size=1000)
    header = b"\x02" + (2**40).to_bytes(8, "big")
    with pytest.raises(ProtocolViolation) as info:
        decoder.feed(header)
    assert "frame of 1099511627776 bytes exceeds MAXMSGSIZE 1000" in str(info.value)
    assert info.value.code == ProtocolError.ZMTP_UNSPECIFIED


def test_oversized_rejected_bytewise_at_last_header_byte() -> None:
    decoder = FrameDecoder(max_frame_size=10, limit_name="the test limit")
    header = b"\x00\x0b"
    assert decoder.feed(header[:1]) == []
    with pytest.raises(ProtocolViolation, match="11 bytes exceeds the test limit 10"):
        decoder.feed(header[1:])


def test_huge_declared_frame_without_limit_allocates_nothing_up_front() -> None:
    decoder = FrameDecoder()
    assert decoder.feed(b"\x02" + (2**40).to_bytes(8, "big") + b"abc") == []
    assert decoder.pending
    # Only what arrived is held.
    assert decoder._parts == [b"abc"]


def test_limit_is_exact_and_changeable_between_feeds() -> None:
    decoder = FrameDecoder(max_frame_size=3)
    assert decoder.feed(encode_frame(0, b"abc")) == [(0, b"abc")]
    with pytest.raises(ProtocolViolation):
        decoder.feed(encode_frame(0, b"abcd"))
    decoder = FrameDecoder(max_frame_size=3)
    decoder.max_frame_size = 4
    assert decoder.feed(encode_frame(0, b"abcd")) == [(0, b"abcd")]


def test_max_frames_keeps_the_rest_buffered() -> None:
    wire = encode_frame(COMMAND, b"one") + encode_frame(0, b"two") + b"\x00"
    decoder = FrameDecoder()
    assert decoder.feed(wire, 1) == [(COMMAND, b"one")]
    assert decoder.feed(b"", 1) == [(0, b"two")]
    assert decoder.feed(b"", 1) == []
    assert decoder.feed(b"\x01z") == [(0, b"z")]


def test_feed_messages_groups_by_more(byte_at_a_time: bool) -> None:
    wire = (
        encode_message([b"a", b"b"])
        + encode_frame(COMMAND, b"\x04PING\x00\x00")
        + encode_message([b""])
        + encode_message([b"x" * 300, b"y"])
        + encode_frame(MORE, b"unfinished")
    )
    decoder = FrameDecoder()
    out: list[list[bytes]] = []
    seen: list[tuple[bytes, int]] = []

    def on_command(body: bytes, sink: list[list[bytes]]) -> None:
        seen.append((body, len(sink)))

    chunks = [wire[i : i + 1] for i in range(len(wire))] if byte_at_a_time else [wire]
    for chunk in chunks:
        decoder.feed_messages(chunk, out, on_command)
    assert out == [[b"a", b"b"], [b""], [b"x" * 300, b"y"]]
    # The command came after the first message, in stream order.
    assert seen == [(b"\x04PING\x00\x00", 1)]
    decoder.feed_messages(encode_frame(0, b"end"), out, on_command)
    assert out[-1] == [b"unfinished", b"end"]


def test_feed_messages_checks_the_limit() -> None:
    decoder = FrameDecoder(max_frame_size=5)
    out: list[list[bytes]] = []
    with pytest.raises(ProtocolViolation, match="MAXMSGSIZE 5"):
        decoder.feed_messages(
            encode_frame(0, b"ok") + b"\x02" + (6).to_bytes(8, "big"), out, lambda body, sink: None
        )
    assert out == [[b"ok"]]


# Streams of single-frame messages where equal short frames repeat: feed_messages takes such
# runs with strided slices (frames._take_run). Each stream mixes runs with what must end one.
def _runs_of(size: int, count: int) -> list[list[bytes]]:
    return [[bytes([(index + size) % 256]) * size] for index in range(count)]


RUN_STREAMS = {
    "one long run of 1 B": _runs_of(1, 1000),
    "empty bodies": _runs_of(0, 700),
    "255 B bodies": _runs_of(255, 300),
    "the size changes": _runs_of(1, 40) + _runs_of(2, 40) + _runs_of(64, 40) + _runs_of(1, 300),
    "a multipart message inside": [*_runs_of(3, 50), [b"a", b"b"], *_runs_of(3, 50)],
    "a long frame inside": [*_runs_of(1, 30), [b"L" * 300], *_runs_of(1, 30)],
    "body bytes that look like headers": [[b"\x00\x01"] for _ in range(100)]
    + [[b"\x01"] for _ in range(100)],
    "runs just under and over the minimum": _runs_of(1, 15) + _runs_of(2, 16) + _runs_of(3, 17),
    "alternating sizes": [[b"x" * (1 + index % 2)] for index in range(200)],
}


@pytest.mark.parametrize("stream", list(RUN_STREAMS), ids=list(RUN_STREAMS))
def test_feed_messages_takes_runs_of_equal_frames_exactly(stream: str) -> None:
    messages = RUN_STREAMS[stream]
    wire = b"".join(encode_message(msg) for msg in messages)
    command = encode_frame(COMMAND, b"\x04PING\x00\x00")
    cut_points = [0, 1, 2, 3, 17, len(wire) // 3, len(wire) // 2, len(wire) - 1, len(wire)]
    for cut in cut_points:
        # Whole, split anywhere (a run's last frame cut in two), and with a command after.
        decoder = FrameDecoder()
        out: list[list[bytes]] = []
        commands: list[int] = []

        def on_command(body: bytes, sink: list[list[bytes]], seen: list[int] = commands) -> None:
            seen.append(len(sink))

        for chunk in (wire[:cut], wire[cut:], command, wire):
            decoder.feed_messages(chunk, out, on_command)
        assert out == messages + messages, f"cut at {cut}"
        assert commands == [len(messages)]
        assert not decoder.pending
    # Every message is its own list: a receiver may change one without touching another.
    out = []
    FrameDecoder().feed_messages(wire, out, lambda body, sink: None)
    assert len({id(msg) for msg in out}) == len(out)


def test_feed_messages_runs_one_byte_at_a_time_match_whole() -> None:
    wire = b"".join(encode_message(msg) for msg in RUN_STREAMS["the size changes"])
    whole: list[list[bytes]] = []
    FrameDecoder().feed_messages(wire, whole, lambda body, sink: None)
    bytewise: list[list[bytes]] = []
    decoder = FrameDecoder()
    for index in range(len(wire)):
        decoder.feed_messages(wire[index : index + 1], bytewise, lambda body, sink: None)
    assert bytewise == whole == RUN_STREAMS["the size changes"]


def test_feed_messages_runs_respect_a_limit_a_short_frame_can_exceed() -> None:
    # With MAXMSGSIZE below 255 every frame is checked, so a run cannot skip the check.
    wire = b"".join(encode_message([b"x"]) for _ in range(50)) + encode_message([b"y" * 9])
    decoder = FrameDecoder(max_frame_size=8)
    out: list[list[bytes]] = []
    with pytest.raises(ProtocolViolation, match="MAXMSGSIZE 8"):
        decoder.feed_messages(wire, out, lambda body, sink: None)
    assert out == [[b"x"]] * 50
