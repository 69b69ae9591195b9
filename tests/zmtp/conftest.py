"""Shared fixtures for the sans-IO ZMTP tests (pump helpers live in tests/zmtp/pump.py)."""

from __future__ import annotations

import pytest

from tests.zmtp.pump import pump


@pytest.fixture(params=[False, True], ids=["whole", "bytewise"])
def byte_at_a_time(request: pytest.FixtureRequest) -> bool:
    """Run a test with whole chunks and again feeding one byte at a time."""
    return bool(request.param)


@pytest.fixture(name="pump")
def pump_fixture() -> object:
    """The pump function, for tests that prefer a fixture to an import."""
    return pump
