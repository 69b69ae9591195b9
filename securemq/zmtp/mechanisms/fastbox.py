"""CURVE MESSAGE boxes through libsodium directly (ctypes), when PyNaCl's library allows it.

PyNaCl's binding costs about 3.6 us per box on this kind of machine, mostly argument checking
and buffer handling in Python; calling the same libsodium functions through ctypes costs about
1.5 us, and lets a box be sealed in place: ``seal_frame`` builds the whole wire frame (ZMTP
header, MESSAGE prefix, nonce, MAC, flags, body) in one buffer with one copy of the body, and
``open_message`` reads the ciphertext where it lies in the received frame. ctypes releases the
GIL for the call, so a large box is sealed while other threads run.

Only the traffic path uses this: the key is always the 32-byte precomputed key and the nonce
always 24 bytes (both checked here anyway, since ctypes does not). Without a usable library the
PyNaCl functions are used.
"""

from __future__ import annotations

import ctypes
import importlib
import sys
from collections.abc import Callable
from typing import Any

from nacl.exceptions import CryptoError

_MAC = 16
# Where a bytes object keeps its data, relative to id() (CPython; checked in _load).
_BYTES_DATA_OFFSET = sys.getsizeof(b"") - 1
# A decrypt buffer up to this size is kept and reused; larger ones are made per message.
_SCRATCH_MAX = 1 << 20

SealFrame = Callable[[bytes, int, bytes, bytes, bytes], Any]


class FastBox:
    """The libsodium entry points, bound once; see the module docstring."""

    __slots__ = ("_seal", "_unseal")

    def __init__(self, seal: Any, unseal: Any) -> None:
        self._seal = seal
        self._unseal = unseal

    def seal_frame(self, head: bytes, flags: int, body: bytes, nonce: bytes, key: bytes) -> Any:
        """``head`` + Box[flags + body](nonce, key) in one new ctypes buffer (sendmsg takes it)."""
        if len(nonce) != 24 or len(key) != 32:
            raise ValueError("CURVE: box nonce/key of the wrong size")
        start = len(head)
        size = len(body)
        out = ctypes.create_string_buffer(start + _MAC + 1 + size)
        address = ctypes.addressof(out)
        ctypes.memmove(address, head, start)
        out[start + _MAC] = flags  # type: ignore[call-overload]  # ctypes takes an int here
        if size:
            ctypes.memmove(address + start + _MAC + 1, body, size)
        # In place: libsodium writes the MAC and then the ciphertext over the plaintext.
        if self._seal(address + start, address + start + _MAC, size + 1, nonce, key) != 0:
            raise CryptoError("CURVE: encryption failed")
        return out

    def new_scratch(self) -> Any:
        return ctypes.create_string_buffer(256)

    def open_message(
        self, wire: bytes, offset: int, nonce: bytes, key: bytes, scratch: list[Any]
    ) -> tuple[int, bytes]:
        """Open the box at ``wire[offset:]``: (flags byte, body). ``scratch[0]`` is reused."""
        if len(nonce) != 24 or len(key) != 32:
            raise ValueError("CURVE: box nonce/key of the wrong size")
        if type(wire) is not bytes:
            wire = bytes(wire)
        boxed = len(wire) - offset
        if boxed < _MAC + 1:
            raise CryptoError("CURVE: box shorter than its MAC and flags")
        size = boxed - _MAC
        out = scratch[0]
        if len(out) < size:
            out = ctypes.create_string_buffer(size)
            if size <= _SCRATCH_MAX:
                scratch[0] = out
        address = ctypes.addressof(out)
        source = id(wire) + _BYTES_DATA_OFFSET + offset
        if self._unseal(address, source, boxed, nonce, key) != 0:
            raise CryptoError("CURVE: box does not open")
        return out[0][0], ctypes.string_at(address + 1, size - 1)


def _load() -> FastBox | None:
    if sys.implementation.name != "cpython":
        return None
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
            ctypes.c_void_p, ctypes.c_void_p, ctypes.c_ulonglong, ctypes.c_char_p, ctypes.c_char_p
        ]
    fast = FastBox(seal, unseal)

    # Check against PyNaCl once before trusting it (this also checks the bytes data offset).
    from nacl.bindings import crypto_box_easy_afternm, crypto_box_open_easy_afternm

    key, nonce = bytes(range(32)), bytes(range(24))
    head = b"\x04\x30" + bytes(range(16))
    try:
        for text in (b"", b"securemq", bytes(range(256)) * 5):
            sealed = fast.seal_frame(head, 1, text, nonce, key)
            expected = crypto_box_easy_afternm(b"\x01" + text, nonce, key)
            if sealed.raw != head + expected:
                return None
            scratch = [fast.new_scratch()]
            wire = b"xyz" + expected
            if fast.open_message(wire, 3, nonce, key, scratch) != (1, text):
                return None
            if crypto_box_open_easy_afternm(expected, nonce, key) != b"\x01" + text:
                return None
    except (CryptoError, ValueError, OSError):
        return None
    return fast


FAST_BOX = _load()
