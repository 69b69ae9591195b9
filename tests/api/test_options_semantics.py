"""The socket options that change routing, run on libzmq (pyzmq) and on securemq with the same code.

CONNECT_ROUTING_ID, PROBE_ROUTER, ROUTER_NOTIFY, ROUTER_HANDOVER, XPUB_WELCOME_MSG, XPUB_MANUAL,
XPUB_MANUAL_LAST_VALUE, XPUB_VERBOSE / XPUB_VERBOSER, XSUB_VERBOSE_UNSUBSCRIBE,
ONLY_FIRST_SUBSCRIBE, TOPICS_COUNT and CONFLATE over inproc. As in test_socket_semantics.py,
every test takes ``impl`` = (module, context) and runs once per implementation with identical
assertions: the libzmq run keeps the expectation honest. XSUB peers stand in for subscribers
where the XPUB's own routing must be seen (an XSUB does not filter what it receives).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
import zmq as pyzmq

import securemq
from tests.api.test_socket_semantics import bind_tcp, drain, make, nothing_arrives
from tests.draft_libzmq import skip_without_draft_libzmq

pytestmark = pytest.mark.timeout(30)

Impl = tuple[ModuleType, Any]


@pytest.fixture(params=[pyzmq, securemq], ids=["libzmq", "securemq"])
def impl(request: pytest.FixtureRequest) -> Iterator[Impl]:
    module: ModuleType = request.param
    ctx = module.Context()
    yield module, ctx
    ctx.destroy(linger=0)


def bind(sock: Any, transport: str) -> str:
    if transport == "inproc":
        endpoint = f"inproc://opt-{id(sock):x}-{time.monotonic_ns()}"
        sock.bind(endpoint)
        return endpoint
    return bind_tcp(sock)


def recv_until(sock: Any, predicate: Any, timeout: float = 5.0) -> list[bytes]:
    """Receive messages until one satisfies ``predicate`` (bounded)."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        assert left > 0 and sock.poll(int(left * 1000)), "the expected message never came"
        msg: list[bytes] = sock.recv_multipart()
        if predicate(msg):
            return msg


def send_until_routed(router: Any, module: ModuleType, msg: list[bytes]) -> None:
    """ROUTER_MANDATORY is on: retry until the id is known (a handshake is in progress)."""
    deadline = time.monotonic() + 5.0
    while True:
        try:
            router.send_multipart(msg)
            return
        except module.ZMQError as exc:
            assert exc.errno == module.EHOSTUNREACH and time.monotonic() < deadline, exc
            time.sleep(0.01)


# -- CONNECT_ROUTING_ID ----------------------------------------------------------------------------
@pytest.mark.parametrize("transport", ["tcp", "inproc"])
def test_connect_routing_id_names_the_peer_before_it_connects(impl: Impl, transport: str) -> None:
    """ROUTER to ROUTER: with the peer named at connect(), the first message can go at once
    (queued before the handshake); ROUTER_MANDATORY does not refuse it."""
    module, _ctx = impl
    server = make(impl, module.ROUTER, routing_id=b"server")
    endpoint = bind(server, transport)
    client = make(impl, module.ROUTER, routing_id=b"client", router_mandatory=1)
    client.setsockopt(module.CONNECT_ROUTING_ID, b"srv")
    client.connect(endpoint)
    client.send_multipart([b"srv", b"hello"])
    assert server.recv_multipart() == [b"client", b"hello"]
    server.send_multipart([b"client", b"back"])
    assert client.recv_multipart() == [b"srv", b"back"]


