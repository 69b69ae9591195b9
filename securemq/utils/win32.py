"""``zmq.utils.win32``: the Ctrl-C helper, a no-op where securemq runs (POSIX).

pyzmq needs it on Windows because a blocking libzmq poll hides Ctrl-C from the interpreter;
securemq's blocking calls wait in short slices and see KeyboardInterrupt themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class allow_interrupt:
    """Context manager that would call ``action`` on Ctrl-C under Windows; does nothing here."""

    def __init__(self, action: Callable[[], Any] | None = None) -> None:
        self.action = action if action is not None else _nothing

    def __enter__(self) -> None:
        return None

    def __exit__(self, *args: Any) -> None:
        return None


def _nothing() -> None:
    return None


__all__ = ["allow_interrupt"]
