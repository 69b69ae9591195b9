"""The options that show on the wire, securemq against libzmq 4.3.5 (pyzmq) in both directions.

CONNECT_ROUTING_ID (ROUTER to ROUTER), PROBE_ROUTER, ROUTER_NOTIFY, XPUB_WELCOME_MSG and
XPUB_MANUAL / XPUB_MANUAL_LAST_VALUE, with one side securemq and the other libzmq, each way
round. (The same scenarios with both sides of one implementation are in
tests/api/test_options_semantics.py.)
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
import zmq as pyzmq

import securemq
from tests.draft_libzmq import skip_without_draft_libzmq

pytestmark = pytest.mark.timeout(30)

TIMEOUT_MS = 5000
QUIET_MS = 200
# (this side, the other side): securemq against libzmq, then libzmq against securemq.
DIRECTIONS = [(securemq, pyzmq), (pyzmq, securemq)]
IDS = ["securemq-vs-libzmq", "libzmq-vs-securemq"]


@pytest.fixture
def contexts() -> Iterator[dict[ModuleType, Any]]:
    made = {securemq: securemq.Context(), pyzmq: pyzmq.Context()}
    yield made
    for ctx in made.values():
        ctx.destroy(linger=0)


def make(contexts: dict[ModuleType, Any], module: ModuleType, kind: str, **options: Any) -> Any:
    sock = contexts[module].socket(getattr(module, kind))
    sock.setsockopt(module.LINGER, 0)
    sock.setsockopt(module.RCVTIMEO, TIMEOUT_MS)
    sock.setsockopt(module.SNDTIMEO, TIMEOUT_MS)
    for name, value in options.items():
        sock.setsockopt(getattr(module, name.upper()), value)
    return sock


def bind_tcp(sock: Any) -> str:
    sock.bind("tcp://127.0.0.1:*")
    endpoint: bytes = sock.getsockopt(pyzmq.LAST_ENDPOINT)
    return endpoint.decode()


def nothing_arrives(sock: Any, quiet_ms: int = QUIET_MS) -> bool:
    return not sock.poll(quiet_ms)


def poke_until(binder: Any, peer: Any, timeout: float = 5.0) -> bool:
    """A bound libzmq socket takes in new connections only when its thread calls in."""
    deadline = time.monotonic() + timeout
    while not peer.poll(10):
        if time.monotonic() >= deadline:
            return False
        binder.poll(10)
    return True


@pytest.mark.parametrize(("ours", "theirs"), DIRECTIONS, ids=IDS)
def test_connect_routing_id_router_to_router(contexts: dict[ModuleType, Any], ours: ModuleType,
                                             theirs: ModuleType) -> None:
    server = make(contexts, theirs, "ROUTER", routing_id=b"server")
    endpoint = bind_tcp(server)
    client = make(contexts, ours, "ROUTER", routing_id=b"client", router_mandatory=1)
    client.setsockopt(ours.CONNECT_ROUTING_ID, b"srv")
    client.connect(endpoint)
    client.send_multipart([b"srv", b"sent before the handshake"])
    assert server.recv_multipart() == [b"client", b"sent before the handshake"]
    server.send_multipart([b"client", b"reply"])
    assert client.recv_multipart() == [b"srv", b"reply"]


@pytest.mark.parametrize(("ours", "theirs"), DIRECTIONS, ids=IDS)
@pytest.mark.parametrize("kind", ["DEALER", "REQ", "ROUTER"])
def test_probe_router(contexts: dict[ModuleType, Any], ours: ModuleType, theirs: ModuleType,
                      kind: str) -> None:
    server = make(contexts, theirs, "ROUTER")
    endpoint = bind_tcp(server)
    client = make(contexts, ours, kind, routing_id=b"C", probe_router=1)
    client.connect(endpoint)
    assert server.recv_multipart() == [b"C", b""]


@pytest.mark.parametrize(("ours", "theirs"), DIRECTIONS, ids=IDS)
def test_router_notify_binding(contexts: dict[ModuleType, Any], ours: ModuleType,
                               theirs: ModuleType) -> None:
    skip_without_draft_libzmq()
    router = make(contexts, ours, "ROUTER", router_notify=3)
    endpoint = bind_tcp(router)
    dealer = make(contexts, theirs, "DEALER", routing_id=b"D")
    dealer.connect(endpoint)
    dealer.send(b"hi")
    assert [router.recv_multipart() for _ in range(2)] == [[b"D", b""], [b"D", b"hi"]]
    dealer.close()
    assert router.recv_multipart() == [b"D", b""]
    assert nothing_arrives(router)


@pytest.mark.parametrize(("ours", "theirs"), DIRECTIONS, ids=IDS)
def test_router_notify_connecting(contexts: dict[ModuleType, Any], ours: ModuleType,
                                  theirs: ModuleType) -> None:
    skip_without_draft_libzmq()
    dealer = make(contexts, theirs, "DEALER", routing_id=b"srv")
    endpoint = bind_tcp(dealer)
    router = make(contexts, ours, "ROUTER", router_notify=3)
    router.connect(endpoint)
    assert router.recv_multipart() == [b"srv", b""]
    dealer.close()
    assert router.recv_multipart() == [b"srv", b""]


@pytest.mark.parametrize(("ours", "theirs"), DIRECTIONS, ids=IDS)
def test_welcome_message(contexts: dict[ModuleType, Any], ours: ModuleType,
                         theirs: ModuleType) -> None:
    xpub = make(contexts, ours, "XPUB", xpub_welcome_msg=b"WELCOME")
    endpoint = bind_tcp(xpub)
    sub = make(contexts, theirs, "SUB")
    sub.setsockopt(theirs.SUBSCRIBE, b"WEL")
    sub.connect(endpoint)
    assert poke_until(xpub, sub)
    assert sub.recv() == b"WELCOME"
    assert xpub.recv() == b"\x01WEL"


@pytest.mark.parametrize(("ours", "theirs"), DIRECTIONS, ids=IDS)
def test_xpub_manual_with_real_subscribers(contexts: dict[ModuleType, Any], ours: ModuleType,
                                           theirs: ModuleType) -> None:
    """The application decides: a subscription to "secret" becomes one to "public"."""
    xpub = make(contexts, ours, "XPUB", xpub_manual=1)
    endpoint = bind_tcp(xpub)
    sub = make(contexts, theirs, "SUB")
    sub.connect(endpoint)
    sub.setsockopt(theirs.SUBSCRIBE, b"p")
    assert xpub.recv() == b"\x01p"
    xpub.send(b"public-0")  # not subscribed by the application yet
    assert nothing_arrives(sub)
    xpub.setsockopt(ours.SUBSCRIBE, b"public")
    xpub.send(b"private")
    xpub.send(b"public-1")
    assert sub.recv() == b"public-1"
    assert nothing_arrives(sub)
    sub.setsockopt(theirs.UNSUBSCRIBE, b"p")
    assert xpub.recv() == b"\x00p"


@pytest.mark.parametrize(("ours", "theirs"), DIRECTIONS, ids=IDS)
def test_xpub_manual_last_value_cache(contexts: dict[ModuleType, Any], ours: ModuleType,
                                      theirs: ModuleType) -> None:
    xpub = make(contexts, ours, "XPUB", xpub_manual_last_value=1)
    endpoint = bind_tcp(xpub)
    subs = []
    for name in (b"first", b"second"):
        sub = make(contexts, theirs, "SUB")
        sub.setsockopt(theirs.SUBSCRIBE, b"price")
        sub.connect(endpoint)
        assert xpub.recv() == b"\x01price"
        xpub.setsockopt(ours.SUBSCRIBE, b"price")
        xpub.send(b"price=last for " + name)  # to the newcomer alone
        subs.append(sub)
        assert sub.recv() == b"price=last for " + name
    assert nothing_arrives(subs[0])
    xpub.send(b"price=live")
    assert [sub.recv() for sub in subs] == [b"price=live", b"price=live"]


@pytest.mark.parametrize(("ours", "theirs"), DIRECTIONS, ids=IDS)
def test_xsub_verbose_unsubscribe_reaches_an_xpub(contexts: dict[ModuleType, Any],
                                                  ours: ModuleType, theirs: ModuleType) -> None:
    skip_without_draft_libzmq()
    xpub = make(contexts, theirs, "XPUB", xpub_verboser=1)
    endpoint = bind_tcp(xpub)
    xsub = make(contexts, ours, "XSUB", xsub_verbose_unsubscribe=1)
    xsub.connect(endpoint)
    for message in (b"\x01T", b"\x01T", b"\x00T", b"\x00T"):
        xsub.send(message)
    assert [xpub.recv() for _ in range(4)] == [b"\x01T", b"\x01T", b"\x00T", b"\x00T"]
