"""Smoke test of the benchmark suite: one tiny case through the real command-line path.

PUSH->PULL, 1 B, over tcp, 200 messages, one run per implementation (securemq and pyzmq), in
spawned processes exactly as ``python -m bench.run`` does. Asserts that every run completed
with no message lost and produced a rate; never asserts speed. The scale workloads (ROUTER with
many DEALERs, PUB with many SUBs, connection storms) run the same way with 3 peers; a case that
needs more file descriptors than allowed must be reported as skipped, not fail the run.
"""

from __future__ import annotations

import json
import resource
from pathlib import Path

import pytest

from bench import calls, cases, goals, plot, report, runner, scale, scale_workers
from bench.run import main
from bench.workers import BenchError, BenchSkip

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


# -- scale workloads ----------------------------------------------------------------------------

TINY = 3  # peers per scale case in the smoke test


def _tiny_scale_cases() -> list[cases.Case]:
    return [
        cases.router_case("1proc", TINY),
        cases.router_case("4proc", TINY),  # 3 client processes of one DEALER each
        cases.router_idle_case(TINY, active=1),  # 1 active DEALER, 2 idle ones in 2 processes
        cases.pubmany_case(TINY),
        cases.storm_case(TINY, "null"),
        cases.storm_case(TINY, "curve+zap"),
    ]


def test_scale_workers_with_three_peers_both_implementations(tmp_path: Path) -> None:
    """Every scale role, both implementations, 3 peers, one short run: counts must add up."""
    settings = cases.Settings(duration=0.05, repeats=1, max_msgs=300, max_round_trips=60,
                              max_conns=10, run_timeout=30.0)
    results = runner.run_cases(_tiny_scale_cases(), ["securemq", "zmq"], settings,
                               str(tmp_path))
    for result in results:
        name = result.case.name
        assert result.errors == [] and result.skips == [], name
        for impl, runs in result.runs.items():
            run, raw, metrics = runs[0], runs[0].raw, runs[0].metrics
            assert run.error is None and run.skipped is None, (name, impl)
            if name == "router/1proc/3":
                assert raw["process"]["served"] == raw["process"]["received"]
                assert raw["process"]["round_trips"] >= TINY
            elif result.case.kind == "router":
                round_trips = sum(c["round_trips"] for c in raw["clients"])
                assert raw["served"] == TINY + round_trips, (name, impl)
                assert [c["peers"] for c in raw["connected"]] == [1, 1, 1], (name, impl)
                assert metrics["router_cpu_us_per_rt"] >= 0, (name, impl)
            if name == "router-idle/3":
                assert raw["layout"] == [(1, 1), (1, 0), (1, 0)], impl
                assert [c["round_trips"] for c in raw["clients"]][1:] == [0, 0], impl
            if result.case.kind == "router":
                assert metrics["rt_per_s"] > 0 and metrics["connect_ms"] > 0, (name, impl)
                assert metrics["cpu_us_per_rt"] >= 0, (name, impl)
            elif result.case.kind == "pubmany":
                received = [s["received"] for s in raw["subscribers"]]
                assert [s["sockets"] for s in raw["subscribers"]] == [1, 1, 1], impl
                assert all(0 < r <= raw["sent"] for r in received), (impl, received)
                assert metrics["delivered_per_s"] > 0, impl
            else:
                assert metrics["storm_ms"] > 0 and metrics["conns_per_s"] > 0, (name, impl)
        assert result.ratios[cases.TABLE_METRICS[result.case.kind][0]] > 0, name

    document = report.to_json(results, settings, {"nproc": 2}, ["test"])
    assert [c["peers"] for c in document["cases"]] == [TINY] * 6
    path = tmp_path / "scale.json"
    report.write_json(str(path), document)
    if plot.missing() is None:  # matplotlib is optional: draw from the saved JSON file
        png = tmp_path / "scale.png"
        assert plot.main([str(path), str(png)]) == 0
        assert png.stat().st_size > 10_000


