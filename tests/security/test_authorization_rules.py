"""Authorization rules in memory (routing/authz.py): the property codec, and what XPUB, ROUTER
and a read-only peer's pipe do with rules, without sockets or threads."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from securemq import AccessRules
from securemq.constants import SocketType
from securemq.options import SocketOptions
from securemq.pipe import ConflatePipe, Message, Peer, Pipe
from securemq.routing import Router, XPub, create
from securemq.routing.authz import (
    READ_ONLY_DROPPED,
    ROUTING_ID_EVICTED,
    ROUTING_ID_REFUSED,
    ROUTING_ID_REPLACED,
    SUBSCRIBE_REFUSED,
    AuthzLedger,
    decode_list,
    encode_list,
)


def peer(rules: AccessRules | None = None, routing_id: bytes = b"", user: bytes = b"u",
         pipe: type[Pipe] = Pipe) -> Peer:
    props = {"Socket-Type": b"SUB", "User-Id": user}
    if rules is not None:
        props.update(rules.to_metadata())
    return Peer(pipe(0), pipe(0), routing_id=routing_id, properties=props,
                endpoint="tcp://127.0.0.1:1")


def join(routing: XPub | Router, *peers: Peer) -> None:
    """What the socket does on ATTACH: rules first, then the pattern."""
    for p in peers:
        routing.authz.admit(p)
        routing.attach(p)


# -- the codec --------------------------------------------------------------------------------

@given(st.lists(st.binary(min_size=1, max_size=40), max_size=8))
def test_lists_round_trip(items: list[bytes]) -> None:
    encoded = encode_list(items)
    assert decode_list(encoded) == tuple(items)
    assert all(0x21 <= b < 0x7F for b in encoded)  # printable: fits a certificate file


def test_rules_round_trip_through_metadata() -> None:
    rules = AccessRules(subscribe=["sensor:temp", b"\x00bin,ary%"], read_only=True,
                        routing_ids=["alice", b"\x00\x01"])
    assert AccessRules.from_properties(rules.to_metadata()) == rules
    assert AccessRules.from_properties({"Socket-Type": b"SUB"}) is None
    assert AccessRules().to_metadata() == {}


@pytest.mark.parametrize(("value", "read_only"), [
    (b"1", True), (b"true", True), (b"YES", True), (b"maybe", True), (b"", True),
    (b"0", False), (b"false", False), (b"No", False), (b"off", False),
])
def test_read_only_fails_closed(value: bytes, read_only: bool) -> None:
    rules = AccessRules.from_properties({"securemq-READ-only": value})
    assert (rules is not None and rules.read_only) == read_only


def test_empty_items_are_refused_and_lists_must_be_lists() -> None:
    with pytest.raises(ValueError):
        AccessRules(subscribe=[""])
    with pytest.raises(TypeError):
        AccessRules(subscribe="sensor:")
    # An empty list is a rule: nothing at all.
    rules = AccessRules.from_properties({"Securemq-Subscribe": b""})
    assert rules is not None and rules.subscribe == () and not rules.may_subscribe(b"x")


# -- subscriptions ----------------------------------------------------------------------------

def test_xpub_registers_only_allowed_prefixes() -> None:
    xpub = create(SocketType.XPUB, SocketOptions(SocketType.XPUB))
    assert isinstance(xpub, XPub)
    limited = peer(AccessRules(subscribe=["sensor:temp"]))
    free = peer(user=b"free")
    join(xpub, limited, free)
    for topic in (b"sensor:", b"sensor:temp", b"", b"sensor:humidity"):
        limited.inbound.write([b"\x01" + topic])
    free.inbound.write([b"\x01sensor:"])
    # XPUB passes up only the subscriptions it registered.
    seen = []
    while (item := xpub.recv()) is not None:
        seen.append((item[0], item[1]))
    assert seen == [([b"\x01sensor:temp"], limited), ([b"\x01sensor:"], free)]
    assert xpub.authz.counts == {SUBSCRIBE_REFUSED: 3}
    xpub.send([b"sensor:temp 21"])
    xpub.send([b"sensor:humidity 40"])
    assert limited.outbound.read_many() == [[b"sensor:temp 21"]]
    assert free.outbound.read_many() == [[b"sensor:temp 21"], [b"sensor:humidity 40"]]


def test_invert_matching_sends_nothing_to_a_limited_peer() -> None:
    options = SocketOptions(SocketType.XPUB)
    options.invert_matching = True
    xpub = create(SocketType.XPUB, options)
    limited, free = peer(AccessRules(subscribe=["a"])), peer(user=b"free")
    join(xpub, limited, free)
    xpub.send([b"b-topic"])
    assert limited.outbound.read_many() == []
    assert free.outbound.read_many() == [[b"b-topic"]]


def test_reports_come_at_powers_of_ten() -> None:
    ledger = AuthzLedger("XPUB")
    reported: list[tuple[str, int]] = []
    ledger.report = lambda name, kind, p, subject, count: reported.append((kind, count))
    p = peer()
    for _ in range(1000):
        ledger.refused(p, SUBSCRIBE_REFUSED, b"t")
    assert reported == [(SUBSCRIBE_REFUSED, 1), (SUBSCRIBE_REFUSED, 10),
                        (SUBSCRIBE_REFUSED, 100), (SUBSCRIBE_REFUSED, 1000)]
    assert ledger.counts == {SUBSCRIBE_REFUSED: 1000}


# -- read-only --------------------------------------------------------------------------------

@pytest.mark.parametrize("pipe", [Pipe, ConflatePipe])
def test_read_only_peer_messages_are_dropped_on_reading(pipe: type[Pipe]) -> None:
    ledger = AuthzLedger("ROUTER")
    p = peer(AccessRules(read_only=True), pipe=pipe)
    p.inbound.write([b"before"])  # queued before the socket saw the peer
    ledger.admit(p)
    assert isinstance(p.inbound, pipe)
    assert not p.inbound.readable() and p.inbound.read() is None
    p.inbound.write([b"after", b"2"])
    assert p.inbound.read_many() == [] and p.inbound.peek() is None and not p.inbound.queue
    assert ledger.counts[READ_ONLY_DROPPED] == 2
    # Sending to it is untouched.
    p.outbound.write([b"to it"])
    assert p.outbound.read() == [b"to it"]
    # Reconnected without the rule: its pipe is plain again.
    p.properties = {"Socket-Type": b"DEALER"}
    ledger.admit(p)
    assert type(p.inbound) is pipe
    p.inbound.write([b"now"])
    assert p.inbound.read() == [b"now"]


def test_read_only_subscriber_still_subscribes_to_a_publisher() -> None:
    xpub = create(SocketType.XPUB, SocketOptions(SocketType.XPUB))
    p = peer(AccessRules(read_only=True, subscribe=["news"]))
    join(xpub, p)
    p.inbound.write([b"\x01news"])
    p.inbound.write([b"user data"])
    p.inbound.write([b"\x01news", b"more"])
    assert xpub.recv() == ([b"\x01news"], p)
    assert xpub.recv() is None
    assert xpub.authz.counts == {READ_ONLY_DROPPED: 2}
    xpub.send([b"news!"])
    assert p.outbound.read() == [b"news!"]


def test_many_dropped_messages_never_strand_a_kept_one() -> None:
    xpub = create(SocketType.XPUB, SocketOptions(SocketType.XPUB))
    p = peer(AccessRules(read_only=True))
    join(xpub, p)
    msgs: list[Message] = [[b"junk %d" % i] for i in range(600)] + [[b"\x01t"]]
    p.inbound.write_many(msgs)
    assert xpub.recv() == ([b"\x01t"], p)


# -- routing ids ------------------------------------------------------------------------------

def router() -> Router:
    made = create(SocketType.ROUTER, SocketOptions(SocketType.ROUTER))
    assert isinstance(made, Router)
    return made


def test_router_names_a_peer_by_its_authorized_id() -> None:
    r = router()
    honest = peer(AccessRules(routing_ids=["alice", "alice2"]), routing_id=b"alice2")
    liar = peer(AccessRules(routing_ids=["bob"]), routing_id=b"alice", user=b"bob")
    anonymous = peer(AccessRules(routing_ids=["carol"]), user=b"carol")
    join(r, honest, liar, anonymous)
    assert (honest.routing_id, liar.routing_id, anonymous.routing_id) == (
        b"alice2", b"bob", b"carol")
    assert r.authz.counts == {ROUTING_ID_REPLACED: 1}
    liar.inbound.write([b"hi"])
    assert r.recv() == ([b"bob", b"hi"], liar)
    r.send([b"alice", b"secret"])  # nobody is alice: dropped
    assert liar.outbound.read_many() == []


def test_an_unentitled_holder_is_cut_off_when_the_owner_arrives() -> None:
    r = router()
    squatter = peer(routing_id=b"alice", user=b"mallory")  # no rules
    join(r, squatter)
    owner = peer(AccessRules(routing_ids=["alice"]), routing_id=b"alice")
    join(r, owner)
    assert owner.routing_id == b"alice" and squatter.routing_id != b"alice"
    r.send([b"alice", b"for alice"])
    assert owner.outbound.read_many() == [[b"for alice"]]
    assert squatter.outbound.read_many() == []
    squatter.inbound.write([b"from the squatter"])
    assert r.recv() is None
    assert r.authz.counts == {ROUTING_ID_EVICTED: 1}


def test_two_entitled_peers_follow_the_usual_rules() -> None:
    r = router()
    first = peer(AccessRules(routing_ids=["alice"]), routing_id=b"alice")
    second = peer(AccessRules(routing_ids=["alice"]), routing_id=b"alice")
    join(r, first, second)
    r.send([b"alice", b"x"])
    assert first.outbound.read_many() == [[b"x"]] and second.outbound.read_many() == []


def test_a_peer_allowed_no_id_cannot_be_addressed() -> None:
    r = router()
    p = peer(AccessRules(routing_ids=[]), routing_id=b"alice")
    join(r, p)
    p.inbound.write([b"dropped"])
    assert r.recv() is None
    r.send([b"alice", b"x"])
    assert p.outbound.read_many() == []
    assert r.authz.counts == {ROUTING_ID_REFUSED: 1}


def test_handover_never_gives_an_entitled_id_to_an_unentitled_peer() -> None:
    options = SocketOptions(SocketType.ROUTER)
    options.router_handover = True
    r = create(SocketType.ROUTER, options)
    assert isinstance(r, Router)
    owner = peer(AccessRules(routing_ids=["alice"]), routing_id=b"alice")
    join(r, owner)
    intruder = peer(routing_id=b"alice", user=b"mallory")  # no rules
    join(r, intruder)
    r.send([b"alice", b"for alice"])
    assert owner.outbound.read_many() == [[b"for alice"]]
    assert intruder.outbound.read_many() == []
    intruder.inbound.write([b"ignored"])
    assert r.recv() is None
    assert r.authz.counts == {ROUTING_ID_REFUSED: 1}
    # Another peer entitled to the id takes it over, as ROUTER_HANDOVER says.
    heir = peer(AccessRules(routing_ids=["alice"]), routing_id=b"alice")
    join(r, heir)
    r.send([b"alice", b"to the heir"])
    assert heir.outbound.read_many() == [[b"to the heir"]]


def test_xpub_manual_cannot_subscribe_a_limited_peer_beyond_its_rule() -> None:
    options = SocketOptions(SocketType.XPUB)
    options.xpub_manual = True
    xpub = create(SocketType.XPUB, options)
    limited = peer(AccessRules(subscribe=["sensor:temp"]))
    join(xpub, limited)
    limited.inbound.write([b"\x01secret"])
    limited.inbound.write([b"\x01sensor:temp"])
    assert xpub.recv() == ([b"\x01sensor:temp"], limited)  # the refused one never came up
    xpub.subscribe(b"secret")  # the application tries to widen it: refused too
    xpub.subscribe(b"sensor:temp")
    xpub.send([b"secret stuff"])
    xpub.send([b"sensor:temp 1"])
    assert limited.outbound.read_many() == [[b"sensor:temp 1"]]
    assert xpub.authz.counts == {SUBSCRIBE_REFUSED: 2}
