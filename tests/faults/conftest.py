"""Fixtures for the fault tests: securemq and pyzmq contexts torn down with linger 0."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import zmq as pyzmq

import securemq


@pytest.fixture
def sctx() -> Iterator[securemq.Context]:
    ctx = securemq.Context()
    yield ctx
    ctx.destroy(linger=0)


@pytest.fixture
def pctx() -> Iterator[Any]:
    ctx: Any = pyzmq.Context()
    yield ctx
    ctx.destroy(linger=0)
