"""The FD / EVENTS contract of libzmq, which every event loop integration relies on.

The socket's ``FD`` is edge-triggered: readable means "something may have changed, read
EVENTS"; reading EVENTS, or a send/recv that finds nothing pending, consumes the signal, so the
FD is quiet until the next change. A loop that drains the socket after each wake-up must
therefore wake about once per message that arrives while it sleeps -- never spin. Each test
counts the wake-ups of a real loop (``select``, asyncio ``add_reader``, tornado's IOLoop via
``ZMQStream``) while 50 messages arrive 10 ms apart (the sender's pacing is the scenario, not a
settling delay), and compares the count with pyzmq's where the loop is generic.
"""

from __future__ import annotations

import asyncio
import select
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import zmq as pyzmq

import securemq as zmq
from securemq.eventloop.zmqstream import ZMQStream

MESSAGES = 50
GAP = 0.01
# Wake-ups a draining loop may see per message: one for the message, at most one spurious
# (the FD was readable from an earlier change when the loop drained it).
BUDGET = 2 * MESSAGES + 5


@pytest.fixture
def ctx() -> Iterator[zmq.Context]:
    context = zmq.Context()
    yield context
    context.destroy(linger=0)


def _pull_and_paced_sender(context: Any, lib: Any) -> tuple[Any, threading.Thread]:
    pull, push = context.socket(lib.PULL), context.socket(lib.PUSH)
    pull.linger = push.linger = 0
    port = pull.bind_to_random_port("tcp://127.0.0.1")
    push.connect(f"tcp://127.0.0.1:{port}")

    def send() -> None:
        for i in range(MESSAGES):
            push.send(b"%d" % i)
            time.sleep(GAP)

    return pull, threading.Thread(target=send, daemon=True)


def _drain(sock: Any, lib: Any, got: list[bytes]) -> None:
    while sock.getsockopt(lib.EVENTS) & lib.POLLIN:
        got.append(sock.recv(lib.NOBLOCK))


def select_loop(context: Any, lib: Any) -> tuple[int, list[bytes]]:
    pull, sender = _pull_and_paced_sender(context, lib)
    fd = pull.getsockopt(lib.FD)
    got: list[bytes] = []
    wakeups = 0
    sender.start()
    deadline = time.monotonic() + 10
    while len(got) < MESSAGES and time.monotonic() < deadline:
        readable, _, _ = select.select([fd], [], [], 1.0)
        if readable:
            wakeups += 1
            _drain(pull, lib, got)
            if wakeups > 100 * BUDGET:
                break  # spinning: stop counting
    sender.join(10)
    return wakeups, got


def test_select_loop_wakes_once_per_message_not_a_spin(ctx: zmq.Context) -> None:
    wakeups, got = select_loop(ctx, zmq)
    assert got == [b"%d" % i for i in range(MESSAGES)]
    assert wakeups <= BUDGET, f"{wakeups} wake-ups for {MESSAGES} messages: the FD spins"


def test_select_loop_matches_libzmq() -> None:
    with pyzmq.Context() as reference:
        ref_wakeups, ref_got = select_loop(reference, pyzmq)
        reference.destroy(linger=0)
    assert len(ref_got) == MESSAGES
    context = zmq.Context()
    try:
        wakeups, got = select_loop(context, zmq)
    finally:
        context.destroy(linger=0)
    assert len(got) == MESSAGES
    # libzmq wakes about once per message here; allow securemq one spurious wake per message.
    assert wakeups <= 2 * max(ref_wakeups, MESSAGES) + 5, (wakeups, ref_wakeups)


def test_fd_is_quiet_once_events_is_read_and_nothing_is_pending(ctx: zmq.Context) -> None:
    pull, push = ctx.socket(zmq.PULL), ctx.socket(zmq.PUSH)
    pull.linger = push.linger = 0
    push.connect(f"tcp://127.0.0.1:{pull.bind_to_random_port('tcp://127.0.0.1')}")
    fd = pull.getsockopt(zmq.FD)
    push.send(b"x")
    # As a loop does: the FD wakes it, EVENTS says what changed. The first wake-up may be the
    # peer's arrival (its handshake ended), with the message still on its way; reading EVENTS
    # then consumes that signal, and the message's arrival wakes the FD again.
    deadline = time.monotonic() + 5
    while not pull.getsockopt(zmq.EVENTS) & zmq.POLLIN:
        assert select.select([fd], [], [], max(0.0, deadline - time.monotonic()))[0], (
            "no wake-up for the message")
    assert pull.recv(zmq.NOBLOCK) == b"x"
    with pytest.raises(zmq.Again):
        pull.recv(zmq.NOBLOCK)  # nothing pending: this consumes the signal too
    assert not select.select([fd], [], [], 0)[0]
    push.send(b"y")
    assert select.select([fd], [], [], 5)[0], "the next change must make the FD readable"
    assert pull.getsockopt(zmq.EVENTS) & zmq.POLLIN
    assert pull.recv(zmq.NOBLOCK) == b"y"
    assert not pull.getsockopt(zmq.EVENTS) & zmq.POLLIN
    assert not select.select([fd], [], [], 0)[0]


def test_asyncio_add_reader_wakes_once_per_message(ctx: zmq.Context) -> None:
    pull, sender = _pull_and_paced_sender(ctx, zmq)
    got: list[bytes] = []
    wakeups = 0

    async def main() -> None:
        nonlocal wakeups
        loop = asyncio.get_running_loop()
        done = asyncio.Event()

        def on_readable() -> None:
            nonlocal wakeups
            wakeups += 1
            _drain(pull, zmq, got)
            if len(got) >= MESSAGES or wakeups > 100 * BUDGET:
                done.set()

        loop.add_reader(pull.getsockopt(zmq.FD), on_readable)
        sender.start()
        try:
            await asyncio.wait_for(done.wait(), 10)
        finally:
            loop.remove_reader(pull.getsockopt(zmq.FD))

    asyncio.run(main())
    sender.join(10)
    assert len(got) == MESSAGES
    assert wakeups <= BUDGET, f"{wakeups} wake-ups for {MESSAGES} messages"


def test_tornado_zmqstream_handler_runs_once_per_message(ctx: zmq.Context) -> None:
    pull, sender = _pull_and_paced_sender(ctx, zmq)
    got: list[list[bytes]] = []
    calls = 0

    class Counting(ZMQStream):
        def _handle_events(self, fd: Any, events: int) -> None:
            nonlocal calls
            calls += 1
            super()._handle_events(fd, events)

    async def main() -> None:
        done = asyncio.Event()
        stream = Counting(pull)

        def on_recv(msg: list[bytes]) -> None:
            got.append(msg)
            if len(got) >= MESSAGES:
                done.set()

        stream.on_recv(on_recv)
        sender.start()
        try:
            await asyncio.wait_for(done.wait(), 10)
            await asyncio.sleep(0.05)  # (one trailing look at EVENTS may still come)
            idle_from = calls
            await asyncio.sleep(0.2)  # idle: the handler must not run at all now
            assert calls == idle_from, "an idle stream's handler keeps running (spin)"
        finally:
            stream.close()

    asyncio.run(main())
    sender.join(10)
    assert [m[0] for m in got] == [b"%d" % i for i in range(MESSAGES)]
    assert calls <= BUDGET, f"{calls} handler runs for {MESSAGES} messages"
