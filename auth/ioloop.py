"""``zmq.auth.ioloop``: deprecated since pyzmq 25, kept for old imports.

tornado runs on asyncio, so ``IOLoopAuthenticator`` is the AsyncioAuthenticator; ``io_loop=``
(a tornado IOLoop) is accepted with a warning and its asyncio loop used.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

from .asyncio import AsyncioAuthenticator

warnings.warn(
    "zmq.auth.ioloop.IOLoopAuthenticator is deprecated. Use zmq.auth.asyncio.AsyncioAuthenticator",
    DeprecationWarning,
    stacklevel=2,
)

__all__ = ["IOLoopAuthenticator"]


class IOLoopAuthenticator(AsyncioAuthenticator):
    """ZAP authentication on tornado's IOLoop (that is, on its asyncio loop)."""

    def __init__(self, context: Any = None, encoding: str = "utf-8",
                 log: logging.Logger | None = None, io_loop: Any = None) -> None:
        loop = None
        if io_loop is not None:
            warnings.warn(
                f"{type(self).__name__}(io_loop) is deprecated and ignored",
                DeprecationWarning,
                stacklevel=2,
            )
            loop = io_loop.asyncio_loop
        super().__init__(context=context, loop=loop, encoding=encoding, log=log)
