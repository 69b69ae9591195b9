"""JSON to and from UTF-8 bytes, at pyzmq's path ``zmq.utils.jsonapi``."""

from __future__ import annotations

import json
from typing import Any

jsonmod = json  # pyzmq keeps this name for old callers


def dumps(o: object, **kwargs: Any) -> bytes:
    """``json.dumps(o, **kwargs)`` encoded as UTF-8."""
    return json.dumps(o, **kwargs).encode("utf-8")


def loads(s: bytes | bytearray | memoryview | str, **kwargs: Any) -> Any:
    """Parse JSON from UTF-8 bytes (or a str); keywords go to ``json.loads``."""
    if not isinstance(s, str):
        s = bytes(s).decode("utf-8")
    return json.loads(s, **kwargs)


__all__ = ["dumps", "loads"]
