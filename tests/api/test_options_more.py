"""securemq-only checks of the options audit: where libzmq cannot be the reference (it
asserts, or the stock wheel lacks the feature) or where securemq's own structures are looked at."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import securemq as zmq

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def ctx() -> Iterator[zmq.Context]:
    context = zmq.Context()
    yield context
    context.destroy(linger=0)


def socket(ctx: zmq.Context, kind: int, **options: object) -> zmq.Socket:
    sock = ctx.socket(kind)
    sock.linger = 0
    sock.rcvtimeo = 5000
    sock.sndtimeo = 5000
    for name, value in options.items():
        setattr(sock, name, value)
    return sock


def test_connect_routing_id_already_in_use_is_einval(ctx: zmq.Context) -> None:
    """libzmq asserts (zmq_assert (!has_out_pipe (routing_id))); securemq refuses the connect."""
    servers = [socket(ctx, zmq.ROUTER) for _ in range(2)]
    for server in servers:
        server.bind("tcp://127.0.0.1:*")
    client = socket(ctx, zmq.ROUTER)
    client.connect_routing_id = b"taken"
    client.connect(servers[0].last_endpoint.decode())
    client.connect_routing_id = b"taken"
    with pytest.raises(zmq.ZMQError) as info:
        client.connect(servers[1].last_endpoint.decode())
    assert info.value.errno == zmq.EINVAL and "CONNECT_ROUTING_ID" in str(info.value)
    # Nothing was consumed or connected: another name works for that endpoint.
    client.connect_routing_id = b"free"
    client.connect(servers[1].last_endpoint.decode())
    client.send_multipart([b"free", b"to the second"])
    assert servers[1].recv_multipart()[1] == b"to the second"


def test_connect_routing_id_over_inproc_before_the_bind(ctx: zmq.Context) -> None:
    """The name holds although the other side, binding later, names the link again."""
    client = socket(ctx, zmq.ROUTER, routing_id=b"client")
    client.connect_routing_id = b"srv"
    client.connect("inproc://named-before-bind")
    client.send_multipart([b"srv", b"queued"])
    server = socket(ctx, zmq.ROUTER, routing_id=b"server")
    server.bind("inproc://named-before-bind")
    assert server.recv_multipart() == [b"client", b"queued"]
    server.send_multipart([b"client", b"back"])
    assert client.recv_multipart() == [b"srv", b"back"]


def test_thread_safe_reports_the_type(ctx: zmq.Context) -> None:
    with ctx.socket(zmq.DEALER) as dealer:
        assert dealer.getsockopt(zmq.THREAD_SAFE) == 0
    with ctx.socket(zmq.SERVER) as server:
        assert server.getsockopt(zmq.THREAD_SAFE) == 1
