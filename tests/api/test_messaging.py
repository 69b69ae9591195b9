"""Message semantics between securemq sockets, over inproc and tcp."""

from __future__ import annotations

import threading
import time

import pytest

import securemq as zmq
from securemq.utils.monitor import recv_monitor_message
from tests.api.conftest import MakeSocket, bind_any


def _pair(make: MakeSocket, transport: str, a: int = zmq.PUSH,
          b: int = zmq.PULL) -> tuple[zmq.Socket, zmq.Socket]:
    """``a`` connects to ``b`` (bound); returns (a, b) once a first message went through."""
    receiver = make(b)
    sender = make(a)
    sender.connect(bind_any(receiver, transport))
    return sender, receiver


def test_noblock_recv_is_again(make: MakeSocket, transport: str) -> None:
    _, pull = _pair(make, transport)
    with pytest.raises(zmq.Again) as info:
        pull.recv(zmq.NOBLOCK)
    assert info.value.errno == zmq.EAGAIN
    assert isinstance(info.value, zmq.ZMQError)


def test_rcvtimeo_gives_again_after_about_the_timeout(make: MakeSocket, transport: str) -> None:
    _, pull = _pair(make, transport)
    pull.rcvtimeo = 200
    start = time.monotonic()
    with pytest.raises(zmq.Again):
        pull.recv()
    elapsed = time.monotonic() - start
    assert 0.18 <= elapsed < 1.5, elapsed


def test_send_recv_and_multipart(make: MakeSocket, transport: str) -> None:
    push, pull = _pair(make, transport)
    push.send(b"hello")
    assert pull.recv() == b"hello"
    push.send(b"a", zmq.SNDMORE)
    push.send(b"", zmq.SNDMORE)
    push.send(b"c")
    assert pull.recv() == b"a"
    assert pull.getsockopt(zmq.RCVMORE) == 1 and pull.rcvmore
    assert pull.recv() == b""
    assert pull.getsockopt(zmq.RCVMORE) == 1
    assert pull.recv() == b"c"
    assert pull.getsockopt(zmq.RCVMORE) == 0
    push.send_multipart([b"x", bytearray(b"y"), memoryview(b"z")])
    assert pull.recv_multipart() == [b"x", b"y", b"z"]


def test_large_message(make: MakeSocket, transport: str) -> None:
    push, pull = _pair(make, transport)
    payload = bytes(range(256)) * 4096  # 1 MiB
    push.send(payload)
    assert pull.recv() == payload


def test_recv_copy_false_gives_frames(make: MakeSocket, transport: str) -> None:
    push, pull = _pair(make, transport)
    push.send_multipart([b"first", b"second"])
    first = pull.recv(copy=False)
    assert isinstance(first, zmq.Frame)
    assert first.bytes == b"first" and first.more
    assert first.get(zmq.MORE) == 1
    assert first.get("Socket-Type") == "PUSH"
    second = pull.recv(copy=False)
    assert second.bytes == b"second" and not second.more
    push.send(b"again")
    (frame,) = pull.recv_multipart(copy=False)
    assert bytes(frame) == b"again" and frame.get("Socket-Type") == "PUSH"
    with pytest.raises(zmq.ZMQError) as info:
        frame.get("No-Such-Property")
    assert info.value.errno == zmq.EINVAL


def test_peer_address_property_over_tcp(make: MakeSocket) -> None:
    push, pull = _pair(make, "tcp")
    push.send(b"x")
    assert pull.recv(copy=False).get("Peer-Address") == "127.0.0.1"


def test_serialisation_helpers(make: MakeSocket, transport: str) -> None:
    push, pull = _pair(make, transport)
    push.send_json({"a": [1, 2], "b": None})
    assert pull.recv_json() == {"a": [1, 2], "b": None}
    push.send_pyobj({"set": {1, 2}, "tuple": (1, "x")})
    assert pull.recv_pyobj() == {"set": {1, 2}, "tuple": (1, "x")}
    push.send_string("héllo")
    assert pull.recv_string() == "héllo"
    push.send_string("latin", encoding="latin-1")
    assert pull.recv() == b"latin"


