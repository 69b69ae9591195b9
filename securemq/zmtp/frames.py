"""ZMTP 3 framing (RFC 23 section 3.2): a flags byte, a 1- or 8-byte size, the body.

How the decoder works: ``FrameDecoder`` scans each chunk with a cursor over the immutable chunk
(``bytes`` indexing and ``struct.unpack_from``; no per-byte Python) and slices every complete
frame out once. What a chunk leaves unfinished is kept in one of two forms:

* fewer bytes than the next header needs (or frames not yet asked for, see ``max_frames``): kept
  as ``_head`` and put in front of the next chunk;
* a complete header whose body is incomplete: the body's pieces are collected in ``_parts`` as
  the chunks arrive (the declared size is never allocated up front) and joined once.

A declared size is checked against ``max_frame_size`` as soon as its header is complete, before
anything is allocated for it. Unknown flag bits are ignored, as libzmq does.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence

from ..constants import ProtocolError
from .errors import ProtocolViolation

MORE = 0x01
LONG = 0x02
COMMAND = 0x04

_U64 = struct.Struct(">Q")
_pack_u64 = _U64.pack
_unpack_u64 = _U64.unpack_from

# _SHORT_HEADERS[flags][size]: the 2-byte header of a short frame (flags without LONG).
_SHORT_HEADERS: tuple[tuple[bytes, ...], ...] = tuple(
    tuple(bytes((flags, size)) for size in range(256)) for flags in range(8)
)
SHORT_LAST = _SHORT_HEADERS[0]
SHORT_MORE = _SHORT_HEADERS[MORE]

Frame = tuple[int, bytes]
CommandHandler = Callable[[bytes, list[list[bytes]]], None]

# Runs of equal short frames (see _take_run): the fewest worth taking at once, the most looked
# at per try, and how many frames to take one by one after a try that found no run.
_RUN_MIN = 16
_RUN_WINDOW = 256
_RUN_RETRY = 128
_BYTE: tuple[bytes, ...] = tuple(bytes((value,)) for value in range(256))


def frame_header(flags: int, size: int) -> bytes:
    """The header of a frame of ``size`` bytes (LONG is chosen here, not by the caller)."""
    flags &= MORE | COMMAND
    if size < 256:
        return _SHORT_HEADERS[flags][size]
    return bytes((flags | LONG,)) + _pack_u64(size)


def encode_frame(flags: int, body: bytes) -> bytes:
    """One whole frame: short when the body has at most 255 bytes, else long."""
    return frame_header(flags, len(body)) + body


def encode_message(frames: Sequence[bytes]) -> bytes:
    """A whole multipart data message: MORE on every frame but the last, one join."""
    if not frames:
        raise ValueError("ZMTP: a message needs at least one frame")
    parts: list[bytes] = []
    append = parts.append
    more = SHORT_MORE
    for body in frames[:-1]:
        size = len(body)
        append(more[size] if size < 256 else b"\x03" + _pack_u64(size))
        append(body)
    body = frames[-1]
    size = len(body)
    append(SHORT_LAST[size] if size < 256 else b"\x02" + _pack_u64(size))
    append(body)
    return b"".join(parts)


def _take_run(
    data: bytes, pos: int, end_of_data: int, extend: Callable[[list[list[bytes]]], None]
) -> int:
    """Take a run of whole single-frame messages with the same short header as the frame at
    ``pos`` (flags 0), up to _RUN_WINDOW of them; the position after the run, or 0 when fewer
    than _RUN_MIN frames in a row share that header (nothing taken then).

    The frames of a run start every ``size + 2`` bytes, so their flags and size bytes are two
    strided slices, and the run is as long as both slices repeat their first byte: the work per
    frame is done in C, leaving one list per message to Python.
    """
    size = data[pos + 1]
    stride = size + 2
    count = min((end_of_data - pos) // stride, _RUN_WINDOW)
    if count < _RUN_MIN:
        return 0
    flags = data[pos : pos + count * stride : stride]
    run = count - len(flags.lstrip(b"\x00"))
    if run < _RUN_MIN:
        return 0
    sizes = data[pos + 1 : pos + run * stride : stride]
    run -= len(sizes.lstrip(_BYTE[size]))
    if run < _RUN_MIN:
        return 0
    start = pos + 2
    bodies_end = start + run * stride  # (past the last body's start: an empty body ends there)
    if size == 1:
        byte = _BYTE
        extend([[byte[value]] for value in data[start:bodies_end:stride]])
    else:
        extend([[data[offset : offset + size]] for offset in range(start, bodies_end, stride)])
    return pos + run * stride


class FrameDecoder:
    """Incremental frame decoder; ``max_frame_size`` (-1: no limit) may change between feeds."""

    __slots__ = ("_flags", "_head", "_msg", "_parts", "_remaining", "limit_name", "max_frame_size")

    def __init__(self, max_frame_size: int = -1, *, limit_name: str = "MAXMSGSIZE") -> None:
        self.max_frame_size = max_frame_size
        # Named in the error message ("MAXMSGSIZE", "the handshake limit", ...).
        self.limit_name = limit_name
        self._head = b""
        self._parts: list[bytes | memoryview] | None = None
        self._remaining = 0
        self._flags = 0
        # Frames of a multipart message not yet complete (feed_messages only).
        self._msg: list[bytes] = []

    @property
    def pending(self) -> bool:
        """True when bytes of an unfinished frame (or unread frames) are buffered."""
        return bool(self._head) or self._parts is not None

    def _too_big(self, size: int) -> ProtocolViolation:
        return ProtocolViolation(
            f"ZMTP: frame of {size} bytes exceeds {self.limit_name} {self.max_frame_size}",
            ProtocolError.ZMTP_UNSPECIFIED,
        )

    def _resume(self, data: bytes) -> tuple[bytes, int, Frame | None]:
        """Finish what earlier chunks left: (chunk, offset still to scan, frame completed here).

        Pieces of an unfinished body are memoryviews of their chunks, so the body is copied once,
        by the final join, however many chunks it spans.
        """
        parts = self._parts
        if parts is not None:
            need = self._remaining
            size = len(data)
            if size < need:
                if size:
                    parts.append(data)
                    self._remaining = need - size
                return b"", 0, None
            parts.append(data if size == need else memoryview(data)[:need])
            self._parts = None
            return data, need, (self._flags & (MORE | COMMAND), b"".join(parts))
        if self._head:
            data = self._head + data
            self._head = b""
        return data, 0, None

    def feed(self, data: bytes, max_frames: int = -1) -> list[Frame]:
        """Every complete (flags, body) in the chunk; flags keep only MORE and COMMAND.

        With ``max_frames`` >= 1, stop after that many frames and keep the rest buffered (call
        again with ``b""`` to continue): the connection uses this to switch limits mid-chunk.
        """
        if type(data) is not bytes:
            data = bytes(data)
        data, pos, first = self._resume(data)
        frames: list[Frame] = [] if first is None else [first]
        if len(frames) == max_frames:
            self._head = data[pos:]
            return frames
        append = frames.append
        unpack = _unpack_u64
        limit = self.max_frame_size
        end_of_data = len(data)
        while end_of_data - pos >= 2:
            flags = data[pos]
            if flags & LONG:
                if end_of_data - pos < 9:
                    break
                size = unpack(data, pos + 1)[0]
                start = pos + 9
            else:
                size = data[pos + 1]
                start = pos + 2
            if 0 <= limit < size:
                raise self._too_big(size)
            end = start + size
            if end > end_of_data:
                self._flags = flags
                self._parts = [memoryview(data)[start:]]
                self._remaining = end - end_of_data
                return frames
            append((flags & 5, data[start:end]))
            pos = end
            if len(frames) == max_frames:
                break
        self._head = data[pos:]
        return frames

    def feed_messages(
        self, data: bytes, out: list[list[bytes]], on_command: CommandHandler
    ) -> None:
        """Hot path: append every message completed by this chunk to ``out`` (MORE groups frames).

        Command frames go to ``on_command(body, out)`` in stream order (it may append to ``out``
        or raise). Frames of an unfinished message stay here until its last frame arrives.
        """
        if type(data) is not bytes:
            data = bytes(data)
        if self._parts is not None or self._head:
            data, pos, first = self._resume(data)
        else:
            pos, first = 0, None
        msg = self._msg
        if first is not None:
            flags, body = first
            if flags & COMMAND:
                on_command(body, out)
            else:
                msg.append(body)
                if not flags & MORE:
                    out.append(msg)
                    msg = self._msg = []
        append = out.append
        unpack = _unpack_u64
        limit = self.max_frame_size
        # Short frames can never exceed the limit: their fast path skips that check.
        short_fast = limit < 0 or limit >= 255
        end_of_data = len(data)
        try:
            while True:
                # The common case: whole single-frame messages with short bodies (flags 0),
                # taken a run of equal ones at a time where they repeat (when the chunk can hold
                # a run), else one by one in a tight loop (for _RUN_RETRY frames' worth of
                # bytes before the next try).
                while (
                    short_fast and not msg and end_of_data - pos >= 2 and not data[pos]
                    and pos + 2 + data[pos + 1] <= end_of_data
                ):
                    stride = data[pos + 1] + 2
                    if end_of_data - pos < _RUN_MIN * stride:
                        bound = end_of_data
                    else:
                        after_run = _take_run(data, pos, end_of_data, out.extend)
                        if after_run:
                            pos = after_run
                            continue
                        bound = min(end_of_data, pos + _RUN_RETRY * stride)
                    while bound - pos >= 2 and not data[pos]:
                        end = pos + 2 + data[pos + 1]
                        if end > end_of_data:
                            break
                        append([data[pos + 2 : end]])
                        pos = end
                if end_of_data - pos < 2:
                    break
                flags = data[pos]
                if flags & LONG:
                    if end_of_data - pos < 9:
                        break
                    size = unpack(data, pos + 1)[0]
                    start = pos + 9
                else:
                    size = data[pos + 1]
                    start = pos + 2
                if 0 <= limit < size:
                    raise self._too_big(size)
                end = start + size
                if end > end_of_data:
                    self._flags = flags
                    self._parts = [memoryview(data)[start:]]
                    self._remaining = end - end_of_data
                    pos = end_of_data
                    break
                body = data[start:end]
                pos = end
                if flags & COMMAND:
                    on_command(body, out)
                elif flags & MORE:
                    msg.append(body)
                elif msg:
                    msg.append(body)
                    append(msg)
                    msg = []
                else:
                    append([body])
        finally:
            self._msg = msg
        self._head = data[pos:]