def test_connect_routing_id_applies_to_the_next_connect_only(impl: Impl) -> None:
    module, _ctx = impl
    first = make(impl, module.ROUTER, routing_id=b"first-server")
    second = make(impl, module.ROUTER, routing_id=b"second-server")
    client = make(impl, module.ROUTER, routing_id=b"client", router_mandatory=1)
    client.setsockopt(module.CONNECT_ROUTING_ID, b"one")
    with pytest.raises(module.ZMQError) as info:
        client.getsockopt(module.CONNECT_ROUTING_ID)  # set-only in libzmq
    assert info.value.errno == module.EINVAL
    client.connect(bind_tcp(first))
    client.connect(bind_tcp(second))  # named by what it announces
    client.send_multipart([b"one", b"a"])
    assert first.recv_multipart() == [b"client", b"a"]
    send_until_routed(client, module, [b"second-server", b"b"])
    assert second.recv_multipart() == [b"client", b"b"]


@pytest.mark.parametrize("value", [b"", b"x" * 256])
def test_connect_routing_id_lengths(impl: Impl, value: bytes) -> None:
    """libzmq refuses an empty name and takes any longer one (no 255 limit in its code)."""
    module, _ctx = impl
    router = make(impl, module.ROUTER)
    if value:
        router.setsockopt(module.CONNECT_ROUTING_ID, value)
    else:
        with pytest.raises(module.ZMQError) as info:
            router.setsockopt(module.CONNECT_ROUTING_ID, value)
        assert info.value.errno == module.EINVAL


# -- PROBE_ROUTER ----------------------------------------------------------------------------------
@pytest.mark.parametrize("transport", ["tcp", "inproc"])
@pytest.mark.parametrize("client_type", ["DEALER", "REQ", "ROUTER"])
def test_probe_router_announces_a_connecting_peer(impl: Impl, transport: str,
                                                   client_type: str) -> None:
    module, _ctx = impl
    server = make(impl, module.ROUTER)
    endpoint = bind(server, transport)
    client = make(impl, getattr(module, client_type), routing_id=b"C", probe_router=1)
    client.connect(endpoint)
    assert server.recv_multipart() == [b"C", b""]  # before the client sent anything
    if client_type == "DEALER":
        server.send_multipart([b"C", b"now you are known"])
        assert client.recv() == b"now you are known"


def test_probe_router_on_a_bound_dealer_probes_each_accepted_peer(impl: Impl) -> None:
    module, _ctx = impl
    dealer = make(impl, module.DEALER, routing_id=b"D", probe_router=1)
    endpoint = bind_tcp(dealer)
    routers = [make(impl, module.ROUTER) for _ in range(2)]
    for router in routers:
        router.connect(endpoint)
    for router in routers:
        assert poke_until(dealer, router), "no probe"
        assert router.recv_multipart() == [b"D", b""]


def test_probe_router_is_set_only_and_type_checked(impl: Impl) -> None:
    module, _ctx = impl
    dealer = make(impl, module.DEALER)
    dealer.setsockopt(module.PROBE_ROUTER, 1)
    with pytest.raises(module.ZMQError):
        dealer.getsockopt(module.PROBE_ROUTER)
    with pytest.raises(module.ZMQError) as info:
        make(impl, module.PUSH).setsockopt(module.PROBE_ROUTER, 1)
    assert info.value.errno == module.EINVAL


# -- ROUTER_NOTIFY ---------------------------------------------------------------------------------
@pytest.mark.parametrize("notify", [0, 1, 2, 3])
def test_router_notify_on_a_binding_router(impl: Impl, notify: int) -> None:
    skip_without_draft_libzmq(impl[0])
    module, _ctx = impl
    router = make(impl, module.ROUTER, router_notify=notify)
    assert router.getsockopt(module.ROUTER_NOTIFY) == notify
    endpoint = bind_tcp(router)
    dealer = make(impl, module.DEALER, routing_id=b"D")
    dealer.connect(endpoint)
    dealer.send(b"hello")
    expected = ([[b"D", b""]] if notify & module.NOTIFY_CONNECT else []) + [[b"D", b"hello"]]
    assert [router.recv_multipart() for _ in expected] == expected
    dealer.close()
    if notify & module.NOTIFY_DISCONNECT:
        assert router.recv_multipart() == [b"D", b""]
    assert nothing_arrives(router)