def test_req_rep_round_trip(make: MakeSocket, transport: str) -> None:
    req, rep = _pair(make, transport, zmq.REQ, zmq.REP)
    for i in range(3):
        req.send(b"ping %d" % i)
        assert rep.recv() == b"ping %d" % i
        rep.send(b"pong %d" % i)
        assert req.recv() == b"pong %d" % i


def test_pub_sub_filtering(make: MakeSocket, transport: str) -> None:
    sub = make(zmq.SUB)
    endpoint = bind_any(sub, transport)
    sub.subscribe(b"weather")
    pub = make(zmq.PUB)
    pub.connect(endpoint)
    # Subscriptions travel asynchronously: publish until the first one arrives.
    deadline = time.monotonic() + 5
    while True:
        pub.send(b"weather sync")
        if sub.poll(50):
            break
        assert time.monotonic() < deadline, "subscription never reached the publisher"
    while sub.poll(100):
        sub.recv()
    pub.send(b"sports score")
    pub.send(b"weather sunny")
    assert sub.recv() == b"weather sunny"
    assert sub.poll(100) == 0


def test_inproc_connect_before_bind(make: MakeSocket) -> None:
    push = make(zmq.PUSH)
    push.connect("inproc://later")
    push.send(b"queued before bind")
    pull = make(zmq.PULL)
    pull.bind("inproc://later")
    assert pull.recv() == b"queued before bind"


def test_tcp_connect_before_bind(make: MakeSocket) -> None:
    pull = make(zmq.PULL)
    port = pull.bind_to_random_port("tcp://127.0.0.1")
    pull.unbind(f"tcp://127.0.0.1:{port}")
    push = make(zmq.PUSH, reconnect_ivl=20)
    push.connect(f"tcp://127.0.0.1:{port}")
    push.send(b"queued before bind")
    late = make(zmq.PULL)
    late.bind(f"tcp://127.0.0.1:{port}")
    assert late.recv() == b"queued before bind"


def test_unbind_stops_new_connections(make: MakeSocket) -> None:
    pull = make(zmq.PULL)
    endpoint = bind_any(pull, "tcp")
    pull.unbind(endpoint)
    push = make(zmq.PUSH, reconnect_ivl=20)
    push.connect(endpoint)
    push.send(b"nobody listening")
    pull.rcvtimeo = 300
    with pytest.raises(zmq.Again):
        pull.recv()
    with pytest.raises(zmq.ZMQError) as info:
        pull.unbind(endpoint)
    assert info.value.errno == 2  # ENOENT, like libzmq


def test_inproc_unbind_frees_the_name(make: MakeSocket) -> None:
    pull = make(zmq.PULL)
    pull.bind("inproc://unbind-me")
    pull.unbind("inproc://unbind-me")
    other = make(zmq.PULL)
    other.bind("inproc://unbind-me")


def test_disconnect_moves_traffic_to_the_other_peer(make: MakeSocket, transport: str) -> None:
    first, second = make(zmq.PULL), make(zmq.PULL)
    ep1, ep2 = bind_any(first, transport, "a"), bind_any(second, transport, "b")
    push = make(zmq.PUSH)
    push.connect(ep1)
    push.connect(ep2)
    push.disconnect(ep1)
    for i in range(4):
        push.send(b"m%d" % i)
    assert [second.recv() for _ in range(4)] == [b"m0", b"m1", b"m2", b"m3"]
    first.rcvtimeo = 200
    with pytest.raises(zmq.Again):
        first.recv()


