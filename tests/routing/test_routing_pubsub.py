"""PUB / XPUB / SUB / XSUB semantics in memory."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from securemq.constants import Errno
from securemq.error import ZMQError
from securemq.pipe import Peer, Pipe
from securemq.routing import Pub, Sub, XPub, XSub
from securemq.routing.base import RoutingOptions

MakePeer = Callable[..., Peer]


def sub(peer_inbound_topic: bytes) -> list[bytes]:
    return [b"\x01" + peer_inbound_topic]


def cancel(topic: bytes) -> list[bytes]:
    return [b"\x00" + topic]


def notifications(x: XPub) -> list[list[bytes]]:
    out = []
    while (item := x.recv()) is not None:
        out.append(item[0])
    return out


# -- PUB -----------------------------------------------------------------------------------


def test_pub_distributes_by_prefix(opts: RoutingOptions, make_peer: MakePeer) -> None:
    pub = Pub(opts)
    a, b, c = make_peer(), make_peer(), make_peer()
    for p in (a, b, c):
        pub.attach(p)
    a.inbound.write(sub(b"wea"))
    b.inbound.write(sub(b""))
    c.inbound.write([b"not a subscription"])  # ignored
    c.inbound.write(sub(b"x"))
    c.inbound.write(cancel(b"x"))
    assert pub.send([b"weather", b"sunny"]) is True
    assert pub.send([b"news"]) is True
    assert a.outbound.read_many() == [[b"weather", b"sunny"]]
    assert b.outbound.read_many() == [[b"weather", b"sunny"], [b"news"]]
    assert c.outbound.read_many() == []
    assert len(c.inbound) == 0  # drained before the send


def test_pub_without_peers_drops(opts: RoutingOptions) -> None:
    pub = Pub(opts)
    assert pub.can_send()
    assert pub.send([b"lost"]) is True


def test_pub_full_peer_is_skipped_not_blocked(opts: RoutingOptions, make_peer: MakePeer) -> None:
    pub = Pub(opts)
    slow, fast = make_peer(hwm=1), make_peer(hwm=10)
    for p in (slow, fast):
        pub.attach(p)
        p.inbound.write(sub(b""))
    for i in range(3):
        assert pub.send([b"m%d" % i, b"part2"]) is True
    assert slow.outbound.read_many() == [[b"m0", b"part2"]]
    assert len(fast.outbound) == 3


def test_pub_recv_and_subscribe_are_refused(opts: RoutingOptions) -> None:
    pub = Pub(opts)
    with pytest.raises(ZMQError) as err:
        pub.recv()
    assert err.value.errno == Errno.ENOTSUP and "PUB" in str(err.value)
    assert not pub.can_recv()
    with pytest.raises(ZMQError) as err:
        pub.subscribe(b"x")
    assert err.value.errno == Errno.EINVAL


def test_pub_invert_matching(opts: RoutingOptions, make_peer: MakePeer) -> None:
    opts.invert_matching = True
    pub = Pub(opts)
    a, b = make_peer(), make_peer()
    pub.attach(a)
    pub.attach(b)
    a.inbound.write(sub(b"x"))
    pub.send([b"xyz"])
    pub.send([b"abc"])
    assert a.outbound.read_many() == [[b"abc"]]
    assert b.outbound.read_many() == [[b"xyz"], [b"abc"]]


def test_pub_forgets_subscriptions_on_hiccup_and_detach(
    opts: RoutingOptions, make_peer: MakePeer
) -> None:
    pub = Pub(opts)
    a = make_peer()
    pub.attach(a)
    a.inbound.write(sub(b"t"))
    pub.send([b"t1"])
    pub.hiccup(a)
    pub.send([b"t2"])
    a.inbound.write(sub(b"t"))  # resent over the new connection
    pub.send([b"t3"])
    assert [m[0] for m in a.outbound.read_many()] == [b"t1", b"t3"]
    pub.detach(a)
    pub.send([b"t4"])
    assert len(a.outbound) == 0


# -- XPUB ----------------------------------------------------------------------------------


def test_xpub_reports_first_subscribe_and_last_unsubscribe(
    opts: RoutingOptions, make_peer: MakePeer
) -> None:
    x = XPub(opts)
    a, b = make_peer(), make_peer()
    x.attach(a)
    x.attach(b)
    a.inbound.write(sub(b"A"))
    b.inbound.write(sub(b"A"))
    a.inbound.write(sub(b"A"))  # same peer twice: counts once
    assert x.can_recv()
    item = x.recv()
    assert item == ([b"\x01A"], a)
    assert x.recv() is None
    a.inbound.write(cancel(b"A"))
    assert notifications(x) == []  # b still subscribed
    b.inbound.write(cancel(b"A"))
    assert notifications(x) == [[b"\x00A"]]
    assert not x.can_recv()


def test_xpub_verbose_and_verboser(opts: RoutingOptions, make_peer: MakePeer) -> None:
    opts.xpub_verbose = True
    x = XPub(opts)
    a, b = make_peer(), make_peer()
    x.attach(a)
    x.attach(b)

    def step(peer: Peer, msg: list[bytes]) -> list[list[bytes]]:
        peer.inbound.write(msg)
        return notifications(x)

    assert step(a, sub(b"A")) == [[b"\x01A"]]
    assert step(b, sub(b"A")) == [[b"\x01A"]]  # verbose: every subscribe
    assert step(a, cancel(b"A")) == []  # but only the last unsubscribe
    assert step(b, cancel(b"A")) == [[b"\x00A"]]
    opts.xpub_verbose = False
    opts.xpub_verboser = True
    assert step(a, sub(b"B")) == [[b"\x01B"]]
    assert step(b, sub(b"B")) == [[b"\x01B"]]
    assert step(a, cancel(b"B")) == [[b"\x00B"]]  # verboser: every unsubscribe
    assert step(b, cancel(b"B")) == [[b"\x00B"]]
    opts.xpub_verboser = False
    assert step(a, sub(b"C")) == [[b"\x01C"]]
    assert step(b, sub(b"C")) == []  # quiet again


def test_xpub_detach_reports_orphaned_topics(opts: RoutingOptions, make_peer: MakePeer) -> None:
    x = XPub(opts)
    a, b = make_peer(), make_peer()
    x.attach(a)
    x.attach(b)
    a.inbound.write(sub(b"shared"))
    a.inbound.write(sub(b"only-a"))
    b.inbound.write(sub(b"shared"))
    assert notifications(x) == [[b"\x01shared"], [b"\x01only-a"]]
    x.detach(a)
    item = x.recv()
    assert item == ([b"\x00only-a"], a)
    assert x.recv() is None
    x.send([b"shared!"])
    assert b.outbound.read_many() == [[b"shared!"]]


def test_xpub_passes_up_user_messages(opts: RoutingOptions, make_peer: MakePeer) -> None:
    x = XPub(opts)
    a = make_peer()
    x.attach(a)
    a.inbound.write([b"hello", b"world"])
    a.inbound.write([b""])
    assert notifications(x) == [[b"hello", b"world"], [b""]]


def test_xpub_nodrop_blocks_instead_of_dropping(opts: RoutingOptions, make_peer: MakePeer) -> None:
    opts.xpub_nodrop = True
    x = XPub(opts)
    full, other = make_peer(hwm=1), make_peer(hwm=5)
    for p in (full, other):
        x.attach(p)
        p.inbound.write(sub(b""))
    assert x.send([b"1"]) is True
    assert x.send([b"2"]) is False  # nothing written anywhere
    assert len(other.outbound) == 1
    full.outbound.read()
    assert x.send([b"2"]) is True
    assert [m[0] for m in other.outbound.read_many()] == [b"1", b"2"]
    opts.xpub_nodrop = False
    assert x.send([b"3"]) is True and x.send([b"4"]) is True
    assert [m[0] for m in full.outbound.read_many()] == [b"2"]  # b"3" dropped for it
    assert [m[0] for m in other.outbound.read_many()] == [b"3", b"4"]


# -- SUB -----------------------------------------------------------------------------------


def test_sub_forwards_subscriptions_and_resends_on_attach_and_hiccup(
    opts: RoutingOptions, make_peer: MakePeer
) -> None:
    s = Sub(opts)
    a = make_peer(hwm=1)
    s.attach(a)
    s.subscribe(b"A")
    s.subscribe(b"A")
    s.subscribe(b"B")
    assert a.outbound.read_many() == [sub(b"A"), sub(b"A"), sub(b"B")]  # past HWM 1
    s.unsubscribe(b"A")  # one reference left: not forwarded
    s.unsubscribe(b"nope")  # never subscribed: not forwarded
    assert len(a.outbound) == 0
    late = make_peer()
    s.attach(late)
    assert late.outbound.read_many() == [sub(b"A"), sub(b"B")]
    s.unsubscribe(b"A")
    assert a.outbound.read_many() == [cancel(b"A")]
    assert late.outbound.read_many() == [cancel(b"A")]
    s.hiccup(a)
    assert a.outbound.read_many() == [sub(b"B")]


def test_sub_filters_and_fair_queues(opts: RoutingOptions, make_peer: MakePeer) -> None:
    s = Sub(opts)
    a, b = make_peer(), make_peer()
    s.attach(a)
    s.attach(b)
    a.inbound.write([b"nothing yet"])
    assert not s.can_recv()  # no subscription: dropped
    s.subscribe(b"t")
    a.inbound.write([b"t1", b"body"])
    a.inbound.write([b"x1"])
    a.inbound.write([b"t2"])
    b.inbound.write([b"t3"])
    assert s.can_recv()
    got = []
    while (item := s.recv()) is not None:
        got.append((item[0], item[1]))
    # can_recv dropped a's first message, so the rotation now starts at b.
    assert got == [([b"t3"], b), ([b"t1", b"body"], a), ([b"t2"], a)]


def test_sub_invert_matching(opts: RoutingOptions, make_peer: MakePeer) -> None:
    opts.invert_matching = True
    s = Sub(opts)
    a = make_peer()
    s.attach(a)
    s.subscribe(b"skip")
    a.inbound.write([b"skip-me"])
    a.inbound.write([b"keep"])
    item = s.recv()
    assert item is not None and item[0] == [b"keep"]


def test_sub_send_is_refused(opts: RoutingOptions) -> None:
    s = Sub(opts)
    with pytest.raises(ZMQError) as err:
        s.send([b"x"])
    assert err.value.errno == Errno.ENOTSUP
    assert not s.can_send()


def test_sub_detach_drops_prefetched(opts: RoutingOptions, make_peer: MakePeer) -> None:
    s, a = _sub_taking_everything(opts, make_peer)
    a.inbound.write([b"m"])
    assert s.can_recv()
    s.detach(a)
    assert s.recv() is None
    assert len(a.outbound) == 0


# -- XSUB ----------------------------------------------------------------------------------


def test_xsub_send_subscriptions_and_user_messages(
    opts: RoutingOptions, make_peer: MakePeer
) -> None:
    x = XSub(opts)
    a = make_peer(hwm=1)
    x.attach(a)
    assert x.can_send()
    assert x.send(sub(b"A")) is True
    assert x.send(sub(b"A")) is True  # always forwarded
    assert x.send(cancel(b"A")) is True  # a reference is left: not forwarded
    assert a.outbound.read_many() == [sub(b"A"), sub(b"A")]
    assert x.send([b"up", b"stream"]) is True
    assert x.send([b"dropped: full"]) is True
    assert a.outbound.read_many() == [[b"up", b"stream"]]
    a.inbound.write([b"A-msg"])
    a.inbound.write([b"B-msg"])
    item = x.recv()
    assert item is not None and item[0] == [b"A-msg"]
    assert x.recv() is None
    x.send(cancel(b"A"))
    assert a.outbound.read_many() == [cancel(b"A")]


def test_xsub_subscribe_option_is_einval_like_libzmq(opts: RoutingOptions) -> None:
    with pytest.raises(ZMQError) as err:
        XSub(opts).subscribe(b"x")
    assert err.value.errno == Errno.EINVAL


def test_xpub_hiccup_forgets_and_reports(opts: RoutingOptions, make_peer: MakePeer) -> None:
    x = XPub(opts)
    a = make_peer()
    x.attach(a)
    a.inbound.write(sub(b"t"))
    assert notifications(x) == [[b"\x01t"]]
    x.hiccup(a)
    assert notifications(x) == [[b"\x00t"]]
    x.send([b"t-lost"])
    a.inbound.write(sub(b"t"))  # the peer resends over its new connection
    assert notifications(x) == [[b"\x01t"]]
    x.send([b"t-kept"])
    assert a.outbound.read_many() == [[b"t-kept"]]


def test_one_megabyte_topic_through_sub_and_xpub(opts: RoutingOptions, make_peer: MakePeer) -> None:
    topic = b"\x07" * (1 << 20)
    s = Sub(opts)
    x = XPub(opts)
    s_side, x_side = make_peer(), make_peer()
    s.attach(s_side)
    x.attach(x_side)
    s.subscribe(topic)
    x_side.inbound.write(s_side.outbound.read_many()[0])  # wire the subscription across
    assert notifications(x) == [[b"\x01" + topic]]
    x.send([topic + b"!", b"payload"])
    s_side.inbound.write(x_side.outbound.read_many()[0])
    item = s.recv()
    assert item is not None and item[0][1] == b"payload"
    s.unsubscribe(topic)
    x_side.inbound.write(s_side.outbound.read_many()[0])
    assert notifications(x) == [[b"\x00" + topic]]


def test_xpub_nodrop_not_held_by_closed_peer(opts: RoutingOptions, make_peer: MakePeer) -> None:
    opts.xpub_nodrop = True
    x = XPub(opts)
    gone, live = make_peer(hwm=1), make_peer()
    for p in (gone, live):
        x.attach(p)
        p.inbound.write(sub(b""))
    x.send([b"1"])
    gone.outbound.closed = True
    assert x.send([b"2"]) is True
    assert [m[0] for m in live.outbound.read_many()] == [b"1", b"2"]


def test_pub_everyone_shortcut_follows_subscriptions(
    opts: RoutingOptions, make_peer: MakePeer
) -> None:
    """The 'all peers subscribed to everything' shortcut holds only while it is true."""
    pub = Pub(opts)
    a, b = make_peer(), make_peer()
    for p in (a, b):
        pub.attach(p)
    a.inbound.write(sub(b""))
    b.inbound.write(sub(b""))
    assert pub.send([b"one"])
    b.inbound.write(cancel(b""))
    b.inbound.write(sub(b"t"))
    assert pub.send([b"two"])
    assert pub.send([b"three"])
    a.inbound.write(cancel(b""))
    assert pub.send([b"four"])
    c = make_peer()
    pub.attach(c)
    c.inbound.write(sub(b""))
    assert pub.send([b"three again"])
    assert a.outbound.read_many() == [[b"one"], [b"two"], [b"three"]]
    assert b.outbound.read_many() == [[b"one"], [b"two"], [b"three"], [b"three again"]]
    assert c.outbound.read_many() == [[b"three again"]]


def _sub_taking_everything(opts: RoutingOptions, make_peer: MakePeer) -> tuple[Sub, Peer]:
    """A SUB with one peer, subscribed to the empty topic."""
    s = Sub(opts)
    peer = make_peer()
    s.attach(peer)
    s.subscribe(b"")
    return s, peer


def test_sub_match_all_shortcut_follows_subscriptions(
    opts: RoutingOptions, make_peer: MakePeer
) -> None:
    s, peer = _sub_taking_everything(opts, make_peer)
    s.subscribe(b"a")
    peer.inbound.write([b"a1"])
    peer.inbound.write([b"b1"])
    got = [s.recv(), s.recv(), s.recv()]
    assert [item[0] if item else None for item in got] == [[b"a1"], [b"b1"], None]
    s.unsubscribe(b"")
    peer.inbound.write([b"b2"])
    peer.inbound.write([b"a2"])
    got = [s.recv(), s.recv()]
    assert [item[0] if item else None for item in got] == [[b"a2"], None]
    s.subscribe(b"")
    peer.inbound.write([b"b3"])
    item = s.recv()
    assert item is not None and item[0] == [b"b3"]


def test_sub_batch_from_a_sole_peer_keeps_order_and_hwm_wakeups(
    opts: RoutingOptions, make_peer: MakePeer
) -> None:
    s, peer = _sub_taking_everything(opts, make_peer)
    woken: list[int] = []
    peer.inbound.hwm = 10
    peer.inbound.writer_wake = lambda: woken.append(len(peer.inbound))
    for index in range(10):
        assert peer.inbound.write([b"%d" % index])
    got = [s.recv() for _ in range(4)]
    assert [item[0] for item in got if item] == [[b"0"], [b"1"], [b"2"], [b"3"]]
    assert woken, "taking a batch from a full pipe must wake its writer"
    peer.inbound.write([b"10"])
    rest = []
    while (item := s.recv()) is not None:
        rest.append(item[0][0])
    assert rest == [b"%d" % index for index in range(4, 11)]


def test_sub_batch_is_dropped_on_detach_and_refiltered_on_unsubscribe(
    opts: RoutingOptions, make_peer: MakePeer
) -> None:
    s, a = _sub_taking_everything(opts, make_peer)
    s.subscribe(b"keep")
    for body in (b"keep1", b"drop1", b"keep2", b"drop2"):
        a.inbound.write([body])
    first = s.recv()
    assert first is not None and first[0] == [b"keep1"]  # the rest is batched now
    s.unsubscribe(b"")
    assert s.can_recv()
    assert [s.recv(), s.recv()] == [([b"keep2"], a), None]
    s.subscribe(b"")
    for body in (b"x", b"y", b"z"):
        a.inbound.write([body])
    assert s.recv() == ([b"x"], a)
    s.detach(a)
    assert s.recv() is None


def test_sub_batch_follows_invert_matching_set_later(
    opts: RoutingOptions, make_peer: MakePeer
) -> None:
    s, peer = _sub_taking_everything(opts, make_peer)
    for body in (b"1", b"2", b"3"):
        peer.inbound.write([body])
    assert s.recv() == ([b"1"], peer)  # the rest is batched now
    opts.invert_matching = True
    s.options_changed()
    assert not s.ready_batch()  # what the socket would pop directly
    assert s.recv() is None  # with INVERT_MATCHING, the empty topic matches nothing


class _RacingPipe(Pipe):
    """A pipe whose writer (another thread, in real life) appends ``late`` just as the reader
    takes ``trigger``: the queue was not empty then, so that writer wakes nobody."""

    def __init__(self, trigger: list[bytes], late: list[bytes]) -> None:
        super().__init__(0)
        self.trigger = trigger
        self.late: list[bytes] | None = late

    def read(self) -> list[bytes] | None:
        if self.late is not None and self._queue and self._queue[0] == self.trigger:
            late, self.late = self.late, None
            self._queue.append(late)
        return super().read()


def test_xpub_recv_does_not_strand_a_message_behind_a_silent_cancel(
    opts: RoutingOptions, make_peer: MakePeer
) -> None:
    """A cancel that reports nothing (another peer still holds the topic), with a subscription
    arriving behind it mid-drain: recv must return that subscription now, because that message
    brings no wake-up of its own (pipes wake their reader on empty -> non-empty only)."""
    x = XPub(opts)
    holder = make_peer()
    racing = Peer(_RacingPipe(trigger=cancel(b"A"), late=sub(b"C")), Pipe(10))
    x.attach(holder)
    x.attach(racing)
    holder.inbound.write(sub(b"A"))
    racing.inbound.write(sub(b"A"))
    assert notifications(x) == [sub(b"A")]
    racing.inbound.write(cancel(b"A"))
    item = x.recv()
    assert item is not None and item[0] == sub(b"C")
    assert x.recv() is None
