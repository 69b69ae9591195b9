"""The ctypes path for CURVE MESSAGE boxes must agree with PyNaCl byte for byte."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl.bindings import crypto_box_easy_afternm, crypto_box_open_easy_afternm
from nacl.exceptions import CryptoError

from securemq.zmtp.mechanisms.fastbox import FAST_BOX

pytestmark = pytest.mark.skipif(FAST_BOX is None, reason="libsodium not reachable via ctypes")


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.binary(max_size=2000), st.binary(min_size=24, max_size=24),
       st.binary(min_size=32, max_size=32))
def test_fast_box_matches_pynacl(plaintext: bytes, nonce: bytes, key: bytes) -> None:
    assert FAST_BOX is not None
    box, unbox = FAST_BOX
    sealed = box(plaintext, nonce, key)
    assert sealed == crypto_box_easy_afternm(plaintext, nonce, key)
    assert unbox(sealed, nonce, key) == crypto_box_open_easy_afternm(sealed, nonce, key)


def test_fast_unbox_refuses_tampered_short_and_wrong_sizes() -> None:
    assert FAST_BOX is not None
    box, unbox = FAST_BOX
    key, nonce = bytes(range(32)), bytes(range(24))
    sealed = bytearray(box(b"hello", nonce, key))
    sealed[3] ^= 1
    with pytest.raises(CryptoError):
        unbox(bytes(sealed), nonce, key)
    with pytest.raises(CryptoError):
        unbox(b"short", nonce, key)
    with pytest.raises(ValueError):
        box(b"x", nonce[:23], key)
    with pytest.raises(ValueError):
        unbox(bytes(32), nonce, key[:31])
