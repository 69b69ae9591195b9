"""The draft socket types against libzmq 4.3.5 built with the draft API (the oracle wheel), in
both directions: CLIENT/SERVER, RADIO/DISH (over tcp), SCATTER/GATHER, PEER (with
``connect_peer``) and CHANNEL, plus their single-part rules, the thread safety of one socket
used by several threads, and the Poller on draft sockets.

The oracle is pyzmq 27.3 on libzmq 4.3.5 with drafts (../shared/oracle); ``make test`` installs
it in place of the stock pyzmq wheel when it is available. Without it these tests skip.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import zmq

import securemq

pytestmark = pytest.mark.skipif(
    not getattr(zmq, "DRAFT_API", False),
    reason="needs the draft-enabled pyzmq/libzmq oracle (../shared/oracle), not installed",
)

TIMEOUT_MS = 5000


@pytest.fixture
def smq() -> Iterator[securemq.Context]:
    context = securemq.Context()
    yield context
    context.destroy(linger=0)


@pytest.fixture
def pz() -> Iterator[Any]:
    context = zmq.Context()
    yield context
    context.destroy(linger=0)


def make(context: Any, kind: str) -> Any:
    lib = securemq if isinstance(context, securemq.Context) else zmq
    sock = context.socket(getattr(lib, kind))
    sock.linger = 0
    sock.rcvtimeo = sock.sndtimeo = TIMEOUT_MS
    return sock


def bind(sock: Any) -> str:
    port = sock.bind_to_random_port("tcp://127.0.0.1")
    return f"tcp://127.0.0.1:{port}"


def sides(request: pytest.FixtureRequest, smq: securemq.Context, pz: Any) -> tuple[Any, Any]:
    """(binder's context, connecter's context) for the direction under test."""
    return (smq, pz) if request.param == "securemq-binds" else (pz, smq)


@pytest.fixture(params=["securemq-binds", "libzmq-binds"])
def contexts(request: pytest.FixtureRequest, smq: securemq.Context, pz: Any) -> tuple[Any, Any]:
    return sides(request, smq, pz)


def retry_until(action: Callable[[], Any], deadline: float = 5.0) -> Any:
    """For RADIO: send until the DISH has joined (its JOIN travels on its own)."""
    end = time.monotonic() + deadline
    while True:
        try:
            return action()
        except (zmq.Again, securemq.Again):
            if time.monotonic() > end:
                raise


def join(dish: Any, group: str) -> None:
    # (pyzmq's DISH.join takes bytes; securemq's takes str or bytes)
    dish.join(group if isinstance(dish, securemq.Socket) else group.encode())


def test_oracle_has_the_draft_api() -> None:
    assert zmq.DRAFT_API and zmq.has("draft")
    assert securemq.DRAFT_API is securemq.has("draft") is True


def test_client_server(contexts: tuple[Any, Any]) -> None:
    server_ctx, client_ctx = contexts
    server, client = make(server_ctx, "SERVER"), make(client_ctx, "CLIENT")
    client.connect(bind(server))
    for i in range(3):
        client.send(b"request %d" % i)
        frame = server.recv(copy=False)
        assert frame.bytes == b"request %d" % i and frame.routing_id
        server.send(b"reply %d" % i, routing_id=frame.routing_id)
        assert client.recv() == b"reply %d" % i


def test_server_to_unknown_routing_id_is_ehostunreach(smq: securemq.Context) -> None:
    server = make(smq, "SERVER")
    with pytest.raises(securemq.ZMQError) as info:
        server.send(b"x", routing_id=12345)
    assert info.value.errno == securemq.EHOSTUNREACH


def test_single_part_only(smq: securemq.Context, pz: Any) -> None:
    for kind in ("CLIENT", "SCATTER", "CHANNEL", "RADIO"):
        for context, lib in ((smq, securemq), (pz, zmq)):
            sock = make(context, kind)
            with pytest.raises(lib.ZMQError) as info:
                sock.send(b"part", lib.SNDMORE)
            assert info.value.errno == zmq.EINVAL, (kind, lib.__name__)
        with pytest.raises(securemq.ZMQError):
            make(smq, kind).send_multipart([b"a", b"b"])


def test_radio_dish_groups(contexts: tuple[Any, Any]) -> None:
    dish_ctx, radio_ctx = contexts
    dish, radio = make(dish_ctx, "DISH"), make(radio_ctx, "RADIO")
    radio.connect(bind(dish))
    join(dish, "weather")
    join(dish, "news")

    def first_weather() -> Any:
        radio.send(b"sunny", group="weather")
        return dish.recv(copy=False, flags=zmq.NOBLOCK)

    frame = retry_until(first_weather)
    assert frame.bytes == b"sunny" and frame.group == "weather"
    radio.send(b"not joined", group="sport")
    radio.send(b"breaking", group="news")
    frame = dish.recv(copy=False)
    while (frame.bytes, frame.group) == (b"sunny", "weather"):  # retries still in flight
        frame = dish.recv(copy=False)
    assert (frame.bytes, frame.group) == (b"breaking", "news")
    getattr(dish, "leave")(b"news" if not isinstance(dish, securemq.Socket) else "news")
    retry_leave_end = time.monotonic() + 5
    while True:  # the LEAVE travels too: send until news stops arriving
        radio.send(b"after leave", group="news")
        radio.send(b"marker", group="weather")
        frame = dish.recv(copy=False)
        if frame.group == "weather":
            break
        assert time.monotonic() < retry_leave_end


def test_group_rules(smq: securemq.Context) -> None:
    dish = make(smq, "DISH")
    with pytest.raises(securemq.ZMQError) as info:
        dish.join("x" * 256)
    assert info.value.errno == securemq.EINVAL
    dish.join("g")
    with pytest.raises(securemq.ZMQError):
        dish.join("g")  # twice
    with pytest.raises(securemq.ZMQError):
        dish.leave("never")
    radio = make(smq, "RADIO")
    with pytest.raises(securemq.ZMQError):
        radio.send(b"x", group="y" * 256)
    with pytest.raises(securemq.ZMQError) as info:
        make(smq, "CLIENT").join("g")
    assert info.value.errno == securemq.ENOTSUP


def test_scatter_gather(contexts: tuple[Any, Any]) -> None:
    gather_ctx, scatter_ctx = contexts
    gather, scatter = make(gather_ctx, "GATHER"), make(scatter_ctx, "SCATTER")
    scatter.connect(bind(gather))
    for i in range(20):
        scatter.send(b"%d" % i)
    assert [gather.recv() for _ in range(20)] == [b"%d" % i for i in range(20)]


def _libzmq_connect_peer(sock: Any, endpoint: str) -> int:
    path = None
    with open("/proc/self/maps") as maps:
        for line in maps:
            parts = line.split()
            if len(parts) >= 6 and os.path.basename(parts[-1]).startswith("libzmq"):
                path = parts[-1]
                break
    lib = ctypes.CDLL(path or ctypes.util.find_library("zmq"))
    lib.zmq_connect_peer.restype = ctypes.c_uint32
    lib.zmq_connect_peer.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    routing_id: int = lib.zmq_connect_peer(sock.underlying, endpoint.encode())
    return routing_id


def test_peer(contexts: tuple[Any, Any]) -> None:
    bound_ctx, connecting_ctx = contexts
    bound, connecting = make(bound_ctx, "PEER"), make(connecting_ctx, "PEER")
    endpoint = bind(bound)
    if isinstance(connecting, securemq.Socket):
        rid = connecting.connect_peer(endpoint)
    else:
        rid = _libzmq_connect_peer(connecting, endpoint)
    assert rid != 0
    connecting.send(b"hello peer", routing_id=rid)
    frame = bound.recv(copy=False)
    assert frame.bytes == b"hello peer"
    bound.send(b"hello back", routing_id=frame.routing_id)
    back = connecting.recv(copy=False)
    assert back.bytes == b"hello back" and back.routing_id == rid


def test_channel(contexts: tuple[Any, Any]) -> None:
    a_ctx, b_ctx = contexts
    a, b = make(a_ctx, "CHANNEL"), make(b_ctx, "CHANNEL")
    b.connect(bind(a))
    b.send(b"ping")
    assert a.recv() == b"ping"
    a.send(b"pong")
    assert b.recv() == b"pong"


def test_connect_peer_only_on_peer(smq: securemq.Context) -> None:
    with pytest.raises(securemq.ZMQError) as info:
        make(smq, "SERVER").connect_peer("tcp://127.0.0.1:9")
    assert info.value.errno == securemq.ENOTSUP


@pytest.mark.timeout(60)
def test_one_server_used_by_many_threads(smq: securemq.Context, pz: Any) -> None:
    """Eight threads receive on one SERVER and reply through it while four libzmq clients
    send: every request is answered exactly once, and nothing deadlocks."""
    server = make(smq, "SERVER")
    server.rcvtimeo = 200
    endpoint = bind(server)
    clients = [make(pz, "CLIENT") for _ in range(4)]
    for client in clients:
        client.connect(endpoint)
    per_client = 100
    handled: list[bytes] = []
    lock = threading.Lock()
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                frame = server.recv(copy=False)
            except securemq.Again:
                continue
            server.send(b"re:" + frame.bytes, routing_id=frame.routing_id)
            with lock:
                handled.append(frame.bytes)

    workers = [threading.Thread(target=serve, daemon=True) for _ in range(8)]
    for worker in workers:
        worker.start()
    try:
        for c, client in enumerate(clients):
            for i in range(per_client):
                client.send(b"%d-%d" % (c, i))
        for c, client in enumerate(clients):
            replies = sorted(client.recv() for _ in range(per_client))
            assert replies == sorted(b"re:%d-%d" % (c, i) for i in range(per_client))
    finally:
        stop.set()
        for worker in workers:
            worker.join(5)
    assert sorted(handled) == sorted(b"%d-%d" % (c, i) for c in range(4) for i in range(per_client))


@pytest.mark.timeout(60)
def test_one_client_sent_to_by_many_threads(smq: securemq.Context) -> None:
    server = make(smq, "SERVER")
    client = make(smq, "CLIENT")
    client.connect(bind(server))
    threads = [threading.Thread(target=lambda t=t: [client.send(b"%d:%d" % (t, i))
                                                    for i in range(200)])
               for t in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    got = [server.recv() for _ in range(1200)]
    for t in range(6):
        mine = [m for m in got if m.startswith(b"%d:" % t)]
        assert mine == [b"%d:%d" % (t, i) for i in range(200)], "one thread's order was lost"


def test_poller_on_draft_sockets(smq: securemq.Context) -> None:
    server, client = make(smq, "SERVER"), make(smq, "CLIENT")
    client.connect(bind(server))
    poller = securemq.Poller()
    poller.register(server, securemq.POLLIN)
    assert poller.poll(0) == []
    client.send(b"x")
    assert poller.poll(TIMEOUT_MS) == [(server, securemq.POLLIN)]
    assert server.poll(0) == securemq.POLLIN
