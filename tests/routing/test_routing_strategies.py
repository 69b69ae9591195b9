"""Load-balance, fair-queue, distribute and the subscription tries, on their own."""

from __future__ import annotations

import random
import sys
from collections.abc import Callable

from securemq.pipe import Peer
from securemq.routing.dist import all_writable, distribute, force_to_all
from securemq.routing.fq import FairQueue
from securemq.routing.lb import LoadBalancer
from securemq.routing.trie import MultiTrie, RadixTrie, Removed, SubscriptionTrie

MakePeer = Callable[..., Peer]


def test_lb_round_robin_over_three_peers(make_peer: MakePeer) -> None:
    lb = LoadBalancer()
    peers = [make_peer() for _ in range(3)]
    for p in peers:
        lb.attach(p)
    chosen = [lb.send([b"m%d" % i]) for i in range(6)]
    assert chosen == peers + peers
    assert [m[0] for m in peers[1].outbound.read_many()] == [b"m1", b"m4"]


def test_lb_skips_full_peer_and_reports_all_full(make_peer: MakePeer) -> None:
    lb = LoadBalancer()
    a, b = make_peer(hwm=1), make_peer(hwm=5)
    lb.attach(a)
    lb.attach(b)
    assert lb.send([b"1"]) is a
    assert lb.send([b"2"]) is b
    assert lb.send([b"3"]) is b  # a is full: skipped
    b.outbound.hwm = 2
    assert lb.send([b"4"]) is None
    assert not lb.has_out()
    a.outbound.read()
    assert lb.has_out()
    assert lb.send([b"5"]) is a


def test_lb_multipart_goes_whole_to_one_peer(make_peer: MakePeer) -> None:
    lb = LoadBalancer()
    a, b = make_peer(), make_peer()
    lb.attach(a)
    lb.attach(b)
    lb.send([b"x", b"y", b"z"])
    assert a.outbound.read_many() == [[b"x", b"y", b"z"]]
    assert len(b.outbound) == 0


def test_lb_detach_keeps_rotation(make_peer: MakePeer) -> None:
    lb = LoadBalancer()
    a, b, c = make_peer(), make_peer(), make_peer()
    for p in (a, b, c):
        lb.attach(p)
    assert lb.send([b"1"]) is a
    lb.detach(a)
    assert lb.send([b"2"]) is b
    assert lb.send([b"3"]) is c
    lb.detach(c)
    lb.detach(c)  # twice is harmless
    assert lb.send([b"4"]) is b
    lb.detach(b)
    assert lb.send([b"5"]) is None


def test_fq_interleaves_peers(make_peer: MakePeer) -> None:
    fq = FairQueue()
    a, b, c = make_peer(), make_peer(), make_peer()
    for p in (a, b, c):
        fq.attach(p)
    for i in range(3):
        a.inbound.write([b"a%d" % i])
    b.inbound.write([b"b0"])
    c.inbound.write([b"c0", b"more"])
    got = []
    while (item := fq.recv()) is not None:
        got.append(item)
    assert [m for m, _ in got] == [[b"a0"], [b"b0"], [b"c0", b"more"], [b"a1"], [b"a2"]]
    assert [p for _, p in got][:3] == [a, b, c]
    assert not fq.has_in()


def test_distribute_drops_for_full_peer_only(make_peer: MakePeer) -> None:
    a, b = make_peer(hwm=1), make_peer(hwm=2)
    assert distribute([a, b], [b"1", b"x"]) == 2
    assert not all_writable([a, b])
    assert distribute([a, b], [b"2"]) == 1
    assert [m[0] for m in a.outbound.read_many()] == [b"1"]
    assert [m[0] for m in b.outbound.read_many()] == [b"1", b"2"]
    force_to_all([a], [b"\x01t"])
    force_to_all([a], [b"\x01u"])
    assert len(a.outbound) == 2  # past the HWM of 1


def test_radix_trie_matches_reference_model() -> None:
    rng = random.Random(7)
    trie: RadixTrie[int] = RadixTrie()
    model: dict[bytes, int] = {}
    for step in range(3000):
        key = bytes(rng.choice(b"abc") for _ in range(rng.randint(0, 7)))
        if rng.random() < 0.6:
            trie.put(key, step)
            model[key] = step
        else:
            assert trie.pop(key) == model.pop(key, None)
        assert len(trie) == len(model)
    assert list(trie.items()) == sorted(model.items())
    for _ in range(300):
        data = bytes(rng.choice(b"abc") for _ in range(rng.randint(0, 9)))
        expected = [
            v for k, v in sorted(model.items(), key=lambda kv: len(kv[0])) if data.startswith(k)
        ]
        assert list(trie.prefixes_of(data)) == expected
        assert trie.get(data) == model.get(data)


def test_subscription_trie_refcounts_and_empty_topic() -> None:
    t = SubscriptionTrie()
    assert not t.check(b"anything")
    assert t.add(b"ab") is True
    assert t.add(b"ab") is False
    assert t.check(b"abc") and not t.check(b"a") and not t.check(b"b")
    assert t.remove(b"ab") is False  # still one reference
    assert t.check(b"ab")
    assert t.remove(b"ab") is True
    assert t.remove(b"ab") is False  # absent
    assert not t.check(b"ab")
    t.add(b"")
    assert t.check(b"") and t.check(b"\xff\x00")
    assert t.topics() == [b""]


def test_one_megabyte_topic_without_recursion() -> None:
    topic = bytes(range(256)) * 4096  # 1 MiB
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(200)  # anything recursive per byte (or per node) would blow up
    try:
        t = SubscriptionTrie()
        assert t.add(topic)
        assert t.add(topic[:-1])
        assert t.check(topic + b"tail")
        assert t.check(topic[:-1])
        assert not t.check(topic[:-2])
        assert t.topics() == [topic[:-1], topic]
        assert t.remove(topic)
        assert t.remove(topic[:-1])
        assert len(t) == 0 and not t.check(topic)
        m = MultiTrie()
        marker = object()
        m.add(topic, marker)  # type: ignore[arg-type]
        assert m.match(topic) == {marker}
        assert m.remove_peer(marker) == [(topic, Removed.LAST)]  # type: ignore[arg-type]
    finally:
        sys.setrecursionlimit(limit)


def test_multi_trie_counts_peers_once(make_peer: MakePeer) -> None:
    m = MultiTrie()
    a, b = make_peer(), make_peer()
    assert m.add(b"t", a) is True
    assert m.add(b"t", a) is False
    assert m.add(b"t", b) is False
    assert m.add(b"", b) is True
    assert m.match(b"top") == {a, b}
    assert m.match(b"x") == {b}
    assert m.remove(b"t", a) is Removed.REMAIN
    assert m.remove(b"t", a) is Removed.NOT_FOUND
    assert m.remove_peer(b) == [(b"", Removed.LAST), (b"t", Removed.LAST)]
    assert m.match(b"top") == set()
    assert len(m) == 0
