"""SEQUENCE (securemq, opt-in on both ends): per-subscriber stamps on PUB/SUB so that messages
a publisher dropped are counted and reported, with libzmq peers unaffected either way."""

from __future__ import annotations

import struct
import time
from typing import Any

import pytest
import zmq

import securemq
from securemq.monitor import parse_monitor_message
from securemq.pipe import Peer, Pipe
from securemq.routing.sequence import Checker, Stamper

from .conftest import configure


def _peer(announces: bool, endpoint: str = "tcp://pub") -> Peer:
    props = {"x-securemq-sequence": b"1"} if announces else {}
    return Peer(Pipe(), Pipe(), properties=props, endpoint=endpoint)


# -- the two halves, without sockets ------------------------------------------------------------


def test_stamps_only_for_peers_that_asked() -> None:
    stamper = Stamper()
    asked, plain = _peer(True), _peer(False)
    assert stamper.stamped(plain, [b"t", b"x"]) == [b"t", b"x"]
    assert stamper.stamped(asked, [b"t", b"x"]) == [b"t", b"x", struct.pack(">Q", 1)]
    assert stamper.stamped(asked, [b"t"])[-1] == struct.pack(">Q", 2)
    stamper.forget(asked)  # a new connection counts from 1 again
    assert stamper.stamped(asked, [b"t"])[-1] == struct.pack(">Q", 1)


def test_checker_strips_counts_and_reports_each_gap_once() -> None:
    checker = Checker()
    publisher = _peer(True)
    reports: list[tuple[int, int]] = []

    def report(peer: Peer, lost: int, total: int) -> None:
        reports.append((lost, total))

    def stamped(n: int) -> list[bytes]:
        return [b"topic", b"body", struct.pack(">Q", n)]

    assert checker.check(stamped(1), publisher, report) == [b"topic", b"body"]
    assert checker.check(stamped(2), publisher, report) is not None
    assert checker.check(stamped(5), publisher, report) is not None  # 3 and 4 were dropped
    assert checker.check(stamped(9), publisher, report) is not None  # 6, 7, 8
    assert reports == [(2, 2), (3, 5)]
    assert [(c.received, c.lost) for c in checker.counts()] == [(4, 5)]
    assert checker.check([b"no stamp"], publisher, report) is None  # malformed: dropped
    checker.restart(publisher)  # reconnected: its new connection starts at 1
    assert checker.check(stamped(1), publisher, report) is not None
    assert len(reports) == 2
    plain = _peer(False)
    assert checker.check([b"as is"], plain, report) == [b"as is"]


# -- sockets ------------------------------------------------------------------------------------


def pub_and_sub(contexts: dict[str, Any], pub_lib: str, sub_lib: str, *, pub_seq: bool,
                sub_seq: bool, hwm: int = 1000, topic: bytes = b"") -> tuple[Any, Any]:
    pub = configure(contexts[pub_lib].socket(zmq.PUB))
    pub.setsockopt(zmq.SNDHWM, hwm)
    if pub_seq:
        pub.setsockopt(securemq.SEQUENCE, 1)
    pub.bind("tcp://127.0.0.1:*")
    sub = configure(contexts[sub_lib].socket(zmq.SUB), timeout_ms=1000)
    sub.setsockopt(zmq.RCVHWM, hwm)
    if sub_seq:
        sub.setsockopt(securemq.SEQUENCE, 1)
    sub.setsockopt(zmq.SUBSCRIBE, topic)
    sub.connect(pub.getsockopt(zmq.LAST_ENDPOINT).decode())
    if isinstance(pub, securemq.Socket):
        pub.wait_for_subscribers(1, 5)
    else:
        deadline = time.monotonic() + 5
        while not sub.poll(10):
            pub.send_multipart([topic + b"warm-up", b""])
            assert time.monotonic() < deadline
        while sub.poll(50):
            sub.recv_multipart()
    return pub, sub


