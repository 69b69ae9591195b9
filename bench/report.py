"""Presenting results: the ratio table, the JSON document, bench/RESULTS.md, the machine."""

from __future__ import annotations

import datetime
import importlib
import json
import os
import platform
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import goals
from .cases import BASELINE, METRICS, TABLE_METRICS, Kind, Metric, Settings
from .runner import CaseResult

RESULTS_PATH = Path(__file__).resolve().parent / "RESULTS.md"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(module: str, attribute: str) -> str:
    try:
        return str(getattr(importlib.import_module(module), attribute)())
    except Exception as exc:  # a missing implementation is reported, not fatal
        return f"unavailable ({type(exc).__name__})"


def machine() -> dict[str, Any]:
    """Where the numbers were taken (imports both implementations, in this process only)."""
    securemq_version = "unavailable"
    try:
        securemq_version = str(importlib.import_module("securemq").__version__)
    except Exception:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": _cpu_model(),
        "platform": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "securemq": securemq_version,
        "pyzmq": _version("zmq", "pyzmq_version"),
        "libzmq": _version("zmq", "zmq_version"),
    }


def _format(value: float, metric: Metric) -> str:
    if metric.unit == "%":
        return f"{value:.1f} %"
    if metric.unit == "us":
        return f"{value:,.1f} us"
    if value >= 100:
        return f"{value:,.0f} {metric.unit}"
    return f"{value:,.2f} {metric.unit}"


def _metric(kind: Kind, key: str) -> Metric:
    for metric in METRICS[kind]:
        if metric.key == key:
            return metric
    raise KeyError(key)


def table_rows(results: Sequence[CaseResult]) -> list[list[str]]:
    """One row per (case, table metric): case, metric, securemq, pyzmq, ratio, note."""
    rows = []
    for result in results:
        for key in TABLE_METRICS[result.case.kind]:
            metric = _metric(result.case.kind, key)
            cells = [result.case.name, metric.label]
            for impl in ("securemq", BASELINE):
                value = result.medians.get(impl, {}).get(key)
                cells.append("-" if value is None else _format(value, metric))
            ratio = result.ratios.get(key)
            cells.append("-" if ratio is None else f"{ratio:.2f}")
            cells.append(_note(result))
            rows.append(cells)
    return rows


def _note(result: CaseResult) -> str:
    """ERROR when a run failed; which implementations were skipped (the reasons are listed by
    ``problems``)."""
    notes = ["ERROR"] if result.errors else []
    skipped = [impl for impl, runs in result.runs.items() if any(r.skipped for r in runs)]
    if skipped:
        names = ", ".join("pyzmq" if impl == BASELINE else impl for impl in skipped)
        notes.append(f"SKIPPED: {names}")
    return "; ".join(notes)


HEADER = ["case", "metric", "securemq", "pyzmq", "securemq/pyzmq", "note"]


def markdown_table(results: Sequence[CaseResult]) -> str:
    """The ratio table as Markdown (the note column only when a case failed)."""
    rows = [HEADER, *table_rows(results)]
    if not any(row[-1] for row in rows[1:]):
        rows = [row[:-1] for row in rows]
    columns = len(rows[0])
    widths = [max(len(row[i]) for row in rows) for i in range(columns)]

    def line(cells: list[str]) -> str:
        padded = [c.ljust(w) if i < 2 else c.rjust(w)
                  for i, (c, w) in enumerate(zip(cells, widths, strict=True))]
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join(("-" * (w + 2) if i < 2 else "-" * (w + 1) + ":")
                          for i, w in enumerate(widths)) + "|"
    return "\n".join([line(rows[0]), rule, *(line(r) for r in rows[1:])])


def problems(results: Sequence[CaseResult]) -> list[str]:
    lines = []
    for result in results:
        lines += [f"ERROR {result.case.name}: {e}" for e in result.errors]
        lines += [f"SKIPPED {result.case.name}: {s}" for s in result.skips]
        lines += [f"warning {result.case.name}: {w}" for w in result.warnings]
    return lines


