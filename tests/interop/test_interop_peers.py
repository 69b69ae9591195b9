"""Several peers, reconnects, message properties and heartbeats against libzmq (pyzmq)."""

from __future__ import annotations

import itertools
import selectors
import socket as pysocket
import threading
import time
from typing import Any

import pytest
import zmq

import securemq

from .conftest import Pair, configure, next_event, until, wait_event, watch

# -- fair queueing and load balancing ---------------------------------------------------------


def _switches(tags: list[bytes]) -> int:
    return sum(1 for a, b in itertools.pairwise(tags) if a != b)


def test_smq_pull_fair_queues_two_pyzmq_pushes(pair: Pair) -> None:
    pull = pair.smq(securemq.PULL, rcvhwm=0)
    pushes = [pair.pz(zmq.PUSH), pair.pz(zmq.PUSH)]
    pair.link(pull, *pushes)
    # Both links are up once a message from each has arrived.
    for tag, push in zip((b"A", b"B"), pushes, strict=True):
        push.send_multipart([tag, b"hello"])
    assert sorted(pull.recv_multipart()[0] for _ in range(2)) == [b"A", b"B"]
    count = 1000
    for tag, push in zip((b"A", b"B"), pushes, strict=True):
        for i in range(count):
            push.send_multipart([tag, b"%d" % i])
    # Fairness is about messages waiting from both senders at once: wait until both streams
    # are in the socket's pipes (white box: a loaded machine may otherwise deliver all of A's
    # before B's first arrives, and any order would be fair).
    def all_queued() -> bool:
        if sum(len(peer.inbound) for peer in pull._peers) >= 2 * count:
            return True
        time.sleep(0.01)
        return False

    until(all_queued, what="both senders' messages queued")
    got = [pull.recv_multipart() for _ in range(2 * count)]
    for tag in (b"A", b"B"):
        assert [m[1] for m in got if m[0] == tag] == [b"%d" % i for i in range(count)]
    # Fair queueing interleaves the two senders rather than draining one, then the other.
    assert _switches([m[0] for m in got]) >= 100


def test_pyzmq_pull_fair_queues_two_smq_pushes(pair: Pair) -> None:
    pull = pair.pz(zmq.PULL)
    pushes = [pair.smq(securemq.PUSH), pair.smq(securemq.PUSH)]
    pair.link(pull, *pushes)
    count = 1000
    for tag, push in zip((b"A", b"B"), pushes, strict=True):
        for i in range(count):
            push.send_multipart([tag, b"%d" % i])
    got = [pull.recv_multipart() for _ in range(2 * count)]
    for tag in (b"A", b"B"):
        assert [m[1] for m in got if m[0] == tag] == [b"%d" % i for i in range(count)]


def test_smq_push_load_balances_over_two_pyzmq_pulls(pair: Pair) -> None:
    """A connecting PUSH has a pipe per endpoint from connect() on: strict round robin."""
    pulls = [pair.pz(zmq.PULL), pair.pz(zmq.PULL)]
    push = pair.smq(securemq.PUSH)
    for pull in pulls:
        pair.link(pull, push)
    for i in range(100):
        push.send(b"%d" % i)
    halves = [[int(pull.recv()) for _ in range(50)] for pull in pulls]
    for pull in pulls:
        assert not pull.poll(50)
    assert sorted(halves[0] + halves[1]) == list(range(100))
    # Round robin: each PULL got every other message.
    assert {halves[0][0] % 2, halves[1][0] % 2} == {0, 1}
    for half in halves:
        assert all(b - a == 2 for a, b in itertools.pairwise(half))


def test_pyzmq_push_load_balances_over_two_smq_pulls(pair: Pair) -> None:
    pulls = [pair.smq(securemq.PULL), pair.smq(securemq.PULL)]
    push = pair.pz(zmq.PUSH)
    for pull in pulls:
        pair.link(pull, push)
    for i in range(100):
        push.send(b"%d" % i)
    counts = [0, 0]
    seen: list[int] = []
    for index, pull in enumerate(pulls):
        while pull.poll(200):
            seen.append(int(pull.recv()))
            counts[index] += 1
    assert sorted(seen) == list(range(100))
    assert counts == [50, 50]