def test_router_notify_on_a_connecting_router(impl: Impl) -> None:
    skip_without_draft_libzmq(impl[0])
    module, _ctx = impl
    dealer = make(impl, module.DEALER, routing_id=b"srv")
    endpoint = bind_tcp(dealer)
    router = make(impl, module.ROUTER, router_notify=3)
    router.connect(endpoint)
    assert router.recv_multipart() == [b"srv", b""]
    dealer.close()
    assert router.recv_multipart() == [b"srv", b""]


def test_router_notify_says_nothing_over_inproc(impl: Impl) -> None:
    """The notifications come from the stream engine in libzmq: inproc has none."""
    skip_without_draft_libzmq(impl[0])
    module, _ctx = impl
    router = make(impl, module.ROUTER, router_notify=3)
    endpoint = bind(router, "inproc")
    dealer = make(impl, module.DEALER, routing_id=b"D")
    dealer.connect(endpoint)
    dealer.send(b"only this")
    assert router.recv_multipart() == [b"D", b"only this"]
    dealer.close()
    assert nothing_arrives(router)


@pytest.mark.parametrize("value", [-1, 4])
def test_router_notify_range(impl: Impl, value: int) -> None:
    skip_without_draft_libzmq(impl[0])
    module, _ctx = impl
    with pytest.raises(module.ZMQError) as info:
        make(impl, module.ROUTER).setsockopt(module.ROUTER_NOTIFY, value)
    assert info.value.errno == module.EINVAL
    # Readable on every socket type (libzmq keeps it in options_t), settable on ROUTER only.
    assert make(impl, module.DEALER).getsockopt(module.ROUTER_NOTIFY) == 0


# -- ROUTER_HANDOVER -------------------------------------------------------------------------------
def test_router_handover_cuts_the_old_peer_off(impl: Impl) -> None:
    module, _ctx = impl
    router = make(impl, module.ROUTER, router_handover=1)
    endpoint = bind_tcp(router)
    first = make(impl, module.DEALER, routing_id=b"X")
    first.connect(endpoint)
    first.send(b"1")
    assert router.recv_multipart() == [b"X", b"1"]
    second = make(impl, module.DEALER, routing_id=b"X")
    second.connect(endpoint)
    second.send(b"2")
    assert router.recv_multipart() == [b"X", b"2"]
    first.send(b"after the handover")  # libzmq terminated its pipe: never read
    router.send_multipart([b"X", b"reply"])
    assert second.recv() == b"reply"
    assert nothing_arrives(router, 300)
    assert nothing_arrives(first)


# -- XPUB_WELCOME_MSG ------------------------------------------------------------------------------
@pytest.mark.parametrize("transport", ["tcp", "inproc"])
@pytest.mark.parametrize("pub_type", ["PUB", "XPUB"])
def test_welcome_message_greets_every_subscriber(impl: Impl, transport: str,
                                                 pub_type: str) -> None:
    module, _ctx = impl
    pub = make(impl, getattr(module, pub_type), xpub_welcome_msg=b"W-hello")
    with pytest.raises(module.ZMQError):
        pub.getsockopt(module.XPUB_WELCOME_MSG)  # set-only in libzmq
    endpoint = bind(pub, transport)
    subs = [make(impl, module.SUB) for _ in range(2)]
    for sub in subs:
        sub.setsockopt(module.SUBSCRIBE, b"W")
        sub.connect(endpoint)
    for sub in subs:
        assert poke_until(pub, sub) and sub.recv() == b"W-hello"
    pub.setsockopt(module.XPUB_WELCOME_MSG, b"")  # empty: no welcome any more
    late = make(impl, module.SUB)
    late.setsockopt(module.SUBSCRIBE, b"W")
    late.connect(endpoint)
    assert not poke_until(pub, late, 0.3)


