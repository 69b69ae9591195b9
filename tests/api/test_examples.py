"""Runs each pattern example (examples/*.py) as a subprocess: exit code 0 and key output lines.

Security-level examples are tested by their owners (tests/auth/test_examples_security.py).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TIMEOUT_S = 30

# example -> lines that must appear in its stdout (whole lines, in this order)
EXPECTED: dict[str, list[str]] = {
    "reqrep.py": [
        "server: received 'ping 0'",
        "client: received 'pong 0'",
        "client: received 'pong 4'",
        "reqrep: 5 round trips done",
    ],
    "pubsub.py": [
        "subscriber: connected to tcp://127.0.0.1:",
        "publisher: subscriber is listening, sending the feed",
        "pubsub: received 10 sensor updates, 10 other messages filtered out",
    ],
    "pipeline.py": [
        "ventilator: 3 workers connected, sending 30 tasks",
        "collector: 30 results, 90 ms of work in total",
        "pipeline: all tasks done",
    ],
    "broker.py": [
        "broker: frontend tcp://127.0.0.1:",
        "broker: 12 of 12 requests answered (client-0=4, client-1=4, client-2=4)",
    ],
    "http_server.py": [
        "server: GET /page/0",
        "client: 200 hello from securemq, you asked for /page/0",
        "client: 200 hello from securemq, you asked for /page/2",
        "http_server: 3 requests answered",
    ],
    "wait_ready.py": [
        "right server key: ready",
        "wrong server key: ServerKeyRejected",
        "no server: HandshakeTimeout (Connection refused)",
        "1 subscriber ready; it got b'the very first message'",
    ],
    "clone_recovery.py": [
        "client: mirror == server state at version 20000",
    ],
    "websocket.py": [
        "ws: connected to ws://127.0.0.1:",
        "ws: reply 'pong 2'",
        "wss+curve: connected to wss://127.0.0.1:",
        "wss+curve: reply 'pong 2'",
        "wss: a client expecting bank.example was refused",
    ],
    "stats.py": [
        "fast subscriber: received",
        "publisher: handshakes refused by ZAP: 1",
        'prometheus: securemq_handshake_failures_total{kind="auth",socket="feed",type="PUB"} 1.0',
        'prometheus: securemq_connections{socket="feed",type="PUB"} 2.0',
        "stats: done",
    ],
    "pair_inproc.py": [
        "step 1: ready, signaling step 2",
        "step 2: got READY from step 1, signaling step 3",
        "step 3: got READY from step 2, test successful",
        "main: pong 4",
        "pair_inproc: relay and 5 volleys done",
    ],
}


def run_example(name: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        capture_output=True, text=True, timeout=TIMEOUT_S, cwd=EXAMPLES, check=False,
    )


def assert_lines_in_order(stdout: str, expected: list[str]) -> None:
    lines = stdout.splitlines()
    position = 0
    for wanted in expected:
        for index in range(position, len(lines)):
            if lines[index].startswith(wanted):
                position = index + 1
                break
        else:
            raise AssertionError(f"missing (in order) {wanted!r} in output:\n{stdout}")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_runs(name: str) -> None:
    result = run_example(name)
    assert result.returncode == 0, f"{name} exited {result.returncode}\n{result.stdout}\n" \
                                   f"{result.stderr}"
    assert "Traceback" not in result.stderr, result.stderr
    assert_lines_in_order(result.stdout, EXPECTED[name])


def test_stats_example_shows_the_slow_subscriber_dropped_alone() -> None:
    result = run_example("stats.py")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    received, sent = lines[0].removeprefix("fast subscriber: received ").split(" of ")
    assert received == sent, result.stdout
    peers = [line for line in lines if line.startswith("  subscriber:")]
    assert len(peers) == 2 and "0 dropped" in peers[0] and "0 dropped" not in peers[1], \
        result.stdout


def test_pipeline_spreads_work_over_all_workers() -> None:
    result = run_example("pipeline.py")
    assert result.returncode == 0, result.stderr
    workers = [line for line in result.stdout.splitlines()
               if line.startswith("collector: worker-")]
    assert len(workers) == 3, result.stdout


def test_broker_stops_proxy_and_workers_on_term() -> None:
    result = run_example("broker.py")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "broker: context terminated, proxy stopped" in out
    assert "worker-0: stopping after" in out and "worker-1: stopping after" in out


def test_examples_use_random_ports_and_securemq() -> None:
    for name in EXPECTED:
        source = (EXAMPLES / name).read_text()
        assert "import securemq as zmq" in source, name
        assert "import zmq" not in source.replace("import securemq as zmq", ""), name
        if "tcp://" in source:
            assert "tcp://127.0.0.1:*" in source, f"{name}: binds a fixed port"
