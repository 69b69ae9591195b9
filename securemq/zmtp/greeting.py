"""The ZMTP 3 greeting (RFC 23 section 3.1): 64 bytes, sent by both peers before anything else.

Layout: signature (0xFF, 8 padding bytes, 0x7F), version (major, minor), mechanism (20 bytes,
null-padded), as-server (1 byte), filler (31 zero bytes). The parser checks each byte that
matters as soon as it arrives, so a ZMTP/1.0 peer (which sends ``01 00`` and waits) is refused
at once rather than after 64 bytes that never come.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..constants import ProtocolError
from .errors import ProtocolViolation

GREETING_SIZE = 64
VERSION = (3, 1)
MECHANISM_SIZE = 20
_SIGNATURE_END = 9  # the 0x7F byte (only bit 0 is checked, as libzmq does)
_MAJOR = 10
_MINOR = 11
_MECHANISM = 12
_AS_SERVER = 32


@dataclass(frozen=True, slots=True)
class Greeting:
    """What the peer announced."""

    version: tuple[int, int]
    mechanism: bytes
    as_server: bool


def encode_greeting(mechanism: bytes, as_server: bool) -> bytes:
    """Our 64-byte greeting announcing ZMTP 3.1."""
    if not 0 < len(mechanism) <= MECHANISM_SIZE or b"\x00" in mechanism:
        raise ValueError(f"ZMTP greeting: invalid mechanism name {mechanism!r}")
    return b"".join(
        (
            b"\xff" + bytes(8) + b"\x7f",
            bytes(VERSION),
            mechanism.ljust(MECHANISM_SIZE, b"\x00"),
            b"\x01" if as_server else b"\x00",
            bytes(31),
        )
    )


def _not_zmtp3(what: str) -> ProtocolViolation:
    return ProtocolViolation(
        f"ZMTP: peer greeting is not ZMTP 3 ({what})", ProtocolError.ZMTP_UNSPECIFIED
    )


class GreetingParser:
    """Incremental greeting parser: ``feed`` returns None until complete, then the leftover."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self.greeting: Greeting | None = None

    def _check(self, first: int) -> None:
        """Check the signature/version bytes at indexes >= ``first`` that have arrived."""
        buf = self._buf
        size = len(buf)
        if first == 0 and size > 0 and buf[0] != 0xFF:
            raise _not_zmtp3(f"first byte 0x{buf[0]:02x}")
        if first <= _SIGNATURE_END < size and not buf[_SIGNATURE_END] & 0x01:
            raise _not_zmtp3(f"signature byte 9 is 0x{buf[_SIGNATURE_END]:02x}")
        if first <= _MAJOR < size and buf[_MAJOR] < 3:
            raise ProtocolViolation(
                f"ZMTP: peer greeting announces ZMTP major version {buf[_MAJOR]}; 3 is required",
                ProtocolError.ZMTP_UNSPECIFIED,
            )

    def feed(self, data: bytes) -> bytes | None:
        """Consume greeting bytes; None while incomplete, else the bytes that follow it."""
        if self.greeting is not None:
            return bytes(data)
        buf = self._buf
        first = len(buf)
        need = GREETING_SIZE - first
        buf += data[:need]
        self._check(first)
        if len(buf) < GREETING_SIZE:
            return None
        mechanism = bytes(buf[_MECHANISM : _MECHANISM + MECHANISM_SIZE]).split(b"\x00", 1)[0]
        self.greeting = Greeting(
            version=(buf[_MAJOR], buf[_MINOR]),
            mechanism=mechanism,
            as_server=buf[_AS_SERVER] != 0,
        )
        return bytes(data[need:])
