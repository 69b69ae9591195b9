"""Shared fixtures for the routing tests: option objects and in-memory peers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from securemq.pipe import Peer, Pipe


@dataclass
class Options:
    router_mandatory: bool = False
    router_handover: bool = False
    req_relaxed: bool = False
    req_correlate: bool = False
    xpub_verbose: bool = False
    xpub_verboser: bool = False
    xpub_nodrop: bool = False
    invert_matching: bool = False


MakePeer = Callable[..., Peer]


@pytest.fixture
def opts() -> Options:
    return Options()


@pytest.fixture
def make_peer() -> MakePeer:
    def make(routing_id: bytes = b"", hwm: int = 10, in_hwm: int = 0, name: str = "") -> Peer:
        return Peer(Pipe(in_hwm), Pipe(hwm), routing_id=routing_id, endpoint=name)

    return make
