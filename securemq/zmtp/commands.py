"""ZMTP command bodies: a length-prefixed name followed by command data (RFC 23 section 3.3)."""

from __future__ import annotations

from ..constants import ProtocolError
from .errors import ProtocolViolation


def encode_command(name: bytes, data: bytes = b"") -> bytes:
    """The body of a command frame: name length, name, data."""
    if not 0 < len(name) < 256:
        raise ValueError(f"ZMTP: command name must be 1..255 bytes, got {len(name)}")
    return bytes((len(name),)) + name + data


def decode_command(body: bytes) -> tuple[bytes, bytes]:
    """Split a command frame body into (name, data); a malformed body is a ProtocolViolation."""
    if not body:
        raise ProtocolViolation(
            "ZMTP: empty command frame", ProtocolError.ZMTP_MALFORMED_COMMAND_UNSPECIFIED
        )
    size = body[0]
    if size == 0 or len(body) < 1 + size:
        raise ProtocolViolation(
            "ZMTP: command name length exceeds the frame",
            ProtocolError.ZMTP_MALFORMED_COMMAND_UNSPECIFIED,
        )
    return bytes(body[1 : 1 + size]), bytes(body[1 + size :])


def command_name(body: bytes) -> bytes | None:
    """The command name if the body is well formed, else None (for dispatch without raising)."""
    if not body or body[0] == 0 or len(body) < 1 + body[0]:
        return None
    return bytes(body[1 : 1 + body[0]])
