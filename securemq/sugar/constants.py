"""``zmq.sugar.constants`` (the path of pyzmq <= 22): securemq's constants."""

from __future__ import annotations

from securemq.constants import *  # noqa: F403
