"""Soak: CURVE connect/disconnect churn through a ThreadAuthenticator beside a steady stream.

For ``SECUREMQ_SOAK_SECONDS`` (default 3) a churn loop opens CURVE PUSH sockets with keys from a
certificate directory, sends one message, waits for it at the server and closes; every 10th
round uses a fresh Context, every 7th a key the authenticator does not know (a refused
handshake). A steady PUSH stream runs alongside on its own connection. Afterwards the file
descriptors, threads and traced memory are back at their level after warm-up (with tolerances)
and the steady stream lost nothing and reordered nothing.
"""

from __future__ import annotations

import gc
import os
import threading
import time
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from securemq.auth import ThreadAuthenticator, create_certificates, load_certificate

import securemq

SECONDS = float(os.environ.get("SECUREMQ_SOAK_SECONDS", "3"))
WARMUP_ROUNDS = 12
FD_TOLERANCE = 2
MEMORY_TOLERANCE = 1 << 20  # bytes of traced memory above the warmed-up level


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _fd_table() -> list[str]:
    table = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            table.append(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:
            continue
    return sorted(table)


@dataclass
class Sink:
    """The server side: one PULL (CURVE server) read by a thread that records what arrives."""

    pull: Any
    steady_count: int = 0  # the next steady seq expected; anything else is recorded below
    steady_anomalies: list[tuple[int, int]] = field(default_factory=list)
    churn: set[int] = field(default_factory=set)
    steady_done: threading.Event = field(default_factory=threading.Event)
    cond: threading.Condition = field(default_factory=threading.Condition)
    stop: threading.Event = field(default_factory=threading.Event)
    errors: list[str] = field(default_factory=list)

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                kind, value = self.pull.recv_multipart()
            except securemq.Again:
                continue
            except Exception as exc:  # recorded and asserted on by the test
                self.errors.append(repr(exc))
                return
            if kind == b"steady":
                if value == b"END":
                    self.steady_done.set()
                else:
                    seq = int(value)
                    if seq != self.steady_count and len(self.steady_anomalies) < 10:
                        self.steady_anomalies.append((self.steady_count, seq))
                    self.steady_count = max(self.steady_count, seq + 1)
            else:
                with self.cond:
                    self.churn.add(int(value))
                    self.cond.notify_all()

    def wait_churn(self, round_no: int, timeout: float = 5.0) -> bool:
        with self.cond:
            arrived = self.cond.wait_for(lambda: round_no in self.churn, timeout)
            self.churn.discard(round_no)
            return arrived


@dataclass
class Keys:
    server_public: bytes
    server_secret: bytes
    clients: list[tuple[bytes, bytes]]
    steady: tuple[bytes, bytes]


@pytest.fixture
def keys(tmp_path: Path) -> Keys:
    allowed = tmp_path / "authorized"
    allowed.mkdir()
    secrets_dir = tmp_path / "private"
    secrets_dir.mkdir()
    _, server_secret_file = create_certificates(secrets_dir, "server")
    server_public, server_secret = load_certificate(server_secret_file)
    clients = []
    for name in ("c1", "c2", "c3", "steady"):
        public_file, secret_file = create_certificates(secrets_dir, name)
        os.replace(public_file, allowed / f"{name}.key")
        public, secret = load_certificate(secret_file)
        assert secret is not None
        clients.append((public, secret))
    assert server_secret is not None
    return Keys(server_public, server_secret, clients[:3], clients[3])


@pytest.fixture
def tracing() -> Iterator[None]:
    tracemalloc.start()
    try:
        yield
    finally:
        tracemalloc.stop()


def _client(ctx: securemq.Context, keys: Keys, pair: tuple[bytes, bytes]) -> securemq.Socket:
    sock = ctx.socket(securemq.PUSH)
    sock.linger = 0
    sock.sndtimeo = 5000
    sock.curve_serverkey = keys.server_public
    sock.curve_publickey, sock.curve_secretkey = pair
    return sock


def _churn_round(round_no: int, shared: securemq.Context, keys: Keys, sink: Sink,
                 endpoint: str) -> None:
    fresh = round_no % 10 == 9
    ctx = securemq.Context() if fresh else shared
    try:
        if round_no % 7 == 6:  # a key the authenticator refuses: HANDSHAKE_FAILED_AUTH
            sock = _client(ctx, keys, securemq.curve_keypair())
            monitor = sock.get_monitor_socket()
            monitor.rcvtimeo = 5000
            sock.connect(endpoint)
            while True:
                frames = monitor.recv_multipart()
                event = int.from_bytes(frames[0][:2], "little")
                if event == securemq.EVENT_HANDSHAKE_FAILED_AUTH:
                    break
                assert event != securemq.EVENT_HANDSHAKE_SUCCEEDED, "an unknown key got in"
            sock.disable_monitor()
            monitor.close(linger=0)
        else:
            sock = _client(ctx, keys, keys.clients[round_no % len(keys.clients)])
            sock.connect(endpoint)
            sock.send_multipart([b"churn", str(round_no).encode()])
            assert sink.wait_churn(round_no), f"churn round {round_no}: message never arrived"
        sock.close(linger=0)
    finally:
        if fresh:
            ctx.destroy(linger=0)


def _settle(measure: Any, limit: int, timeout: float = 5.0) -> int:
    """Poll ``measure()`` until it is at most ``limit`` (asynchronous closes finish)."""
    deadline = time.monotonic() + timeout
    value: int = measure()
    while value > limit and time.monotonic() < deadline:
        gc.collect()
        time.sleep(0.02)
        value = measure()
    return value


def test_soak_curve_churn_with_authenticator_and_steady_stream(
    keys: Keys, tmp_path: Path, tracing: None
) -> None:
    server_ctx = securemq.Context()
    client_ctx = securemq.Context()
    churn_ctx = securemq.Context()
    auth = ThreadAuthenticator(server_ctx, curve_reload_interval=3600)
    auth.start()
    stop_steady = threading.Event()
    threads: list[threading.Thread] = []
    try:
        auth.configure_curve(domain="*", location=str(tmp_path / "authorized"))
        pull = server_ctx.socket(securemq.PULL)
        pull.linger = 0
        pull.rcvtimeo = 100
        pull.curve_server = 1
        pull.curve_secretkey = keys.server_secret
        pull.curve_publickey = keys.server_public
        pull.bind("tcp://127.0.0.1:*")
        endpoint = pull.last_endpoint.decode()
        sink = Sink(pull)

        steady = _client(client_ctx, keys, keys.steady)
        steady.connect(endpoint)
        sent = [0]

        def stream() -> None:
            while not stop_steady.is_set():
                steady.send_multipart([b"steady", str(sent[0]).encode()])
                sent[0] += 1
                time.sleep(0.001)
            steady.send_multipart([b"steady", b"END"])

        threads = [threading.Thread(target=sink.run, daemon=True),
                   threading.Thread(target=stream, daemon=True)]
        for thread in threads:
            thread.start()

        for round_no in range(WARMUP_ROUNDS):
            _churn_round(round_no, churn_ctx, keys, sink, endpoint)
        gc.collect()
        base_fds = _settle(_fds, 0, timeout=0)
        base_threads = threading.active_count()
        base_memory = tracemalloc.get_traced_memory()[0]
        base_snapshot = tracemalloc.take_snapshot()

        round_no = WARMUP_ROUNDS
        deadline = time.monotonic() + SECONDS
        while time.monotonic() < deadline:
            _churn_round(round_no, churn_ctx, keys, sink, endpoint)
            round_no += 1
        rounds = round_no - WARMUP_ROUNDS
        assert rounds >= 10, f"only {rounds} churn rounds in {SECONDS} s"

        fds = _settle(_fds, base_fds + FD_TOLERANCE)
        assert fds <= base_fds + FD_TOLERANCE, (
            f"{fds - base_fds} file descriptors leaked over {rounds} rounds: "
            f"{_fd_table()}"
        )
        thread_count = _settle(threading.active_count, base_threads)
        assert thread_count <= base_threads, (
            f"{thread_count - base_threads} threads leaked: {threading.enumerate()}"
        )
        memory = _settle(lambda: tracemalloc.get_traced_memory()[0],
                         base_memory + MEMORY_TOLERANCE)
        if memory > base_memory + MEMORY_TOLERANCE:
            top = tracemalloc.take_snapshot().compare_to(base_snapshot, "lineno")[:8]
            pytest.fail(f"traced memory grew by {(memory - base_memory) >> 10} KiB over "
                        f"{rounds} rounds; top growth:\n" + "\n".join(map(str, top)))

        stop_steady.set()
        threads[1].join(10)
        assert sink.steady_done.wait(10), "the steady stream's END never arrived"
        assert not sink.errors, sink.errors
        assert not sink.steady_anomalies, (
            f"steady stream lost or reordered messages: (expected, got) {sink.steady_anomalies}"
        )
        assert sink.steady_count == sent[0], f"steady: {sent[0]} sent, {sink.steady_count} seen"
    finally:
        stop_steady.set()
        for thread in threads:
            thread.join(5) if thread is not threads[0] else None
        auth.stop()
        for ctx in (churn_ctx, client_ctx):
            ctx.destroy(linger=0)
        if threads:
            sink.stop.set()
            threads[0].join(5)
        server_ctx.destroy(linger=0)