def test_too_few_file_descriptors_is_a_skip_not_a_failure(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A case whose processes would need more descriptors than RLIMIT_NOFILE allows is skipped,
    for each implementation, with the reason; the exit status stays 0."""
    monkeypatch.setattr(resource, "getrlimit", lambda which: (50, 50))
    out = tmp_path / "skip.json"
    status = main(["--only", "router/4proc/10", "--repeats", "1", "--json", str(out)])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert "SKIPPED: securemq, pyzmq" in captured.out
    assert "SKIPPED router/4proc/10: securemq: the ROUTER needs about 82 file descriptors" \
        in captured.err
    case = json.loads(out.read_text())["cases"][0]
    assert case["errors"] == [] and len(case["skipped"]) == 2
    assert case["medians"] == {} and case["ratios"] == {}


def test_worker_fd_check_skips() -> None:
    with pytest.raises(BenchSkip, match="file descriptors"):
        scale_workers.raise_fd_limit(10**12)


def test_scale_cases_selection_and_layout() -> None:
    scale_names = {c.name for c in cases.scale_cases()}
    assert {"router/1proc/10000", "router/4proc/10", "router-idle/1000", "pubmany/1000",
            "storm-null/100", "storm-curve/10000"} <= scale_names
    default = {c.name for c in (*cases.full_cases(), *cases.quick_cases())}
    assert not default & scale_names  # not in the default sets
    assert [c.name for c in cases.select(cases.scale_cases(), ["router/4proc/10"])] == \
        ["router/4proc/10"]  # an exact name is that case alone, not also /100, /1000, ...
    assert len(cases.select(cases.scale_cases(), ["router/4proc/*"])) == 4
    assert cases.find("storm-curve/100").security == "curve+zap"
    assert scale.split(10, 4) == [3, 3, 2, 2] and scale.split(2, 4) == [1, 1]
    assert scale.layout(cases.router_idle_case(1000)) == [(10, 10), (330, 0), (330, 0),
                                                           (330, 0)]
    assert scale.layout(cases.router_case("1proc", 100)) == []
    demand = dict(scale.fd_demand(cases.router_case("1proc", 10_000)))
    assert demand == {"the ROUTER with its DEALERs": 30_065}


def test_plot_without_matplotlib_fails_before_running(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plot, "missing", lambda: plot.MISSING)
    status = main(["--only", "thr/tcp/1B", "--plot", str(tmp_path / "out.png")])
    assert status == 2
    err = capsys.readouterr().err
    assert "matplotlib is not installed" in err and "[bench]" in err
    assert not (tmp_path / "out.png").exists()


def test_floor_workloads_run_for_every_implementation() -> None:
    """bench.floor: each workload completes with its counts checked, for pyzmq, securemq and
    the pure-Python floor (tiny sizes; the numbers are not looked at)."""
    from bench import floor

    for impl in ("zmq", "securemq", "floor"):
        assert floor.stream(impl, 2000)["msgs_per_s"] > 0, impl
        assert floor.latency(impl, 50)["median_us"] > 0, impl
        result = floor.broker(impl, 5, 0.1)
        assert result["round_trips_per_s"] > 0 and result["cpu_us_per_round_trip"] > 0, impl


def test_floor_parsers_whole_and_one_byte_at_a_time() -> None:
    """The floor moves real ZMTP frames: its parsers give the same messages however the bytes
    are split (so its numbers are for the same work, not for a shortcut)."""
    import socket as socket_module

    from bench import floor
    from securemq.zmtp.frames import encode_message

    messages = [[b"x"], [b"", b"body"], [b"a" * 255], [b"id", b"", b"last"]]
    wire = b"".join(encode_message(msg) for msg in messages)
    for step in (len(wire), 1):
        left, right = socket_module.socketpair()
        try:
            conn = floor.FloorConnection(right, b"peer")
            for start in range(0, len(wire), step):
                left.sendall(wire[start:start + step])
                conn.read()  # (a local socketpair: what was sent is there to read)
            assert list(conn.inbox) == messages, step
        finally:
            left.close()
            right.close()

    single = [b"x", b"yz", b"END"]
    wire = b"".join(encode_message([body]) for body in single)
    for step in (len(wire), 1):
        left, right = socket_module.socketpair()
        try:
            pull = floor.FloorPull(right)
            for start in range(0, len(wire), step):
                left.sendall(wire[start:start + step])
            assert [pull.recv() for _ in single] == single, step
        finally:
            left.close()
            right.close()


# -- the goals section of the report ------------------------------------------------------------


def _result(name: str, securemq: dict[str, float], zmq: dict[str, float]) -> runner.CaseResult:
    runs = {"securemq": [runner.RunResult("securemq", securemq)],
            "zmq": [runner.RunResult("zmq", zmq)]}
    return runner.summarize(cases.find(name), runs)


def test_goals_are_judged_from_the_run() -> None:
    def goal(case: str, metric: str) -> goals.Goal:
        return next(g for g in goals.GOALS if g.case == case and g.metric == metric)

    stream = goal("thr/tcp/1B", "msgs_per_s")  # a rate: >= 1.3
    latency = goal("lat/tcp/1B", "median_us")  # a time: <= 0.85
    memory = goal("router/4proc/1000", "kib_per_conn")  # securemq's own KiB: <= 20
    flat = next(g for g in goals.GOALS if g.judged == "flat")
    fast = [_result("thr/tcp/1B", {"msgs_per_s": 1400.0}, {"msgs_per_s": 1000.0}),
            _result("lat/tcp/1B", {"median_us": 80.0}, {"median_us": 100.0}),
            _result("router/4proc/1000", {"kib_per_conn": 19.0}, {"kib_per_conn": 30.0}),
            *(_result(f"router-idle/{n}", {"cpu_us_per_rt": cpu}, {"cpu_us_per_rt": 40.0})
              for n, cpu in ((10, 85.0), (100, 93.0), (1000, 88.0), (10000, 96.0)))]
    slow = [_result("thr/tcp/1B", {"msgs_per_s": 700.0}, {"msgs_per_s": 1000.0}),
            _result("lat/tcp/1B", {"median_us": 95.0}, {"median_us": 100.0}),
            _result("router/4proc/1000", {"kib_per_conn": 24.0}, {"kib_per_conn": 30.0}),
            *(_result(f"router-idle/{n}", {"cpu_us_per_rt": cpu}, {"cpu_us_per_rt": 40.0})
              for n, cpu in ((10, 60.0), (10000, 130.0)))]
    assert goals.judge(stream, fast) == (1.4, True)
    assert goals.judge(stream, slow) == (0.7, False)
    assert goals.judge(latency, fast) == (0.8, True)
    assert goals.judge(latency, slow) == (0.95, False)
    assert goals.judge(memory, fast) == (19.0, True)  # not the ratio (0.63)
    assert goals.judge(memory, slow) == (24.0, False)
    figure, met = goals.judge(flat, fast)
    assert figure is not None and abs(figure - 96.0 / 85.0) < 1e-9 and met
    assert goals.judge(flat, slow)[1] is False  # 130 / 60 > 2
    assert goals.judge(stream, []) == (None, None)
    assert goals.judge(flat, slow[:3]) == (None, None)  # no curve in the run


def test_report_shows_goals_and_what_bounds_the_unmet_ones() -> None:
    info = {"nproc": 2, "cpu": "Test CPU", "platform": "Linux", "python": "CPython 3.11",
            "securemq": "0.1.0", "pyzmq": "27.3.0", "libzmq": "4.3.5"}
    met = _result("thr/tcp/64KiB", {"msgs_per_s": 3.0}, {"msgs_per_s": 2.0})
    unmet = _result("thr/tcp/1B", {"msgs_per_s": 700.0}, {"msgs_per_s": 1000.0})
    text = report.results_markdown([met, unmet], cases.QUICK, info, "python -m bench.run")
    assert "## Goals (issue 16)" in text
    rows = {line.split("|")[1].strip(): line for line in text.splitlines()
            if line.startswith("| PUSH->PULL") or line.startswith("| REQ<->REP")}
    assert "| 1.50 | yes |" in rows["PUSH->PULL tcp 64 KiB"]
    unmet_row = rows["PUSH->PULL tcp 1 B"]
    assert "| 0.70 | no |" in unmet_row and "bench.floor" in unmet_row  # the measured limit
    assert "| - | not run |" in rows["REQ<->REP tcp 1 B (time)"]
    # A run that measures no goal's case has no goals section.
    inproc = _result("thr/inproc/1B", {"msgs_per_s": 2.0}, {"msgs_per_s": 1.0})
    assert "Goals" not in report.results_markdown([inproc], cases.QUICK, info, "x")


# -- bench.calls: calls per message -------------------------------------------------------------


# What each workload calls of the API, per message (stream) or round trip: REP runs in a thread
# of its own and the broker's sockets share one, so these also check that every thread is
# counted, and only while the workload runs (not its warm-up).
API_CALLS = {
    "stream": {"Socket.send": 1, "Socket.recv": 1},
    "reqrep": {"Socket.send": 2, "Socket.recv": 2},
    "broker": {"Socket.send": 1, "Socket.recv": 1, "Socket.send_multipart": 1,
               "Socket.recv_multipart": 1},
}


@pytest.mark.parametrize("workload, size", [("broker", 3), ("reqrep", 20), ("stream", 200)])
def test_calls_are_counted_on_every_thread(workload: str, size: int) -> None:
    result = calls.measure(workload, size, by_name=200)
    assert result["threads"] >= 2  # the callers and the context's I/O thread
    names = {name.split(" (")[0]: count for name, count in result["top"]
             if name.endswith("(socket.py)")}
    for name, expected in API_CALLS[workload].items():
        # (a call already waiting when counting starts, as REP's recv, is not counted)
        assert names.get(name) == pytest.approx(expected, abs=1.5 / size), name
    assert result["python"] > sum(API_CALLS[workload].values())
    assert result["builtin"] > 0
