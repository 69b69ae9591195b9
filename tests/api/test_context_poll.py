"""Context lifetime (term/destroy/instance/with) and Poller/select over sockets and raw fds."""

from __future__ import annotations

import socket
import threading
import time

import pytest

import securemq as zmq
from tests.api.conftest import MakeSocket, bind_any


# -- Poller and select ---------------------------------------------------------------------------
def test_poller_mixes_securemq_sockets_and_a_raw_fd(make: MakeSocket, transport: str) -> None:
    pull = make(zmq.PULL)
    push = make(zmq.PUSH)
    push.connect(bind_any(pull, transport))
    left, right = socket.socketpair()
    try:
        poller = zmq.Poller()
        poller.register(pull, zmq.POLLIN)
        poller.register(left, zmq.POLLIN)
        poller.register(push, zmq.POLLOUT)
        assert pull in poller and left in poller
        # Only PUSH is ready (it can write once connected).
        ready = dict(poller.poll(2000))
        assert ready.get(push) == zmq.POLLOUT
        assert pull not in ready and left.fileno() not in ready and left not in ready
        push.send(b"msg")
        right.send(b"raw")
        seen: dict[object, int] = {}
        deadline = time.monotonic() + 5
        while (pull not in seen or left.fileno() not in seen) and time.monotonic() < deadline:
            seen.update(poller.poll(500))
        assert seen.get(pull) == zmq.POLLIN
        # pyzmq reports a plain Python socket by its integer file descriptor.
        assert seen.get(left.fileno()) == zmq.POLLIN
        assert pull.recv() == b"msg"
        assert left.recv(3) == b"raw"
        poller.unregister(push)
        poller.unregister(left)
        assert poller.poll(50) == []
        poller.modify(pull, zmq.POLLIN | zmq.POLLOUT)
        assert push not in poller
    finally:
        left.close()
        right.close()


def test_poller_timeout_is_milliseconds(make: MakeSocket) -> None:
    pull = make(zmq.PULL)
    pull.bind("inproc://poll-timeout")
    poller = zmq.Poller()
    poller.register(pull, zmq.POLLIN)
    start = time.monotonic()
    assert poller.poll(150) == []
    assert 0.13 <= time.monotonic() - start < 1.5
    assert poller.poll(0) == []


def test_poller_wakes_when_a_message_arrives_from_another_thread(make: MakeSocket) -> None:
    pull = make(zmq.PULL)
    pull.bind("inproc://poll-wake")
    push = make(zmq.PUSH)
    push.connect("inproc://poll-wake")
    poller = zmq.Poller()
    poller.register(pull, zmq.POLLIN)
    timer = threading.Timer(0.1, lambda: push.send(b"late"))
    timer.start()
    try:
        start = time.monotonic()
        assert poller.poll(5000) == [(pull, zmq.POLLIN)]
        assert time.monotonic() - start < 2
    finally:
        timer.join()
    assert pull.recv() == b"late"


def test_select(make: MakeSocket) -> None:
    pull = make(zmq.PULL)
    pull.bind("inproc://select")
    push = make(zmq.PUSH)
    push.connect("inproc://select")
    left, right = socket.socketpair()
    try:
        rlist, wlist, xlist = zmq.select([pull, left], [push], [], timeout=2)
        assert rlist == [] and wlist == [push] and xlist == []
        push.send(b"x")
        right.send(b"y")
        rlist, _, _ = zmq.select([pull, left], [], [], timeout=2)
        deadline = time.monotonic() + 5
        while len(rlist) < 2 and time.monotonic() < deadline:
            rlist, _, _ = zmq.select([pull, left], [], [], timeout=0.5)
        assert pull in rlist and left in rlist
        start = time.monotonic()
        pull.recv()
        left.recv(1)
        assert zmq.select([pull, left], [], [], timeout=0.1) == ([], [], [])
        assert time.monotonic() - start < 1.5
    finally:
        left.close()
        right.close()


def test_socket_poll_and_events(make: MakeSocket) -> None:
    pull = make(zmq.PULL)
    pull.bind("inproc://sock-poll")
    push = make(zmq.PUSH)
    push.connect("inproc://sock-poll")
    assert pull.poll(50) == 0
    assert push.poll(1000, zmq.POLLOUT) == zmq.POLLOUT
    push.send(b"x")
    assert pull.poll(1000) == zmq.POLLIN
    assert pull.getsockopt(zmq.EVENTS) & zmq.POLLIN
    pull.recv()
    assert not pull.getsockopt(zmq.EVENTS) & zmq.POLLIN


# -- Context -----------------------------------------------------------------------------------
def test_context_manager_destroys_sockets() -> None:
    with zmq.Context() as context:
        sock = context.socket(zmq.PUSH)
        sock.linger = 0
        sock.connect("tcp://127.0.0.1:9")  # never connects; must not hold up the exit
        sock.send(b"pending", zmq.NOBLOCK)
    assert sock.closed
    assert context.closed