@pytest.mark.parametrize("smq_role", ["ROUTER", "DEALERS"])
def test_router_with_several_dealers(pair: Pair, smq_role: str) -> None:
    ids = [b"dealer-%d" % i for i in range(4)]
    if smq_role == "ROUTER":
        router: Any = pair.smq(securemq.ROUTER)
        dealers: list[Any] = [pair.pz(zmq.DEALER, routing_id=i) for i in ids]
    else:
        router = pair.pz(zmq.ROUTER)
        dealers = [pair.smq(securemq.DEALER, routing_id=i) for i in ids]
    pair.link(router, *dealers)
    for ident, dealer in zip(ids, dealers, strict=True):
        dealer.send_multipart([b"", b"hello from " + ident])
    seen = {}
    for _ in ids:
        ident, empty, body = router.recv_multipart()
        assert empty == b"" and body == b"hello from " + ident
        seen[ident] = body
    assert sorted(seen) == sorted(ids)
    # Reply in reverse order: each reply goes to exactly the addressed dealer.
    for ident in reversed(ids):
        router.send_multipart([ident, b"", b"reply to " + ident])
    for ident, dealer in zip(ids, dealers, strict=True):
        assert dealer.recv_multipart() == [b"", b"reply to " + ident]
        assert not dealer.poll(20)


def test_router_drops_message_to_unknown_id(pair: Pair) -> None:
    router = pair.smq(securemq.ROUTER)
    dealer = pair.pz(zmq.DEALER, routing_id=b"known")
    pair.link(router, dealer)
    dealer.send(b"hi")
    assert router.recv_multipart() == [b"known", b"hi"]
    router.send_multipart([b"unknown", b"lost"])
    router.send_multipart([b"known", b"kept"])
    assert dealer.recv_multipart() == [b"kept"]


# -- reconnect --------------------------------------------------------------------------------


def test_smq_push_keeps_queue_across_pyzmq_pull_restart(pair: Pair) -> None:
    pull = pair.pz(zmq.PULL)
    push = pair.smq(securemq.PUSH, reconnect_ivl=50)
    monitor = watch(push)
    endpoint = pair.link(pull, push)
    push.send(b"first")
    assert pull.recv() == b"first"
    pull.close()
    wait_event(monitor, zmq.EVENT_DISCONNECTED)
    # Queued while no peer is connected: the pipe of the connect-side socket survives.
    for i in range(10):
        push.send(b"queued %d" % i)
    replacement = pair.pz(zmq.PULL)
    pair.endpoints.bind_to(replacement, endpoint)
    assert [replacement.recv() for _ in range(10)] == [b"queued %d" % i for i in range(10)]
    push.send(b"live")
    assert replacement.recv() == b"live"


def test_pyzmq_push_reconnects_to_restarted_smq_pull(pair: Pair) -> None:
    pull = pair.smq(securemq.PULL)
    push = pair.pz(zmq.PUSH, reconnect_ivl=50)
    monitor = watch(push)
    endpoint = pair.link(pull, push)
    push.send(b"first")
    assert pull.recv() == b"first"
    pull.close()
    wait_event(monitor, zmq.EVENT_DISCONNECTED)
    for i in range(10):
        push.send(b"queued %d" % i)
    replacement = pair.smq(securemq.PULL)
    pair.endpoints.bind_to(replacement, endpoint)
    assert [replacement.recv() for _ in range(10)] == [b"queued %d" % i for i in range(10)]


# -- message properties -----------------------------------------------------------------------


