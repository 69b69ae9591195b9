"""Clean shutdown: LINGER -1 makes term() deliver every queued message; LINGER 0 returns at once."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import zmq as pyzmq

import securemq

from .faultproxy import FaultProxy
from .helpers import Monitor, check_message, free_port, seq_message

COUNT = 10_000
SIZE = 4096  # 40 MB in all: more than the kernel buffers hold, so term() must really wait


def _term_in_thread(ctx: securemq.Context) -> threading.Thread:
    thread = threading.Thread(target=ctx.term, daemon=True)
    thread.start()
    return thread


def _receive_all(pull: Any) -> list[int]:
    return [check_message(pull.recv_multipart(), 1, SIZE) for _ in range(COUNT)]


@pytest.mark.parametrize("receiver", ["securemq", "pyzmq"])
def test_linger_forever_term_delivers_every_queued_message(
    sctx: securemq.Context, pctx: Any, receiver: str
) -> None:
    module: Any = securemq if receiver == "securemq" else pyzmq
    pull = (sctx if receiver == "securemq" else pctx).socket(module.PULL)
    pull.linger = 0
    pull.rcvhwm = 10
    pull.rcvtimeo = 10_000
    pull.bind("tcp://127.0.0.1:*")

    ctx = securemq.Context()
    push = ctx.socket(securemq.PUSH)
    push.sndhwm = 0  # unbounded: all 10 000 are queued
    push.linger = -1
    push.connect(pull.last_endpoint.decode())
    for seq in range(COUNT):
        push.send_multipart(seq_message(seq, 1, SIZE))
    push.close()
    term = _term_in_thread(ctx)
    term.join(0.2)
    assert term.is_alive(), "term() returned while messages were still queued"
    assert _receive_all(pull) == list(range(COUNT))
    term.join(10)
    assert not term.is_alive(), "term() did not return after the queue was delivered"


def test_linger_forever_term_waits_for_a_peer_that_binds_later(sctx: securemq.Context) -> None:
    endpoint = f"tcp://127.0.0.1:{free_port()}"
    ctx = securemq.Context()
    push = ctx.socket(securemq.PUSH)
    push.sndhwm = 0
    push.linger = -1
    push.reconnect_ivl = 20
    push.connect(endpoint)  # nobody there yet: everything waits in the connecter's queue
    for seq in range(COUNT):
        push.send_multipart(seq_message(seq, 1, SIZE))
    push.close()
    term = _term_in_thread(ctx)
    term.join(0.2)
    assert term.is_alive()

    pull = sctx.socket(securemq.PULL)
    pull.linger = 0
    pull.rcvtimeo = 10_000
    pull.bind(endpoint)
    assert _receive_all(pull) == list(range(COUNT))
    term.join(10)
    assert not term.is_alive()


def _full_queue_behind_dead_peer(ctx: securemq.Context, sctx: securemq.Context,
                                 proxy_box: list[FaultProxy]) -> securemq.Socket:
    pull = sctx.socket(securemq.PULL)
    pull.linger = 0
    pull.rcvhwm = 1
    pull.bind("tcp://127.0.0.1:*")
    port = int(pull.last_endpoint.decode().rsplit(":", 1)[1])
    proxy = FaultProxy("127.0.0.1", port)
    proxy_box.append(proxy)
    push = ctx.socket(securemq.PUSH)
    push.sndhwm = 100
    monitor = Monitor(push, securemq)
    push.connect(proxy.endpoint)
    assert monitor.wait(securemq.EVENT_HANDSHAKE_SUCCEEDED, 1)
    monitor.close()  # term() waits for every socket, the monitor's PAIR too
    proxy.stall()  # the peer is now dead to us: nothing read, nothing answered
    for _ in range(100_000):
        try:
            push.send_multipart(seq_message(0, 1, 64 * 1024), securemq.NOBLOCK)
        except securemq.Again:
            break
    else:
        pytest.fail("the send queue never filled up")
    return push


@pytest.mark.parametrize("how", ["destroy", "close-term"])
def test_linger_zero_returns_at_once_with_dead_peer_and_full_queue(
    sctx: securemq.Context, how: str
) -> None:
    proxies: list[FaultProxy] = []
    ctx = securemq.Context()
    try:
        push = _full_queue_behind_dead_peer(ctx, sctx, proxies)
        started = time.monotonic()
        if how == "destroy":
            ctx.destroy(linger=0)
        else:
            push.linger = 0
            push.close()
            ctx.term()
        took = time.monotonic() - started
        assert took < 0.5, f"{how} took {took:.3f} s with LINGER 0"
    finally:
        ctx.destroy(linger=0)
        for proxy in proxies:
            proxy.close()


def test_linger_zero_term_returns_at_once_when_never_connected() -> None:
    ctx = securemq.Context()
    push = ctx.socket(securemq.PUSH)
    push.sndhwm = 10
    push.linger = 0
    push.connect(f"tcp://127.0.0.1:{free_port()}")  # nothing listens there
    sent = 0
    with pytest.raises(securemq.Again):
        for _ in range(1000):
            push.send(b"queued", securemq.NOBLOCK)
            sent += 1
    assert sent >= 10
    started = time.monotonic()
    push.close()
    ctx.term()
    assert time.monotonic() - started < 0.5
