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


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.binary(max_size=70_000), st.integers(0, 3), st.binary(min_size=24, max_size=24),
       st.binary(min_size=32, max_size=32), st.binary(max_size=20))
def test_fast_box_matches_pynacl(body: bytes, flags: int, nonce: bytes, key: bytes,
                                 head: bytes) -> None:
    assert FAST_BOX is not None
    sealed = FAST_BOX.seal_frame(head, flags, body, nonce, key)
    expected = crypto_box_easy_afternm(bytes((flags,)) + body, nonce, key)
    assert sealed.raw == head + expected
    scratch = [FAST_BOX.new_scratch()]
    opened = FAST_BOX.open_message(head + expected, len(head), nonce, key, scratch)
    plaintext = crypto_box_open_easy_afternm(expected, nonce, key)
    assert opened == (plaintext[0], plaintext[1:])


def test_scratch_is_reused_and_a_small_message_after_a_large_one_is_exact() -> None:
    assert FAST_BOX is not None
    scratch = [FAST_BOX.new_scratch()]
    for body in (b"x" * 5000, b"ab", b"", b"y" * 300):
        wire = crypto_box_easy_afternm(b"\x00" + body, NONCE, KEY)
        assert FAST_BOX.open_message(wire, 0, NONCE, KEY, scratch) == (0, body)
    assert len(scratch[0]) >= 5000


def test_fast_open_refuses_tampered_short_and_wrong_sizes() -> None:
    assert FAST_BOX is not None
    scratch = [FAST_BOX.new_scratch()]
    sealed = bytearray(crypto_box_easy_afternm(b"\x00hello", NONCE, KEY))
    sealed[3] ^= 1
    with pytest.raises(CryptoError):
        FAST_BOX.open_message(bytes(sealed), 0, NONCE, KEY, scratch)
    with pytest.raises(CryptoError):
        FAST_BOX.open_message(b"prefix" + bytes(16), 6, NONCE, KEY, scratch)
    with pytest.raises(ValueError):
        FAST_BOX.seal_frame(b"", 0, b"x", NONCE[:23], KEY)
    with pytest.raises(ValueError):
        FAST_BOX.open_message(bytes(32), 0, NONCE, KEY[:31], scratch)