def to_json(results: Sequence[CaseResult], settings: Settings, info: dict[str, Any],
            argv: Sequence[str]) -> dict[str, Any]:
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "argv": list(argv),
        "machine": info,
        "settings": vars(settings),
        "ratio": "securemq / pyzmq of the medians (latencies: time over time)",
        "cases": [
            {
                "name": r.case.name,
                "kind": r.case.kind,
                "transport": r.case.transport,
                "size": r.case.size,
                "security": r.case.security,
                "peers": r.case.peers,
                "procs": r.case.procs,
                "active": r.case.active,
                "medians": r.medians,
                "ratios": r.ratios,
                "errors": r.errors,
                "skipped": r.skips,
                "warnings": r.warnings,
                "runs": {impl: [{"metrics": run.metrics, "raw": run.raw, "error": run.error,
                                 "skipped": run.skipped, "warnings": run.warnings}
                                for run in runs]
                         for impl, runs in r.runs.items()},
            }
            for r in results
        ],
    }


def write_json(path: str, document: dict[str, Any]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(document, f, indent=2)
        f.write("\n")


_EXPLANATION = """\
Ratios are securemq / pyzmq of the per-implementation medians. For rates (msg/s, conn/s) a
ratio below 1 means securemq is slower; for latencies (us) a ratio above 1 means it is slower.
Throughput is PUSH->PULL measured on the receiver (first message to end marker), sender and
receiver in separate processes (inproc: two threads of one process); latency is the REQ<->REP
round trip; new connections open a REQ socket, do one round trip and close it (CURVE cases with
a ThreadAuthenticator, CURVE_ALLOW_ANY, on the server); fan-out counts the 64 B messages that 8
SUB processes received per second (PUB drops at its high-water mark, so losses are allowed
there). Implementations run interleaved (securemq, pyzmq, securemq, ...)."""

_SCALE_EXPLANATION = """\
Scale cases (tcp): `router/1proc/N` is a ROUTER and N DEALERs in one process (one context, one
thread), `router/4proc/N` the N DEALERs over 4 client processes, `router-idle/N` 10 active
DEALERs among N connected; each round every active DEALER sends 16 B and receives the echo.
"connect + 1st round trip" is from the first DEALER created to the last first echo, "memory per
peer" the RSS growth of the processes holding the DEALERs over that phase divided by N (1proc:
both ends), "CPU per round trip" the user+system time of every process over the timed rounds
divided by the round trips (the ROUTER's share alone is in the JSON). `pubmany/N` is one PUB and
N SUB sockets over 4 processes; `storm-null/N` and `storm-curve/N` (CURVE + ThreadAuthenticator,
CURVE_ALLOW_ANY) time N DEALERs in 4 processes connecting at once until each did one round trip.
A skipped case could not run here (the reason is listed below the table)."""


def results_markdown(results: Sequence[CaseResult], settings: Settings, info: dict[str, Any],
                     command: str) -> str:
    date = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    parts = [
        "# Benchmark results: securemq vs pyzmq",
        "",
        f"- Date: {date}",
        f"- Command: `{command}`",
        f"- Machine: {info['nproc']} CPUs, {info['cpu']}, {info['platform']}",
        f"- Python: {info['python']}; securemq {info['securemq']}; "
        f"pyzmq {info['pyzmq']} (libzmq {info['libzmq']})",
        f"- Runs: {settings.repeats} per implementation, ~{settings.duration:g} s each",
        "",
        _EXPLANATION,
        "",
        *([_SCALE_EXPLANATION, ""]
          if any(r.case.kind in ("router", "pubmany", "storm") for r in results) else []),
        markdown_table(results),
        "",
    ]
    issues = problems(results)
    if issues:
        parts += ["Problems and skipped cases:", "", *(f"- {p}" for p in issues), ""]
    section = goals_section(results)
    if section:
        parts += [section, ""]
    return "\n".join(parts)


def goals_section(results: Sequence[CaseResult]) -> str:
    """Issue 16's goals against this run; empty when the run measured none of their cases."""
    if any(goals.judge(goal, results)[1] is not None for goal in goals.GOALS):
        return goals.goals_markdown(results)
    return ""
