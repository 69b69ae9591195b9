"""PAIR, PUSH, PULL, the factory, and the layer rule for routing/."""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

import pytest

import securemq.routing as routing
from securemq import socket_types
from securemq.constants import Errno, SocketType
from securemq.error import ZMQError
from securemq.pipe import Peer
from securemq.routing import Pair, Pull, Push
from securemq.routing.base import RoutingOptions

MakePeer = Callable[..., Peer]


def test_pair_one_peer_second_ignored(opts: RoutingOptions, make_peer: MakePeer) -> None:
    pair = Pair(opts)
    assert not pair.can_send() and pair.send([b"x"]) is False
    assert pair.recv() is None and not pair.can_recv()
    first, second = make_peer(hwm=1), make_peer()
    pair.attach(first)
    pair.attach(second)
    second.inbound.write([b"from second"])
    assert not pair.can_recv()
    assert pair.send([b"1", b"2"]) is True
    assert not pair.can_send()
    assert pair.send([b"3"]) is False  # full: block
    assert first.outbound.read_many() == [[b"1", b"2"]]
    assert len(second.outbound) == 0
    first.inbound.write([b"from first"])
    assert pair.recv() == ([b"from first"], first)
    assert len(second.inbound) == 0  # dropped, never delivered
    pair.detach(first)
    assert pair.peer is second  # the waiting peer takes over
    assert pair.recv() is None
    second.inbound.write([b"after takeover"])
    assert pair.recv() == ([b"after takeover"], second)
    pair.detach(second)
    assert pair.peer is None and pair.send([b"x"]) is False


def test_push_round_robin_and_block(opts: RoutingOptions, make_peer: MakePeer) -> None:
    push = Push(opts)
    assert push.send([b"x"]) is False
    peers = [make_peer(hwm=2) for _ in range(3)]
    for p in peers:
        push.attach(p)
    for i in range(6):
        assert push.send([b"%d" % i])
    assert [[m[0] for m in p.outbound.read_many()] for p in peers] == [
        [b"0", b"3"],
        [b"1", b"4"],
        [b"2", b"5"],
    ]
    for p in peers:
        p.outbound.write([b"a"])
        p.outbound.write([b"b"])
    assert not push.can_send() and push.send([b"x"]) is False
    with pytest.raises(ZMQError) as err:
        push.recv()
    assert err.value.errno == Errno.ENOTSUP and "PUSH" in str(err.value)
    assert not push.can_recv()


def test_pull_fair_queue_and_refuses_send(opts: RoutingOptions, make_peer: MakePeer) -> None:
    pull = Pull(opts)
    a, b = make_peer(), make_peer()
    pull.attach(a)
    pull.attach(b)
    a.inbound.write([b"a1"])
    a.inbound.write([b"a2", b"x"])
    b.inbound.write([b"b1"])
    assert pull.can_recv()
    assert [pull.recv() for _ in range(4)] == [([b"a1"], a), ([b"b1"], b), ([b"a2", b"x"], a), None]
    with pytest.raises(ZMQError) as err:
        pull.send([b"x"])
    assert err.value.errno == Errno.ENOTSUP
    assert not pull.can_send()


@pytest.mark.parametrize(
    ("socket_type", "cls"),
    [
        (SocketType.PAIR, routing.Pair),
        (SocketType.PUB, routing.Pub),
        (SocketType.SUB, routing.Sub),
        (SocketType.REQ, routing.Req),
        (SocketType.REP, routing.Rep),
        (SocketType.DEALER, routing.Dealer),
        (SocketType.ROUTER, routing.Router),
        (SocketType.PULL, routing.Pull),
        (SocketType.PUSH, routing.Push),
        (SocketType.XPUB, routing.XPub),
        (SocketType.XSUB, routing.XSub),
    ],
)
def test_factory(socket_type: int, cls: type, opts: RoutingOptions) -> None:
    made = routing.create(socket_type, opts)
    assert type(made) is cls
    assert made.socket_type == socket_type


def test_factory_rejects_unknown(opts: RoutingOptions) -> None:
    with pytest.raises(ZMQError) as err:
        routing.create(99, opts)
    assert err.value.errno == Errno.EINVAL


def test_factory_passes_random_source(opts: RoutingOptions, make_peer: MakePeer) -> None:
    r = routing.create(SocketType.ROUTER, opts, random_bits=lambda n: 9)
    p = make_peer()
    r.attach(p)
    assert p.routing_id == b"\x00\x00\x00\x00\x09"


@pytest.mark.parametrize(
    "socket_type",
    [t for t in SocketType if t != SocketType.STREAM and not socket_types.info(t).draft],
)
def test_subscribe_einval_except_sub(socket_type: int, opts: RoutingOptions) -> None:
    made = routing.create(socket_type, opts)
    if socket_type == SocketType.SUB:
        made.subscribe(b"x")
        made.unsubscribe(b"x")
        return
    for call in (made.subscribe, made.unsubscribe):
        with pytest.raises(ZMQError) as err:
            call(b"x")
        assert err.value.errno == Errno.EINVAL


def test_routing_imports_only_leaves_and_pipe() -> None:
    allowed = {"securemq.constants", "securemq.error", "securemq.pipe"}
    package = Path(routing.__file__).parent
    for path in package.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                assert node.module is None or not node.module.startswith(".")
            elif isinstance(node, ast.ImportFrom) and node.level == 2:
                assert f"securemq.{node.module}" in allowed, (path.name, node.module)
            elif isinstance(node, ast.ImportFrom):
                assert not (node.module or "").startswith("securemq"), (path.name, node.module)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    assert not alias.name.startswith("securemq") or alias.name in allowed
            assert not (isinstance(node, ast.ImportFrom) and node.level > 2), path.name
        # no I/O, threads or clocks in routing
        source = path.read_text()
        for banned in ("import threading", "import socket", "import time", "import select"):
            assert banned not in source, (path.name, banned)
