"""Message sizes and volumes across implementations, both directions.

Sizes straddle the ZMTP short/long frame boundary (255 bytes) and reach 10 MiB; multipart
messages keep their frames and boundaries; 10,000 small messages keep their order.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import pytest
import zmq

import securemq

from .conftest import Pair

MiB = 1 << 20
_DIRECTIONS = ["smq_to_pyzmq", "pyzmq_to_smq"]


def _ends(pair: Pair, smq_binds: bool, direction: str) -> tuple[Any, Any]:
    """(sender, receiver) for PUSH/PULL in the requested direction."""
    if direction == "smq_to_pyzmq":
        push, pull = pair.make(securemq.PUSH, zmq.PULL, smq_binds)
        return push, pull
    pull2, push2 = pair.make(securemq.PULL, zmq.PUSH, smq_binds)
    return push2, pull2


@pytest.mark.parametrize("direction", _DIRECTIONS)
@pytest.mark.parametrize("size", [0, 1, 255, 256, 65536, MiB, 10 * MiB],
                         ids=["0B", "1B", "255B", "256B", "64KiB", "1MiB", "10MiB"])
def test_message_sizes(pair: Pair, smq_binds: bool, direction: str, size: int) -> None:
    sender, receiver = _ends(pair, smq_binds, direction)
    payload = os.urandom(size)
    sender.send(payload)
    sender.send(b"after")
    got = receiver.recv()
    assert len(got) == size
    assert got == payload
    assert receiver.recv() == b"after"


@pytest.mark.parametrize("direction", _DIRECTIONS)
def test_fifty_part_message(pair: Pair, smq_binds: bool, direction: str) -> None:
    sender, receiver = _ends(pair, smq_binds, direction)
    parts = [b"part %02d " % i + os.urandom(i * 7) for i in range(50)]
    parts[10] = b""
    parts[20] = os.urandom(300)  # one long-form frame in the middle
    sender.send_multipart(parts)
    sender.send_multipart([b"next", b"message"])
    assert receiver.recv_multipart() == parts
    assert receiver.recv_multipart() == [b"next", b"message"]


@pytest.mark.parametrize("direction", _DIRECTIONS)
def test_fifty_part_message_frame_by_frame(pair: Pair, smq_binds: bool, direction: str) -> None:
    """SNDMORE part by part on one side, RCVMORE part by part on the other."""
    sender, receiver = _ends(pair, smq_binds, direction)
    for i in range(49):
        sender.send(b"%d" % i, zmq.SNDMORE)
    sender.send(b"49")
    got = []
    while True:
        got.append(receiver.recv())
        if not receiver.getsockopt(zmq.RCVMORE):
            break
    assert got == [b"%d" % i for i in range(50)]


@pytest.mark.parametrize("direction", _DIRECTIONS)
def test_ten_thousand_messages_in_order(pair: Pair, smq_binds: bool, direction: str) -> None:
    """The sender runs in its own thread: 10,000 messages exceed both HWMs plus the kernel's
    ipc buffers (libzmq alone blocks at about 3,000), so flow control is exercised too."""
    sender, receiver = _ends(pair, smq_binds, direction)
    count = 10_000
    errors: list[BaseException] = []

    def produce() -> None:
        try:
            for i in range(count):
                sender.send(i.to_bytes(4, "big"))
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=produce, daemon=True)
    thread.start()
    got = [int.from_bytes(receiver.recv(), "big") for _ in range(count)]
    thread.join(10)
    assert not errors, errors
    assert got == list(range(count))
    assert not receiver.poll(50), "more messages than were sent"


def _mixed_stream(count: int) -> list[list[bytes]]:
    """Runs of equal short frames (what the decoder takes with strided slices: 1, 15, 16, 17,
    200 and 1,000 in a row, several sizes) broken by multipart messages and long frames; every
    message numbered, so a lost, doubled or reordered one shows."""
    shapes = [(1000, 1), (17, 3), (16, 0), (15, 2), (200, 64), (1, 255), (300, 1)]
    out: list[list[bytes]] = []
    index = 0
    while len(out) < count:
        run, size = shapes[index % len(shapes)]
        for _ in range(run):
            number = len(out).to_bytes(4, "big")
            out.append([(number * 64)[:size]] if size >= 4 else [bytes([len(out) % 251]) * size])
        if index % 3 == 0:
            out.append([b"multi", len(out).to_bytes(4, "big")])
        if index % 5 == 0:
            out.append([len(out).to_bytes(4, "big") * 100])  # a long (> 255 B) frame
        index += 1
    return out[:count]


@pytest.mark.parametrize("direction", _DIRECTIONS)
def test_a_stream_of_mixed_shapes_arrives_exactly(pair: Pair, smq_binds: bool,
                                                  direction: str) -> None:
    """Whatever the sender batches into its writes and wherever the reads cut them, every
    message arrives once, whole and in order (the receiving decoder's runs of equal frames)."""
    sender, receiver = _ends(pair, smq_binds, direction)
    messages = _mixed_stream(20_000)
    errors: list[BaseException] = []

    def produce() -> None:
        try:
            for msg in messages:
                sender.send_multipart(msg)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=produce, daemon=True)
    thread.start()
    for index, want in enumerate(messages):
        got = receiver.recv_multipart()
        assert got == want, f"message {index}"
    thread.join(10)
    assert not errors, errors
    assert not receiver.poll(50), "more messages than were sent"


def test_ten_thousand_pair_messages_both_ways_interleaved(pair: Pair, smq_binds: bool) -> None:
    """Both directions at once on one PAIR connection; the pyzmq side reads in batches."""
    s, p = pair.make(securemq.PAIR, zmq.PAIR, smq_binds)
    count = 10_000
    batch = 500
    for start in range(0, count, batch):
        for i in range(start, start + batch):
            s.send(b"s%d" % i)
            p.send(b"p%d" % i)
        assert [p.recv() for _ in range(batch)] == [b"s%d" % i for i in range(start, start + batch)]
        assert [s.recv() for _ in range(batch)] == [b"p%d" % i for i in range(start, start + batch)]
