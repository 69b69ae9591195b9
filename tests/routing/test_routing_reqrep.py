"""REQ / REP / DEALER semantics in memory."""

from __future__ import annotations

import sys
from collections.abc import Callable

import pytest

from securemq.constants import Errno
from securemq.error import ZMQError
from securemq.pipe import Peer
from securemq.routing import Dealer, Rep, Req
from securemq.routing.base import RoutingOptions

MakePeer = Callable[..., Peer]


def reply_to(peer: Peer, body: list[bytes]) -> list[bytes]:
    """Act as a REP behind ``peer``: read the request, answer with its envelope."""
    request = peer.outbound.read()
    assert request is not None
    cut = request.index(b"") + 1
    peer.inbound.write(request[:cut] + body)
    return request


# -- REQ -----------------------------------------------------------------------------------


def test_req_envelope_and_round_robin(opts: RoutingOptions, make_peer: MakePeer) -> None:
    req = Req(opts)
    peers = [make_peer() for _ in range(3)]
    for p in peers:
        req.attach(p)
    for i in range(4):
        assert req.can_send()
        assert req.send([b"q%d" % i, b"part"]) is True
        target = peers[i % 3]
        assert target.outbound.peek() == [b"", b"q%d" % i, b"part"]
        reply_to(target, [b"r%d" % i])
        item = req.recv()
        assert item == ([b"r%d" % i], target)


def test_req_efsm_both_ways(opts: RoutingOptions, make_peer: MakePeer) -> None:
    req = Req(opts)
    a = make_peer()
    req.attach(a)
    with pytest.raises(ZMQError) as err:
        req.recv()
    assert err.value.errno == Errno.EFSM and "REQ" in str(err.value)
    assert not req.can_recv()
    req.send([b"q"])
    assert not req.can_send()
    with pytest.raises(ZMQError) as err:
        req.send([b"again"])
    assert err.value.errno == Errno.EFSM
    assert req.recv() is None  # waiting, nothing yet
    reply_to(a, [b"r"])
    assert req.can_recv()
    assert req.recv() == ([b"r"], a)
    with pytest.raises(ZMQError):
        req.recv()


def test_req_blocks_without_writable_peer(opts: RoutingOptions, make_peer: MakePeer) -> None:
    req = Req(opts)
    assert not req.can_send()
    assert req.send([b"q"]) is False
    a = make_peer(hwm=1)
    req.attach(a)
    a.outbound.write([b"filler"])
    assert req.send([b"q"]) is False
    with pytest.raises(ZMQError):
        req.recv()  # nothing was sent, so no reply is awaited


def test_req_drops_replies_from_other_peers_and_malformed(
    opts: RoutingOptions, make_peer: MakePeer
) -> None:
    req = Req(opts)
    a, b = make_peer(), make_peer()
    req.attach(a)
    req.attach(b)
    req.send([b"q"])
    assert len(a.outbound) == 1
    b.inbound.write([b"", b"not from the peer we asked"])
    a.inbound.write([b"no delimiter"])
    a.inbound.write([b""])  # delimiter with no body
    a.inbound.write([b"x", b"", b"wrong first frame"])
    assert req.recv() is None
    a.inbound.write([b"", b"good", b"two"])
    assert req.recv() == ([b"good", b"two"], a)


def test_req_drops_stale_messages_when_sending(opts: RoutingOptions, make_peer: MakePeer) -> None:
    req = Req(opts)
    a = make_peer()
    req.attach(a)
    a.inbound.write([b"", b"unsolicited"])
    req.send([b"q"])
    assert len(a.inbound) == 0
    assert req.recv() is None


def test_req_relaxed_drops_reply_to_abandoned_request(
    opts: RoutingOptions, make_peer: MakePeer
) -> None:
    opts.req_relaxed = True
    opts.req_correlate = True
    req = Req(opts, random_bits=lambda n: 41)
    a, b = make_peer(), make_peer()
    req.attach(a)
    req.attach(b)
    req.send([b"first"])
    first = a.outbound.read()
    assert first == [(42).to_bytes(4, sys.byteorder), b"", b"first"]
    assert req.can_send()  # relaxed
    req.send([b"second"])  # abandons the first request; goes to b
    second = b.outbound.read()
    assert second is not None and second[0] == (43).to_bytes(4, sys.byteorder)
    a.inbound.write([*first[:2], b"late reply to first"])
    b.inbound.write([first[0], b"", b"reply with the old id"])
    assert req.recv() is None
    b.inbound.write([*second[:2], b"reply to second"])
    assert req.recv() == ([b"reply to second"], b)


