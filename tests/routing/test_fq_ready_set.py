"""The fair queue's ready set (routing/fq.py) against the scanning algorithm it replaced.

``ScanFairQueue`` below is the previous implementation's observable behaviour (scan every peer
round-robin from the one after the last served). The new ``FairQueue`` must give exactly the
same sequence of (message, peer) and the same ``has_in`` for any sequence of attaches,
detaches, reconnects, writes (with HWM), reads and pipes emptied behind its back -- while it
never looks at a peer whose pipe is idle.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Callable

import pytest

from securemq.constants import SocketType
from securemq.pipe import ConflatePipe, Message, Peer, Pipe, Waker
from securemq.routing import create
from securemq.routing.base import RoutingOptions
from securemq.routing.fq import FairQueue


class ScanFairQueue:
    """The scanning fair queue (the reference model)."""

    def __init__(self) -> None:
        self.peers: list[Peer] = []
        self._next = 0

    def attach(self, peer: Peer) -> None:
        self.peers.append(peer)

    def detach(self, peer: Peer) -> None:
        try:
            index = self.peers.index(peer)
        except ValueError:
            return
        del self.peers[index]
        if index < self._next:
            self._next -= 1
        if self._next >= len(self.peers):
            self._next = 0

    def has_in(self) -> bool:
        return any(peer.inbound.readable() for peer in self.peers)

    def recv(self) -> tuple[Message, Peer] | None:
        peers = self.peers
        count = len(peers)
        if count == 1:
            msg = peers[0].inbound.read()
            return None if msg is None else (msg, peers[0])
        start = self._next
        for step in range(count):
            index = (start + step) % count
            peer = peers[index]
            msg = peer.inbound.read()
            if msg is not None:
                self._next = (index + 1) % count
                return msg, peer
        return None


class CountingPipe(Pipe):
    """A pipe that counts how often its reader looked at it."""

    __slots__ = ("looks",)

    def __init__(self, hwm: int = 0) -> None:
        super().__init__(hwm)
        self.looks = 0

    def read(self) -> Message | None:
        self.looks += 1
        return super().read()

    def readable(self) -> bool:
        self.looks += 1
        return super().readable()

    def peek(self) -> Message | None:
        self.looks += 1
        return super().peek()


def _peer(hwm: int = 0, name: str = "", conflate: bool = False) -> Peer:
    kind = ConflatePipe if conflate else Pipe
    return Peer(kind(hwm), Pipe(10), endpoint=name)


# -- the randomized model test --------------------------------------------------------------------


def _run_model(seed: int, steps: int) -> None:
    rng = random.Random(seed)
    new, old = FairQueue(), ScanFairQueue()
    # Two identical worlds: peer i of one mirrors peer i of the other.
    new_peers: list[Peer] = []
    old_peers: list[Peer] = []
    attached: list[int] = []
    detached: list[int] = []
    counter = 0

    def make() -> int:
        hwm = rng.choice([0, 1, 2, 5])
        conflate = rng.random() < 0.1
        new_peers.append(_peer(hwm, conflate=conflate))
        old_peers.append(_peer(hwm, conflate=conflate))
        return len(new_peers) - 1

    for step in range(steps):
        op = rng.random()
        if op < 0.08 or not attached:
            index = make() if not detached or rng.random() < 0.7 else detached.pop()
            attached.append(index)
            new.attach(new_peers[index])
            old.attach(old_peers[index])
        elif op < 0.12:
            index = attached.pop(rng.randrange(len(attached)))
            detached.append(index)
            new.detach(new_peers[index])
            old.detach(old_peers[index])
        elif op < 0.14:
            # ROUTER's hiccup: detach and attach again (the peer goes to the end)
            index = rng.choice(attached)
            attached.remove(index)
            attached.append(index)
            for fq, peers in ((new, new_peers), (old, old_peers)):
                fq.detach(peers[index])
                fq.attach(peers[index])
        elif op < 0.50:
            # writes, possibly to a detached peer's pipe and possibly past nothing (full)
            index = rng.randrange(len(new_peers))
            for _ in range(rng.choice([1, 1, 2, 3])):
                counter += 1
                msg = [b"%d" % counter]
                how = rng.random()
                if how < 0.7:
                    assert new_peers[index].inbound.write(msg) == \
                        old_peers[index].inbound.write(msg)
                elif how < 0.8:
                    new_peers[index].inbound.force_write(msg)
                    old_peers[index].inbound.force_write(msg)
                else:
                    many = [msg, [msg[0] + b"+"]]
                    assert new_peers[index].inbound.write_many(many) == \
                        old_peers[index].inbound.write_many(many)
        elif op < 0.55:
            # emptied behind the fair queue's back (REQ's stale replies, a peer gone, ...)
            index = rng.randrange(len(new_peers))
            if rng.random() < 0.5:
                new_peers[index].inbound.clear()
                old_peers[index].inbound.clear()
            else:
                assert new_peers[index].inbound.read() == old_peers[index].inbound.read()
        elif op < 0.62:
            assert new.has_in() == old.has_in(), f"seed {seed} step {step}: has_in"
        else:
            got_new = new.recv()
            got_old = old.recv()
            if got_old is None:
                assert got_new is None, f"seed {seed} step {step}: {got_new} vs None"
                continue
            assert got_new is not None, f"seed {seed} step {step}: None vs {got_old}"
            assert got_new[0] == got_old[0], f"seed {seed} step {step}"
            assert new_peers.index(got_new[1]) == old_peers.index(got_old[1]), \
                f"seed {seed} step {step}: served another peer"
    # Drained, both give the same tail.
    while (got_old := old.recv()) is not None:
        got_new = new.recv()
        assert got_new is not None and got_new[0] == got_old[0]
    assert new.recv() is None
    assert not new.has_in()


@pytest.mark.parametrize("seed", range(40))
def test_ready_set_matches_scanning_model(seed: int) -> None:
    _run_model(seed, 1500)


def test_ready_set_matches_scanning_model_many_peers() -> None:
    rng = random.Random(7)
    new, old = FairQueue(), ScanFairQueue()
    new_peers = [_peer() for _ in range(300)]
    old_peers = [_peer() for _ in range(300)]
    for a, b in zip(new_peers, old_peers, strict=True):
        new.attach(a)
        old.attach(b)
    for round_ in range(200):
        for index in rng.sample(range(len(new_peers)), rng.randrange(1, 30)):
            msg = [b"%d.%d" % (round_, index)]
            new_peers[index].inbound.write(msg)
            old_peers[index].inbound.write(msg)
        for _ in range(rng.randrange(0, 40)):
            got_old = old.recv()
            got_new = new.recv()
            assert (got_new is None) == (got_old is None)
            if got_old is not None and got_new is not None:
                assert got_new[0] == got_old[0]
        if round_ % 50 == 49:
            index = rng.randrange(len(new_peers))
            new.detach(new_peers.pop(index))
            old.detach(old_peers.pop(index))


# -- properties stated directly --------------------------------------------------------------------


def test_idle_peers_are_never_looked_at() -> None:
    fq = FairQueue()
    idle = [Peer(CountingPipe(), Pipe(10)) for _ in range(1000)]
    busy = [Peer(CountingPipe(), Pipe(10)) for _ in range(3)]
    for peer in idle[:500] + busy + idle[500:]:
        fq.attach(peer)
    for _ in range(100):
        for index, peer in enumerate(busy):
            peer.inbound.write([b"%d" % index])
        got = [fq.recv() for _ in range(3)]
        assert [item[1] for item in got if item is not None] == busy
        assert fq.recv() is None
        assert not fq.has_in()
    assert sum(peer.inbound.looks for peer in idle) == 0  # type: ignore[attr-defined]


def test_round_robin_among_ready_peers_and_per_peer_order() -> None:
    fq = FairQueue()
    peers = [_peer() for _ in range(5)]
    for peer in peers:
        fq.attach(peer)
    # peers 3, 1, 4 become ready in that order; service is still in attach order
    for index in (3, 1, 4):
        for n in range(3):
            peers[index].inbound.write([b"%d-%d" % (index, n)])
    got = []
    while (item := fq.recv()) is not None:
        got.append(item[0][0])
    assert got == [b"1-0", b"3-0", b"4-0", b"1-1", b"3-1", b"4-1", b"1-2", b"3-2", b"4-2"]


def test_a_peer_ready_again_waits_its_turn() -> None:
    fq = FairQueue()
    a, b, c = _peer(), _peer(), _peer()
    for peer in (a, b, c):
        fq.attach(peer)
    a.inbound.write([b"a0"])
    b.inbound.write([b"b0"])
    item = fq.recv()
    assert item is not None and item[1] is a
    a.inbound.write([b"a1"])  # a is ready again while b waits: b comes first
    assert [fq.recv()[0] for _ in range(2)] == [[b"b0"], [b"a1"]]  # type: ignore[index]


def test_detach_forgets_the_peer_and_its_hook() -> None:
    fq = FairQueue()
    a, b = _peer(), _peer()
    fq.attach(a)
    fq.attach(b)
    a.inbound.write([b"a"])
    fq.detach(a)
    assert a.inbound.ready_hook is None
    assert a not in fq and b in fq
    assert fq.recv() is None
    a.inbound.write([b"late"])  # a detached peer's writes reach nobody
    assert fq.recv() is None
    b.inbound.write([b"b"])
    item = fq.recv()
    assert item is not None and item[1] is b


def test_messages_written_before_attach_are_seen() -> None:
    fq = FairQueue()
    peers = [_peer() for _ in range(4)]
    for index, peer in enumerate(peers):
        peer.inbound.write([b"%d" % index])  # queued before the socket attaches (inproc)
        fq.attach(peer)
    got = [fq.recv() for _ in range(4)]
    assert [item[0] for item in got if item is not None] == [[b"0"], [b"1"], [b"2"], [b"3"]]


def test_hwm_and_low_water_wake_unchanged() -> None:
    fq = FairQueue()
    woken = []
    a, b = Peer(Pipe(4), Pipe(10)), _peer()
    a.inbound.writer_wake = lambda: woken.append("a")
    fq.attach(a)
    fq.attach(b)
    assert [a.inbound.write([b"%d" % i]) for i in range(5)] == [True] * 4 + [False]
    assert fq.recv() is not None and fq.recv() is not None
    assert woken == ["a"]  # down to half the HWM: the writer is told once
    assert a.inbound.write([b"x"])


# -- every type that fair-queues ----------------------------------------------------------------

# (type, how a peer's inbound message looks, what recv returns for it)
_FAIR_TYPES = [
    (SocketType.PULL, lambda i: [b"m%d" % i], lambda m: m),
    (SocketType.DEALER, lambda i: [b"m%d" % i], lambda m: m),
    (SocketType.ROUTER, lambda i: [b"m%d" % i], lambda m: m[1:]),
    (SocketType.REP, lambda i: [b"", b"m%d" % i], lambda m: m),
    (SocketType.SUB, lambda i: [b"m%d" % i], lambda m: m),
    (SocketType.XSUB, lambda i: [b"m%d" % i], lambda m: m),
    (SocketType.GATHER, lambda i: [b"m%d" % i], lambda m: m),
    (SocketType.CLIENT, lambda i: [b"m%d" % i], lambda m: m),
    (SocketType.SERVER, lambda i: [b"m%d" % i], lambda m: m[1:]),
]


@pytest.mark.parametrize(("socket_type", "shape", "body"), _FAIR_TYPES,
                         ids=[t[0].name for t in _FAIR_TYPES])
def test_every_fair_queueing_type_serves_ready_peers_in_turn(
    opts: RoutingOptions,
    socket_type: SocketType,
    shape: Callable[[int], Message],
    body: Callable[[Message], Message],
) -> None:
    routing = create(socket_type, opts)
    peers = [_peer(name=f"p{i}") for i in range(50)]
    for peer in peers:
        routing.attach(peer)
    if socket_type == SocketType.XSUB:
        routing.send([b"\x01"])  # subscribe to everything
    elif socket_type == SocketType.SUB:
        routing.subscribe(b"")
    active = [40, 7, 23]
    for n in range(2):
        for index in active:
            peers[index].inbound.write(shape(n * 100 + index))
    got = []
    for _ in range(6):
        item = routing.recv()
        assert item is not None
        got.append(body(item[0]))
        if socket_type == SocketType.REP:
            routing.send([b"reply"])
    assert got == [[b"m7"], [b"m23"], [b"m40"], [b"m107"], [b"m123"], [b"m140"]]
    assert routing.recv() is None
    assert not routing.can_recv()


# -- two threads ------------------------------------------------------------------------------


def test_concurrent_writers_lose_nothing_and_keep_order() -> None:
    """Writers on other threads (as the reactor and inproc peers are) while the socket's thread
    receives and waits on its waker; bounded by a deadline, no sleeps."""
    waker = Waker()
    fq = FairQueue()
    peers = [Peer(Pipe(8), Pipe(10)) for _ in range(64)]
    room = threading.Condition()
    for peer in peers:
        peer.inbound.reader_wake = waker.wake

        def made_room() -> None:
            with room:
                room.notify_all()

        peer.inbound.writer_wake = made_room
        fq.attach(peer)
    per_peer = 400
    groups = [peers[0:32], peers[32:64]]
    deadline = time.monotonic() + 60
    errors: list[BaseException] = []

    def writer(group: list[Peer]) -> None:
        try:
            pending = {id(p): 0 for p in group}
            while pending and time.monotonic() < deadline:
                progress = False
                for peer in group:
                    n = pending.get(id(peer))
                    if n is None:
                        continue
                    if peer.inbound.write([id(peer).to_bytes(8, "big"), b"%d" % n]):
                        progress = True
                        if n + 1 == per_peer:
                            del pending[id(peer)]
                        else:
                            pending[id(peer)] = n + 1
                if not progress:
                    with room:
                        room.wait(0.05)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(g,), daemon=True) for g in groups]
    for thread in threads:
        thread.start()
    seen: dict[bytes, int] = {}
    total = 0
    while total < per_peer * len(peers):
        assert time.monotonic() < deadline, f"only {total} messages arrived"
        waker.clear()
        item = fq.recv()
        if item is None:
            waker.wait(1.0)
            continue
        key, number = item[0]
        assert int(number) == seen.get(key, 0), "per-peer order broken"
        seen[key] = int(number) + 1
        total += 1
    for thread in threads:
        thread.join(10)
    assert not errors
    assert fq.recv() is None and not fq.has_in()
    assert all(count == per_peer for count in seen.values()) and len(seen) == len(peers)
    waker.close()


def test_sole_peer_mode_and_back() -> None:
    fq = FairQueue()
    a, b = _peer(), _peer()
    fq.attach(a)
    for n in range(3):
        a.inbound.write([b"a%d" % n])
    item = fq.recv()
    assert item is not None and item[0] == [b"a0"]
    fq.attach(b)  # rebuilds the ready set: a still has two
    b.inbound.write([b"b0"])
    got = deque()
    while (item := fq.recv()) is not None:
        got.append(item[0][0])
    assert list(got) == [b"a1", b"b0", b"a2"]
    fq.detach(b)
    a.inbound.write([b"a3"])
    item = fq.recv()
    assert item is not None and item[0] == [b"a3"]