@pytest.mark.parametrize(("pub_lib", "sub_lib"), [("securemq", "pyzmq"), ("pyzmq", "securemq")])
def test_a_libzmq_peer_sees_plain_messages(contexts: dict[str, Any], pub_lib: str,
                                           sub_lib: str) -> None:
    pub, sub = pub_and_sub(contexts, pub_lib, sub_lib, pub_seq=pub_lib == "securemq",
                           sub_seq=sub_lib == "securemq")
    for i in range(10):
        pub.send_multipart([b"t", b"%d" % i])
    assert [sub.recv_multipart() for _ in range(10)] == [[b"t", b"%d" % i] for i in range(10)]


def test_drops_are_counted_and_reported(contexts: dict[str, Any]) -> None:
    pub, sub = pub_and_sub(contexts, "securemq", "securemq", pub_seq=True, sub_seq=True, hwm=10)
    everything = sub.get_monitor_socket()  # EVENT_ALL: libzmq's events only
    losses = sub.get_monitor_socket(securemq.EVENT_MESSAGES_LOST, "inproc://losses")
    sent = 20_000
    for i in range(sent):
        pub.send_multipart([b"t", b"%d" % i])
    got: list[list[bytes]] = []
    deadline = time.monotonic() + 10
    while not got or got[-1][1] != b"last":  # (a gap shows when a later message arrives)
        assert time.monotonic() < deadline, "the final message never got through"
        pub.send_multipart([b"t", b"last"])  # (it may be dropped too while the pipe is full)
        sent += 1
        while sub.poll(20):
            got.append(sub.recv_multipart())
    assert all(len(msg) == 2 for msg in got), "stamps must not reach the application"
    (counts,) = sub.sequence_counts()
    assert counts["received"] == len(got)
    assert counts["lost"] > 0 and counts["received"] + counts["lost"] == sent
    reported = 0
    while losses.poll(100):
        event = parse_monitor_message(losses.recv_multipart())
        assert event["event"] == securemq.EVENT_MESSAGES_LOST
        assert event["endpoint"] == counts["endpoint"].encode()
        reported += event["value"]
    assert reported == counts["lost"]
    while everything.poll(50):
        head = everything.recv_multipart()[0]
        assert len(head) == 6, "a libzmq-style monitor got a securemq event"


def test_filtered_messages_are_not_losses(contexts: dict[str, Any]) -> None:
    pub, sub = pub_and_sub(contexts, "securemq", "securemq", pub_seq=True, sub_seq=True,
                           topic=b"a")
    for i in range(100):
        pub.send_multipart([b"a" if i % 2 else b"b", b"%d" % i])
    got = [sub.recv_multipart() for _ in range(50)]
    assert [msg[0] for msg in got] == [b"a"] * 50
    assert sub.sequence_counts()[0]["lost"] == 0


def test_xpub_xsub_and_one_sided_opt_in(contexts: dict[str, Any]) -> None:
    ctx = contexts["securemq"]
    xpub = configure(ctx.socket(securemq.XPUB))
    xpub.setsockopt(securemq.SEQUENCE, 1)
    xpub.bind("tcp://127.0.0.1:*")
    endpoint = xpub.getsockopt(zmq.LAST_ENDPOINT).decode()
    stamped = configure(ctx.socket(securemq.XSUB))
    stamped.setsockopt(securemq.SEQUENCE, 1)
    unstamped = configure(ctx.socket(securemq.SUB))  # securemq, but it did not ask
    unstamped.subscribe(b"")
    for sock in (stamped, unstamped):
        sock.connect(endpoint)
    stamped.send(b"\x01")
    assert xpub.wait_for_subscribers(2, 5) == 2
    xpub.send(b"hello")
    assert stamped.recv_multipart() == [b"hello"]
    assert unstamped.recv_multipart() == [b"hello"]
    assert stamped.sequence_counts()[0]["received"] == 1
    assert unstamped.sequence_counts() == []


def test_option_is_for_pubsub_only(contexts: dict[str, Any]) -> None:
    with pytest.raises(securemq.ZMQError) as info:
        contexts["securemq"].socket(securemq.PUSH).setsockopt(securemq.SEQUENCE, 1)
    assert info.value.errno == zmq.EINVAL and "SEQUENCE" in str(info.value)
