"""Fixtures for the API tests: a securemq Context torn down with linger 0, bounded sockets."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

import securemq as zmq

MakeSocket = Callable[..., zmq.Socket]


@pytest.fixture
def ctx() -> Iterator[zmq.Context]:
    context = zmq.Context()
    yield context
    context.destroy(linger=0)


@pytest.fixture
def make(ctx: zmq.Context) -> MakeSocket:
    """A socket with LINGER 0 and 5 s send/receive timeouts (override with keywords)."""

    def factory(socket_type: int, **options: Any) -> zmq.Socket:
        sock = ctx.socket(socket_type)
        sock.linger = 0
        sock.rcvtimeo = 5000
        sock.sndtimeo = 5000
        for name, value in options.items():
            setattr(sock, name, value)
        return sock

    return factory


@pytest.fixture(params=["inproc", "tcp"])
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def bind_any(sock: zmq.Socket, transport: str, name: str = "t") -> str:
    """Bind to a fresh endpoint of ``transport``; return what a peer connects to."""
    if transport == "inproc":
        endpoint = f"inproc://{name}-{id(sock):x}"
        sock.bind(endpoint)
        return endpoint
    sock.bind("tcp://127.0.0.1:*")
    last: bytes = sock.getsockopt(zmq.LAST_ENDPOINT)
    return last.decode()
