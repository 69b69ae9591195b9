"""``zmq.sugar.version``: the version functions under pyzmq's path.

``pyzmq_version()`` is securemq's own version, as ``securemq.pyzmq_version()`` says;
``zmq_version()`` the libzmq release whose behaviour securemq follows.
"""

from __future__ import annotations

from securemq import (
    __revision__,
    __version__,
    pyzmq_version,
    pyzmq_version_info,
    zmq_version,
    zmq_version_info,
)

__all__ = [
    "__revision__", "__version__", "pyzmq_version", "pyzmq_version_info", "zmq_version",
    "zmq_version_info",
]
