"""Runs cases: spawns the worker processes, relays endpoints, enforces deadlines, checks counts.

How this works
--------------
One *run* is one case against one implementation: a server process binds (random tcp port, a
fresh ipc path in a private temp dir, or inproc inside a single process) and reports its endpoint
(and CURVE public key); the client process(es) are then spawned with it. Every wait on a worker
has a deadline (``Settings.run_timeout``); a worker that dies, reports an error or misses the
deadline fails the run, and every process is joined, then terminated, then killed, so nothing
outlives the run. Counts are compared after each run: a PUSH/PULL or REQ/REP run that lost a
message is an error. ``run_cases`` interleaves implementations (securemq, pyzmq, securemq, ...)
for every repeat and keeps the medians. A run that cannot be done on this machine (a worker or
the runner's own check says ``skip``: too few file descriptors, say) is recorded as skipped for
that implementation, with the reason, and is neither an error nor part of the medians. The scale
kinds (``router``, ``pubmany``, ``storm``) are run by ``bench.scale``.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .cases import BASELINE, METRICS, Case, MiB, Settings, run_timeout
from .process import Worker, _check_equal, _rate
from .scale import SCALE_KINDS
from .workers import BenchError, BenchSkip, Params

_EXIT_GRACE = 10.0  # seconds a worker gets to exit after its last message
_DIAGNOSIS_GRACE = 2.0  # seconds the other workers get to report their error after a failure


@dataclass
class RunResult:
    impl: str
    metrics: dict[str, float] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    skipped: str | None = None  # why this run could not be done (not an error)


@dataclass
class CaseResult:
    case: Case
    runs: dict[str, list[RunResult]]
    medians: dict[str, dict[str, float]]  # impl -> metric -> median over good runs
    ratios: dict[str, float]  # metric -> securemq median / baseline median

    @property
    def errors(self) -> list[str]:
        return [f"{r.impl}: {r.error}" for runs in self.runs.values() for r in runs if r.error]

    @property
    def warnings(self) -> list[str]:
        return [f"{r.impl}: {w}" for runs in self.runs.values() for r in runs for w in r.warnings]

    @property
    def skips(self) -> list[str]:
        """One line per implementation that was skipped (a reason is the same every repeat)."""
        found: dict[str, str] = {}
        for runs in self.runs.values():
            for r in runs:
                if r.skipped and r.impl not in found:
                    found[r.impl] = f"{r.impl}: {r.skipped}"
        return list(found.values())


class Endpoints:
    """Bind addresses: tcp on a random loopback port, ipc files in a private dir, inproc names."""

    def __init__(self, ipc_dir: str) -> None:
        self._dir = ipc_dir
        self._count = 0

    def bind(self, transport: str) -> str:
        self._count += 1
        if transport == "tcp":
            return "tcp://127.0.0.1:*"
        if transport == "ipc":
            return f"ipc://{self._dir}/b{self._count}.ipc"
        if transport == "inproc":
            return f"inproc://bench-{self._count}"
        raise ValueError(f"bench: unknown transport {transport!r}")


def _hwm(size: int) -> int:
    """High-water marks (both ends, both implementations): libzmq's 1000, but at most ~64 MiB
    of queued payload per pipe for big messages."""
    return max(16, min(1000, (64 * MiB) // max(size, 1)))


def _params(case: Case, settings: Settings, bind: str) -> Params:
    return {
        "bind": bind,
        "size": case.size,
        "security": case.security,
        "hwm": _hwm(case.size),
        "duration": settings.duration,
        "max_msgs": settings.max_msgs,
        "max_round_trips": settings.max_round_trips,
        "max_conns": settings.max_conns,
        "warmup": settings.warmup_round_trips,
        "run_timeout": run_timeout(case, settings),
        "io_timeout_ms": settings.io_timeout_ms,
    }


# -- one run per kind ---------------------------------------------------------------------------
# Each returns (metrics, raw results) and appends every worker it starts to ``workers`` so that
# the caller can always stop them.


def _thr(case: Case, impl: str, params: Params, deadline: float,
         workers: list[Worker]) -> tuple[dict[str, float], dict[str, Any]]:
    if case.transport == "inproc":
        workers.append(Worker("thr_inproc", impl, params))
        res = workers[0].expect("result", deadline)
        sent, received, elapsed = res["sent"], res["received"], res["elapsed"]
        raw = {"inproc": res}
    else:
        workers.append(Worker("thr_receiver", impl, params))
        ready = workers[0].expect("ready", deadline)
        workers.append(Worker("thr_sender", impl, {**params, **ready}))
        sender = workers[1].expect("result", deadline)
        receiver = workers[0].expect("result", deadline)
        workers[1].send("done")
        sent, received, elapsed = sender["sent"], receiver["received"], receiver["elapsed"]
        raw = {"sender": sender, "receiver": receiver}
    _check_equal("PUSH->PULL", sent, received)
    rate = _rate(received, elapsed)
    return {"msgs_per_s": rate, "mb_per_s": rate * case.size / 1e6}, raw


def _lat(case: Case, impl: str, params: Params, deadline: float,
         workers: list[Worker]) -> tuple[dict[str, float], dict[str, Any]]:
    if case.transport == "inproc":
        workers.append(Worker("lat_inproc", impl, params))
        client = workers[0].expect("result", deadline)
        served = client["served"]
    else:
        workers.append(Worker("lat_server", impl, params))
        ready = workers[0].expect("ready", deadline)
        workers.append(Worker("lat_client", impl, {**params, **ready}))
        client = workers[1].expect("result", deadline)
        served = workers[0].expect("result", deadline)["served"]
    _check_equal("REQ<->REP", client["round_trips"], served)
    return {"median_us": client["median_us"], "p99_us": client["p99_us"]}, {"client": client}


def _conn(case: Case, impl: str, params: Params, deadline: float,
          workers: list[Worker]) -> tuple[dict[str, float], dict[str, Any]]:
    workers.append(Worker("conn_server", impl, params))
    ready = workers[0].expect("ready", deadline)
    workers.append(Worker("conn_client", impl, {**params, **ready}))
    client = workers[1].expect("result", deadline)
    served = workers[0].expect("result", deadline)["served"]
    _check_equal("REQ<->REP over new connections", client["connections"], served)
    return {"conns_per_s": _rate(client["connections"], client["elapsed"])}, {"client": client}


def _pub(case: Case, impl: str, params: Params, deadline: float,
         workers: list[Worker]) -> tuple[dict[str, float], dict[str, Any]]:
    workers.append(Worker("publisher", impl, params))
    ready = workers[0].expect("ready", deadline)
    subs = [Worker("subscriber", impl, {**params, **ready}) for _ in range(case.subscribers)]
    workers.extend(subs)
    for sub in subs:
        sub.expect("subscribed", deadline)
    workers[0].send("go")
    results = [sub.expect("result", deadline) for sub in subs]
    sent = workers[0].expect("result", deadline)["sent"]
    workers[0].send("done")
    received = sum(r["received"] for r in results)
    window = max(r["end"] for r in results) - min(r["first"] for r in results)
    expected = sent * case.subscribers
    drop_pct = 100.0 * (expected - received) / expected if expected else 0.0
    metrics = {"delivered_per_s": _rate(received, window), "drop_pct": drop_pct}
    return metrics, {"sent": sent, "received_per_subscriber": [r["received"] for r in results]}


_KINDS: dict[str, Callable[[Case, str, Params, float, list[Worker]],
                           tuple[dict[str, float], dict[str, Any]]]] = {
    "thr": _thr, "lat": _lat, "conn": _conn, "pub": _pub,
}


def _kind(kind: str) -> Callable[[Case, str, Params, float, list[Worker]],
                                  tuple[dict[str, float], dict[str, Any]]]:
    return _KINDS[kind] if kind in _KINDS else SCALE_KINDS[kind]


def _other_errors(workers: Sequence[Worker], first: str) -> list[str]:
    """After a failure, what the other workers report within a short grace (for diagnosis:
    e.g. a sender timing out usually comes with its receiver timing out too)."""
    found: list[str] = []
    deadline = time.monotonic() + _DIAGNOSIS_GRACE
    for worker in workers:
        try:
            while worker.conn.poll(max(0.0, deadline - time.monotonic())):
                msg = worker.conn.recv()
                if isinstance(msg, dict) and "error" in msg and msg["error"] != first:
                    found.append(f"also {msg['error']}")
                    break
        except (EOFError, OSError):
            continue
    return found


def run_once(case: Case, impl: str, settings: Settings, endpoints: Endpoints) -> RunResult:
    """One run of ``case`` against ``impl``; failures are returned in ``RunResult.error``."""
    result = RunResult(impl)
    workers: list[Worker] = []
    deadline = time.monotonic() + run_timeout(case, settings)
    try:
        params = _params(case, settings, endpoints.bind(case.transport))
        result.metrics, result.raw = _kind(case.kind)(case, impl, params, deadline, workers)
    except BenchSkip as exc:
        result.skipped = str(exc)
    except BenchError as exc:
        result.error = "; ".join([str(exc), *_other_errors(workers, str(exc))])
    finally:
        for worker in workers:
            # A failed run kills its workers at once; a good one lets them close cleanly.
            failed = result.error or result.skipped
            warning = worker.stop(0.0 if failed else _EXIT_GRACE)
            if warning and not result.error:
                result.warnings.append(warning)
    return result


def _median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def summarize(case: Case, runs: dict[str, list[RunResult]]) -> CaseResult:
    medians: dict[str, dict[str, float]] = {}
    for impl, impl_runs in runs.items():
        good = [r for r in impl_runs if r.error is None and r.skipped is None]
        # Not every run reports every metric (router/1proc has no separate ROUTER process).
        values = {m.key: [r.metrics[m.key] for r in good if m.key in r.metrics]
                  for m in METRICS[case.kind]}
        if good:
            medians[impl] = {key: _median(v) for key, v in values.items() if v}
    ratios: dict[str, float] = {}
    if "securemq" in medians and BASELINE in medians:
        for metric in METRICS[case.kind]:
            base = medians[BASELINE].get(metric.key)
            mine = medians["securemq"].get(metric.key)
            if base and mine is not None:
                ratios[metric.key] = mine / base
    return CaseResult(case, runs, medians, ratios)


def run_cases(cases: Sequence[Case], impls: Sequence[str], settings: Settings,
              ipc_dir: str, progress: Callable[[Case, RunResult, int], None] | None = None,
              ) -> list[CaseResult]:
    """Every case, ``settings.repeats`` times per implementation, implementations interleaved."""
    endpoints = Endpoints(ipc_dir)
    results = []
    for case in cases:
        runs: dict[str, list[RunResult]] = {impl: [] for impl in impls}
        for repeat in range(settings.repeats):
            for impl in impls:
                run = run_once(case, impl, settings, endpoints)
                runs[impl].append(run)
                if progress is not None:
                    progress(case, run, repeat)
        results.append(summarize(case, runs))
    return results
