"""Pipe wake-ups: the reader on empty -> non-empty, the writer at the low-water mark (HWM / 2)."""

from __future__ import annotations

import threading

import pytest

from securemq.pipe import Pipe, write_to_all


def _counting(pipe: Pipe) -> dict[str, int]:
    counts = {"reader": 0, "writer": 0}

    def reader() -> None:
        counts["reader"] += 1

    def writer() -> None:
        counts["writer"] += 1

    pipe.reader_wake, pipe.writer_wake = reader, writer
    return counts


def test_reader_is_woken_only_when_the_pipe_stops_being_empty() -> None:
    pipe = Pipe(10)
    counts = _counting(pipe)
    for index in range(3):
        assert pipe.write([b"%d" % index])
    assert counts["reader"] == 1
    pipe.read_many()
    assert pipe.write([b"again"])
    assert counts["reader"] == 2


@pytest.mark.parametrize("reads", ["one by one", "in batches of 3"])
def test_writer_is_woken_once_when_a_full_pipe_drains_to_half(reads: str) -> None:
    pipe = Pipe(10)
    counts = _counting(pipe)
    for index in range(10):
        assert pipe.write([b"%d" % index])
    assert not pipe.write([b"over"])  # full
    taken: list[list[bytes]] = []
    while pipe.readable():
        if reads == "one by one":
            msg = pipe.read()
            assert msg is not None
            taken.append(msg)
        else:
            taken.extend(pipe.read_many(3))
        # Woken exactly when the pipe is at or below 5 for the first time.
        assert counts["writer"] == (1 if len(pipe) <= 5 else 0), f"{len(pipe)} queued"
    assert counts["writer"] == 1
    assert taken == [[b"%d" % index] for index in range(10)]


def test_unbounded_pipe_never_wakes_the_writer() -> None:
    pipe = Pipe(0)
    counts = _counting(pipe)
    for index in range(100):
        assert pipe.write([b"%d" % index])
    assert len(pipe.read_many()) == 100
    assert counts["writer"] == 0


def test_write_to_all_skips_full_and_closed_pipes() -> None:
    full, closed, roomy = Pipe(1), Pipe(5), Pipe(5)
    full.write([b"old"])
    closed.closed = True
    counts = _counting(roomy)
    assert write_to_all([full, closed, roomy], [b"new"]) == 2  # missed by two
    assert full.read_many() == [[b"old"]]
    assert closed.read_many() == []
    assert roomy.read_many() == [[b"new"]]
    assert counts["reader"] == 1


def test_reader_and_writer_threads_move_everything_without_loss() -> None:
    """A writer that waits at the HWM and a reader in batches: every message arrives, in order,
    and the writer is never left waiting on a pipe that has room."""
    pipe = Pipe(8)
    room = threading.Event()
    pipe.writer_wake = room.set
    total = 20_000
    received: list[int] = []

    def write() -> None:
        for index in range(total):
            while True:
                room.clear()
                if pipe.write([index.to_bytes(4, "big")]):
                    break
                assert room.wait(5), f"writer never woken (queued: {len(pipe)})"

    writer = threading.Thread(target=write)
    writer.start()
    while len(received) < total:
        for msg in pipe.read_many(3):
            received.append(int.from_bytes(msg[0], "big"))
    writer.join(5)
    assert received == list(range(total))


def test_write_or_drop_counts_what_a_full_pipe_refuses() -> None:
    """Statistics (Socket.stats): a full pipe's refusal is a drop, a closed pipe's is not
    (nobody will read it), and a message that fits is counted as carried."""
    pipe = Pipe(2)
    assert pipe.write_or_drop([b"1"]) and pipe.write_or_drop([b"2"])
    assert not pipe.write_or_drop([b"3"])
    assert (pipe.messages, pipe.dropped) == (2, 1)
    pipe.closed = True
    assert not pipe.write_or_drop([b"4"])
    assert (pipe.messages, pipe.dropped) == (2, 1)


def test_write_from_moves_what_fits_from_the_front_in_order() -> None:
    from collections import deque

    from securemq.pipe import ConflatePipe

    pipe = Pipe(4)
    counts = _counting(pipe)
    assert pipe.write([b"old"])
    backlog = deque([b"%d" % index] for index in range(6))
    pipe.write_from(backlog)
    assert [m[0] for m in pipe.read_many()] == [b"old", b"0", b"1", b"2"]
    assert [m[0] for m in backlog] == [b"3", b"4", b"5"]
    assert counts["reader"] == 1  # not empty when the backlog came: no second wake-up
    pipe.write_from(backlog)
    assert [m[0] for m in pipe.read_many()] == [b"3", b"4", b"5"] and not backlog
    assert counts["reader"] == 2
    assert pipe.messages == 7

    unbounded = Pipe(0)
    backlog = deque([b"%d" % index] for index in range(1000))
    unbounded.write_from(backlog)
    assert not backlog and len(unbounded) == 1000

    closed = Pipe(4)
    closed.closed = True
    backlog = deque([[b"kept"]])
    closed.write_from(backlog)
    assert list(backlog) == [[b"kept"]]

    conflate = ConflatePipe(1)
    backlog = deque([[b"a"], [b"b"], [b"c"]])
    conflate.write_from(backlog)
    assert conflate.read_many() == [[b"c"]] and not backlog


def test_write_from_wakes_a_reader_that_emptied_the_pipe_meanwhile() -> None:
    """The reader (another thread) takes the last message between write_from's look at the
    pipe and its extend: the pipe goes empty -> non-empty again, and the reader, which may be
    about to wait, must be woken (a lost wake-up here hung a PULL mid-stream)."""
    from collections import deque

    class RacingQueue(deque[list[bytes]]):
        def extend(self, items: object) -> None:
            self.clear()  # what the reader took meanwhile
            super().extend(items)  # type: ignore[arg-type]

    pipe = Pipe(10)
    counts = _counting(pipe)
    assert pipe.write([b"last"])
    assert counts["reader"] == 1
    pipe._queue = RacingQueue(pipe._queue)
    pipe.write_from(deque([[b"a"], [b"b"]]))
    assert counts["reader"] == 2
    assert pipe.read_many() == [[b"a"], [b"b"]]
