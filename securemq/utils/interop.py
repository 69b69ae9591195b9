"""``zmq.utils.interop``: addresses handed over by other libraries, as ints."""

from __future__ import annotations

import importlib
from typing import Any


def cast_int_addr(n: Any) -> int:
    """An address given as an int or a CFFI pointer, as an int.

    securemq has no C objects, so only pointers made by other libraries can reach this.
    """
    if isinstance(n, int):
        return n
    try:
        cffi = importlib.import_module("cffi")
    except ImportError:
        pass
    else:
        ffi = cffi.FFI()
        if isinstance(n, ffi.CData):
            return int(ffi.cast("size_t", n))
    raise ValueError(f"Cannot cast {n!r} to int")


__all__ = ["cast_int_addr"]
