"""The ownership protocol of io/fastpath.py, tested on its own and under concurrency.

* Reactor state belongs to the reactor thread: every registration, timer, engine callback and
  monitor event of these tests is checked to run there (a recorder wraps them), while caller
  threads take write turns and read leases as hard as they can.
* Write turns follow state, not a clock: an idle connection is written by the caller, the rest
  of a burst by the reactor, and a connection is idle again once the reactor has run or the
  peer has spoken. A message sent while the outbound pipe is empty is written without being
  queued (a direct send), and a refused one is queued after one try.
* Read leases: while a caller holds one, the reactor does not watch the descriptor for input;
  a command (PING) or the end of the stream met by the caller is handed to the reactor.
* Stress: several threads send numbered messages in bursts and in ping-pong over tcp and ipc,
  through connection resets and close/reconnect cycles; nothing is duplicated or reordered, and
  without resets nothing is lost.
"""

from __future__ import annotations

import itertools
import os
import random
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import securemq as zmq
from securemq.io import fastpath
from securemq.io.engine import StreamEngine
from securemq.io.reactor import Reactor
from securemq.io.session import SocketSession
from tests.faults.faultproxy import FaultProxy

DEADLINE = 10.0


@pytest.fixture
def reactor_only(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Fail (at the end of the test) if reactor state is touched from any other thread."""
    violations: list[str] = []

    def guard(cls: type, name: str) -> None:
        original = getattr(cls, name)

        def checked(self: Any, *args: Any, **kwargs: Any) -> Any:
            reactor = self if isinstance(self, Reactor) else self.reactor
            if reactor.running and not reactor.in_reactor():
                violations.append(f"{cls.__name__}.{name} from {threading.current_thread().name}")
            return original(self, *args, **kwargs)

        monkeypatch.setattr(cls, name, checked)

    for name in ("set_handlers", "call_later", "defer"):
        guard(Reactor, name)
    for name in ("engine_ready", "engine_closed", "monitor_event", "zap_attach"):
        guard(SocketSession, name)
    for name in ("_fail", "_close", "_update_registration", "_write_out", "start_linger"):
        guard(StreamEngine, name)
    return violations


@pytest.fixture
def ctx() -> Iterator[zmq.Context]:
    context = zmq.Context()
    yield context
    context.destroy(linger=0)


def _until(condition: Callable[[], bool], what: str, timeout: float = DEADLINE) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.001)


def _engine_of(sock: zmq.Socket) -> StreamEngine:
    _until(lambda: sock._session is not None and len(sock._session.ready_engines) == 1,
           "one ready connection")
    assert sock._session is not None
    return sock._session.ready_engines[0]


def _pair(ctx: zmq.Context, a: int, b: int) -> tuple[zmq.Socket, zmq.Socket]:
    server, client = ctx.socket(a), ctx.socket(b)
    for sock in (server, client):
        sock.linger = 0
        sock.rcvtimeo = sock.sndtimeo = int(DEADLINE * 1000)
    port = server.bind_to_random_port("tcp://127.0.0.1")
    client.connect(f"tcp://127.0.0.1:{port}")
    return server, client


def _recv_in_thread(sock: zmq.Socket, engine: StreamEngine,
                    multipart: bool = False) -> tuple[threading.Thread, list[Any]]:
    """``recv`` (or ``recv_multipart``) on another thread, returned once that wait holds the
    read lease. A lease is taken when the wait starts, if the connection's lock is free at that
    instant; a wait that found it busy goes on without one (the reactor reads for it), so the
    socket's waker is poked until a retry inside the same recv takes the lease."""
    got: list[Any] = []
    call = sock.recv_multipart if multipart else sock.recv
    thread = threading.Thread(target=lambda: got.append(call()), daemon=True)
    thread.start()
    deadline = time.monotonic() + DEADLINE
    while not engine.leased:
        assert time.monotonic() < deadline, "timed out waiting for the recv to take the lease"
        sock._waker.wake()
        time.sleep(0.005)
    return thread, got


def test_the_guard_sees_reactor_state_touched_from_another_thread(
    ctx: zmq.Context, reactor_only: list[str]
) -> None:
    sock = ctx.socket(zmq.PULL)
    sock.bind("tcp://127.0.0.1:*")
    reactor = ctx.io.reactor()
    reactor.call_later(1.0, lambda: None)  # (wrong: from the test thread)
    assert reactor_only == ["Reactor.call_later from MainThread"]
    reactor_only.clear()


# -- write turns --------------------------------------------------------------------------------
def _recv_without_lease(server: zmq.Socket, expected: bytes) -> None:
    """Receive through poll, not a blocking recv: a read lease kept by ``server`` would bring
    the reactor's sweep, which could be running its handlers just when a test sends."""
    assert server.poll(int(DEADLINE * 1000))
    assert server.recv(zmq.NOBLOCK) == expected


def _reactor_went_round(engine: StreamEngine) -> None:
    """Wait until the reactor has gone round since the caller's last turn and is waiting
    again (not running its handlers): the connection is idle for a write turn."""
    reactor = engine.reactor
    reactor.call_soon(lambda: None)
    _until(lambda: reactor.turns != engine.turn_mark and not reactor.dispatching,
           "the reactor to go round and wait")


def test_write_turns_follow_state_not_time(ctx: zmq.Context, reactor_only: list[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    server, client = _pair(ctx, zmq.PULL, zmq.PUSH)
    client.send(b"warm-up")
    _recv_without_lease(server, b"warm-up")
    engine = _engine_of(client)
    taken: list[tuple[int, int]] = []
    refused = 0
    real = fastpath.write_turn

    def recording(e: StreamEngine, msg: list[bytes] | None = None) -> bool:
        nonlocal refused
        before = (e.reactor.turns, e.reads)
        took = real(e, msg)
        if took:
            taken.append(before)
        else:
            refused += 1
        return took

    monkeypatch.setattr(fastpath, "write_turn", recording)
    # Idle (the reactor went round since the warm-up): the caller writes the message itself.
    _reactor_went_round(engine)
    client.send(b"one")
    assert len(taken) == 1 and refused == 0
    # A burst: a turn is never taken twice without the reactor going round (or the peer
    # speaking) in between, so most of the burst is handed to the reactor's batched writes.
    for i in range(200):
        client.send(b"burst %d" % i)
    assert [server.recv() for _ in range(201)] == [b"one"] + [b"burst %d" % i for i in range(200)]
    # (a send refused because the reactor was running its handlers never calls write_turn)
    assert len(taken) < 100, "the caller wrote most of a burst itself"
    assert all(a != b for a, b in itertools.pairwise(taken)), "two turns in one reactor turn"
    assert reactor_only == []


def test_a_direct_send_skips_the_pipe_and_a_refused_one_is_tried_once(
    ctx: zmq.Context, reactor_only: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, client = _pair(ctx, zmq.PULL, zmq.PUSH)
    client.send(b"warm-up")
    _recv_without_lease(server, b"warm-up")
    engine = _engine_of(client)
    assert engine.peer is not None
    outbound = engine.peer.outbound
    queued: list[int] = []
    outbound.ready_hook = lambda: queued.append(len(outbound))  # (called when queued)
    turns: list[bool] = []
    real = fastpath.write_turn

    def recording(e: StreamEngine, msg: list[bytes] | None = None) -> bool:
        took = real(e, msg)
        turns.append(took)
        return took

    monkeypatch.setattr(fastpath, "write_turn", recording)
    _reactor_went_round(engine)
    counted = outbound.messages
    # Idle, and the pipe empty: the message goes out without ever being queued (but counted).
    client.send(b"direct")
    assert turns == [True] and queued == []
    assert outbound.messages == counted + 1
    assert server.recv() == b"direct"
    # No turn available (another thread holds the connection, as the reactor does while it
    # writes): refused once, then queued for the reactor -- one try per message, not a second
    # one from the pipe's wake-up.
    turns.clear()
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with engine.lock:
            held.set()
            release.wait(DEADLINE)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert held.wait(DEADLINE)
        client.send(b"refused")
        # (refused by write_turn under the lock, or before it if the reactor happened to be
        # running its handlers: either way at most one try)
        assert turns in ([False], []) and queued == [1]
    finally:
        release.set()
        holder.join(DEADLINE)
    assert server.recv() == b"refused"
    assert outbound.messages == counted + 2
    assert reactor_only == []


def test_peer_that_spoke_makes_the_connection_idle_again(ctx: zmq.Context,
                                                         reactor_only: list[str]) -> None:
    server, client = _pair(ctx, zmq.REP, zmq.REQ)
    for i in range(50):
        client.send(b"q%d" % i)
        assert server.recv() == b"q%d" % i
        server.send(b"a%d" % i)
        assert client.recv() == b"a%d" % i
    engine = _engine_of(client)
    assert engine.reads_mark == engine.reads or engine.turn_mark >= 0  # turns were taken
    assert reactor_only == []


def test_a_reset_met_by_a_caller_write_is_handled_by_the_reactor(
    ctx: zmq.Context, reactor_only: list[str]
) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    push = ctx.socket(zmq.PUSH)
    push.linger = 0
    monitor = push.get_monitor_socket()
    monitor.rcvtimeo = int(DEADLINE * 1000)
    push.connect(f"tcp://127.0.0.1:{port}")
    conn, _ = listener.accept()
    conn.settimeout(DEADLINE)
    from tests.io.test_bad_peers import ready, recv_exact
    from tests.security.raw import greeting

    conn.sendall(greeting(b"NULL") + ready(b"PULL"))
    recv_exact(conn, 64)
    _engine_of(push)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()  # RST
    listener.close()
    for i in range(100):  # caller turns meet the reset (EPIPE/ECONNRESET)
        try:
            push.send(b"x%d" % i, zmq.NOBLOCK)
        except zmq.Again:
            break
    from zmq.utils.monitor import recv_monitor_message

    deadline = time.monotonic() + DEADLINE
    while recv_monitor_message(monitor)["event"] != zmq.EVENT_DISCONNECTED:
        assert time.monotonic() < deadline
    assert reactor_only == []


# -- read leases ---------------------------------------------------------------------------------
def test_lease_pauses_the_reactor_and_hands_commands_back(ctx: zmq.Context,
                                                          reactor_only: list[str]) -> None:
    server, client = _pair(ctx, zmq.ROUTER, zmq.DEALER)
    client.heartbeat_ivl = 0
    server.heartbeat_ivl = 0
    client.send(b"hello")
    ident, _body = server.recv_multipart()
    engine = _engine_of(client)
    lease = fastpath.ReadLease(engine, client._waker.fileno())
    _until(lease.take, "a lease (refused while the reactor holds the connection)")
    try:
        registered = engine.reactor._registered.get(engine.fd, 0)
        assert not registered & 1, "the reactor still watches a leased descriptor for input"
        assert not fastpath.ReadLease(engine, client._waker.fileno()).take()  # one at a time
        server.send_multipart([ident, b"via the lease"])
        deadline = time.monotonic() + DEADLINE
        while not engine.peer.inbound.readable():
            assert time.monotonic() < deadline
            lease.wait(100)
    finally:
        lease.end()
    assert engine.kept, "the read side is kept for the next wait"
    _until(lambda: bool(engine.reactor._registered.get(engine.fd, 0) & 1),
           "the reactor's sweep to take the read side back")
    assert not engine.kept
    assert client.recv() == b"via the lease"
    assert reactor_only == []


def test_a_kept_lease_needs_no_registration_change_and_goes_back(
        ctx: zmq.Context, reactor_only: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Back-to-back waits keep the read side (no lease/return per wait); looking at the socket
    another way (EVENTS, poll) gives it back at once; a caller busy elsewhere loses it to the
    reactor's sweep, which then reads what arrives -- a message reaches the pipe without any
    recv."""
    server, client = _pair(ctx, zmq.ROUTER, zmq.DEALER)
    client.send(b"hello")
    ident, _body = server.recv_multipart()
    engine = _engine_of(client)
    changes: list[str] = []
    reactor = engine.reactor
    for name in ("lease_reads", "return_reads"):
        original = getattr(reactor, name)
        monkeypatch.setattr(reactor, name, lambda fd, _o=original, _n=name: (
            changes.append(_n) if fd == engine.fd else None, _o(fd))[1])  # (the client's)

    def watched() -> bool:
        return bool(reactor._registered.get(engine.fd, 0) & 1)

    for round_trip in range(5):  # blocking recv takes the lease each time
        client.send(b"ping %d" % round_trip)
        ident, body = server.recv_multipart()
        server.send_multipart([ident, body])
        assert client.recv() == body
    assert changes.count("lease_reads") <= 1 and "return_reads" not in changes, changes
    assert engine.kept and not watched()

    client.getsockopt(zmq.EVENTS)  # another way of looking: the reactor reads again at once
    assert not engine.kept and watched()

    client.send(b"again")
    ident, body = server.recv_multipart()
    # (the reply is sent once the client waits: sent before, the reactor, which watches the
    # descriptor again, could read it first and no wait would follow)
    waiter, got_again = _recv_in_thread(client, engine)
    server.send_multipart([ident, body])
    waiter.join(DEADLINE)
    assert got_again == [b"again"]
    assert engine.kept
    server.send_multipart([ident, b"while the caller is busy"])
    inbound = engine.peer.inbound
    _until(lambda: inbound.readable(), "the reactor to read after its sweep took the side back")
    assert not engine.kept
    assert client.recv(zmq.NOBLOCK) == b"while the caller is busy"

    # A long wait costs no sweeps (no wake-ups of an idle process) while it lasts.
    waiting, got = _recv_in_thread(client, engine)
    _until(lambda: reactor._sweep_timer is None, "the sweep to stop while the wait lasts")
    time.sleep(0.1)  # (the scenario: a wait spanning several sweep intervals)
    assert reactor._sweep_timer is None and engine.leased
    server.send_multipart([ident, b"the end of a long wait"])
    waiting.join(DEADLINE)
    assert got == [b"the end of a long wait"]
    assert reactor_only == []


class _MockRouter:
    """A DEALER (with a monitor) connected to a hand-driven ROUTER peer that has done the NULL
    handshake; ``conn`` is the peer's end, ``engine`` the DEALER's connection."""

    def __init__(self, ctx: zmq.Context) -> None:
        from tests.io.test_bad_peers import read_frame, ready, recv_exact
        from tests.security.raw import greeting

        self.listener = socket.create_server(("127.0.0.1", 0))
        port = self.listener.getsockname()[1]
        self.dealer = ctx.socket(zmq.DEALER)
        self.dealer.linger = 0
        self.dealer.rcvtimeo = int(DEADLINE * 1000)
        self.monitor = self.dealer.get_monitor_socket()
        self.monitor.rcvtimeo = int(DEADLINE * 1000)
        self.dealer.connect(f"tcp://127.0.0.1:{port}")
        self.conn, _ = self.listener.accept()
        self.conn.settimeout(DEADLINE)
        self.conn.sendall(greeting(b"NULL") + ready(b"ROUTER"))
        recv_exact(self.conn, 64)
        read_frame(self.conn)  # its READY
        self.engine = _engine_of(self.dealer)

    def until_disconnected(self) -> None:
        from zmq.utils.monitor import recv_monitor_message

        deadline = time.monotonic() + DEADLINE
        while recv_monitor_message(self.monitor)["event"] != zmq.EVENT_DISCONNECTED:
            assert time.monotonic() < deadline

    def close(self) -> None:
        self.conn.close()
        self.listener.close()


def test_ping_and_eof_met_under_a_lease_go_to_the_reactor(ctx: zmq.Context,
                                                          reactor_only: list[str]) -> None:
    """A mock peer PINGs the client while the client waits in recv (holding a lease): the PONG
    comes back (from the reactor), then the peer hangs up: DISCONNECTED, from the reactor."""
    from tests.io.test_bad_peers import command, read_frame

    peer = _MockRouter(ctx)
    got: list[bytes] = []
    waiter = threading.Thread(target=lambda: got.append(peer.dealer.recv()), daemon=True)
    waiter.start()
    peer.conn.sendall(command(b"PING", b"\x00\x00ctx"))
    _flags, body = read_frame(peer.conn)
    assert body[1:5] == b"PONG" and body.endswith(b"ctx")
    peer.conn.sendall(b"\x00\x05after")
    waiter.join(DEADLINE)
    assert got == [b"after"]
    peer.close()
    peer.until_disconnected()
    assert reactor_only == []


def test_messages_a_ping_and_the_end_of_the_stream_under_a_lease(
    ctx: zmq.Context, reactor_only: list[str]
) -> None:
    """The peer sends a message, a PING and hangs up while the client waits under a lease:
    the message is delivered, and the rest (the PING's event, the end of the stream) goes to
    the reactor in order -- DISCONNECTED, and the message not lost with the connection."""
    from tests.io.test_bad_peers import command

    peer = _MockRouter(ctx)
    waiter, got = _recv_in_thread(peer.dealer, peer.engine, multipart=True)
    peer.conn.sendall(b"\x01\x03one\x00\x03two" + command(b"PING", b"\x00\x00ctx"))
    peer.conn.shutdown(socket.SHUT_WR)
    waiter.join(DEADLINE)
    assert got == [[b"one", b"two"]]
    peer.until_disconnected()
    _until(lambda: peer.engine.closed, "the reactor to close the connection")
    peer.close()
    assert reactor_only == []


# -- stress ---------------------------------------------------------------------------------------
def _echo_server(ctx: zmq.Context, endpoint: str, stop: threading.Event) -> tuple[
        threading.Thread, str, dict[bytes, list[int]]]:
    router = ctx.socket(zmq.ROUTER)
    router.linger = 0
    router.rcvtimeo = 50
    router.bind(endpoint)
    bound = router.last_endpoint.decode()
    seen: dict[bytes, list[int]] = {}

    def serve() -> None:
        while not stop.is_set():
            try:
                ident, client, number = router.recv_multipart()
            except zmq.Again:
                continue
            seen.setdefault(client, []).append(int(number))
            router.send_multipart([ident, client, number])
        router.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return thread, bound, seen


def _client(ctx: zmq.Context, endpoint: str, name: bytes, count: int, rng: random.Random,
            errors: list[str], seen_back: list[int]) -> None:
    dealer = ctx.socket(zmq.DEALER)
    dealer.linger = 0
    dealer.rcvtimeo = 200
    dealer.connect(endpoint)
    sent = 0
    try:
        while sent < count:
            burst = rng.choice((1, 1, 1, 5, 50))  # ping-pong (caller turns) and bursts (reactor)
            for _ in range(min(burst, count - sent)):
                dealer.send_multipart([name, b"%d" % sent])
                sent += 1
            # Numbers come back in order: once the last one sent is back, every earlier one
            # has arrived or was lost in a reset (a timeout means this burst's end was lost).
            while not seen_back or seen_back[-1] < sent - 1:
                try:
                    _, number = dealer.recv_multipart()
                except zmq.Again:
                    break
                seen_back.append(int(number))
    except Exception as exc:  # reported by the test thread
        errors.append(f"{name!r}: {type(exc).__name__}: {exc}")
    finally:
        dealer.close()


def _strictly_increasing(numbers: list[int]) -> bool:
    return all(a < b for a, b in itertools.pairwise(numbers))


@pytest.mark.timeout(180)
@pytest.mark.parametrize("transport", ["tcp", "ipc"])
def test_many_threads_no_loss_no_duplicate_no_reorder(ctx: zmq.Context, transport: str,
                                                      tmp_path: Path,
                                                      reactor_only: list[str]) -> None:
    stop = threading.Event()
    endpoint = ("tcp://127.0.0.1:*" if transport == "tcp"
                else f"ipc://{tmp_path}/fastpath-{os.getpid()}.ipc")
    server, bound, seen = _echo_server(ctx, endpoint, stop)
    errors: list[str] = []
    back: dict[bytes, list[int]] = {}
    threads = []
    for i in range(4):
        name = b"client-%d" % i
        back[name] = []
        threads.append(threading.Thread(
            target=_client, args=(ctx, bound, name, 3000, random.Random(i), errors, back[name]),
            daemon=True))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(150)
    stop.set()
    server.join(DEADLINE)
    assert errors == []
    for name, numbers in back.items():
        assert numbers == list(range(3000)), f"{name!r}: lost, duplicated or reordered"
        assert seen[name] == list(range(3000))
    assert reactor_only == []


@pytest.mark.timeout(180)
def test_resets_and_reconnects_never_duplicate_or_reorder(ctx: zmq.Context,
                                                           reactor_only: list[str]) -> None:
    stop = threading.Event()
    server, bound, seen = _echo_server(ctx, "tcp://127.0.0.1:*", stop)
    port = int(bound.rsplit(":", 1)[1])
    errors: list[str] = []
    with FaultProxy("127.0.0.1", port) as proxy:
        via_proxy = f"tcp://127.0.0.1:{proxy.port}"
        back: dict[bytes, list[int]] = {}
        threads = []
        for i in range(3):
            name = b"client-%d" % i
            back[name] = []
            threads.append(threading.Thread(
                target=_client,
                args=(ctx, via_proxy, name, 2000, random.Random(10 + i), errors, back[name]),
                daemon=True))
        # One more thread closes and reconnects a socket over and over (new connections).
        cycles: list[int] = []

        def churn() -> None:
            for cycle in range(30):
                numbers: list[int] = []
                _client(ctx, via_proxy, b"churn-%d" % cycle, 20, random.Random(cycle), errors,
                        numbers)
                cycles.append(len(numbers))

        threads.append(threading.Thread(target=churn, daemon=True))
        for thread in threads:
            thread.start()
        for _ in range(5):  # resets while everyone is sending
            time.sleep(0.05)
            proxy.cut_all(reset=True)
        for thread in threads:
            thread.join(150)
    stop.set()
    server.join(DEADLINE)
    assert errors == []
    for name, numbers in back.items():
        assert _strictly_increasing(numbers), f"{name!r}: duplicated or reordered echoes"
        assert _strictly_increasing(seen.get(name, [])), f"{name!r}: server saw a repeat"
        assert numbers, f"{name!r}: nothing got through the resets"
    assert len(cycles) == 30
    assert reactor_only == []


def test_a_flush_queued_before_the_stash_meets_the_end_of_the_connection_first(
        ctx: zmq.Context, reactor_only: list[str], caplog: pytest.LogCaptureFixture) -> None:
    """The order a read lease can leave behind: it read the end of the stream (the sans-IO
    connection is closed) and stashed it, and a flush of the outbound pipe was queued on the
    reactor before the stash's own call. The flush must handle the stash first -- it once sent
    on the closed connection ('cannot send messages in state closed', logged by the reactor),
    leaving the engine half-closed and Context.term() waiting for ever."""
    server, client = _pair(ctx, zmq.PULL, zmq.PUSH)
    client.send(b"warm-up")
    assert server.recv() == b"warm-up"
    engine = _engine_of(client)
    released = threading.Event()

    def stash_the_end_then_flush() -> None:  # on the reactor, as the race leaves it
        with engine.lock:
            engine.stash.append((engine.conn.receive_data(b""), True))
            assert engine.peer is not None
            engine.peer.outbound.write([b"after the end"])
            engine.flush_scheduled = True
        engine.reactor.call_soon(engine._flush_outbound)
        engine.reactor.call_soon(engine.process_stash)
        released.set()

    engine.reactor.call_soon(stash_the_end_then_flush)
    assert released.wait(DEADLINE)
    _until(lambda: engine.closed, "the engine to handle the end of its connection")
    assert "cannot send messages" not in caplog.text
    client.close()
    server.close()
    done = threading.Event()
    threading.Thread(target=lambda: (ctx.term(), done.set()), daemon=True).start()
    assert done.wait(DEADLINE), "Context.term() waits for the engine"


def test_the_end_of_the_stream_waits_for_a_backlog_a_lease_left(
        ctx: zmq.Context, reactor_only: list[str]) -> None:
    """A read lease met more messages than the inbound pipe could take and stashed them; then
    the peer closed. The reactor's reader handles the stash first (the pipe fills, the rest
    waits in the backlog, reading pauses) -- and must then not read on: it once read the end of
    the stream there and closed the connection with the backlog still in it, losing those
    messages (a PULL waited for ever for its end marker, about one stream in forty)."""
    from securemq.zmtp.events import MessagesReceived

    server, client = ctx.socket(zmq.PULL), ctx.socket(zmq.PUSH)
    for sock in (server, client):
        sock.linger = 0
        sock.rcvtimeo = sock.sndtimeo = int(DEADLINE * 1000)
    server.rcvhwm = 2
    port = server.bind_to_random_port("tcp://127.0.0.1")
    client.connect(f"tcp://127.0.0.1:{port}")
    client.send(b"warm-up")
    assert server.recv() == b"warm-up"
    engine = _engine_of(server)
    stashed = threading.Event()
    messages = [[b"m%d" % index] for index in range(5)]

    def stash_as_a_lease_leaves_it() -> None:  # on the reactor
        with engine.lock:
            engine.stash.append(([MessagesReceived(list(messages))], False))
        stashed.set()

    engine.reactor.call_soon(stash_as_a_lease_leaves_it)
    assert stashed.wait(DEADLINE)
    client.close()  # the end of the stream: the reactor's reader is the next to run
    assert [server.recv() for _ in messages] == [m[0] for m in messages]
    _until(lambda: engine.closed, "the end of the stream to be handled after the backlog")
    assert reactor_only == []
