"""CLIENT, SERVER and PEER in memory (libzmq client.cpp / server.cpp / peer.cpp semantics,
tests/test_client_server.cpp and tests/test_peer.cpp), and the routing-id seam."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from securemq.constants import Errno, SocketType
from securemq.error import ZMQError
from securemq.pipe import Peer, Pipe
from securemq.routing.base import RoutingOptions
from securemq.routing.client_server import Client, Server
from securemq.routing.draft import decode_routing_id, encode_routing_id
from securemq.routing.draft_types import DRAFT_ROUTING, create_draft
from securemq.routing.peer_channel import PeerRouting

MakePeer = Callable[..., Peer]


def link(hwm: int = 10) -> tuple[Peer, Peer]:
    """Two views of one connection (as inproc has them): a's outbound is b's inbound."""
    ab, ba = Pipe(hwm), Pipe(hwm)
    return Peer(ba, ab), Peer(ab, ba)


def errno_of(call: Callable[[], object]) -> int:
    with pytest.raises(ZMQError) as err:
        call()
    return err.value.errno


# -- the routing-id seam ---------------------------------------------------------------------
def test_routing_id_frames() -> None:
    assert encode_routing_id(1) == b"\x00\x00\x00\x01"
    assert encode_routing_id(0xFFFFFFFF) == b"\xff\xff\xff\xff"
    assert decode_routing_id(b"\x12\x34\x56\x78") == 0x12345678
    for bad in (0, -1, 1 << 32):
        assert errno_of(lambda bad=bad: encode_routing_id(bad)) == Errno.EINVAL
    for frame in (b"", b"\x01", b"\x00\x00\x00\x00\x01"):
        assert errno_of(lambda frame=frame: decode_routing_id(frame)) == Errno.EINVAL


# -- CLIENT ----------------------------------------------------------------------------------
def test_client_round_robin_and_blocks(opts: RoutingOptions, make_peer: MakePeer) -> None:
    client = Client(opts)
    assert client.thread_safe and client.name == "CLIENT"
    assert client.send([b"x"]) is False and not client.can_send()  # no peer: a send waits
    peers = [make_peer(hwm=1) for _ in range(2)]
    for peer in peers:
        client.attach(peer)
    client.attach(peers[0])  # attaching twice changes nothing
    assert client.can_send()
    assert client.send([b"a"]) and client.send([b"b"])
    assert client.send([b"c"]) is False  # both full
    assert [p.outbound.read_many() for p in peers] == [[[b"a"]], [[b"b"]]]


def test_client_single_part_only(opts: RoutingOptions, make_peer: MakePeer) -> None:
    client = Client(opts)
    client.attach(make_peer())
    assert errno_of(lambda: client.send([b"a", b"b"])) == Errno.EINVAL
    assert errno_of(lambda: client.send([])) == Errno.EINVAL


def test_client_fair_queues_and_drops_multipart(opts: RoutingOptions, make_peer: MakePeer) -> None:
    client = Client(opts)
    a, b = make_peer(), make_peer()
    client.attach(a)
    client.attach(b)
    a.inbound.write([b"multi", b"part"])
    assert not client.can_recv()  # only a multi-frame message: nothing to receive
    assert len(a.inbound) == 0
    a.inbound.write([b"a1"])
    a.inbound.write([b"x", b"y", b"z"])
    a.inbound.write([b"a2"])
    b.inbound.write([b"b1"])
    assert client.can_recv()
    got = [client.recv() for _ in range(3)]
    assert got == [([b"a1"], a), ([b"b1"], b), ([b"a2"], a)]
    assert client.recv() is None
    client.detach(a)
    assert client.send([b"only b"])
    assert b.outbound.read_many() == [[b"only b"]]


# -- SERVER ----------------------------------------------------------------------------------
def test_server_ids_count_up_from_random_and_skip_zero(
    opts: RoutingOptions, make_peer: MakePeer
) -> None:
    server = Server(opts, random_bits=lambda n: 0xFFFFFFFE)
    peers = [make_peer() for _ in range(3)]
    for peer in peers:
        server.attach(peer)
    ids = [server.routing_id_of(p) for p in peers]
    assert ids == [0xFFFFFFFE, 0xFFFFFFFF, 1]  # 0 is never used (libzmq server.cpp)
    assert peers[2].routing_id == b"\x00\x00\x00\x01"
    assert server.routing_id_of(make_peer()) is None


def test_server_skips_ids_in_use_after_wrap(opts: RoutingOptions, make_peer: MakePeer) -> None:
    server = Server(opts, random_bits=lambda n: 5)
    first = make_peer()
    server.attach(first)
    server._next_id = 5  # as if 2**32 more had come and gone
    second = make_peer()
    server.attach(second)
    assert server.routing_id_of(first) == 5 and server.routing_id_of(second) == 6


def test_server_routes_by_id_and_reports_sender(opts: RoutingOptions, make_peer: MakePeer) -> None:
    server = Server(opts, random_bits=lambda n: 100)
    a, b = make_peer(), make_peer()
    server.attach(a)
    server.attach(b)
    assert server.can_send()
    assert server.send([encode_routing_id(101), b"to b"])
    assert b.outbound.read_many() == [[b"to b"]] and len(a.outbound) == 0
    a.inbound.write([b"from a"])
    b.inbound.write([b"drop", b"me"])
    b.inbound.write([b"from b"])
    assert server.can_recv()
    assert server.recv() == ([encode_routing_id(100), b"from a"], a)
    assert server.recv() == ([encode_routing_id(101), b"from b"], b)
    assert server.recv() is None and not server.can_recv()


def test_server_unknown_or_gone_id_is_ehostunreach(
    opts: RoutingOptions, make_peer: MakePeer
) -> None:
    server = Server(opts, random_bits=lambda n: 7)
    peer = make_peer()
    server.attach(peer)
    assert errno_of(lambda: server.send([encode_routing_id(8), b"x"])) == Errno.EHOSTUNREACH
    peer.outbound.closed = True
    err = errno_of(lambda: server.send([encode_routing_id(7), b"x"]))
    assert err == Errno.EHOSTUNREACH
    peer.outbound.closed = False
    server.detach(peer)
    assert errno_of(lambda: server.send([encode_routing_id(7), b"x"])) == Errno.EHOSTUNREACH


def test_server_send_shape_is_einval(opts: RoutingOptions, make_peer: MakePeer) -> None:
    server = Server(opts, random_bits=lambda n: 7)
    server.attach(make_peer())
    assert errno_of(lambda: server.send([b"x"])) == Errno.EINVAL
    assert errno_of(lambda: server.send([encode_routing_id(7), b"a", b"b"])) == Errno.EINVAL
    assert errno_of(lambda: server.send([b"\x07", b"x"])) == Errno.EINVAL


def test_server_full_pipe_is_not_now(opts: RoutingOptions, make_peer: MakePeer) -> None:
    server = Server(opts, random_bits=lambda n: 7)
    peer = make_peer(hwm=1)
    server.attach(peer)
    assert server.send([encode_routing_id(7), b"1"]) is True
    assert server.send([encode_routing_id(7), b"2"]) is False  # libzmq: EAGAIN, sender waits
    assert server.can_send()  # always, as libzmq
    peer.outbound.read()
    assert server.send([encode_routing_id(7), b"3"]) is True


def test_server_keeps_id_across_hiccup(opts: RoutingOptions, make_peer: MakePeer) -> None:
    server = Server(opts, random_bits=lambda n: 40)
    peer = make_peer()
    server.attach(peer)
    server.hiccup(peer)
    server.attach(peer)
    assert server.routing_id_of(peer) == 40


def test_client_server_end_to_end(opts: RoutingOptions) -> None:
    server = Server(opts, random_bits=lambda n: 0x1234)
    client = Client(opts)
    at_server, at_client = link()
    server.attach(at_server)
    client.attach(at_client)
    assert client.send([b"ping"])
    msg, _ = server.recv() or ([], None)
    assert msg == [b"\x00\x00\x12\x34", b"ping"] and decode_routing_id(msg[0]) == 0x1234
    assert server.send([msg[0], b"pong"])
    assert client.recv() == ([b"pong"], at_client)


# -- PEER ------------------------------------------------------------------------------------
def test_peer_reports_the_connect_routing_id(opts: RoutingOptions) -> None:
    one = PeerRouting(opts, random_bits=lambda n: 10)
    two = PeerRouting(opts, random_bits=lambda n: 500)
    at_one, at_two = link()
    one.attach(at_one)  # the binding side's pipe
    two.attach(at_two)  # zmq_connect_peer: the pipe exists at connect time
    peer1_id = two.last_routing_id
    assert peer1_id == 500 and one.last_routing_id == 10
    assert two.send([encode_routing_id(peer1_id), b"\x01"])
    msg, _ = one.recv() or ([], None)
    assert msg == [encode_routing_id(10), b"\x01"]
    assert one.send([msg[0], b"\x02"])
    assert two.recv() == ([encode_routing_id(peer1_id), b"\x02"], at_two)


def test_peer_is_server_with_its_own_type(opts: RoutingOptions, make_peer: MakePeer) -> None:
    peer = PeerRouting(opts, random_bits=lambda n: 3)
    assert peer.socket_type == SocketType.PEER and peer.name == "PEER" and peer.thread_safe
    assert peer.last_routing_id == 0
    assert errno_of(lambda: peer.send([encode_routing_id(9), b"x"])) == Errno.EHOSTUNREACH


# -- factory ---------------------------------------------------------------------------------
@pytest.mark.parametrize("socket_type", sorted(DRAFT_ROUTING))
def test_create_draft(socket_type: int, opts: RoutingOptions) -> None:
    made = create_draft(socket_type, opts, random_bits=lambda n: 1)
    assert made.socket_type == socket_type
    assert getattr(made, "thread_safe", False) is True
    for call in (made.subscribe, made.unsubscribe):  # no type here takes SUBSCRIBE
        assert errno_of(lambda call=call: call(b"x")) == Errno.EINVAL


def test_create_draft_refuses_other_types(opts: RoutingOptions) -> None:
    assert errno_of(lambda: create_draft(SocketType.PUB, opts)) == Errno.EINVAL
    assert errno_of(lambda: create_draft(SocketType.DGRAM, opts)) == Errno.EINVAL
