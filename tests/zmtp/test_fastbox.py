"""The ctypes path for CURVE MESSAGE boxes must agree with PyNaCl byte for byte."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl.bindings import crypto_box_easy_afternm, crypto_box_open_easy_afternm

from securemq.zmtp.mechanisms.fastbox import FAST_BOX, BadMessage

pytestmark = pytest.mark.skipif(FAST_BOX is None, reason="libsodium not reachable via ctypes")

KEY, NONCE = bytes(range(32)), bytes(range(24))


def _expected_frame(flags: int, body: bytes, prefix: bytes, counter: int, key: bytes) -> bytes:
    short = counter.to_bytes(8, "big")
    command = b"\x07MESSAGE" + short + crypto_box_easy_afternm(
        bytes((flags,)) + body, prefix + short, key
    )
    size = len(command)
    header = bytes((0, size)) if size < 256 else b"\x02" + size.to_bytes(8, "big")
    return header + command


@settings(max_examples=100, deadline=None, derandomize=True)
@given(st.lists(st.tuples(st.integers(0, 3), st.binary(max_size=70_000)), max_size=4),
       st.integers(1, 2**40), st.binary(min_size=16, max_size=16),
       st.binary(min_size=32, max_size=32))
def test_sealed_frames_match_pynacl_and_open_again(
    frames: list[tuple[int, bytes]], counter: int, prefix: bytes, key: bytes
) -> None:
    """Sealed in the connection's scratch (small boxes) or in place (large), PyNaCl's bytes."""
    assert FAST_BOX is not None
    sealed: list[bytearray] = []
    assert FAST_BOX.seal_frames(
        frames, counter, prefix, key, sealed, FAST_BOX.new_scratch(8)
    ) == counter + len(frames)
    scratch = FAST_BOX.new_scratch()
    commands = []
    for index, ((flags, body), frame) in enumerate(zip(frames, sealed, strict=True)):
        assert frame == _expected_frame(flags, body, prefix, counter + index, key)
        command = bytes(frame[2:] if frame[0] == 0 else frame[9:])
        plaintext = crypto_box_open_easy_afternm(command[16:], prefix + command[8:16], key)
        assert (plaintext[0], plaintext[1:]) == (flags, body)
        commands.append((0, command))
    opened: list[tuple[int, bytes]] = []
    last = FAST_BOX.open_frames(commands, prefix, key, counter - 1, scratch, opened)
    assert opened == frames
    assert last == counter + len(frames) - 1 if frames else last == counter - 1


def _message(body: bytes, counter: int, flags: int = 0, prefix: bytes = NONCE[:16]) -> bytes:
    short = counter.to_bytes(8, "big")
    return b"\x07MESSAGE" + short + crypto_box_easy_afternm(
        bytes((flags,)) + body, prefix + short, KEY
    )


def test_scratch_is_reused_and_a_small_message_after_a_large_one_is_exact() -> None:
    assert FAST_BOX is not None
    scratch = FAST_BOX.new_scratch()
    bodies = [b"x" * 5000, b"ab", b"", b"y" * 300]
    opened: list[tuple[int, bytes]] = []
    frames = [(0, _message(body, counter)) for counter, body in enumerate(bodies, start=1)]
    assert FAST_BOX.open_frames(frames, NONCE[:16], KEY, 0, scratch, opened) == 4
    assert opened == [(0, body) for body in bodies]
    assert len(scratch.buffer) >= 5000


def test_flags_are_masked_as_asked() -> None:
    assert FAST_BOX is not None
    opened: list[tuple[int, bytes]] = []
    FAST_BOX.open_frames([(0, _message(b"m", 1, flags=0xFF))], NONCE[:16], KEY, 0,
                         FAST_BOX.new_scratch(), opened, 0x03)
    assert opened == [(0x03, b"m")]


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (b"tampered", BadMessage.NOT_OPENED),
        (b"short", BadMessage.MALFORMED),
        (b"not a message", BadMessage.MALFORMED),
        (b"replayed", BadMessage.REPLAYED),
    ],
)
def test_a_bad_frame_stops_with_what_came_before_kept(bad: bytes, reason: str) -> None:
    assert FAST_BOX is not None
    good = _message(b"good", 5)
    if bad == b"tampered":
        frame = bytearray(_message(b"evil", 6))
        frame[20] ^= 1
        wrong = bytes(frame)
    elif bad == b"short":
        wrong = _message(b"", 6)[:32]
    elif bad == b"not a message":
        wrong = b"\x05HELLO" + _message(b"x", 6)[6:]
    else:
        wrong = _message(b"again", 5)
    opened: list[tuple[int, bytes]] = []
    with pytest.raises(BadMessage) as caught:
        FAST_BOX.open_frames([(0, good), (0, wrong), (0, _message(b"after", 7))], NONCE[:16],
                             KEY, 4, FAST_BOX.new_scratch(), opened)
    assert caught.value.reason == reason
    assert caught.value.peer_nonce == 5
    assert opened == [(0, b"good")]


def test_wrong_key_or_prefix_sizes_are_refused_before_any_c_call() -> None:
    assert FAST_BOX is not None
    scratch = FAST_BOX.new_scratch()
    with pytest.raises(ValueError):
        FAST_BOX.seal_frames([(0, b"x")], 1, NONCE[:15], KEY, [], scratch)
    with pytest.raises(ValueError):
        FAST_BOX.open_frames([(0, _message(b"x", 1))], NONCE[:16], KEY[:31], 0, scratch, [])
    with pytest.raises(ValueError):
        FAST_BOX.open_frames([(0, _message(b"x", 1))], NONCE[:15], KEY, 0, scratch, [])


def test_a_scratch_sealed_frame_is_its_own_copy() -> None:
    """A frame sealed through the scratch does not change when the scratch is used again."""
    assert FAST_BOX is not None
    scratch = FAST_BOX.new_scratch(8)
    prefix = bytes(16)
    first: list[bytes] = []
    FAST_BOX.seal_frames([(0, b"a" * 3000)], 1, prefix, KEY, first, scratch)
    snapshot = bytes(first[0])
    later: list[bytes] = []
    FAST_BOX.seal_frames([(1, b"b" * 10), (0, b"c" * 4000)], 2, prefix, KEY, later, scratch)
    assert bytes(first[0]) == snapshot
    assert len(scratch.buffer) >= 4000 + 17
    assert [bytes(frame) for frame in later] == [
        _expected_frame(1, b"b" * 10, prefix, 2, KEY),
        _expected_frame(0, b"c" * 4000, prefix, 3, KEY),
    ]
