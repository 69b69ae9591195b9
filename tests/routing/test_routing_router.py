"""ROUTER semantics in memory: auto ids, announced ids, handover, mandatory."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from securemq.constants import Errno
from securemq.error import ZMQError
from securemq.pipe import Peer
from securemq.routing import Router
from securemq.routing.base import RoutingOptions

MakePeer = Callable[..., Peer]


def test_auto_ids_count_up_from_random_start(opts: RoutingOptions, make_peer: MakePeer) -> None:
    r = Router(opts, random_bits=lambda n: 0xFFFFFFFE)
    a, b, c = make_peer(), make_peer(), make_peer()
    for p in (a, b, c):
        r.attach(p)
    assert a.routing_id == b"\x00\xff\xff\xff\xfe"
    assert b.routing_id == b"\x00\xff\xff\xff\xff"
    assert c.routing_id == b"\x00\x00\x00\x00\x00"  # wraps at 2**32
    b.inbound.write([b"hello", b"world"])
    assert r.can_recv()
    assert r.recv() == ([b"\x00\xff\xff\xff\xff", b"hello", b"world"], b)
    assert r.send([c.routing_id, b"to c", b"2"]) is True
    assert c.outbound.read_many() == [[b"to c", b"2"]]


def test_announced_ids_route_and_recv(opts: RoutingOptions, make_peer: MakePeer) -> None:
    r = Router(opts, random_bits=lambda n: 7)
    a, anon = make_peer(b"alice"), make_peer()
    r.attach(a)
    r.attach(anon)
    assert a.routing_id == b"alice" and anon.routing_id == b"\x00\x00\x00\x00\x07"
    a.inbound.write([b"q"])
    anon.inbound.write([b"q2"])
    assert r.recv() == ([b"alice", b"q"], a)
    assert r.recv() == ([anon.routing_id, b"q2"], anon)
    assert r.recv() is None
    r.send([b"alice", b"reply"])
    assert a.outbound.read_many() == [[b"reply"]]


def test_unknown_id_dropped_or_ehostunreach(opts: RoutingOptions, make_peer: MakePeer) -> None:
    r = Router(opts)
    a = make_peer(b"alice")
    r.attach(a)
    assert r.send([b"bob", b"x"]) is True
    assert r.send([b"alice"]) is True  # a lone id frame is dropped
    assert len(a.outbound) == 0
    opts.router_mandatory = True
    with pytest.raises(ZMQError) as err:
        r.send([b"bob", b"x"])
    assert err.value.errno == Errno.EHOSTUNREACH and "ROUTER" in str(err.value)
    assert r.send([b"alice"]) is True  # still dropped silently, like libzmq


def test_full_peer_dropped_or_blocks_with_mandatory(
    opts: RoutingOptions, make_peer: MakePeer
) -> None:
    r = Router(opts)
    a = make_peer(b"alice", hwm=1)
    r.attach(a)
    assert r.send([b"alice", b"1"]) is True
    assert r.send([b"alice", b"2"]) is True  # dropped
    assert r.can_send()
    opts.router_mandatory = True
    assert not r.can_send()
    assert r.send([b"alice", b"3"]) is False
    assert a.outbound.read_many() == [[b"1"]]
    assert r.can_send()
    assert r.send([b"alice", b"4"]) is True
    assert a.outbound.read_many() == [[b"4"]]


def test_duplicate_id_newcomer_ignored(opts: RoutingOptions, make_peer: MakePeer) -> None:
    r = Router(opts)
    first, dup = make_peer(b"same"), make_peer(b"same")
    r.attach(first)
    r.attach(dup)
    dup.inbound.write([b"from dup"])
    assert not r.can_recv()
    assert len(dup.inbound) == 0  # dropped
    r.send([b"same", b"x"])
    assert first.outbound.read_many() == [[b"x"]]
    assert len(dup.outbound) == 0
    r.detach(dup)
    r.detach(first)
    opts.router_mandatory = True
    with pytest.raises(ZMQError):
        r.send([b"same", b"x"])


def test_handover_newcomer_takes_the_id(opts: RoutingOptions, make_peer: MakePeer) -> None:
    opts.router_handover = True
    r = Router(opts, random_bits=lambda n: 100)
    old, new = make_peer(b"same"), make_peer(b"same")
    r.attach(old)
    old.inbound.write([b"queued before handover"])
    r.attach(new)
    assert new.routing_id == b"same"
    assert old.routing_id == b"\x00\x00\x00\x00\x64"
    r.send([b"same", b"x"])
    assert new.outbound.read_many() == [[b"x"]]
    assert len(old.outbound) == 0
    # libzmq terminates the old pipe (router.cpp identify_peer -> pipe_t::terminate): what it
    # had queued, and whatever it sends later, is never read.
    assert r.recv() is None
    old.inbound.write([b"sent after handover"])
    assert r.recv() is None and not r.can_recv()
    r.send([old.routing_id, b"to the old one"])
    assert len(old.outbound) == 0
    r.detach(old)  # the old peer leaving must not unmap the new holder of the id
    r.send([b"same", b"y"])
    assert new.outbound.read_many() == [[b"y"]]


def test_detach_frees_id_and_drops_queue(opts: RoutingOptions, make_peer: MakePeer) -> None:
    r = Router(opts)
    a = make_peer(b"alice")
    r.attach(a)
    r.send([b"alice", b"1"])
    a.inbound.write([b"in"])
    r.detach(a)
    assert len(a.outbound) == 0 and r.recv() is None
    b = make_peer(b"alice")
    r.attach(b)
    assert b.routing_id == b"alice"


def test_hiccup_reidentifies(opts: RoutingOptions, make_peer: MakePeer) -> None:
    r = Router(opts, random_bits=lambda n: 1)
    a = make_peer()
    r.attach(a)
    assert a.routing_id == b"\x00\x00\x00\x00\x01"
    a.routing_id = b"renamed"  # what the peer announced on its new connection
    r.hiccup(a)
    r.send([b"renamed", b"x"])
    assert a.outbound.read_many() == [[b"x"]]
    opts.router_mandatory = True
    with pytest.raises(ZMQError):
        r.send([b"\x00\x00\x00\x00\x01", b"x"])


def test_auto_id_skips_ids_in_use(opts: RoutingOptions, make_peer: MakePeer) -> None:
    r = Router(opts, random_bits=lambda n: 5)
    squatter = make_peer(b"\x00\x00\x00\x00\x05")
    r.attach(squatter)
    anon = make_peer()
    r.attach(anon)
    assert anon.routing_id == b"\x00\x00\x00\x00\x06"


def test_closed_peer_is_unreachable(opts: RoutingOptions, make_peer: MakePeer) -> None:
    r = Router(opts)
    a = make_peer(b"alice")
    r.attach(a)
    a.outbound.closed = True  # the connection is gone; detach has not come yet
    assert r.send([b"alice", b"x"]) is True
    opts.router_mandatory = True
    with pytest.raises(ZMQError) as err:
        r.send([b"alice", b"x"])
    assert err.value.errno == Errno.EHOSTUNREACH


@pytest.mark.parametrize("mandatory", [False, True])
def test_a_full_peer_drops_or_waits(opts: RoutingOptions, make_peer: MakePeer,
                                    mandatory: bool) -> None:
    """Without ROUTER_MANDATORY a full peer's message is dropped and counted; with it the
    send waits (False) and nothing is counted as dropped."""
    opts.router_mandatory = mandatory
    r = Router(opts, random_bits=lambda n: 1)
    peer = make_peer(b"p", hwm=1)
    r.attach(peer)
    assert r.send([b"p", b"fits"]) is True
    assert r.send([b"p", b"full"]) is (not mandatory)
    assert peer.outbound.dropped == (0 if mandatory else 1)
    assert peer.outbound.read_many() == [[b"fits"]]