def test_req_correlate_same_peer_stale_reply(opts: RoutingOptions, make_peer: MakePeer) -> None:
    opts.req_relaxed = True
    opts.req_correlate = True
    req = Req(opts, random_bits=lambda n: 0xFFFFFFFF)
    a = make_peer()
    req.attach(a)
    req.send([b"1"])
    old = a.outbound.read()
    assert old is not None and old[0] == b"\x00\x00\x00\x00"  # wrapped around
    req.send([b"2"])
    new = a.outbound.read()
    assert new is not None and new[0] == (1).to_bytes(4, sys.byteorder)
    a.inbound.write([old[0], b"", b"stale"])  # arrives after the second request left
    a.inbound.write([new[0], b"", b"fresh"])
    assert req.recv() == ([b"fresh"], a)


def test_req_relaxed_without_correlate(opts: RoutingOptions, make_peer: MakePeer) -> None:
    opts.req_relaxed = True
    req = Req(opts)
    a = make_peer()
    req.attach(a)
    req.send([b"1"])
    a.inbound.write([b"", b"reply to 1"])
    req.send([b"2"])  # the pending reply to 1 is dropped as stale
    assert a.outbound.read_many() == [[b"", b"1"], [b"", b"2"]]
    assert req.recv() is None
    a.inbound.write([b"", b"reply to 2"])
    assert req.recv() == ([b"reply to 2"], a)


def test_req_reply_peer_gone_accepts_any_peer(opts: RoutingOptions, make_peer: MakePeer) -> None:
    req = Req(opts)
    a, b = make_peer(), make_peer()
    req.attach(a)
    req.attach(b)
    req.send([b"q"])
    req.detach(a)
    assert len(a.outbound) == 0  # dropped with the peer
    b.inbound.write([b"", b"from b"])
    assert req.recv() == ([b"from b"], b)


# -- REP -----------------------------------------------------------------------------------


def test_rep_envelope_with_multiple_hops(opts: RoutingOptions, make_peer: MakePeer) -> None:
    rep = Rep(opts)
    a = make_peer()
    rep.attach(a)
    assert not rep.can_send()
    a.inbound.write([b"hop1", b"hop2", b"", b"body", b"more"])
    assert rep.can_recv()
    assert rep.recv() == ([b"body", b"more"], a)
    assert rep.can_send() and not rep.can_recv()
    with pytest.raises(ZMQError) as err:
        rep.recv()
    assert err.value.errno == Errno.EFSM
    assert rep.send([b"answer"]) is True
    assert a.outbound.read_many() == [[b"hop1", b"hop2", b"", b"answer"]]
    with pytest.raises(ZMQError) as err:
        rep.send([b"unasked"])
    assert err.value.errno == Errno.EFSM and "REP" in str(err.value)


def test_rep_drops_malformed_and_fair_queues(opts: RoutingOptions, make_peer: MakePeer) -> None:
    rep = Rep(opts)
    a, b = make_peer(), make_peer()
    rep.attach(a)
    rep.attach(b)
    a.inbound.write([b"no delimiter"])
    a.inbound.write([b"id", b""])  # delimiter without body
    a.inbound.write([b"", b"a1"])
    a.inbound.write([b"", b"a2"])
    b.inbound.write([b"", b"b1"])
    order = []
    while (item := rep.recv()) is not None:
        order.append((item[0][0], item[1]))
        rep.send([b"ok"])
    # Each dropped message used up a's turn, so b's request comes first.
    assert order == [(b"b1", b), (b"a1", a), (b"a2", a)]
    assert a.outbound.read_many() == [[b"", b"ok"], [b"", b"ok"]]


def test_rep_reply_dropped_when_peer_full_or_gone(
    opts: RoutingOptions, make_peer: MakePeer
) -> None:
    rep = Rep(opts)
    a = make_peer(hwm=1)
    rep.attach(a)
    a.outbound.write([b"filler"])
    a.inbound.write([b"", b"q1"])
    rep.recv()
    assert rep.send([b"r1"]) is True  # dropped silently
    assert a.outbound.read_many() == [[b"filler"]]
    a.inbound.write([b"", b"q2"])
    rep.recv()
    rep.detach(a)
    assert rep.send([b"r2"]) is True
    assert len(a.outbound) == 0
    assert rep.recv() is None


# -- DEALER --------------------------------------------------------------------------------


def test_dealer_lb_out_fq_in(opts: RoutingOptions, make_peer: MakePeer) -> None:
    d = Dealer(opts)
    assert not d.can_send() and d.send([b"x"]) is False
    a, b = make_peer(hwm=1), make_peer(hwm=1)
    d.attach(a)
    d.attach(b)
    assert d.send([b"1", b"m"]) and d.send([b"2"])
    assert d.send([b"3"]) is False and not d.can_send()
    assert a.outbound.read_many() == [[b"1", b"m"]]
    assert b.outbound.read_many() == [[b"2"]]
    b.inbound.write([b"from b"])
    a.inbound.write([b"from a"])
    assert d.can_recv()
    assert d.recv() == ([b"from a"], a)
    assert d.recv() == ([b"from b"], b)
    assert d.recv() is None
