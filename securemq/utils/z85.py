"""Alias of securemq.z85 at pyzmq's path, with pyzmq's alphabet tables."""

from ..z85 import decode, encode

# The Z85 alphabet (ZeroMQ RFC 32) and each character's value, as pyzmq exposes them.
Z85CHARS = (
    b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#"
)
Z85MAP = {char: value for value, char in enumerate(Z85CHARS)}

__all__ = ["Z85CHARS", "Z85MAP", "decode", "encode"]
