"""``zmq.eventloop.ioloop``: deprecated since pyzmq 17; tornado's IOLoop under old names.

Importing it warns, as pyzmq does; ``ZMQIOLoop`` is tornado's ``IOLoop`` and ``install()``
only warns, since tornado's own loop already drives ZeroMQ sockets.
"""

from __future__ import annotations

import warnings


def _deprecated() -> None:
    warnings.warn(
        "zmq.eventloop.ioloop is deprecated in pyzmq 17."
        " pyzmq now works with default tornado and asyncio eventloops.",
        DeprecationWarning,
        stacklevel=3,
    )


_deprecated()

from tornado.ioloop import *  # noqa: E402, F403
from tornado.ioloop import IOLoop  # noqa: E402

ZMQIOLoop = IOLoop


def install() -> None:
    """Deprecated, does nothing: tornado's default loop needs no installing."""
    _deprecated()
