"""SCATTER, GATHER and CHANNEL in memory (libzmq scatter.cpp / gather.cpp / channel.cpp,
tests/test_scatter_gather.cpp and tests/test_channel.cpp)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from securemq.constants import Errno, SocketType
from securemq.error import ZMQError
from securemq.pipe import Peer, Pipe
from securemq.routing.base import RoutingOptions
from securemq.routing.peer_channel import Channel
from securemq.routing.scatter_gather import Gather, Scatter

MakePeer = Callable[..., Peer]


def link(hwm: int = 10) -> tuple[Peer, Peer]:
    ab, ba = Pipe(hwm), Pipe(hwm)
    return Peer(ba, ab), Peer(ab, ba)


def errno_of(call: Callable[[], object]) -> int:
    with pytest.raises(ZMQError) as err:
        call()
    return err.value.errno


# -- SCATTER ---------------------------------------------------------------------------------
def test_scatter_round_robin_blocks_and_is_single_part(
    opts: RoutingOptions, make_peer: MakePeer
) -> None:
    scatter = Scatter(opts)
    assert scatter.socket_type == SocketType.SCATTER and scatter.thread_safe
    assert scatter.send([b"x"]) is False and not scatter.can_send()  # no peer: the send waits
    peers = [make_peer(hwm=2) for _ in range(3)]
    for peer in peers:
        scatter.attach(peer)
    scatter.attach(peers[0])
    for i in range(6):
        assert scatter.send([b"%d" % i])
    assert scatter.send([b"6"]) is False and not scatter.can_send()
    assert [[m[0] for m in p.outbound.read_many()] for p in peers] == [
        [b"0", b"3"], [b"1", b"4"], [b"2", b"5"]
    ]
    assert errno_of(lambda: scatter.send([b"a", b"b"])) == Errno.EINVAL
    assert errno_of(scatter.recv) == Errno.ENOTSUP and not scatter.can_recv()
    scatter.detach(peers[1])
    assert scatter.send([b"7"]) and scatter.send([b"8"])
    assert len(peers[1].outbound) == 0


# -- GATHER ----------------------------------------------------------------------------------
def test_gather_fair_queues_and_drops_multipart(opts: RoutingOptions, make_peer: MakePeer) -> None:
    gather = Gather(opts)
    a, b = make_peer(), make_peer()
    gather.attach(a)
    gather.attach(b)
    a.inbound.write([b"a1"])
    a.inbound.write([b"bad", b"multi"])
    a.inbound.write([b"a2"])
    b.inbound.write([b"multi", b"first"])
    b.inbound.write([b"b1"])
    got = []
    while gather.can_recv():
        item = gather.recv()
        assert item is not None
        got.append((item[0][0], item[1]))
    assert got == [(b"a1", a), (b"b1", b), (b"a2", a)]
    assert errno_of(lambda: gather.send([b"x"])) == Errno.ENOTSUP and not gather.can_send()


def test_gather_sole_peer_batches_skip_multipart(opts: RoutingOptions, make_peer: MakePeer) -> None:
    gather = Gather(opts)
    peer = make_peer()
    gather.attach(peer)
    for msg in ([b"1"], [b"x", b"y"], [b"2"], [b"p", b"q"]):
        peer.inbound.write(msg)
    assert gather.recv() == ([b"1"], peer)
    assert gather.holds(peer)  # the rest of the batch waits here
    assert gather.can_recv()
    assert gather.recv() == ([b"2"], peer)
    assert not gather.can_recv() and not gather.holds(peer)
    assert gather.recv() is None


def test_scatter_gather_end_to_end_in_order(opts: RoutingOptions) -> None:
    scatter, gather = Scatter(opts), Gather(opts)
    at_scatter, at_gather = link()
    scatter.attach(at_scatter)
    gather.attach(at_gather)
    for i in range(3):
        assert scatter.send([b"item%d" % i])
    assert [gather.recv() for _ in range(3)] == [([b"item%d" % i], at_gather) for i in range(3)]


# -- CHANNEL ---------------------------------------------------------------------------------
def test_channel_one_peer_single_part(opts: RoutingOptions, make_peer: MakePeer) -> None:
    channel = Channel(opts)
    assert channel.socket_type == SocketType.CHANNEL and channel.thread_safe
    assert channel.send([b"x"]) is False and not channel.can_send()  # no peer: EAGAIN/wait
    first, second = make_peer(hwm=1), make_peer()
    channel.attach(first)
    channel.attach(second)
    assert errno_of(lambda: channel.send([b"a", b"b"])) == Errno.EINVAL  # test_channel.cpp
    assert channel.send([b"one"]) and channel.send([b"two"]) is False
    assert first.outbound.read_many() == [[b"one"]] and len(second.outbound) == 0
    second.inbound.write([b"ignored"])
    first.inbound.write([b"multi", b"part"])
    assert not channel.can_recv()
    first.inbound.write([b"x", b"y"])
    first.inbound.write([b"ok"])
    assert channel.can_recv()
    assert channel.recv() == ([b"ok"], first)
    first.inbound.write([b"m", b"n"])
    assert channel.recv() is None
    channel.detach(first)
    assert channel.peer is second


def test_channel_end_to_end(opts: RoutingOptions) -> None:
    a, b = Channel(opts), Channel(opts)
    at_a, at_b = link()
    a.attach(at_a)
    b.attach(at_b)
    assert b.send([b"one"])
    assert a.recv() == ([b"one"], at_a)
    assert a.send([b"two"])
    assert b.recv() == ([b"two"], at_b)
