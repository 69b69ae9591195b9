"""Shared helpers of the fault and soak tests: monitors, sequence checks, peer processes."""

from __future__ import annotations

import contextlib
import itertools
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

PEER_SCRIPT = Path(__file__).with_name("peer_proc.py")
HEARTBEAT = {"heartbeat_ivl": 100, "heartbeat_timeout": 300}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Monitor:
    """Records a socket's monitor events (securemq or pyzmq) and waits for them."""

    def __init__(self, sock: Any, zmq: Any) -> None:
        self.zmq = zmq
        self.sock = sock.get_monitor_socket()
        self.sock.rcvtimeo = 50
        self.events: list[int] = []

    def _pump(self) -> None:
        while True:
            try:
                frames = self.sock.recv_multipart()
            except self.zmq.Again:
                return
            self.events.append(int.from_bytes(frames[0][:2], "little"))

    def count(self, event: int) -> int:
        self._pump()
        return sum(1 for e in self.events if e == event)

    def wait(self, event: int, n: int = 1, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        while self.count(event) < n:
            if time.monotonic() > deadline:
                return False
        return True

    def close(self) -> None:
        self.sock.close(linger=0)

    def names(self) -> list[str]:
        self._pump()
        return [self.zmq.Event(e).name for e in self.events]


def seq_message(seq: int, parts: int = 1, size: int = 16) -> list[bytes]:
    return [str(seq).encode(), *(bytes([i % 256]) * size for i in range(parts))]


def check_message(msg: Sequence[bytes], parts: int, size: int) -> int:
    """The message's seq; raises AssertionError when it is not exactly what was sent."""
    assert len(msg) == parts + 1, f"message has {len(msg) - 1} parts, sent {parts}"
    for index, part in enumerate(msg[1:]):
        assert part == bytes([index % 256]) * size, f"part {index} corrupted or truncated"
    return int(msg[0])


def assert_strictly_increasing(seqs: Sequence[int]) -> None:
    dups = len(seqs) - len(set(seqs))
    assert dups == 0, f"{dups} messages delivered twice"
    out_of_order = [(a, b) for a, b in itertools.pairwise(seqs) if b <= a]
    assert not out_of_order, f"messages out of order: {out_of_order[:5]}"


def assert_ordered_per_connection(seqs: Sequence[int], connections: int) -> None:
    """No duplicates, and ``seqs`` is an interleaving of at most ``connections`` in-order runs.

    A connecting PUSH hands its queue to one connection after another, so connection ``k``
    carries a range of sequence numbers above connection ``k-1``'s. The receiver fair-queues
    between an old connection's leftovers and the new one, so the runs may interleave. Sorted by
    seq, a new run must start wherever a message was received before its predecessor in seq.
    """
    dups = len(seqs) - len(set(seqs))
    assert dups == 0, f"{dups} messages delivered twice"
    position = {seq: index for index, seq in enumerate(seqs)}
    ordered = sorted(seqs)
    breaks = [(a, b) for a, b in itertools.pairwise(ordered)
              if position[b] < position[a]]
    assert len(breaks) + 1 <= connections, (
        f"out of order within a connection ({connections} connections): {breaks[:5]}"
    )


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0, step: float = 0.005) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(step)
    return True


class PeerProcess:
    """A ``peer_proc.py`` subprocess whose stdout lines are collected by a reader thread."""

    def __init__(self, args: Sequence[str], prefix: Sequence[str] = ()) -> None:
        cmd = [*prefix, sys.executable, str(PEER_SCRIPT), *args]
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, env=env,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def _drain(self) -> None:
        while True:
            try:
                self.seen.append(self.lines.get_nowait())
            except queue.Empty:
                return

    def expect(self, predicate: Callable[[list[str]], bool], timeout: float = 10.0) -> bool:
        """Wait until ``predicate(all lines so far)`` holds."""
        deadline = time.monotonic() + timeout
        while True:
            self._drain()
            if predicate(self.seen):
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0 or (self.proc.poll() is not None and self.lines.empty()
                                  and not self._reader.is_alive()):
                return False
            with contextlib.suppress(queue.Empty):
                self.seen.append(self.lines.get(timeout=min(remaining, 0.1)))

    def expect_line(self, line: str, timeout: float = 10.0) -> bool:
        return self.expect(lambda seen: line in seen, timeout)

    def received(self) -> list[tuple[int, int, int, bool]]:
        """(seq, parts, bytes, ok) for every ``msg`` line so far."""
        self._drain()
        out = []
        for line in self.seen:
            if line.startswith("msg "):
                _, seq, parts, size, ok = line.split()
                out.append((int(seq), int(parts), int(size), ok == "1"))
        return out

    def stderr(self) -> str:
        if self.proc.poll() is None or self.proc.stderr is None:
            return ""
        return self.proc.stderr.read()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def close(self) -> None:
        self.kill()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


@contextlib.contextmanager
def peer_process(args: Sequence[str], prefix: Sequence[str] = ()) -> Iterator[PeerProcess]:
    peer = PeerProcess(args, prefix)
    try:
        yield peer
    finally:
        peer.close()