def test_hwm_blocks_push_then_again(make: MakeSocket, transport: str) -> None:
    """SNDHWM=10 with a reader that never reads: NOBLOCK sends fail after about hwm messages
    (libzmq adds the reader's RCVHWM and socket buffers on top, so only a bound is checked)."""
    pull = make(zmq.PULL, rcvhwm=10)
    push = make(zmq.PUSH, sndhwm=10)
    push.connect(bind_any(pull, transport))
    sent = 0
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            push.send(b"x" * 100_000, zmq.NOBLOCK)
        except zmq.Again:
            break
        sent += 1
        assert sent < 500, "PUSH never hit its high-water mark"
    else:
        pytest.fail("no Again within 10 s")
    assert sent >= 10
    # A blocking send with SNDTIMEO waits about that long, then gives up. Over tcp the I/O
    # thread may still be moving queued messages into the kernel, so refill first.
    push.sndtimeo = 150
    for _ in range(50):
        try:
            while True:
                push.send(b"x" * 100_000, zmq.NOBLOCK)
                sent += 1
        except zmq.Again:
            pass
        start = time.monotonic()
        try:
            push.send(b"x" * 100_000)
        except zmq.Again:
            assert time.monotonic() - start >= 0.12
            break
        sent += 1
    else:
        pytest.fail("a send with SNDTIMEO never timed out against a full pipe")
    assert sent < 500
    # Once the reader drains, sending works again.
    for _ in range(sent):
        pull.recv()
    push.sndtimeo = 5000
    push.send(b"after drain")


def test_router_mandatory_unknown_id(make: MakeSocket, transport: str) -> None:
    router = make(zmq.ROUTER)
    endpoint = bind_any(router, transport)
    router.router_mandatory = 1
    with pytest.raises(zmq.ZMQError) as info:
        router.send_multipart([b"nobody", b"hello"])
    assert info.value.errno == zmq.EHOSTUNREACH
    dealer = make(zmq.DEALER, routing_id=b"known")
    dealer.connect(endpoint)
    dealer.send(b"hi")
    assert router.recv_multipart() == [b"known", b"hi"]
    router.send_multipart([b"known", b"back"])
    assert dealer.recv() == b"back"


def test_router_without_mandatory_drops_silently(make: MakeSocket) -> None:
    router = make(zmq.ROUTER)
    router.bind("inproc://drop")
    router.send_multipart([b"nobody", b"dropped"])


def test_bind_to_random_port(make: MakeSocket) -> None:
    pull = make(zmq.PULL)
    port = pull.bind_to_random_port("tcp://127.0.0.1")
    assert 49152 <= port <= 65535 or 1024 <= port <= 65535
    assert pull.last_endpoint == f"tcp://127.0.0.1:{port}".encode()
    ranged = make(zmq.PULL)
    port2 = ranged.bind_to_random_port("tcp://127.0.0.1", min_port=40000, max_port=60000)
    assert 40000 <= port2 < 60000
    push = make(zmq.PUSH)
    push.connect(f"tcp://127.0.0.1:{port2}")
    push.send(b"ok")
    assert ranged.recv() == b"ok"


def test_last_endpoint_resolves_wildcard(make: MakeSocket) -> None:
    pull = make(zmq.PULL)
    pull.bind("tcp://127.0.0.1:*")
    host, _, port = pull.last_endpoint.decode().rpartition(":")
    assert host == "tcp://127.0.0.1" and int(port) > 0


def _has_ipv6_loopback() -> bool:
    import socket

    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _has_ipv6_loopback(), reason="no IPv6 loopback on this machine")
def test_ipv6_loopback(make: MakeSocket) -> None:
    pull = make(zmq.PULL, ipv6=1)
    pull.bind("tcp://[::1]:*")
    endpoint = pull.last_endpoint.decode()
    assert endpoint.startswith("tcp://[::1]:")
    push = make(zmq.PUSH, ipv6=1)
    push.connect(endpoint)
    push.send(b"over v6")
    assert pull.recv() == b"over v6"


