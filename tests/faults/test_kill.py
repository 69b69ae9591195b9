"""Peer processes SIGKILLed mid-stream: no partial message, queues survive, reconnect delivers."""

from __future__ import annotations

import time

import pytest

import securemq

from .faultproxy import UP, FaultProxy
from .helpers import (
    Monitor,
    assert_strictly_increasing,
    check_message,
    free_port,
    peer_process,
    seq_message,
)

MIB = 1 << 20
BIG_PARTS = 50


@pytest.mark.parametrize("impl", ["securemq", "pyzmq"])
def test_sender_killed_mid_message_delivers_no_partial_message(
    sctx: securemq.Context, impl: str
) -> None:
    pull = sctx.socket(securemq.PULL)
    pull.linger = 0
    pull.rcvtimeo = 10_000
    monitor = Monitor(pull, securemq)
    pull.bind("tcp://127.0.0.1:*")
    port = int(pull.last_endpoint.decode().rsplit(":", 1)[1])
    big = ["--parts", str(BIG_PARTS), "--part-size", str(MIB), "--impl", impl]
    with FaultProxy("127.0.0.1", port) as proxy:
        # The proxy only counts: it forwards the first message and 10 MiB of the second, then
        # holds the rest, so that the sender is blocked inside the second message when killed.
        first_message_bytes = BIG_PARTS * (MIB + 9) + 100  # frames + greeting/handshake
        proxy.stall_after(first_message_bytes + 10 * MIB, UP, future=True)
        with peer_process(["push", proxy.endpoint, *big]) as sender:
            assert sender.expect_line("ready"), sender.stderr()
            msg = pull.recv_multipart()
            assert check_message(msg, BIG_PARTS, MIB) == 0
            assert sender.expect_line("sent 1"), sender.stderr()
            deadline = time.monotonic() + 10
            while proxy.stalled_bytes(UP) < 4 * MIB:  # the sender is now blocked mid-message
                assert time.monotonic() < deadline, "the sender never filled the stalled link"
                time.sleep(0.005)
            sender.kill()
            assert sender.proc.returncode == -9
            proxy.unstall()  # what the dead sender had written arrives, then its FIN
            assert monitor.wait(securemq.EVENT_DISCONNECTED, 1, timeout=10), monitor.names()
        with pytest.raises(securemq.Again):
            pull.recv_multipart(securemq.NOBLOCK)
        # The receiver got at least 10 MiB of the second message, and never all of it.
        assert first_message_bytes + 10 * MIB <= proxy.forwarded[UP] < 2 * BIG_PARTS * MIB

        # A new sender on a new connection: its message arrives whole (the decoder starts clean).
        proxy.disarm_future()
        with peer_process(["push", proxy.endpoint, "--count", "1", "--start", "7", *big]):
            msg = pull.recv_multipart()
            assert check_message(msg, BIG_PARTS, MIB) == 7


@pytest.mark.parametrize("impl", ["securemq", "pyzmq"])
def test_push_keeps_queueing_while_peer_is_dead_and_delivers_after_restart(
    sctx: securemq.Context, impl: str
) -> None:
    port = free_port()
    endpoint = f"tcp://127.0.0.1:{port}"
    pull_args = ["pull", endpoint, "--bind", "--impl", impl]
    push = sctx.socket(securemq.PUSH)
    push.linger = 0
    push.sndtimeo = 2000
    monitor = Monitor(push, securemq)
    with peer_process(pull_args) as first:
        assert first.expect_line("ready"), first.stderr()
        push.connect(endpoint)
        for seq in range(100):
            push.send_multipart(seq_message(seq))
        assert first.expect(lambda _: len(first.received()) == 100), first.received()[-3:]
        first.kill()
        assert monitor.wait(securemq.EVENT_DISCONNECTED, 1), monitor.names()
        # Nobody listens now: sends still succeed at once, into the connecter's queue.
        started = time.monotonic()
        for seq in range(100, 600):
            push.send_multipart(seq_message(seq))
        assert time.monotonic() - started < 2.0
        first_seqs = [seq for seq, *_ in first.received()]
    assert first_seqs == list(range(100))

    with peer_process(pull_args) as second:
        assert second.expect_line("ready"), second.stderr()
        assert monitor.wait(securemq.EVENT_HANDSHAKE_SUCCEEDED, 2), monitor.names()
        assert second.expect(lambda _: len(second.received()) >= 500, timeout=15), (
            f"{len(second.received())} of 500 queued messages delivered"
        )
        push.send_multipart([b"END"])
        assert second.expect_line("done")
        received = second.received()
    seqs = [seq for seq, *_ in received]
    assert_strictly_increasing(seqs)
    assert seqs == list(range(100, 600)), "queued messages lost or duplicated across restart"
    assert all(ok and parts == 1 for _, parts, _, ok in received)