def test_context_instance_is_shared() -> None:
    first = zmq.Context.instance()
    try:
        assert zmq.Context.instance() is first
        result: list[zmq.Context] = []
        thread = threading.Thread(target=lambda: result.append(zmq.Context.instance()))
        thread.start()
        thread.join(5)
        assert result == [first]
    finally:
        first.term()
    second = zmq.Context.instance()
    try:
        assert second is not first, "a terminated instance must be replaced"
    finally:
        second.term()


def test_term_after_closing_sockets_returns_promptly() -> None:
    context = zmq.Context()
    pull = context.socket(zmq.PULL)
    pull.bind("tcp://127.0.0.1:*")
    push = context.socket(zmq.PUSH)
    push.connect(pull.last_endpoint.decode())
    push.send(b"x")
    assert pull.recv() == b"x"
    push.close()
    pull.close()
    start = time.monotonic()
    context.term()
    assert time.monotonic() - start < 2
    assert context.closed


def test_destroy_with_linger_zero_drops_pending() -> None:
    context = zmq.Context()
    push = context.socket(zmq.PUSH)
    push.connect("tcp://127.0.0.1:9")
    push.send(b"never delivered", zmq.NOBLOCK)
    start = time.monotonic()
    context.destroy(linger=0)
    assert time.monotonic() - start < 2
    assert push.closed and context.closed


def test_blocked_recv_gets_context_terminated() -> None:
    context = zmq.Context()
    ready = threading.Event()
    outcome: list[zmq.ZMQError] = []

    def worker() -> None:
        sock = context.socket(zmq.PULL)
        sock.bind("inproc://term-me")
        ready.set()
        try:
            sock.recv()
        except zmq.ContextTerminated as exc:
            outcome.append(exc)
        finally:
            sock.close()

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    assert ready.wait(5)
    time.sleep(0)  # let the worker enter recv; term() must work either way
    terminator = threading.Thread(target=context.term, daemon=True)
    terminator.start()
    thread.join(5)
    terminator.join(5)
    assert not thread.is_alive() and not terminator.is_alive(), "term() did not complete"
    assert len(outcome) == 1
    assert outcome[0].errno == zmq.ETERM
    assert isinstance(outcome[0], zmq.ZMQError)


def test_blocked_poller_gets_context_terminated() -> None:
    context = zmq.Context()
    ready = threading.Event()
    outcome: list[zmq.ZMQError] = []

    def worker() -> None:
        sock = context.socket(zmq.PULL)
        sock.bind("inproc://term-poller")
        poller = zmq.Poller()
        poller.register(sock, zmq.POLLIN)
        ready.set()
        try:
            poller.poll()
        except zmq.ZMQError as exc:
            outcome.append(exc)
        finally:
            sock.close()

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    assert ready.wait(5)
    terminator = threading.Thread(target=context.term, daemon=True)
    terminator.start()
    thread.join(5)
    terminator.join(5)
    assert not thread.is_alive() and not terminator.is_alive()
    assert outcome and outcome[0].errno == zmq.ETERM


def _linger_forever_delivery(wait_for_connection: bool) -> None:
    receiver_ctx = zmq.Context()
    sender_ctx = zmq.Context()
    try:
        pull = receiver_ctx.socket(zmq.PULL)
        pull.linger = 0
        pull.rcvtimeo = 5000
        endpoint = bind_any(pull, "tcp")
        push = sender_ctx.socket(zmq.PUSH)
        push.linger = -1
        push.connect(endpoint)
        first = 0
        if wait_for_connection:
            push.send(b"0")
            assert pull.recv() == b"0"
            first = 1
        count = 500
        for i in range(first, count):
            push.send(b"%d" % i)
        push.close()
        terminator = threading.Thread(target=sender_ctx.term, daemon=True)
        terminator.start()
        got = [int(pull.recv()) for _ in range(first, count)]
        assert got == list(range(first, count))
        terminator.join(5)
        assert not terminator.is_alive(), "term() should return once everything is written"
    finally:
        receiver_ctx.destroy(linger=0)
        if not sender_ctx.closed:
            sender_ctx.destroy(linger=0)


def test_linger_forever_and_term_deliver_everything_over_tcp() -> None:
    """Messages queued right after connect() (connection not up yet) are still delivered."""
    _linger_forever_delivery(wait_for_connection=False)


def test_linger_forever_and_term_deliver_everything_once_connected() -> None:
    _linger_forever_delivery(wait_for_connection=True)


def test_socket_after_term_raises() -> None:
    context = zmq.Context()
    context.term()
    with pytest.raises(zmq.ZMQError):
        context.socket(zmq.PUSH)


def test_socket_kwargs_set_options(ctx: zmq.Context) -> None:
    sock = ctx.socket(zmq.DEALER, linger=0, routing_id=b"kw")
    assert sock.linger == 0 and sock.routing_id == b"kw"
