"""``zmq.sugar.version``: the version functions under pyzmq's path.

``pyzmq_version()`` is securemq's own version, as ``securemq.pyzmq_version()`` says;
``zmq_version()`` the libzmq release whose behaviour securemq follows.
"""

from __future__ import annotations

import re

from securemq import __version__, pyzmq_version, zmq_version, zmq_version_info

__revision__ = ""

_numbers = re.match(r"(\d+)\.(\d+)\.(\d+)(.*)", __version__)
assert _numbers is not None, __version__
VERSION_MAJOR, VERSION_MINOR, VERSION_PATCH = (int(g) for g in _numbers.groups()[:3])
VERSION_EXTRA = _numbers.group(4).lstrip(".")

version_info: tuple[int, int, int] | tuple[int, int, int, float] = (
    (VERSION_MAJOR, VERSION_MINOR, VERSION_PATCH, float("inf")) if VERSION_EXTRA
    else (VERSION_MAJOR, VERSION_MINOR, VERSION_PATCH)
)


def pyzmq_version_info() -> tuple[int, int, int] | tuple[int, int, int, float]:
    """The version as a tuple; a development version ends with ``inf``."""
    return version_info


__all__ = [
    "__revision__", "__version__", "pyzmq_version", "pyzmq_version_info", "zmq_version",
    "zmq_version_info",
]
