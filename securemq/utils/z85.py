"""Alias of securemq.z85 at pyzmq's path."""

from ..z85 import decode, encode

__all__ = ["decode", "encode"]
