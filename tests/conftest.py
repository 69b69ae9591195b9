"""Fixtures shared by every test package."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import zmq

import securemq


@pytest.fixture
def contexts() -> Iterator[dict[str, Any]]:
    """A securemq and a pyzmq context, by library name, both destroyed with linger 0."""
    made: dict[str, Any] = {"securemq": securemq.Context(), "pyzmq": zmq.Context()}
    yield made
    for ctx in made.values():
        ctx.destroy(linger=0)