def poke_until(binder: Any, peer: Any, timeout: float = 5.0) -> bool:
    """Until ``peer`` can read: a bound socket takes in its new connections (and sends what
    that triggers: a welcome, a probe) only when its application thread calls in (libzmq)."""
    deadline = time.monotonic() + timeout
    while not peer.poll(10):
        if time.monotonic() >= deadline:
            return False
        binder.poll(10)
    return True


# -- XPUB_MANUAL -----------------------------------------------------------------------------------
def test_xpub_manual_subscribes_only_what_the_application_says(impl: Impl) -> None:
    module, _ctx = impl
    xpub = make(impl, module.XPUB, xpub_manual=1)
    endpoint = bind_tcp(xpub)
    one, two = make(impl, module.XSUB), make(impl, module.XSUB)
    one.connect(endpoint)
    one.send(b"\x01A")
    assert xpub.recv() == b"\x01A"
    xpub.send(b"A-1")  # nobody subscribed yet
    assert nothing_arrives(one)
    xpub.setsockopt(module.SUBSCRIBE, b"A")  # the peer of the last subscription received
    xpub.send(b"A-2")
    assert one.recv() == b"A-2"
    two.connect(endpoint)
    two.send(b"\x01A")
    assert xpub.recv() == b"\x01A"  # reported although A has a subscriber (manual)
    xpub.send(b"A-3")
    assert one.recv() == b"A-3"
    assert nothing_arrives(two)
    xpub.setsockopt(module.SUBSCRIBE, b"A")
    xpub.send(b"A-4")
    assert one.recv() == b"A-4" and two.recv() == b"A-4"
    two.send(b"\x00A")
    assert xpub.recv() == b"\x00A"
    xpub.setsockopt(module.UNSUBSCRIBE, b"A")
    xpub.send(b"A-5")
    assert one.recv() == b"A-5"
    assert nothing_arrives(two)


def test_xpub_manual_reports_every_topic_of_a_peer_that_leaves(impl: Impl) -> None:
    module, _ctx = impl
    xpub = make(impl, module.XPUB, xpub_manual=1)
    endpoint = bind_tcp(xpub)
    stays, leaves = make(impl, module.XSUB), make(impl, module.XSUB)
    stays.connect(endpoint)
    stays.send(b"\x01A")
    assert xpub.recv() == b"\x01A"
    leaves.connect(endpoint)
    for topic in (b"A", b"B"):
        leaves.send(b"\x01" + topic)
        assert xpub.recv() == b"\x01" + topic
    leaves.close()
    # Both topics, although A still has a subscriber.
    assert sorted(xpub.recv() for _ in range(2)) == [b"\x00A", b"\x00B"]


def test_subscribe_on_xpub_needs_xpub_manual(impl: Impl) -> None:
    module, _ctx = impl
    with pytest.raises(module.ZMQError) as info:
        make(impl, module.XPUB).setsockopt(module.SUBSCRIBE, b"A")
    assert info.value.errno == module.EINVAL


def test_xpub_manual_last_value_goes_to_the_new_subscriber_alone(impl: Impl) -> None:
    module, _ctx = impl
    xpub = make(impl, module.XPUB, xpub_manual_last_value=1)
    endpoint = bind_tcp(xpub)
    old, new = make(impl, module.XSUB), make(impl, module.XSUB)
    old.connect(endpoint)
    old.send(b"\x01A")
    assert xpub.recv() == b"\x01A"
    xpub.setsockopt(module.SUBSCRIBE, b"A")
    xpub.send(b"A-cached")
    assert old.recv() == b"A-cached"
    new.connect(endpoint)
    new.send(b"\x01A")
    assert xpub.recv() == b"\x01A"
    xpub.setsockopt(module.SUBSCRIBE, b"A")
    xpub.send(b"A-cached")  # the last value, for the newcomer only
    assert new.recv() == b"A-cached"
    assert nothing_arrives(old)
    xpub.send(b"A-live")  # then back to everyone
    assert old.recv() == b"A-live" and new.recv() == b"A-live"


