"""ZMTP metadata (properties) codec: name-size(1) name value-size(4, big endian) value, repeated."""

from __future__ import annotations

import struct
from collections.abc import Mapping

from ..constants import RESERVED_PROPERTY_PREFIX, ProtocolError
from .errors import ProtocolViolation

_NAME_CHARS = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.+")


def encode_metadata(properties: Mapping[str, bytes]) -> bytes:
    """Encode properties in order; names are ASCII of 1..255 valid characters."""
    parts: list[bytes] = []
    for name, value in properties.items():
        raw = name.encode("ascii")
        if not 0 < len(raw) < 256 or not set(raw) <= _NAME_CHARS:
            raise ValueError(f"ZMTP metadata: invalid property name {name!r}")
        parts.append(bytes((len(raw),)) + raw + struct.pack(">I", len(value)) + bytes(value))
    return b"".join(parts)


def decode_metadata(
    data: bytes, code: ProtocolError = ProtocolError.ZMTP_INVALID_METADATA
) -> dict[str, bytes]:
    """Decode properties (names keep the peer's spelling); bad input -> ProtocolViolation(code).

    Callers look names up case-insensitively (see ``lookup``); a repeated name keeps the last value.
    """
    props: dict[str, bytes] = {}
    view = memoryview(data)
    pos, end = 0, len(view)
    while pos < end:
        size = view[pos]
        pos += 1
        if size == 0 or pos + size > end:
            raise ProtocolViolation("ZMTP metadata: property name overruns the data", code)
        raw = bytes(view[pos : pos + size])
        if not set(raw) <= _NAME_CHARS:
            raise ProtocolViolation("ZMTP metadata: invalid character in property name", code)
        pos += size
        if pos + 4 > end:
            raise ProtocolViolation("ZMTP metadata: truncated property value size", code)
        (vsize,) = struct.unpack_from(">I", view, pos)
        pos += 4
        if vsize > end - pos:
            raise ProtocolViolation("ZMTP metadata: property value overruns the data", code)
        props[raw.decode("ascii")] = bytes(view[pos : pos + vsize])
        pos += vsize
    return props


# Names only the server itself may set: the OS gives Peer-Address, ZAP gives User-Id.
SERVER_OWNED = frozenset({"peer-address", "user-id"})
# Names only a ZAP reply may set: securemq's authorization rules (routing/authz.py). A peer's
# own property under this prefix is dropped, whether or not ZAP decided.
RESERVED_PREFIX = RESERVED_PROPERTY_PREFIX.lower()


def message_properties(
    peer: Mapping[str, bytes],
    *,
    peer_address: str,
    zap_metadata: Mapping[str, bytes] | None = None,
    user_id: bytes | None = None,
) -> dict[str, bytes]:
    """The properties a connection's messages carry, with a fixed precedence.

    ``Peer-Address`` comes from the OS (``peer_address``) and ``User-Id`` from a ZAP reply
    (``user_id``: None when ZAP did not decide, so no User-Id at all); every name in the ZAP
    metadata beats the same name sent by the peer; names compare case-insensitively, so a peer
    cannot shadow any of these by spelling a name differently. Of several spellings of one name
    from the same source, the last one wins. Names under securemq's reserved prefix
    (``Securemq-``: authorization rules) come from the ZAP metadata only; a peer's own are
    dropped.
    """
    zap = dict(zap_metadata or {})
    owned = set(SERVER_OWNED)
    owned.update(name.lower() for name in zap)
    merged: dict[str, tuple[str, bytes]] = {}
    for name, value in peer.items():
        folded = name.lower()
        if folded not in owned and not folded.startswith(RESERVED_PREFIX):
            merged[folded] = (name, value)
    for name, value in zap.items():
        folded = name.lower()
        if folded not in SERVER_OWNED:
            merged[folded] = (name, value)
    if user_id is not None:
        merged["user-id"] = ("User-Id", user_id)
    merged["peer-address"] = ("Peer-Address", peer_address.encode("utf-8", "surrogateescape"))
    return dict(merged.values())


def lookup(properties: Mapping[str, bytes], name: str) -> bytes | None:
    """Case-insensitive property lookup (ZMTP names are case-insensitive)."""
    folded = name.lower()
    for key, value in properties.items():
        if key.lower() == folded:
            return value
    return None