@pytest.mark.parametrize("pz_type,name", [(zmq.PUSH, "PUSH"), (zmq.DEALER, "DEALER")])
def test_message_properties_from_pyzmq_sender(pair: Pair, smq_binds: bool, pz_type: int,
                                              name: str) -> None:
    receiver_type = securemq.PULL if name == "PUSH" else securemq.ROUTER
    receiver, sender = pair.make(receiver_type, pz_type, smq_binds)
    sender.send(b"payload")
    frames = receiver.recv_multipart(copy=False)
    frame = frames[-1]
    assert frame.bytes == b"payload"
    assert frame.get("Socket-Type") == name
    assert frame.get("socket-type") == name  # property names are case-insensitive
    if pair.endpoints.transport == "tcp":
        assert frame.get("Peer-Address") == "127.0.0.1"
    with pytest.raises(securemq.ZMQError):
        frame.get("No-Such-Property")


def test_message_properties_on_single_recv(pair: Pair, smq_binds: bool) -> None:
    pull, push = pair.make(securemq.PULL, zmq.PUSH, smq_binds)
    push.send_multipart([b"a", b"b"])
    first = pull.recv(copy=False)
    second = pull.recv(copy=False)
    assert (first.bytes, first.more, second.bytes, second.more) == (b"a", True, b"b", False)
    for frame in (first, second):
        assert frame.get("Socket-Type") == "PUSH"


# -- heartbeats -------------------------------------------------------------------------------

_OBSERVE_S = 1.0
_BAD_EVENTS = (zmq.EVENT_DISCONNECTED, zmq.EVENT_CLOSED, zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL,
               zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL)


def _events_within(monitor: Any, seconds: float) -> list[int]:
    events: list[int] = []
    deadline = time.monotonic() + seconds
    while (remaining := deadline - time.monotonic()) > 0:
        got = next_event(monitor, int(remaining * 1000) + 1)
        if got is not None:
            events.append(got[0])
    return events


@pytest.mark.parametrize("who", ["smq", "pyzmq", "both"])
def test_heartbeats_keep_idle_link_alive(pair: Pair, smq_binds: bool, who: str) -> None:
    """One second idle with 100 ms heartbeats: nobody is disconnected, messages still flow.

    smq: securemq PINGs with TTL 500 ms; pyzmq (no heartbeat of its own) honours the TTL and
         would drop the link if the PINGs stopped.
    pyzmq: pyzmq PINGs with a 300 ms timeout; securemq must answer with PONGs.
    """
    hb = {"heartbeat_ivl": 100, "heartbeat_timeout": 300, "heartbeat_ttl": 500}
    smq_opts = hb if who in ("smq", "both") else {}
    pz_opts = hb if who in ("pyzmq", "both") else {}
    s = pair.smq(securemq.DEALER, **smq_opts)
    p = pair.pz(zmq.ROUTER, **pz_opts)
    smq_mon, pz_mon = watch(s), watch(p)
    if smq_binds:
        pair.link(s, p)
    else:
        pair.link(p, s)
    s.send(b"before")
    ident, body = p.recv_multipart()
    assert body == b"before"
    wait_event(smq_mon, zmq.EVENT_HANDSHAKE_SUCCEEDED)
    for _ in range(pair.endpoints.handshake_reports(p)):
        wait_event(pz_mon, zmq.EVENT_HANDSHAKE_SUCCEEDED)
    idle_pz = _events_within(pz_mon, _OBSERVE_S)
    idle_smq = _events_within(smq_mon, 0.01)
    assert not [e for e in idle_pz if e in _BAD_EVENTS], f"pyzmq side events: {idle_pz}"
    assert not [e for e in idle_smq if e in _BAD_EVENTS], f"securemq side events: {idle_smq}"
    assert zmq.EVENT_HANDSHAKE_SUCCEEDED not in idle_pz + idle_smq, "the link was re-made"
    p.send_multipart([ident, b"after"])
    assert s.recv() == b"after"
    s.send(b"again")
    assert p.recv_multipart() == [ident, b"again"]