# -- XPUB_VERBOSE / XPUB_VERBOSER / XSUB_VERBOSE_UNSUBSCRIBE ---------------------------------------
VERBOSITY = {
    # mode: (options in order, what each of the four steps reports)
    "quiet": ((), [b"\x01T", None, None, b"\x00T"]),
    "verbose": ((("XPUB_VERBOSE", 1),), [b"\x01T", b"\x01T", None, b"\x00T"]),
    "verboser": ((("XPUB_VERBOSER", 1),), [b"\x01T", b"\x01T", b"\x00T", b"\x00T"]),
    # XPUB_VERBOSE after XPUB_VERBOSER turns verbose unsubscribes off again (xpub.cpp).
    "verboser-then-verbose": ((("XPUB_VERBOSER", 1), ("XPUB_VERBOSE", 1)),
                              [b"\x01T", b"\x01T", None, b"\x00T"]),
    "verboser-then-not-verbose": ((("XPUB_VERBOSER", 1), ("XPUB_VERBOSE", 0)),
                                  [b"\x01T", None, None, b"\x00T"]),
}


@pytest.mark.parametrize("mode", list(VERBOSITY))
def test_xpub_verbosity(impl: Impl, mode: str) -> None:
    module, _ctx = impl
    settings, expected = VERBOSITY[mode]
    xpub = make(impl, module.XPUB)
    for name, value in settings:
        xpub.setsockopt(getattr(module, name), value)
    endpoint = bind_tcp(xpub)
    a, b = make(impl, module.XSUB), make(impl, module.XSUB)
    a.connect(endpoint)
    b.connect(endpoint)
    steps = [(a, b"\x01T"), (b, b"\x01T"), (a, b"\x00T"), (b, b"\x00T")]
    for (peer, message), wanted in zip(steps, expected, strict=True):
        peer.send(message)
        if wanted is None:
            assert nothing_arrives(xpub), f"{mode}: {message!r} was reported"
        else:
            assert xpub.recv() == wanted


@pytest.mark.parametrize("verbose_unsubscribe", [0, 1])
def test_xsub_verbose_unsubscribe_forwards_every_cancel(impl: Impl,
                                                        verbose_unsubscribe: int) -> None:
    skip_without_draft_libzmq(impl[0])
    module, _ctx = impl
    xpub = make(impl, module.XPUB, xpub_verboser=1)
    endpoint = bind_tcp(xpub)
    xsub = make(impl, module.XSUB)
    if verbose_unsubscribe:
        xsub.setsockopt(module.XSUB_VERBOSE_UNSUBSCRIBE, 1)
    xsub.connect(endpoint)
    for message in (b"\x01T", b"\x01T", b"\x00T", b"\x00T"):
        xsub.send(message)
    expected = [b"\x01T", b"\x01T", b"\x00T"] + ([b"\x00T"] if verbose_unsubscribe else [])
    assert [m[0] for m in drain(xpub, 300)] == expected


# -- ONLY_FIRST_SUBSCRIBE and TOPICS_COUNT ---------------------------------------------------------
@pytest.mark.parametrize("only_first", [0, 1])
def test_only_first_subscribe_on_xpub(impl: Impl, only_first: int) -> None:
    module, _ctx = impl
    xpub = make(impl, module.XPUB, only_first_subscribe=only_first)
    endpoint = bind_tcp(xpub)
    xsub = make(impl, module.XSUB)
    xsub.connect(endpoint)
    xsub.send_multipart([b"\x01A", b"\x01B"])  # first frame a subscription: all frames count
    xsub.send_multipart([b"data", b"\x01C"])  # first frame data: C counts only without the option
    xsub.send(b"\x01D")
    got = recv_until(xpub, lambda m: m == [b"\x01D"])
    assert got == [b"\x01D"]
    assert xpub.getsockopt(module.TOPICS_COUNT) == (3 if only_first else 4)