def test_ipc_path(make: MakeSocket, tmp_path: pytest.TempPathFactory) -> None:
    path = f"{tmp_path}/sock"
    pull = make(zmq.PULL)
    pull.bind(f"ipc://{path}")
    push = make(zmq.PUSH)
    push.connect(f"ipc://{path}")
    push.send(b"over ipc")
    assert pull.recv() == b"over ipc"
    assert pull.last_endpoint == f"ipc://{path}".encode()


def test_ipc_abstract_name(make: MakeSocket) -> None:
    name = f"@securemq-test-{threading.get_ident():x}-{time.monotonic_ns():x}"
    pull = make(zmq.PULL)
    pull.bind(f"ipc://{name}")
    push = make(zmq.PUSH)
    push.connect(f"ipc://{name}")
    push.send(b"abstract")
    assert pull.recv() == b"abstract"


def test_many_messages_keep_order(make: MakeSocket, transport: str) -> None:
    push, pull = _pair(make, transport)
    for i in range(2000):
        push.send(b"%d" % i)
    assert [int(pull.recv()) for _ in range(2000)] == list(range(2000))


@pytest.mark.parametrize("kinds", [(zmq.PUSH, zmq.PULL), (zmq.PUB, zmq.SUB)],
                         ids=["push-pull", "pub-sub"])
def test_everything_sent_before_the_peer_left_is_received(
    make: MakeSocket, kinds: tuple[int, int]
) -> None:
    """Messages already received from a peer that then disconnects are all delivered, also
    those a receiver has taken from the pipe in a batch (the peer is detached only after)."""
    sender_type, receiver_type = kinds
    receiver = make(receiver_type, rcvhwm=0)
    if receiver_type == zmq.SUB:
        receiver.subscribe(b"")
    events = receiver.get_monitor_socket(zmq.EVENT_DISCONNECTED)
    events.rcvtimeo = 5000
    endpoint = bind_any(receiver, "tcp")
    sender = make(sender_type, sndhwm=0)
    sender.connect(endpoint)
    if sender_type == zmq.PUB:
        deadline = time.monotonic() + 5
        while not receiver.poll(10):
            sender.send(b"warm-up")
            assert time.monotonic() < deadline, "subscription never reached the publisher"
        while receiver.poll(50):
            receiver.recv()
    total = 1000
    for index in range(total):
        sender.send(b"%d" % index)
    first = receiver.recv()  # the first batch is taken while the sender is still there
    sender.close(linger=5000)
    assert recv_monitor_message(events)["event"] == zmq.EVENT_DISCONNECTED
    got = [first] + [receiver.recv() for _ in range(total - 1)]
    assert got == [b"%d" % index for index in range(total)]
    with pytest.raises(zmq.Again):
        receiver.recv(zmq.NOBLOCK)
    events.close()


def test_sub_batch_keeps_order_across_poll_and_unsubscribe(make: MakeSocket) -> None:
    """A SUB that took messages in a batch: poll() and EVENTS see them, order is kept, and
    after unsubscribing from everything only still-matching ones are received."""
    sub = make(zmq.SUB, rcvhwm=0)
    sub.subscribe(b"")
    sub.subscribe(b"a")
    pub = make(zmq.PUB, sndhwm=0)
    pub.connect(bind_any(sub, "tcp"))
    deadline = time.monotonic() + 5
    while not sub.poll(10):
        pub.send(b"warm-up")
        assert time.monotonic() < deadline, "subscription never reached the publisher"
    while sub.poll(50):
        sub.recv()
    sent = [b"%s%d" % (b"ab"[index % 2 : index % 2 + 1], index) for index in range(200)]
    for body in sent:
        pub.send(body)
    assert sub.recv() == sent[0]
    assert sub.poll(1000) == zmq.POLLIN
    assert sub.get(zmq.EVENTS) & zmq.POLLIN
    assert sub.recv() == sent[1]
    sub.unsubscribe(b"")
    rest = []
    while sub.poll(200):
        rest.append(sub.recv())
    assert rest == [body for body in sent[2:] if body.startswith(b"a")]
