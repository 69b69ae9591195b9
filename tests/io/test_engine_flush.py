"""StreamEngine write-path invariants, with two engines over a socketpair and no Socket.

The outbound pipe wakes its engine only on its empty -> non-empty transition, so the engine must
never stop with messages in the pipe and nothing that will come back for them. This once
happened after the handshake: the first flush left bytes unsent (OS buffer full), and the
handshake's own write finished them and disarmed write readiness, stranding the pipe (a PUSH
then blocked at its HWM forever; seen with CURVE 64 KiB messages queued before the handshake).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from securemq.constants import SocketType
from securemq.io.engine import StreamEngine
from securemq.io.reactor import Reactor
from securemq.pipe import Peer, Pipe
from securemq.zmtp.frames import encode_message
from securemq.zmtp.mechanisms.null import NullMechanism

pytestmark = pytest.mark.timeout(30)


class Owner:
    """The little an engine needs from its socket."""

    def __init__(self, hwm: int) -> None:
        self.peer = Peer(Pipe(hwm), Pipe(hwm))
        self.ready = False

    def engine_ready(self, engine: StreamEngine) -> Peer:
        self.ready = True
        return self.peer

    def engine_closed(self, engine: StreamEngine, error: Any) -> None:
        pass

    def monitor_event(self, event: int, value: int, endpoint: str) -> None:
        pass

    def zap_attach(self, peer: Peer) -> bool:
        return False

    def zap_detach(self, peer: Peer) -> None:
        pass

    def inbound_wake(self) -> Callable[[], None]:
        return lambda: None


def _engine(reactor: Reactor, sock: socket.socket, owner: Owner, kind: SocketType,
            accepted: bool) -> StreamEngine:
    sock.setblocking(False)
    name = {SocketType.PUSH: b"PUSH", SocketType.PULL: b"PULL"}[kind]
    engine = StreamEngine(
        reactor, sock, owner, NullMechanism(as_server=accepted, properties={"Socket-Type": name}),
        socket_type=int(kind), endpoint="socketpair", peer_address="", max_message_size=-1,
        handshake_ivl_ms=5000, heartbeat_ivl_ms=0, heartbeat_timeout_ms=-1, heartbeat_ttl_ms=0,
        zap_domain=b"", routing_id=b"", accepted=accepted,
    )
    engine.start()  # (as the session does, once it holds the engine)
    return engine


def _until(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.002)


@pytest.fixture
def pair() -> Iterator[tuple[Reactor, StreamEngine, Owner, Owner]]:
    reactor = Reactor(name="test-engine-flush")
    a, b = socket.socketpair()
    pushing, pulling = Owner(hwm=0), Owner(hwm=0)
    sender = reactor.run_sync(lambda: _engine(reactor, a, pushing, SocketType.PUSH, False))
    reactor.run_sync(lambda: _engine(reactor, b, pulling, SocketType.PULL, True))
    _until(lambda: pushing.ready and pulling.ready, "the NULL handshake")
    yield reactor, sender, pushing, pulling
    reactor.stop()
    a.close()
    b.close()


def test_draining_leftover_bytes_goes_on_with_the_pipe(
    pair: tuple[Reactor, StreamEngine, Owner, Owner],
) -> None:
    reactor, sender, pushing, pulling = pair
    count = 500

    def strand() -> None:
        # The state the handshake left: leftovers waiting for write readiness, and messages
        # queued in the pipe without a wake-up (the pipe was not empty when they came).
        pushing.peer.outbound._queue.extend([b"%d" % i] for i in range(count))
        sender.out = [encode_message([b"leftover"])]
        sender.writing = True
        sender._update_registration()
        # Some other path (a read, a heartbeat) writes the leftovers out.
        sender._write_out()

    reactor.run_sync(strand)
    received: list[list[bytes]] = []

    def collect() -> bool:
        while (msg := pulling.peer.inbound.read()) is not None:
            received.append(msg)
        return len(received) == count + 1

    _until(collect, "every queued message to arrive")
    assert received[0] == [b"leftover"]
    assert [m[0] for m in received[1:]] == [b"%d" % i for i in range(count)]


def test_large_messages_queued_before_the_handshake_all_arrive_in_batches() -> None:
    """Large messages are written a few at a time (WRITE_BUDGET) and none is left behind."""
    reactor = Reactor(name="test-engine-flush")
    a, b = socket.socketpair()
    a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
    pushing, pulling = Owner(hwm=0), Owner(hwm=0)
    body = bytes(range(256)) * 256  # 64 KiB
    count = 200
    for index in range(count):
        pushing.peer.outbound._queue.append([index.to_bytes(4, "big") + body])
    try:
        reactor.run_sync(lambda: _engine(reactor, a, pushing, SocketType.PUSH, False))
        reactor.run_sync(lambda: _engine(reactor, b, pulling, SocketType.PULL, True))
        got: list[int] = []

        def collect() -> bool:
            while (msg := pulling.peer.inbound.read()) is not None:
                assert msg[0][4:] == body
                got.append(int.from_bytes(msg[0][:4], "big"))
            return len(got) == count

        _until(collect, "every 64 KiB message to arrive")
        assert got == list(range(count))
    finally:
        reactor.stop()
        a.close()
        b.close()


def test_a_full_inbound_pipe_keeps_reads_small_and_the_backlog_bounded() -> None:
    """Small messages arriving faster than the socket reads: what does not fit the inbound pipe
    waits in the engine's backlog, which is drained from the front in order, and reading stays
    at the base read size while it exists (so a peer's burst is never decoded a megabyte
    ahead of a socket whose RCVHWM is 100)."""
    from securemq.io.engine import READ_SIZE

    reactor = Reactor(name="test-engine-backlog")
    a, b = socket.socketpair()
    pushing, pulling = Owner(hwm=0), Owner(hwm=100)
    count = 200_000
    pushing.peer.outbound._queue.extend([index.to_bytes(4, "big")] for index in range(count))
    try:
        reactor.run_sync(lambda: _engine(reactor, a, pushing, SocketType.PUSH, False))
        receiver = reactor.run_sync(
            lambda: _engine(reactor, b, pulling, SocketType.PULL, True))
        inbound = pulling.peer.inbound
        inbound.writer_wake = lambda: reactor.call_soon(receiver.resume_reading)
        most_held = 0
        got = 0

        def collect() -> bool:
            nonlocal got, most_held
            most_held = max(most_held, len(receiver.backlog))
            while (msg := inbound.read()) is not None:
                assert msg == [got.to_bytes(4, "big")], f"message {got} out of order"
                got += 1
            return got == count

        _until(collect, "every message through a pipe of 100", timeout=60)
        assert 0 < most_held <= READ_SIZE // 6  # one base-size read of 6-byte frames at most
        assert receiver.read_size == READ_SIZE
    finally:
        reactor.stop()
        a.close()
        b.close()


def test_no_io_before_the_owner_holds_the_engine() -> None:
    """A stream whose peer is already gone: the engine's first write fails. That must happen
    in start(), after the owner has the engine -- failing in the constructor, it reported
    engine_closed for an engine its owner did not hold yet, which the owner then kept as open
    for ever (Context.term hung after connection resets)."""
    reactor = Reactor(name="test-engine-no-io")
    a, b = socket.socketpair()
    b.close()  # the peer is gone: writing to ``a`` fails (EPIPE)
    owner = Owner(hwm=0)
    closed: list[StreamEngine] = []
    owner.engine_closed = lambda engine, error: closed.append(engine)  # type: ignore[method-assign]
    try:
        def make() -> tuple[StreamEngine, int]:
            sock = a
            sock.setblocking(False)
            engine = StreamEngine(
                reactor, sock, owner, NullMechanism(as_server=False,
                                                    properties={"Socket-Type": b"PUSH"}),
                socket_type=int(SocketType.PUSH), endpoint="socketpair", peer_address="",
                max_message_size=-1, handshake_ivl_ms=5000, heartbeat_ivl_ms=0,
                heartbeat_timeout_ms=-1, heartbeat_ttl_ms=0, zap_domain=b"", routing_id=b"",
            )
            before_start = len(closed)
            engine.start()
            return engine, before_start

        engine, closed_before_start = reactor.run_sync(make)
        assert closed_before_start == 0, "the constructor wrote (and closed the engine)"
        assert engine.closed and closed == [engine], "start() meets the dead peer and reports it"
    finally:
        reactor.stop()
        a.close()
