"""A hand-made CurveZMQ client (RFC 26) that can lie: arbitrary INITIATE metadata and vouches.

Written from the RFC for the tests, independent of ``securemq.zmtp.mechanisms.curve``, so a
correctly boxed INITIATE can carry malformed metadata (the CVE-2019-13132 class: the boxes
open, then the server parses whatever is inside). Methods return command *bodies*; wrap them
with ``frame`` for the wire.
"""

from __future__ import annotations

import os
import struct

from nacl.bindings import (
    crypto_box,
    crypto_box_beforenm,
    crypto_box_open,
    crypto_box_open_afternm,
    crypto_scalarmult_base,
)
from nacl.bindings import crypto_box_afternm as box_afternm

from securemq.zmtp.frames import COMMAND, encode_frame


def frame(body: bytes) -> bytes:
    """A command frame around a body (short or long as the size needs)."""
    return encode_frame(COMMAND, body)


def long_frame_header(size: int, flags: int = COMMAND) -> bytes:
    """An 8-byte-size frame header declaring ``size`` bytes, whatever follows."""
    return bytes((flags | 0x02,)) + struct.pack(">Q", size)


def metadata_property(name: bytes, value: bytes, declared: int | None = None) -> bytes:
    """One ZMTP property; ``declared`` overrides the value size (to lie about it)."""
    size = len(value) if declared is None else declared
    return bytes((len(name),)) + name + struct.pack(">I", size) + value


class RawCurveClient:
    """One client connection's keys and nonces."""

    def __init__(self, server_public: bytes, secret: bytes | None = None) -> None:
        self.server_public = server_public
        self.secret = secret if secret is not None else os.urandom(32)
        self.public = crypto_scalarmult_base(self.secret)
        self.short_secret = os.urandom(32)
        self.short_public = crypto_scalarmult_base(self.short_secret)
        self.server_short = b""
        self.precomputed = b""
        self.nonce = 0

    def _next_nonce(self) -> bytes:
        self.nonce += 1
        return struct.pack(">Q", self.nonce)

    def hello(self) -> bytes:
        nonce = self._next_nonce()
        box = crypto_box(
            bytes(64), b"CurveZMQHELLO---" + nonce, self.server_public, self.short_secret
        )
        return b"\x05HELLO\x01\x00" + bytes(72) + self.short_public + nonce + box

    def initiate(
        self, welcome: bytes, metadata: bytes, *, vouch_server_key: bytes | None = None
    ) -> bytes:
        """INITIATE for a WELCOME body, with ``metadata`` exactly as given (not validated)."""
        if len(welcome) != 168 or not welcome.startswith(b"\x07WELCOME"):
            raise AssertionError(f"raw CURVE client: bad WELCOME ({len(welcome)} bytes)")
        plain = crypto_box_open(
            welcome[24:], b"WELCOME-" + welcome[8:24], self.server_public, self.short_secret
        )
        self.server_short, cookie = plain[:32], plain[32:128]
        self.precomputed = crypto_box_beforenm(self.server_short, self.short_secret)
        vouch_nonce = os.urandom(16)
        vouch = crypto_box(
            self.short_public + (vouch_server_key or self.server_public),
            b"VOUCH---" + vouch_nonce,
            self.server_short,
            self.secret,
        )
        nonce = self._next_nonce()
        inner = self.public + vouch_nonce + vouch + metadata
        box = box_afternm(inner, b"CurveZMQINITIATE" + nonce, self.precomputed)
        return b"\x08INITIATE" + cookie + nonce + box

    def open_ready(self, body: bytes) -> bytes:
        """The metadata inside the server's READY."""
        if not body.startswith(b"\x05READY"):
            raise AssertionError(f"raw CURVE client: expected READY, got {body[:9]!r}")
        return crypto_box_open_afternm(
            body[14:], b"CurveZMQREADY---" + body[6:14], self.precomputed
        )

    def message(self, payload: bytes, flags: int = 0) -> bytes:
        nonce = self._next_nonce()
        box = box_afternm(
            bytes((flags,)) + payload, b"CurveZMQMESSAGEC" + nonce, self.precomputed
        )
        return b"\x07MESSAGE" + nonce + box
