"""Z85 (ZeroMQ RFC 32) and CURVE key pairs on PyNaCl, with pyzmq's function names."""

from __future__ import annotations

import base64

_ALPHABET = (
    b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#"
)
# Z85 is base 85 with big-endian 4-byte groups, as the RFC 1924 alphabet that base64.b85encode
# uses: the same digits, other characters. Encoding is that C codec and a translation.
_BASE85_ALPHABET = (
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$%&()*+-;<=>?@^_`{|}~"
)
_BASE85_TO_Z85 = bytes.maketrans(_BASE85_ALPHABET, _ALPHABET)
_Z85_TO_BASE85 = bytes.maketrans(_ALPHABET, _BASE85_ALPHABET)


def encode(rawbytes: bytes) -> bytes:
    """Encode bytes whose length is a multiple of 4 into Z85 text (as bytes)."""
    data = bytes(rawbytes)
    if len(data) % 4:
        raise ValueError(f"Z85 encode: length must be a multiple of 4, got {len(data)}")
    return base64.b85encode(data).translate(_BASE85_TO_Z85)


def decode(z85bytes: bytes | str) -> bytes:
    """Decode Z85 text (bytes or ASCII str) whose length is a multiple of 5."""
    if isinstance(z85bytes, str):
        try:
            text = z85bytes.encode("ascii")
        except UnicodeEncodeError:
            raise ValueError("Z85 decode: text is not ASCII") from None
    else:
        text = bytes(z85bytes)
    if len(text) % 5:
        raise ValueError(f"Z85 decode: length must be a multiple of 5, got {len(text)}")
    if text.translate(None, _ALPHABET):  # (what is left is not Z85)
        offset = next(i for i, char in enumerate(text) if char not in _ALPHABET)
        # The character itself is not shown: the text may be a secret key.
        raise ValueError(f"Z85 decode: invalid character at offset {offset}")
    try:
        return base64.b85decode(text.translate(_Z85_TO_BASE85))
    except ValueError:
        raise ValueError(f"Z85 decode: block at offset {_overflow(text)} exceeds 32 bits") from None


def _overflow(text: bytes) -> int:
    """The offset of the first 5-character block whose value exceeds 32 bits."""
    for start in range(0, len(text), 5):
        value = 0
        for char in text[start : start + 5]:
            value = value * 85 + _ALPHABET.index(char)
        if value > 0xFFFFFFFF:
            return start
    return -1


def curve_keypair() -> tuple[bytes, bytes]:
    """A new CURVE key pair as Z85 bytes: (public, secret), like pyzmq."""
    from nacl.bindings import crypto_box_keypair

    public, secret = crypto_box_keypair()
    return encode(public), encode(secret)


def curve_public(secret_key: bytes | str) -> bytes:
    """The Z85 public key of a Z85 (40 chars) or raw (32 bytes) secret key."""
    from nacl.bindings import crypto_scalarmult_base

    raw = key_bytes(secret_key, "secret key")
    return encode(crypto_scalarmult_base(raw))


def key_bytes(key: bytes | str, what: str = "key") -> bytes:
    """A CURVE key as 32 raw bytes from 32 raw bytes or 40 Z85 characters; else ValueError."""
    if isinstance(key, str):
        key = key.encode("ascii", "replace")
    if len(key) == 32:
        return bytes(key)
    if len(key) == 40:
        return decode(key)
    raise ValueError(f"CURVE {what}: expected 32 raw bytes or 40 Z85 characters, got {len(key)}")
