"""Wake-ups cannot be lost.

Blocking waits have no time slices any more, so a lost wake-up is a hang: every wait here is
unbounded (or far longer than the work needs) and the test's pytest timeout is what fails it.
The Waker is hammered by a producer thread against a consumer that follows the waiter's protocol
(clear, check, wait); then whole sockets exchange many messages between threads with blocking
calls and no timeouts, over inproc and tcp, for both waker kinds (eventfd and pipe).
"""

from __future__ import annotations

import os
import random
import select
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Iterator

import pytest

import securemq as zmq
from securemq import pipe

TRIALS = 20_000


@pytest.fixture(params=["eventfd", "pipe"] if hasattr(os, "eventfd") else ["pipe"])
def waker_kind(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(pipe, "WAKER_KIND", request.param)
    return str(request.param)


@pytest.fixture
def ctx() -> Iterator[zmq.Context]:
    context = zmq.Context()
    yield context
    context.destroy(linger=0)


@pytest.fixture
def preempt_often() -> Iterator[None]:
    """Switch threads every few microseconds, so wake() and clear() interleave mid-call."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(old)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("how", ["wait", "select"])
def test_waker_never_loses_a_wake_up(waker_kind: str, how: str, preempt_often: None) -> None:
    """Ping-pong of 20,000 items through two queues, each side waiting without a deadline,
    either with ``wait()`` or, as an event loop does, with ``select`` on ``fileno()``."""
    to_consumer: deque[int] = deque()
    to_producer: deque[int] = deque()
    consumer_waker, producer_waker = pipe.Waker(), pipe.Waker()
    rng = random.Random(7)
    yields = [rng.random() < 0.3 for _ in range(TRIALS)]

    def take(queue: deque[int], waker: pipe.Waker) -> int:
        while True:
            waker.clear()
            if queue:
                return queue.popleft()
            if how == "wait":
                waker.wait(None)
            else:
                select.select([waker.fileno()], [], [])

    def producer() -> None:
        for i in range(TRIALS):
            to_consumer.append(i)
            consumer_waker.wake()
            if yields[i]:
                os.sched_yield()
            assert take(to_producer, producer_waker) == i

    thread = threading.Thread(target=producer, daemon=True)
    thread.start()
    for i in range(TRIALS):
        assert take(to_consumer, consumer_waker) == i
        to_producer.append(i)
        producer_waker.wake()
    thread.join()
    consumer_waker.close()
    producer_waker.close()


def test_cleared_waker_descriptor_is_not_readable(waker_kind: str) -> None:
    """Flag and descriptor agree: after clear() the fd is quiet (event loops do not spin)."""
    waker = pipe.Waker()
    try:
        for _ in range(100):
            waker.wake()
            waker.wake()
            assert select.select([waker.fileno()], [], [], 0)[0]
            waker.clear()
            assert not select.select([waker.fileno()], [], [], 0)[0]
    finally:
        waker.close()


def test_wake_after_close_is_harmless(waker_kind: str) -> None:
    """close() releases the descriptors at once; a late wake() from another thread must not
    write into a descriptor that reused the number, and a waiter returns at once."""
    waker = pipe.Waker()
    fd = waker.fileno()
    waker.close()
    assert waker.fileno() == -1
    read_end, write_end = os.pipe()  # likely to reuse the waker's numbers
    try:
        waker.wake()
        waker.clear()
        assert waker.wait(None), "a closed waker must not block a waiter"
        os.set_blocking(read_end, False)
        with pytest.raises(BlockingIOError):
            os.read(read_end, 1)  # nothing was written into the reused descriptors
    finally:
        os.close(read_end)
        os.close(write_end)
    assert fd >= 0


@pytest.mark.timeout(120)
@pytest.mark.parametrize("transport", ["inproc", "tcp"])
def test_blocking_ping_pong_between_threads_never_stalls(ctx: zmq.Context, transport: str,
                                                         waker_kind: str) -> None:
    """5,000 blocking round trips (no RCVTIMEO): one lost wake-up hangs the test."""
    server = ctx.socket(zmq.PAIR)
    client = ctx.socket(zmq.PAIR)
    for sock in (server, client):
        sock.linger = 0
    if transport == "inproc":
        server.bind("inproc://wakeups")
        client.connect("inproc://wakeups")
    else:
        port = server.bind_to_random_port("tcp://127.0.0.1")
        client.connect(f"tcp://127.0.0.1:{port}")
    rounds = 5_000

    def echo() -> None:
        for _ in range(rounds):
            server.send(server.recv())

    thread = threading.Thread(target=echo, daemon=True)
    thread.start()
    for i in range(rounds):
        client.send(b"%d" % i)
        assert client.recv() == b"%d" % i
    thread.join()


@pytest.mark.timeout(120)
def test_burst_with_many_wakes_delivers_everything(ctx: zmq.Context, waker_kind: str) -> None:
    """A producer thread sends 50,000 messages in bursts; the consumer blocks in recv."""
    pull = ctx.socket(zmq.PULL)
    push = ctx.socket(zmq.PUSH)
    for sock in (pull, push):
        sock.linger = 0
    pull.rcvhwm = push.sndhwm = 100  # the writer meets its HWM and waits for room too
    port = pull.bind_to_random_port("tcp://127.0.0.1")
    push.connect(f"tcp://127.0.0.1:{port}")
    count = 50_000
    rng = random.Random(3)
    pauses = [rng.random() < 0.01 for _ in range(count)]

    def produce() -> None:
        for i in range(count):
            push.send(b"m")
            if pauses[i]:
                os.sched_yield()

    thread = threading.Thread(target=produce, daemon=True)
    thread.start()
    for _ in range(count):
        assert pull.recv() == b"m"
    thread.join()


def test_forced_pipe_waker_in_a_fresh_process() -> None:
    """SECUREMQ_WAKER=pipe (the macOS channel) works end to end in a new interpreter."""
    code = (
        "import securemq as zmq, securemq.pipe as p\n"
        "assert p.WAKER_KIND == 'pipe'\n"
        "c = zmq.Context(); a = c.socket(zmq.PAIR); b = c.socket(zmq.PAIR)\n"
        "a.bind('inproc://x'); b.connect('inproc://x'); b.send(b'hi')\n"
        "assert a.recv() == b'hi'; c.destroy(0); print('ok')\n"
    )
    env = dict(os.environ, SECUREMQ_WAKER="pipe")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=60, check=True)
    assert out.stdout.strip() == "ok"
