"""The CURVE MESSAGE box through libsodium directly (ctypes), when PyNaCl's library allows it.

PyNaCl's binding costs about 3.6 us per box on this kind of machine, mostly argument checking
and buffer handling in Python; calling the same libsodium functions through ctypes costs about
2.2 us. Only the traffic path uses this: the key is always the 32-byte precomputed key and the
nonce always 24 bytes (both checked here anyway, since ctypes does not). Without a usable
library the PyNaCl functions are used.
"""

from __future__ import annotations

import ctypes
import importlib
from collections.abc import Callable

from nacl.exceptions import CryptoError

Box = Callable[[bytes, bytes, bytes], bytes]

_MAC = 16


def _load() -> tuple[Box, Box] | None:
    try:
        sodium = importlib.import_module("nacl._sodium")
        lib = ctypes.CDLL(sodium.__file__)
        seal = lib.crypto_box_easy_afternm
        unseal = lib.crypto_box_open_easy_afternm
    except (ImportError, OSError, AttributeError):
        return None
    for function in (seal, unseal):
        function.restype = ctypes.c_int
        function.argtypes = [
            ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulonglong, ctypes.c_char_p, ctypes.c_char_p
        ]
    buffer = ctypes.create_string_buffer

    def box(plaintext: bytes, nonce: bytes, key: bytes) -> bytes:
        if len(nonce) != 24 or len(key) != 32:
            raise ValueError("CURVE: box nonce/key of the wrong size")
        out = buffer(len(plaintext) + _MAC)
        if seal(out, plaintext, len(plaintext), nonce, key) != 0:
            raise CryptoError("CURVE: encryption failed")
        return out.raw

    def unbox(ciphertext: bytes, nonce: bytes, key: bytes) -> bytes:
        if len(nonce) != 24 or len(key) != 32:
            raise ValueError("CURVE: box nonce/key of the wrong size")
        if len(ciphertext) < _MAC:
            raise CryptoError("CURVE: box shorter than its MAC")
        out = buffer(len(ciphertext) - _MAC)
        if unseal(out, ciphertext, len(ciphertext), nonce, key) != 0:
            raise CryptoError("CURVE: box does not open")
        return out.raw

    # Check against PyNaCl once before trusting it.
    from nacl.bindings import crypto_box_easy_afternm, crypto_box_open_easy_afternm

    key, nonce, text = bytes(range(32)), bytes(range(24)), b"securemq"
    try:
        sealed = box(text, nonce, key)
        if sealed != crypto_box_easy_afternm(text, nonce, key):
            return None
        if unbox(sealed, nonce, key) != crypto_box_open_easy_afternm(sealed, nonce, key):
            return None
    except (CryptoError, ValueError, OSError):
        return None
    return box, unbox


FAST_BOX = _load()
