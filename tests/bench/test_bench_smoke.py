"""Smoke test of the benchmark suite: one tiny case through the real command-line path.

PUSH->PULL, 1 B, over tcp, 200 messages, one run per implementation (securemq and pyzmq), in
spawned processes exactly as ``python -m bench.run`` does. Asserts that every run completed
with no message lost and produced a rate; never asserts speed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import cases, report, runner
from bench.run import main
from bench.workers import BenchError

pytestmark = pytest.mark.timeout(60)


def test_push_pull_tcp_1b_both_implementations(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "bench.json"
    status = main(["--only", "thr/tcp/1B", "--repeats", "1", "--max-msgs", "200",
                   "--duration", "5", "--json", str(out)])
    assert status == 0, capsys.readouterr().err

    document = json.loads(out.read_text())
    assert [case["name"] for case in document["cases"]] == ["thr/tcp/1B"]
    case = document["cases"][0]
    assert case["errors"] == []
    assert set(case["runs"]) == {"securemq", "zmq"}
    for impl, runs in case["runs"].items():
        assert len(runs) == 1, impl
        raw = runs[0]["raw"]
        assert raw["sender"]["sent"] == 200, impl
        assert raw["receiver"]["received"] == 200, impl
        assert runs[0]["metrics"]["msgs_per_s"] > 0, impl
    assert case["ratios"]["msgs_per_s"] > 0
    assert "thr/tcp/1B" in capsys.readouterr().out  # the ratio table was printed


def test_lost_messages_are_reported_as_errors() -> None:
    """The count check itself: a receiver short of the sender's count fails the run."""
    with pytest.raises(BenchError, match="lost messages: PUSH->PULL: sent 200, "
                                               "received 199"):
        runner._check_equal("PUSH->PULL", 200, 199)


def test_only_filters_by_substring_and_glob() -> None:
    names = [c.name for c in cases.select(cases.full_cases(), ["thr/tcp/1"])]
    assert names == ["thr/tcp/1B", "thr/tcp/1KiB", "thr/tcp/1MiB"]
    names = [c.name for c in cases.select(cases.full_cases(), ["conn-*/ipc"])]
    assert names == ["conn-null/ipc", "conn-curve-zap/ipc"]


def test_medians_ratios_and_results_markdown() -> None:
    """Medians over repeats, securemq/pyzmq ratios (latency: time over time), the table."""
    case = cases.find("lat/tcp/1B")
    runs = {
        "securemq": [runner.RunResult("securemq", {"median_us": m, "p99_us": 2 * m})
                     for m in (30.0, 10.0, 20.0)],
        "zmq": [runner.RunResult("zmq", {"median_us": 5.0, "p99_us": 10.0}),
                runner.RunResult("zmq", error="lost messages: REQ<->REP: sent 3, received 2")],
    }
    result = runner.summarize(case, runs)
    assert result.medians["securemq"] == {"median_us": 20.0, "p99_us": 40.0}
    assert result.medians["zmq"] == {"median_us": 5.0, "p99_us": 10.0}  # the failed run is out
    assert result.ratios == {"median_us": 4.0, "p99_us": 4.0}
    assert result.errors == ["zmq: lost messages: REQ<->REP: sent 3, received 2"]

    info = {"nproc": 2, "cpu": "Test CPU", "platform": "Linux", "python": "CPython 3.11",
            "securemq": "0.1.0", "pyzmq": "27.3.0", "libzmq": "4.3.5"}
    text = report.results_markdown([result], cases.QUICK, info, "python -m bench.run --quick")
    assert "2 CPUs, Test CPU" in text
    assert "pyzmq 27.3.0 (libzmq 4.3.5)" in text
    row = next(line for line in text.splitlines() if "round trip median" in line)
    assert "20.0 us" in row and "5.0 us" in row and "4.00" in row and "ERROR" in row
    assert "ERROR lat/tcp/1B: zmq: lost messages" in text
