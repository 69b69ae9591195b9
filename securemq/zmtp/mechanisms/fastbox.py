"""CURVE MESSAGE boxes through PyNaCl's own libsodium binding (``nacl._sodium``), when present.

PyNaCl's public functions cost about 3.6 us per small box on this kind of machine, mostly
argument checking and buffer handling in Python; calling the same cffi functions directly costs
about 1.3 us. What is around the call matters as much at 1 B: a cdata view of a buffer
(``from_buffer``) costs a third of the box itself, a pointer offset a tenth. So a small box is
sealed from a bytes plaintext into the connection's scratch buffer and copied out once behind its
header, and opened from a bytes slice of the frame into the other scratch buffer; a large one
(over 4 KiB) is sealed in place in one bytearray holding the whole wire frame (ZMTP header,
MESSAGE name, short nonce, MAC, flags, body: one copy of the body) and opened where it lies.
cffi releases the GIL for the call, so a large box is sealed while other threads run -- which is
why a scratch buffer is per connection, used under the connection's lock. ``seal_frames`` and
``open_frames`` each take a whole chunk's frames, so the per-frame checks (MESSAGE name and
size, rising nonce) run in one loop with the call.

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
_unpack_u64_at = struct.Struct(">Q").unpack_from
# The shortest MESSAGE command body: the name, the short nonce, the MAC and the flags byte.
_MESSAGE_MIN = _MESSAGE_OVERHEAD
_FLAG_BYTES = tuple(bytes((flags,)) for flags in range(256))
# Bodies up to this size are sealed in the scratch buffer from a concatenated plaintext and
# opened from a bytes slice (fewer calls); larger ones are sealed and opened in place.
_CONCAT_MAX = 4096
# A decrypt buffer up to this size is kept and reused; larger ones are made per message.
_SCRATCH_MAX = 1 << 20


class BadMessage(Exception):
    """``open_frames`` met a frame it cannot take; ``peer_nonce`` is the last good nonce."""

    MALFORMED, REPLAYED, NOT_OPENED = "malformed", "replayed", "not opened"

    def __init__(self, reason: str, body: bytes, peer_nonce: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.body = body
        self.peer_nonce = peer_nonce


class Scratch:
    """A reusable decrypt buffer, a view of it and its C pointer (one per connection)."""

    __slots__ = ("buffer", "pointer", "view")

    def __init__(self, buffer: bytearray, pointer: Any) -> None:
        self.buffer = buffer
        self.pointer = pointer
        self.view = memoryview(buffer)


class FastBox:
    """The libsodium entry points, bound once; see the module docstring."""

    __slots__ = ("_from_buffer", "_seal", "_unseal")

    def __init__(self, ffi: Any, lib: Any) -> None:
        self._seal = lib.crypto_box_easy_afternm
        self._unseal = lib.crypto_box_open_easy_afternm
        self._from_buffer = ffi.from_buffer

    def seal_frames(
        self,
        frames: Iterable[tuple[int, bytes]],
        counter: int,
        nonce_prefix: bytes,
        key: bytes,
        out: list[Any],
        scratch: Scratch,
    ) -> int:
        """Each (flags, body) as a whole ZMTP frame carrying a CURVE MESSAGE, appended to
        ``out``; short nonces count up from ``counter``; returns the next counter. A small box
        is sealed in ``scratch`` (the connection's own: C writes into it without the GIL) and
        copied out once, which costs less than a C view of a new frame; a large one is sealed
        in place in its frame."""
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
            if size <= _CONCAT_MAX:
                sealed = size + 1 + _MAC
                if len(scratch.buffer) < sealed:
                    self._grow(scratch, sealed)
                if seal(scratch.pointer, _FLAG_BYTES[flags] + body, size + 1,
                        nonce_prefix + short, key) != 0:
                    raise CryptoError("CURVE: encryption failed")
                append(head + scratch.view[:sealed])
                continue
            start = len(head)
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

    def _grow(self, scratch: Scratch, size: int) -> None:
        scratch.buffer = bytearray(size)
        scratch.pointer = self._from_buffer(scratch.buffer)
        scratch.view = memoryview(scratch.buffer)

    def open_frames(
        self,
        frames: Iterable[tuple[int, bytes]],
        nonce_prefix: bytes,
        key: bytes,
        peer_nonce: int,
        scratch: Scratch,
        out: list[tuple[int, bytes]],
        flag_mask: int = 0xFF,
    ) -> int:
        """Open each CURVE MESSAGE command body (wire flags, body) into ``out`` as (flags byte
        & ``flag_mask``, body), in order; short nonces must rise above ``peer_nonce``; returns
        the last one. The first frame that is not a well-formed MESSAGE, repeats a nonce or
        does not open raises BadMessage, with the frames before it already in ``out``."""
        if len(nonce_prefix) != 16 or len(key) != 32:
            raise ValueError("CURVE: box nonce/key of the wrong size")
        unseal = self._unseal
        nonce_at = _unpack_u64_at
        append = out.append
        for _wire_flags, body in frames:
            if len(body) < _MESSAGE_MIN or body[:8] != _MESSAGE:
                raise BadMessage(BadMessage.MALFORMED, body, peer_nonce)
            nonce = nonce_at(body, 8)[0]
            if nonce <= peer_nonce:
                raise BadMessage(BadMessage.REPLAYED, body, peer_nonce)
            boxed = len(body) - 16
            size = boxed - _MAC
            if len(scratch.buffer) < size:
                if size > _SCRATCH_MAX:
                    scratch = self.new_scratch(size)  # (a one-off, not kept)
                else:
                    self._grow(scratch, size)
            # A small box is passed as bytes (cffi hands C the object's own memory): cheaper
            # than a cdata over the frame; a large one is not copied.
            boxed_text = (
                body[16:] if type(body) is bytes and boxed <= _CONCAT_MAX
                else self._from_buffer(body) + 16
            )
            if unseal(scratch.pointer, boxed_text, boxed, nonce_prefix + body[8:16], key) != 0:
                raise BadMessage(BadMessage.NOT_OPENED, body, peer_nonce)
            peer_nonce = nonce
            append((scratch.buffer[0] & flag_mask, scratch.view[1:size].tobytes()))
        return peer_nonce


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
        if fast.seal_frames(((1, text) for text in texts), 7, prefix, key, sealed,
                            fast.new_scratch(8)) != 10:
            return None
        for counter, (text, frame) in enumerate(zip(texts, sealed, strict=True), start=7):
            short = _pack_u64(counter)
            expected = crypto_box_easy_afternm(b"\x01" + text, prefix + short, key)
            command = _MESSAGE + short + expected
            size = len(command)
            header = bytes((0, size)) if size < 256 else _LONG_MESSAGE_HEAD + _pack_u64(size)
            if frame != header + command:
                return None
            opened: list[tuple[int, bytes]] = []
            if fast.open_frames([(0, command)], prefix, key, counter - 1, scratch,
                                opened) != counter or opened != [(1, text)]:
                return None
            if crypto_box_open_easy_afternm(expected, prefix + short, key) != b"\x01" + text:
                return None
    except (BadMessage, CryptoError, ValueError, TypeError):
        return None
    return fast


FAST_BOX = _load()