class _Relay:
    """A loopback TCP relay between two peers that counts the bytes going each way."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = pysocket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sent = {"up": 0, "down": 0}  # up: connecter -> binder, down: binder -> connecter
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        self.listener.settimeout(5)
        try:
            client, _ = self.listener.accept()
        except OSError:
            return
        server = pysocket.create_connection(self.target, timeout=5)
        ends = {client: (server, "up"), server: (client, "down")}
        with selectors.DefaultSelector() as sel:
            for sock in ends:
                sock.setblocking(False)
                sel.register(sock, selectors.EVENT_READ)
            while not self._stop.is_set():
                for key, _ in sel.select(0.05):
                    src = key.fileobj
                    assert isinstance(src, pysocket.socket)
                    dst, way = ends[src]
                    try:
                        data = src.recv(65536)
                    except BlockingIOError:
                        continue
                    if not data:
                        self._stop.set()
                        break
                    # Counted before forwarding: a receiver must never see bytes the count
                    # does not include yet.
                    self.sent[way] += len(data)
                    dst.setblocking(True)
                    dst.sendall(data)
                    dst.setblocking(False)
        client.close()
        server.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.listener.close()


@pytest.mark.parametrize("who", ["smq", "pyzmq", "none"])
def test_heartbeat_traffic_on_the_wire(smq_ctx: securemq.Context,
                                       pz_ctx: zmq.Context[zmq.Socket[bytes]], who: str) -> None:
    """Through a counting relay: while the apps are idle, the pinging side sends PINGs and the
    other side answers with PONGs (bytes flow both ways); with no heartbeat the wire is quiet."""
    hb = {zmq.HEARTBEAT_IVL: 100}
    p = configure(pz_ctx.socket(zmq.ROUTER))
    s = configure(smq_ctx.socket(securemq.DEALER))
    for option, value in hb.items():
        if who == "pyzmq":
            p.setsockopt(option, value)
        elif who == "smq":
            s.setsockopt(option, value)
    port = p.bind_to_random_port("tcp://127.0.0.1")
    relay = _Relay(("127.0.0.1", port))
    try:
        s.connect(f"tcp://127.0.0.1:{relay.port}")
        s.send(b"hello")
        ident, _hello = p.recv_multipart()
        p.send_multipart([ident, b"welcome"])
        assert s.recv() == b"welcome"
        before = dict(relay.sent)
        observed = _events_within(watch(p), _OBSERVE_S)
        after = dict(relay.sent)
        assert zmq.EVENT_DISCONNECTED not in observed
        up, down = after["up"] - before["up"], after["down"] - before["down"]
        if who == "none":
            assert (up, down) == (0, 0)
        else:
            # About ten PINGs and ten PONGs in a second; ask for at least three of each.
            assert up >= 3 * 7 and down >= 3 * 7, (up, down)
        s.send(b"still here")
        assert p.recv_multipart() == [ident, b"still here"]
    finally:
        relay.close()


_PROPERTY_NAMES = ("Socket-Type", "Peer-Address", "Identity", "Routing-Id", "User-Id")


def _properties(frame: Any) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in _PROPERTY_NAMES:
        try:
            out[name] = frame.get(name)
        except (zmq.ZMQError, securemq.ZMQError):
            out[name] = None  # libzmq: EINVAL, no such property
    return out


@pytest.mark.parametrize("sender,receiver,routing_id", [
    ("PUSH", "PULL", None),
    ("DEALER", "ROUTER", b"abc"),
    ("DEALER", "ROUTER", None),
    ("REQ", "ROUTER", None),
])
def test_message_properties_match_libzmq(pair: Pair, sender: str, receiver: str,
                                         routing_id: bytes | None) -> None:
    """The same pyzmq sender talks to a libzmq receiver and to a securemq receiver: both must
    expose the same message properties (names, values, and which ones are absent)."""
    seen = {}
    for side in ("libzmq", "securemq"):
        recv_sock = (pair.pz(getattr(zmq, receiver)) if side == "libzmq"
                     else pair.smq(getattr(securemq, receiver)))
        send_sock = pair.pz(getattr(zmq, sender))
        if routing_id is not None:
            send_sock.setsockopt(zmq.ROUTING_ID, routing_id)
        pair.link(recv_sock, send_sock)
        send_sock.send(b"payload")
        frames = recv_sock.recv_multipart(copy=False)
        assert frames[-1].bytes == b"payload"
        seen[side] = _properties(frames[-1])
    assert seen["securemq"] == seen["libzmq"]
