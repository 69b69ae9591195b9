"""CURVE MESSAGE boxes through PyNaCl's own libsodium binding (``nacl._sodium``), when present.

PyNaCl's public functions cost about 3.6 us per small box on this kind of machine, mostly
argument checking and buffer handling in Python; calling the same cffi functions directly costs
about 1.3 us, and lets a box be sealed in place: ``seal_frames`` builds each whole wire frame
(ZMTP header, MESSAGE name, short nonce, MAC, flags, body) in one bytearray with one copy of the
body, and ``open_message`` reads the ciphertext where it lies in the received frame. cffi
releases the GIL for the call, so a large box is sealed while other threads run.

Only the traffic path uses this: the key is always the 32-byte precomputed key and the nonce
always 24 bytes (both checked here anyway, since C does not). Without the binding the PyNaCl
public functions are used.
"""

from __future__ import annotations

import importlib
import struct
from collections.abc import Iterable
from typing import Any

from nacl.exceptions import CryptoError

_MAC = 16
_MESSAGE = b"\x07MESSAGE"
# A MESSAGE command is its name, an 8-byte short nonce, the MAC and the flags byte, then the body.
_MESSAGE_OVERHEAD = len(_MESSAGE) + 8 + _MAC + 1
# The ZMTP frame header (final, not a command frame) plus the name, by body size, for short
# frames; long ones get _LONG_MESSAGE_HEAD + 8-byte size.
_SHORT_MESSAGE_HEADS = tuple(
    bytes((0, size + _MESSAGE_OVERHEAD)) + _MESSAGE for size in range(256 - _MESSAGE_OVERHEAD)
)
_LONG_MESSAGE_HEAD = b"\x02"
_pack_u64 = struct.Struct(">Q").pack
_ZERO_MAC = bytes(_MAC)
_FLAG_BYTES = tuple(bytes((flags,)) for flags in range(256))
# Bodies up to this size are assembled by concatenation (fewer calls); larger ones are copied
# once into a preallocated buffer.
_CONCAT_MAX = 4096
# A decrypt buffer up to this size is kept and reused; larger ones are made per message.
_SCRATCH_MAX = 1 << 20


class Scratch:
    """A reusable decrypt buffer and its C pointer (one per connection)."""

    __slots__ = ("buffer", "pointer")

    def __init__(self, buffer: bytearray, pointer: Any) -> None:
        self.buffer = buffer
        self.pointer = pointer


class FastBox:
    """The libsodium entry points, bound once; see the module docstring."""

    __slots__ = ("_from_buffer", "_seal", "_unpack", "_unseal")

    def __init__(self, ffi: Any, lib: Any) -> None:
        self._seal = lib.crypto_box_easy_afternm
        self._unseal = lib.crypto_box_open_easy_afternm
        self._from_buffer = ffi.from_buffer
        self._unpack = ffi.unpack

    def seal_frames(
        self,
        frames: Iterable[tuple[int, bytes]],
        counter: int,
        nonce_prefix: bytes,
        key: bytes,
        out: list[Any],
    ) -> int:
        """Each (flags, body) as a whole ZMTP frame carrying a CURVE MESSAGE, appended to
        ``out``; short nonces count up from ``counter``; returns the next counter."""
        if len(nonce_prefix) != 16 or len(key) != 32:
            raise ValueError("CURVE: box nonce/key of the wrong size")
        seal = self._seal
        from_buffer = self._from_buffer
        pack = _pack_u64
        short_heads = _SHORT_MESSAGE_HEADS
        append = out.append
        for flags, body in frames:
            short = pack(counter)
            counter += 1
            size = len(body)
            if size + _MESSAGE_OVERHEAD < 256:
                head = short_heads[size] + short
            else:
                head = _LONG_MESSAGE_HEAD + pack(size + _MESSAGE_OVERHEAD) + _MESSAGE + short
            start = len(head)
            if size <= _CONCAT_MAX:
                buffer = bytearray(head + _ZERO_MAC + _FLAG_BYTES[flags] + body)
            else:
                buffer = bytearray(start + _MAC + 1 + size)
                buffer[:start] = head
                buffer[start + _MAC] = flags
                buffer[start + _MAC + 1 :] = body
            pointer = from_buffer(buffer)
            # In place: libsodium writes the MAC and then the ciphertext over the plaintext.
            if seal(pointer + start, pointer + start + _MAC, size + 1, nonce_prefix + short,
                    key) != 0:
                raise CryptoError("CURVE: encryption failed")
            append(buffer)
        return counter

    def new_scratch(self, size: int = 256) -> Scratch:
        buffer = bytearray(size)
        return Scratch(buffer, self._from_buffer(buffer))

    def open_message(
        self, wire: bytes, offset: int, nonce: bytes, key: bytes, scratch: Scratch
    ) -> tuple[int, bytes]:
        """Open the box at ``wire[offset:]``: (flags byte, body). ``scratch`` may be replaced
        by a larger one (up to _SCRATCH_MAX) and is reused."""
        if len(nonce) != 24 or len(key) != 32:
            raise ValueError("CURVE: box nonce/key of the wrong size")
        boxed = len(wire) - offset
        if boxed < _MAC + 1:
            raise CryptoError("CURVE: box shorter than its MAC and flags")
        size = boxed - _MAC
        buffer = scratch.buffer
        pointer = scratch.pointer
        if len(buffer) < size:
            buffer = bytearray(size)
            pointer = self._from_buffer(buffer)
            if size <= _SCRATCH_MAX:
                scratch.buffer, scratch.pointer = buffer, pointer
        if self._unseal(pointer, self._from_buffer(wire) + offset, boxed, nonce, key) != 0:
            raise CryptoError("CURVE: box does not open")
        return buffer[0], self._unpack(pointer + 1, size - 1)


def _load() -> FastBox | None:
    try:
        sodium = importlib.import_module("nacl._sodium")
        fast = FastBox(sodium.ffi, sodium.lib)
    except (ImportError, AttributeError):
        return None

    # Check against PyNaCl's public functions once before trusting it.
    from nacl.bindings import crypto_box_easy_afternm, crypto_box_open_easy_afternm

    key, prefix = bytes(range(32)), b"CurveZMQMESSAGEC"
    try:
        scratch = fast.new_scratch(8)
        texts = (b"", b"securemq", bytes(range(256)) * 40)
        sealed: list[Any] = []
        if fast.seal_frames(((1, text) for text in texts), 7, prefix, key, sealed) != 10:
            return None
        for counter, (text, frame) in enumerate(zip(texts, sealed, strict=True), start=7):
            short = _pack_u64(counter)
            expected = crypto_box_easy_afternm(b"\x01" + text, prefix + short, key)
            command = _MESSAGE + short + expected
            size = len(command)
            header = bytes((0, size)) if size < 256 else _LONG_MESSAGE_HEAD + _pack_u64(size)
            if frame != header + command:
                return None
            if fast.open_message(command, 16, prefix + short, key, scratch) != (1, text):
                return None
            if crypto_box_open_easy_afternm(expected, prefix + short, key) != b"\x01" + text:
                return None
    except (CryptoError, ValueError, TypeError):
        return None
    return fast


FAST_BOX = _load()
