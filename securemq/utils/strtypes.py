"""pyzmq's deprecated ``zmq.utils.strtypes``: str/bytes casts from the Python 2 era."""

from __future__ import annotations

import warnings

bytes = bytes  # the module re-exports these names
unicode = str
basestring = (str,)


def _deprecated() -> None:
    warnings.warn("zmq.utils.strtypes is deprecated in pyzmq 23.", DeprecationWarning,
                  stacklevel=3)


def cast_bytes(s: str | bytes, encoding: str = "utf8", errors: str = "strict") -> bytes:
    """``s`` as bytes (str is encoded)."""
    _deprecated()
    if isinstance(s, bytes):
        return s
    if isinstance(s, str):
        return s.encode(encoding, errors)
    raise TypeError(f"Expected unicode or bytes, got {s!r}")


def cast_unicode(s: str | bytes, encoding: str = "utf8", errors: str = "strict") -> str:
    """``s`` as str (bytes are decoded)."""
    _deprecated()
    if isinstance(s, str):
        return s
    if isinstance(s, bytes):
        return s.decode(encoding, errors)
    raise TypeError(f"Expected unicode or bytes, got {s!r}")


b = asbytes = cast_bytes
u = cast_unicode

__all__ = ["asbytes", "b", "basestring", "bytes", "cast_bytes", "cast_unicode", "u", "unicode"]
