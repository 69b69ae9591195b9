"""Per-socket statistics (``Socket.stats()``) and the Prometheus exporter, with libzmq peers on
the other side where a peer is needed: traffic both ways, drops at the HWM, connects and
reconnects, handshake failures by kind.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
import zmq

import securemq
from securemq import auth as smq_auth
from securemq.stats import PrometheusCollector

from .conftest import configure


def endpoint(sock: Any) -> str:
    return str(sock.getsockopt(zmq.LAST_ENDPOINT).decode())


def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met before the deadline"
        time.sleep(0.01)


def test_a_new_socket_counts_nothing(contexts: dict[str, Any]) -> None:
    sock = configure(contexts["securemq"].socket(securemq.DEALER))
    stats = sock.stats()
    assert stats["type"] == "DEALER"
    assert stats["connections"] == 0 and stats["peers"] == []
    for key in ("messages_in", "messages_out", "bytes_in", "bytes_out", "dropped_out",
                "connects", "disconnects", "reconnects", "throttled", "queued_in", "queued_out"):
        assert stats[key] == 0, key
    assert stats["handshake_failures"] == {"auth": 0, "protocol": 0, "no_detail": 0}
    sock.close()
    with pytest.raises(securemq.ZMQError):
        sock.stats()


@pytest.mark.parametrize("direction", ["securemq->pyzmq", "pyzmq->securemq"])
def test_traffic_with_a_libzmq_peer(contexts: dict[str, Any], direction: str) -> None:
    sender_lib, receiver_lib = direction.split("->")
    pull = configure(contexts[receiver_lib].socket(zmq.PULL))
    pull.bind("tcp://127.0.0.1:*")
    push = configure(contexts[sender_lib].socket(zmq.PUSH))
    push.connect(endpoint(pull))
    for i in range(10):
        push.send_multipart([b"part", b"x" * i])
    for _ in range(10):
        pull.recv_multipart()
    mine = push if sender_lib == "securemq" else pull
    stats = mine.stats()
    assert stats["connections"] == 1 and stats["connects"] == 1
    (peer,) = stats["peers"]
    assert peer["endpoint"] == endpoint(pull)
    if mine is push:
        assert stats["messages_out"] == peer["messages_out"] == 10
        assert stats["messages_in"] == 0
        # Wire bytes: at least the message bodies, plus the ZMTP framing.
        until(lambda: mine.stats()["bytes_out"] >= 10 * 4 + sum(range(10)) + 20 * 2)
    else:
        assert stats["messages_in"] == peer["messages_in"] == 10
        assert stats["messages_out"] == 0
        assert stats["bytes_in"] >= 10 * 4 + sum(range(10)) + 20 * 2
    assert stats["queued_in"] == stats["queued_out"] == 0


def test_drops_at_the_hwm_are_counted_per_peer(contexts: dict[str, Any]) -> None:
    ctx = contexts["securemq"]
    pub = configure(ctx.socket(securemq.PUB))
    pub.sndhwm = 5
    pub.bind("inproc://stats-drops")
    slow = configure(ctx.socket(securemq.SUB))
    slow.rcvhwm = 5
    slow.subscribe(b"")
    slow.connect("inproc://stats-drops")
    until(lambda: pub.stats()["connections"] == 1)
    for _ in range(200):
        pub.send(b"tick")
    stats = pub.stats()
    (peer,) = stats["peers"]
    assert peer["dropped_out"] > 0
    assert peer["messages_out"] + peer["dropped_out"] == 200
    assert stats["dropped_out"] == peer["dropped_out"]
    assert stats["queued_out"] > 0  # what the slow subscriber has not read yet


def test_pub_drops_to_a_slow_libzmq_subscriber(contexts: dict[str, Any]) -> None:
    pub = configure(contexts["securemq"].socket(securemq.PUB))
    pub.sndhwm = 10
    pub.bind("tcp://127.0.0.1:*")
    sub = configure(contexts["pyzmq"].socket(zmq.SUB))
    sub.rcvhwm = 10
    sub.subscribe(b"")
    sub.connect(endpoint(pub))
    pub.wait_for_subscribers(1, 5)
    body = b"x" * 65536
    deadline = time.monotonic() + 10
    while pub.stats()["dropped_out"] == 0:  # the kernel buffers fill, then the pipe
        assert time.monotonic() < deadline, "no drop counted"
        for _ in range(100):
            pub.send(body)
    sub.recv()  # the subscriber still gets what was not dropped


def test_reconnects_and_disconnects(contexts: dict[str, Any]) -> None:
    server = configure(contexts["pyzmq"].socket(zmq.ROUTER))
    server.bind("tcp://127.0.0.1:*")
    where = endpoint(server)
    client = configure(contexts["securemq"].socket(securemq.DEALER))
    client.reconnect_ivl = 20
    client.connect(where)
    client.wait_ready(5)
    server.close(linger=0)
    until(lambda: client.stats()["disconnects"] == 1)
    again = configure(contexts["pyzmq"].socket(zmq.ROUTER))
    deadline = time.monotonic() + 5
    while True:  # (the port may linger a moment)
        try:
            again.bind(where)
            break
        except zmq.ZMQError:
            assert time.monotonic() < deadline
            time.sleep(0.02)
    until(lambda: client.stats()["connects"] == 2)
    stats = client.stats()
    assert stats["connections"] == 1
    assert (stats["connects"], stats["reconnects"], stats["disconnects"]) == (2, 1, 1)


@pytest.mark.parametrize("server_lib", ["securemq", "pyzmq"])
def test_handshake_failures_by_kind(contexts: dict[str, Any], server_lib: str) -> None:
    ctx = contexts[server_lib]
    auth = (smq_auth.ThreadAuthenticator if server_lib == "securemq"
            else __import__("zmq.auth.thread").auth.thread.ThreadAuthenticator)(ctx)
    auth.start()
    try:
        auth.configure_plain(domain="*", passwords={"alice": "right"})
        server = configure(ctx.socket(zmq.REP))
        server.plain_server = True
        server.bind("tcp://127.0.0.1:*")
        client = configure(contexts["securemq"].socket(securemq.REQ))
        client.plain_username, client.plain_password = b"alice", b"wrong"
        client.connect(endpoint(server))
        until(lambda: client.stats()["handshake_failures"]["auth"] >= 1)
        assert client.stats()["connects"] == 0
        if server_lib == "securemq":
            until(lambda: server.stats()["handshake_failures"]["auth"] >= 1)
            assert server.stats()["connections"] == 0
    finally:
        auth.stop()


def test_garbage_counts_as_a_protocol_failure(contexts: dict[str, Any]) -> None:
    import socket as stdsocket

    server = configure(contexts["securemq"].socket(securemq.ROUTER))
    server.bind("tcp://127.0.0.1:*")
    host, port = endpoint(server)[len("tcp://"):].rsplit(":", 1)
    with stdsocket.create_connection((host, int(port)), timeout=5) as raw:
        raw.sendall(b"\xff" + b"\x00" * 8 + b"\x7f" + b"\x03\x01" + b"NOPE".ljust(20, b"\x00")
                    + b"\x00" * 32)  # a greeting with a mechanism nobody has
        until(lambda: server.stats()["handshake_failures"]["protocol"] >= 1)
    good = configure(contexts["pyzmq"].socket(zmq.DEALER))
    good.connect(endpoint(server))
    good.send(b"still serving")
    assert server.recv_multipart()[1] == b"still serving"


def test_prometheus_exporter(contexts: dict[str, Any]) -> None:
    prometheus_client = pytest.importorskip("prometheus_client")
    ctx = contexts["securemq"]
    pull = configure(ctx.socket(securemq.PULL))
    pull.bind("tcp://127.0.0.1:*")
    push = configure(contexts["pyzmq"].socket(zmq.PUSH))
    push.connect(endpoint(pull))
    for _ in range(7):
        push.send(b"hello")
    for _ in range(7):
        pull.recv()
    closed = ctx.socket(securemq.PUB)
    closed.close()
    registry = prometheus_client.CollectorRegistry()
    registry.register(PrometheusCollector({"inbox": pull, "gone": closed}))
    text = prometheus_client.generate_latest(registry).decode()
    assert 'securemq_messages_in_total{socket="inbox",type="PULL"} 7.0' in text
    assert 'securemq_connections{socket="inbox",type="PULL"} 1.0' in text
    assert ('securemq_handshake_failures_total{kind="auth",socket="inbox",type="PULL"} 0.0'
            in text)
    assert 'socket="gone"' not in text  # closed sockets are skipped
    assert registry.get_sample_value(
        "securemq_bytes_in_total", {"socket": "inbox", "type": "PULL"}) >= 7 * 7
