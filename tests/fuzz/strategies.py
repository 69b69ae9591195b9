"""Hypothesis strategies shared by the fuzz tests: chunkings and transcript mutations."""

from __future__ import annotations

import itertools
import struct

from hypothesis import strategies as st

# Byte values that flip ZMTP meaning: flag bits, signature bytes, size extremes.
INTERESTING_BYTES = (0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x7F, 0x80, 0xFE, 0xFF)
# Big-endian sizes for 8-byte (frame) and 4-byte (metadata value) length fields.
INTERESTING_U64 = (0, 1, 255, 256, 1 << 20, (1 << 20) + 1, 1 << 31, 1 << 32, 1 << 60, (1 << 64) - 1)
INTERESTING_U32 = (0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF)
BYTEWISE_MAX = 2048


@st.composite
def chunkings(draw: st.DrawFn, data: bytes) -> list[bytes]:
    """``data`` split whole, one byte at a time (small data), or at drawn split points."""
    if len(data) <= 1:
        return [data]
    modes = ["whole", "cuts"] + (["bytewise"] if len(data) <= BYTEWISE_MAX else [])
    mode = draw(st.sampled_from(modes))
    if mode == "whole":
        return [data]
    if mode == "bytewise":
        return [data[i : i + 1] for i in range(len(data))]
    cuts = sorted(set(draw(st.lists(st.integers(1, len(data) - 1), max_size=12))))
    bounds = [0, *cuts, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


def _mutate_one(draw: st.DrawFn, segment: bytes) -> bytes:
    op = draw(
        st.sampled_from(
            ["flip", "set", "insert", "delete", "truncate", "u64", "u32", "append", "splice"]
        )
    )
    size = len(segment)
    pos = draw(st.integers(0, size))
    if op == "flip" and size:
        pos = min(pos, size - 1)
        bit = 1 << draw(st.integers(0, 7))
        return segment[:pos] + bytes((segment[pos] ^ bit,)) + segment[pos + 1 :]
    if op == "set" and size:
        pos = min(pos, size - 1)
        value = draw(st.sampled_from(INTERESTING_BYTES) | st.integers(0, 255))
        return segment[:pos] + bytes((value,)) + segment[pos + 1 :]
    if op == "insert":
        return segment[:pos] + draw(st.binary(min_size=1, max_size=64)) + segment[pos:]
    if op == "delete":
        length = draw(st.integers(1, 64))
        return segment[:pos] + segment[pos + length :]
    if op == "truncate":
        return segment[:pos]
    if op == "u64":
        value = draw(st.sampled_from(INTERESTING_U64))
        return segment[:pos] + struct.pack(">Q", value) + segment[pos + 8 :]
    if op == "u32":
        value = draw(st.sampled_from(INTERESTING_U32))
        return segment[:pos] + struct.pack(">I", value) + segment[pos + 4 :]
    if op == "append":
        return segment + draw(st.binary(min_size=1, max_size=512))
    # splice: a random block replaces a window
    block = draw(st.binary(min_size=1, max_size=128))
    return segment[:pos] + block + segment[pos + len(block) :]


@st.composite
def mutated_segments(draw: st.DrawFn, segments: list[bytes]) -> list[bytes]:
    """1-4 mutations of a recorded side: byte edits inside a segment, or a segment dropped,
    duplicated or swapped."""
    out = list(segments)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["bytes", "bytes", "bytes", "drop", "dup", "swap"]))
        index = draw(st.integers(0, len(out) - 1))
        if kind == "bytes":
            out[index] = _mutate_one(draw, out[index])
        elif kind == "drop" and len(out) > 1:
            del out[index]
        elif kind == "dup":
            out.insert(index, out[index])
        elif kind == "swap" and len(out) > 1:
            other = draw(st.integers(0, len(out) - 1))
            out[index], out[other] = out[other], out[index]
    return out