def test_only_first_subscribe_on_xsub_keeps_data_frames_data(impl: Impl) -> None:
    module, _ctx = impl
    xpub = make(impl, module.XPUB, only_first_subscribe=1)
    endpoint = bind_tcp(xpub)
    xsub = make(impl, module.XSUB, only_first_subscribe=1)
    xsub.connect(endpoint)
    xsub.send_multipart([b"data", b"\x01C"])
    assert xpub.recv_multipart() == [b"data", b"\x01C"]
    assert xsub.getsockopt(module.TOPICS_COUNT) == 0
    xsub.send_multipart([b"\x01A", b"\x01B"])
    assert [xpub.recv_multipart() for _ in range(2)] == [[b"\x01A"], [b"\x01B"]]
    assert xsub.getsockopt(module.TOPICS_COUNT) == 2


def test_topics_count(impl: Impl) -> None:
    skip_without_draft_libzmq(impl[0])
    module, _ctx = impl
    sub = make(impl, module.SUB)
    for topic in (b"a", b"b", b"a"):
        sub.setsockopt(module.SUBSCRIBE, topic)
    # A subscriber counts subscriptions, a topic taken twice twice (libzmq's radix tree, which
    # the DRAFT builds that have TOPICS_COUNT use); an XPUB counts topics (see above).
    assert sub.getsockopt(module.TOPICS_COUNT) == 3
    sub.setsockopt(module.UNSUBSCRIBE, b"b")
    assert sub.getsockopt(module.TOPICS_COUNT) == 2
    with pytest.raises(module.ZMQError) as info:
        sub.setsockopt(module.TOPICS_COUNT, 1)
    assert info.value.errno == module.EINVAL
    with pytest.raises(module.ZMQError) as info:
        make(impl, module.DEALER).getsockopt(module.TOPICS_COUNT)
    assert info.value.errno == module.EINVAL


# -- CONFLATE over inproc --------------------------------------------------------------------------
@pytest.mark.parametrize("side", ["connect", "bind"])
def test_inproc_conflate_follows_the_connecting_side(impl: Impl, side: str) -> None:
    """libzmq makes an inproc pipe pair from the connecting socket's options alone."""
    module, _ctx = impl
    pull = make(impl, module.PULL)
    push = make(impl, module.PUSH)
    (push if side == "connect" else pull).setsockopt(module.CONFLATE, 1)
    endpoint = bind(pull, "inproc")
    push.connect(endpoint)
    for i in range(5):
        push.send(b"%d" % i)
    got = [m[0] for m in drain(pull)]
    assert got == ([b"4"] if side == "connect" else [b"0", b"1", b"2", b"3", b"4"])


def test_connect_routing_id_survives_a_reconnect(impl: Impl) -> None:
    """The pipe of a named connect lasts across reconnects: the name stays (libzmq)."""
    module, _ctx = impl
    first = make(impl, module.ROUTER, routing_id=b"first")
    endpoint = bind_tcp(first)
    client = make(impl, module.ROUTER, routing_id=b"client", reconnect_ivl=20)
    client.setsockopt(module.CONNECT_ROUTING_ID, b"srv")
    client.connect(endpoint)
    client.send_multipart([b"srv", b"one"])
    assert first.recv_multipart() == [b"client", b"one"]
    first.close()
    second = make(impl, module.ROUTER, routing_id=b"second")
    deadline = time.monotonic() + 5.0
    while True:  # (libzmq closes the old listener on its I/O thread, a moment later)
        try:
            second.bind(endpoint)
            break
        except module.ZMQError as exc:
            assert exc.errno == module.EADDRINUSE and time.monotonic() < deadline
            time.sleep(0.01)
    while not second.poll(50):  # until the client is back (what went to the gap is lost)
        assert time.monotonic() < deadline, "the client did not reconnect"
        client.send_multipart([b"srv", b"again"])
    assert second.recv_multipart() == [b"client", b"again"]
