"""The ctypes path for CURVE MESSAGE boxes must agree with PyNaCl byte for byte."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl.bindings import crypto_box_easy_afternm, crypto_box_open_easy_afternm
from nacl.exceptions import CryptoError

from securemq.zmtp.mechanisms.fastbox import FAST_BOX

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
       st.binary(min_size=32, max_size=32), st.booleans())
def test_sealed_frames_match_pynacl_and_open_again(
    frames: list[tuple[int, bytes]], counter: int, prefix: bytes, key: bytes,
    with_scratch: bool,
) -> None:
    """Sealed in a new frame or in the connection's scratch (small boxes), the same bytes."""
    assert FAST_BOX is not None
    sealed: list[bytearray] = []
    seal_scratch = FAST_BOX.new_scratch(8) if with_scratch else None
    assert FAST_BOX.seal_frames(
        frames, counter, prefix, key, sealed, seal_scratch
    ) == counter + len(frames)
    scratch = FAST_BOX.new_scratch()
    for index, ((flags, body), frame) in enumerate(zip(frames, sealed, strict=True)):
        assert frame == _expected_frame(flags, body, prefix, counter + index, key)
        command = bytes(frame[2:] if frame[0] == 0 else frame[9:])
        nonce = prefix + command[8:16]
        opened = FAST_BOX.open_message(command, 16, nonce, key, scratch)
        plaintext = crypto_box_open_easy_afternm(command[16:], nonce, key)
        assert opened == (plaintext[0], plaintext[1:]) == (flags, body)


def test_scratch_is_reused_and_a_small_message_after_a_large_one_is_exact() -> None:
    assert FAST_BOX is not None
    scratch = FAST_BOX.new_scratch()
    for body in (b"x" * 5000, b"ab", b"", b"y" * 300):
        wire = crypto_box_easy_afternm(b"\x00" + body, NONCE, KEY)
        assert FAST_BOX.open_message(wire, 0, NONCE, KEY, scratch) == (0, body)
    assert len(scratch.buffer) >= 5000


def test_fast_open_refuses_tampered_short_and_wrong_sizes() -> None:
    assert FAST_BOX is not None
    scratch = FAST_BOX.new_scratch()
    sealed = bytearray(crypto_box_easy_afternm(b"\x00hello", NONCE, KEY))
    sealed[3] ^= 1
    with pytest.raises(CryptoError):
        FAST_BOX.open_message(bytes(sealed), 0, NONCE, KEY, scratch)
    with pytest.raises(CryptoError):
        FAST_BOX.open_message(b"prefix" + bytes(16), 6, NONCE, KEY, scratch)
    with pytest.raises(ValueError):
        FAST_BOX.seal_frames([(0, b"x")], 1, NONCE[:15], KEY, [])
    with pytest.raises(ValueError):
        FAST_BOX.open_message(bytes(32), 0, NONCE, KEY[:31], scratch)


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
