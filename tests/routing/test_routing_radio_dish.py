"""RADIO and DISH in memory (libzmq radio.cpp / dish.cpp, tests/test_radio_dish.cpp)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from securemq.constants import Errno
from securemq.error import ZMQError
from securemq.pipe import Peer, Pipe
from securemq.routing.base import RoutingOptions
from securemq.routing.draft import GROUP_MAX_LENGTH
from securemq.routing.radio_dish import Dish, Radio

MakePeer = Callable[..., Peer]


def link(hwm: int = 10, *, radio_endpoint: str = "") -> tuple[Peer, Peer]:
    """(the RADIO's view, the DISH's view) of one connection, pipes shared as inproc does."""
    to_dish, to_radio = Pipe(hwm), Pipe(hwm)
    return Peer(to_radio, to_dish, endpoint=radio_endpoint), Peer(to_dish, to_radio)


def errno_of(call: Callable[[], object]) -> int:
    with pytest.raises(ZMQError) as err:
        call()
    return err.value.errno


# -- DISH: join / leave ----------------------------------------------------------------------
def test_join_and_leave_errors_like_libzmq(opts: RoutingOptions) -> None:
    dish = Dish(opts)
    assert errno_of(lambda: dish.leave(b"Movies")) == Errno.EINVAL  # test_leave_unjoined_fails
    assert errno_of(lambda: dish.join(b"A" * (GROUP_MAX_LENGTH + 1))) == Errno.EINVAL
    dish.join(b"A" * GROUP_MAX_LENGTH)
    dish.join(b"Movies")
    assert errno_of(lambda: dish.join(b"Movies")) == Errno.EINVAL  # test_join_twice_fails
    dish.join(b"")  # the empty group is a group (libzmq accepts it)
    assert errno_of(lambda: dish.join(b"a\x00b")) == Errno.EINVAL  # libzmq would truncate
    assert errno_of(lambda: dish.join("text")) == Errno.EINVAL
    assert dish.groups == {b"A" * GROUP_MAX_LENGTH, b"Movies", b""}
    dish.leave(b"Movies")
    assert errno_of(lambda: dish.leave(b"Movies")) == Errno.EINVAL
    dish.join(b"Movies")  # joinable again


def test_join_leave_reach_every_peer_past_hwm(opts: RoutingOptions, make_peer: MakePeer) -> None:
    dish = Dish(opts)
    a, b = make_peer(hwm=1), make_peer(hwm=1)
    dish.attach(a)
    dish.attach(b)
    dish.join(b"TV")
    dish.join(b"Movies")
    dish.leave(b"TV")
    expected = [[b"\x04JOINTV"], [b"\x04JOINMovies"], [b"\x05LEAVETV"]]
    assert a.outbound.read_many() == expected and b.outbound.read_many() == expected


def test_groups_sent_on_attach_and_hiccup(opts: RoutingOptions, make_peer: MakePeer) -> None:
    dish = Dish(opts)
    dish.join(b"b")
    dish.join(b"a")
    peer = make_peer()
    dish.attach(peer)
    dish.attach(peer)  # attaching twice changes nothing
    assert peer.outbound.read_many() == [[b"\x04JOINa"], [b"\x04JOINb"]]
    dish.hiccup(peer)
    assert peer.outbound.read_many() == [[b"\x04JOINa"], [b"\x04JOINb"]]
    dish.hiccup(make_peer())  # not attached: nothing


# -- DISH: receiving -------------------------------------------------------------------------
def test_dish_filters_exact_groups(opts: RoutingOptions, make_peer: MakePeer) -> None:
    dish = Dish(opts)
    peer = make_peer()
    dish.attach(peer)
    dish.join(b"Movies")
    for msg in ([b"TV", b"Friends"], [b"Movie", b"prefix"], [b"Movies2", b"longer"],
                [b"Movies", b"Godfather"]):
        peer.inbound.write(msg)
    assert dish.recv() == ([b"Movies", b"Godfather"], peer)
    assert dish.recv() is None
    assert len(peer.inbound) == 0


def test_dish_drops_malformed_messages(opts: RoutingOptions, make_peer: MakePeer) -> None:
    dish = Dish(opts)
    peer = make_peer()
    dish.attach(peer)
    dish.join(b"g")
    peer.inbound.write([b"g"])
    peer.inbound.write([b"g", b"a", b"b"])
    peer.inbound.write([b"g", b"ok"])
    assert dish.recv() == ([b"g", b"ok"], peer)


def test_dish_readiness_prefetches_one(opts: RoutingOptions, make_peer: MakePeer) -> None:
    dish = Dish(opts)
    a, b = make_peer(), make_peer()
    dish.attach(a)
    dish.attach(b)
    dish.join(b"g")
    assert not dish.can_recv()
    a.inbound.write([b"other", b"x"])
    a.inbound.write([b"g", b"1"])
    b.inbound.write([b"g", b"2"])
    # Fair-queued: a's turn is spent on the message of another group, then b's matches.
    assert dish.can_recv() and dish.holds(b) and not dish.holds(a)
    assert dish.can_recv()  # asking again keeps the same one
    assert dish.recv() == ([b"g", b"2"], b)
    assert dish.recv() == ([b"g", b"1"], a)
    assert not dish.can_recv()


def test_leave_drops_a_prefetched_message(opts: RoutingOptions, make_peer: MakePeer) -> None:
    dish = Dish(opts)
    peer = make_peer()
    dish.attach(peer)
    dish.join(b"g")
    peer.inbound.write([b"g", b"1"])
    assert dish.can_recv()
    dish.leave(b"g")
    assert not dish.can_recv() and dish.recv() is None


def test_detach_forgets_a_prefetched_message(opts: RoutingOptions, make_peer: MakePeer) -> None:
    dish = Dish(opts)
    peer = make_peer()
    dish.attach(peer)
    dish.join(b"g")
    peer.inbound.write([b"g", b"1"])
    assert dish.can_recv()
    dish.detach(peer)
    assert dish.recv() is None


def test_dish_cannot_send(opts: RoutingOptions) -> None:
    dish = Dish(opts)
    assert dish.can_send()  # as libzmq: POLLOUT is always set on a DISH
    assert errno_of(lambda: dish.send([b"g", b"x"])) == Errno.ENOTSUP
    assert errno_of(lambda: dish.subscribe(b"g")) == Errno.EINVAL


# -- RADIO -----------------------------------------------------------------------------------
def test_radio_sends_to_joined_peers_only(opts: RoutingOptions, make_peer: MakePeer) -> None:
    radio = Radio(opts)
    a, b = make_peer(), make_peer()
    radio.attach(a)
    radio.attach(b)
    a.inbound.write([b"\x04JOINTV"])
    b.inbound.write([b"\x04JOINMovies"])
    b.inbound.write([b"\x04JOINTV"])
    assert radio.send([b"TV", b"Friends"])
    assert radio.send([b"Movies", b"Godfather"])
    assert radio.send([b"News", b"nobody"])
    assert a.outbound.read_many() == [[b"TV", b"Friends"]]
    assert b.outbound.read_many() == [[b"TV", b"Friends"], [b"Movies", b"Godfather"]]
    assert radio.groups_of(b) == {b"TV", b"Movies"}


def test_radio_leave_and_junk(opts: RoutingOptions, make_peer: MakePeer) -> None:
    radio = Radio(opts)
    peer = make_peer()
    radio.attach(peer)
    for msg in ([b"\x04JOINg"], [b"\x04JOINg"], [b"data", b"dropped"], [b"\x05LEAVEnot-joined"],
                [b"junk"]):
        peer.inbound.write(msg)
    assert radio.groups_of(peer) == {b"g"}
    peer.inbound.write([b"\x05LEAVEg"])
    assert radio.send([b"g", b"x"]) and len(peer.outbound) == 0
    assert radio.groups_of(peer) == frozenset()


def test_radio_joins_waiting_at_attach(opts: RoutingOptions, make_peer: MakePeer) -> None:
    radio = Radio(opts)
    peer = make_peer()
    peer.inbound.write([b"\x04JOINearly"])
    radio.attach(peer)
    assert len(peer.inbound) == 0
    assert radio.send([b"early", b"x"]) and peer.outbound.read_many() == [[b"early", b"x"]]


def test_radio_drops_at_hwm_or_waits_with_nodrop(opts: RoutingOptions, make_peer: MakePeer) -> None:
    radio = Radio(opts)
    full, free = make_peer(hwm=1), make_peer(hwm=5)
    for peer in (full, free):
        radio.attach(peer)
        peer.inbound.write([b"\x04JOINg"])
    assert radio.send([b"g", b"1"]) and not radio.dropped
    assert radio.send([b"g", b"2"]) and radio.dropped  # full missed it
    assert radio.can_send()
    opts.xpub_nodrop = True
    assert radio.send([b"g", b"3"]) is False  # libzmq: EAGAIN with XPUB_NODROP
    assert full.outbound.read_many() == [[b"g", b"1"]]
    assert radio.send([b"g", b"4"]) is True
    assert free.outbound.read_many() == [[b"g", b"1"], [b"g", b"2"], [b"g", b"4"]]


def test_radio_udp_peer_takes_every_group(opts: RoutingOptions) -> None:
    radio = Radio(opts)
    udp = Peer(Pipe(0), Pipe(10), endpoint="udp://239.0.0.1:5555")
    tcp = Peer(Pipe(0), Pipe(10), endpoint="tcp://127.0.0.1:5555")
    radio.attach(udp)
    radio.attach(tcp)
    tcp.inbound.write([b"\x04JOINg"])
    udp.inbound.write([b"\x04JOINg"])  # a udp engine never sends JOINs; even so, once only
    assert radio.send([b"g", b"1"]) and radio.send([b"h", b"2"])
    assert udp.outbound.read_many() == [[b"g", b"1"], [b"h", b"2"]]
    assert tcp.outbound.read_many() == [[b"g", b"1"]]
    radio.detach(udp)
    assert radio.send([b"h", b"3"]) and len(udp.outbound) == 0


def test_radio_forgets_on_detach_and_hiccup(opts: RoutingOptions, make_peer: MakePeer) -> None:
    radio = Radio(opts)
    peer = make_peer()
    radio.attach(peer)
    peer.inbound.write([b"\x04JOINg"])
    assert radio.groups_of(peer) == {b"g"}
    radio.hiccup(peer)  # it will send its groups again
    assert radio.groups_of(peer) == frozenset()
    peer.inbound.write([b"\x04JOINg"])
    radio.detach(peer)
    assert radio.groups_of(peer) == frozenset()
    radio.detach(peer)  # twice: nothing
    assert radio.send([b"g", b"x"])


def test_radio_send_shape_and_group(opts: RoutingOptions) -> None:
    radio = Radio(opts)
    assert errno_of(lambda: radio.send([b"body only"])) == Errno.EINVAL
    assert errno_of(lambda: radio.send([b"g", b"a", b"b"])) == Errno.EINVAL
    assert errno_of(lambda: radio.send([b"g" * 256, b"x"])) == Errno.EINVAL
    assert errno_of(lambda: radio.send([b"g\x00", b"x"])) == Errno.EINVAL
    assert radio.send([b"g" * 255, b"x"]) is True  # nobody joined: dropped
    assert radio.send([b"", b"x"]) is True
    assert errno_of(radio.recv) == Errno.ENOTSUP
    assert not radio.can_recv()


# -- together --------------------------------------------------------------------------------
def test_radio_dish_end_to_end(opts: RoutingOptions) -> None:
    radio, dish = Radio(opts), Dish(opts)
    at_radio, at_dish = link()
    dish.join(b"Movies")
    radio.attach(at_radio)
    dish.attach(at_dish)  # sends its JOIN
    assert radio.send([b"TV", b"Friends"]) and radio.send([b"Movies", b"Godfather"])
    assert dish.recv() == ([b"Movies", b"Godfather"], at_dish)
    dish.join(b"TV")
    assert radio.send([b"TV", b"Friends"])
    assert dish.recv() == ([b"TV", b"Friends"], at_dish)
    dish.leave(b"TV")
    assert radio.send([b"TV", b"Friends"]) and radio.send([b"Movies", b"Godfather"])
    assert dish.can_recv()
    assert dish.recv() == ([b"Movies", b"Godfather"], at_dish)
    assert dish.recv() is None
