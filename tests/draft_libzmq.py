"""Tests that compare with libzmq's DRAFT options need a pyzmq built with the draft API (the
oracle wheel from ../shared/oracle, which ``make test`` installs where it exists). With the stock
wheel those options do not exist in libzmq, so the libzmq side of such a test skips."""

from __future__ import annotations

from types import ModuleType

import pytest
import zmq as pyzmq

REASON = ("needs libzmq's DRAFT options: pyzmq here was built without the draft API "
          "(install the oracle wheel from ../shared/oracle)")


def skip_without_draft_libzmq(module: ModuleType | None = pyzmq) -> None:
    """Skip when ``module`` is pyzmq (or always, by default) and it has no draft API."""
    if module is pyzmq and not pyzmq.DRAFT_API:
        pytest.skip(REASON)
