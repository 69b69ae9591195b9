"""Issue 16's goals, held against a run: the "Goals" section of the bench report.

Each goal names the case and metric it is judged on and a bound, on the securemq/pyzmq ratio
(for rates higher is better, for times lower is) or, for memory, on securemq's own figure. What
a run did not measure is "not run". Where a goal is not met, ``bound`` says what limits that
row, as measured (the numbers behind it are in docs/PERFORMANCE.md, "What a goal costs").
Only the met / not met column comes from the run; the text is kept by hand.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from .runner import CaseResult

Judged = Literal["ratio", "securemq", "flat"]

_STREAM = ("CPU per message, startup excluded: securemq's sender 0.45-0.6 µs on the caller and "
           "0.25 on the reactor, taking turns under the GIL; pyzmq's 0.5-0.6 on its thread "
           "with libzmq's I/O thread in parallel; receivers 0.5-0.6 vs 0.3-0.4. 1.3x needs "
           "<= ~0.4 per end in all; the floor spends 0.2-0.25 (bench.floor)")
_BROKER = ("62-67 Python calls and 46-71 µs CPU per round trip (pyzmq 26-37) against a budget "
           "of ~30 µs, 20-30 of them the kernel's: only one thread reading, routing and "
           "writing fits (the floor, 23 µs; the caller running the reactor's turns itself, "
           "measured with a hack: 1.3-2.3x today's rate)")
_CONNECT = ("~700 Python calls per connection (both ends), no step above 5%; NULL user time "
            "per connection: client 330-380 µs vs 146, server 290-320 vs 70")


@dataclass(frozen=True)
class Goal:
    label: str
    case: str  # the case's name; for "flat", a prefix every case of the curve starts with
    metric: str
    bound: float
    # ratio: securemq/pyzmq; securemq: securemq's own median; flat: the largest over the
    # smallest of securemq's medians along the curve.
    judged: Judged = "ratio"
    at_most: bool = False  # True: the figure must not exceed the bound (times, memory)
    limit: str = ""  # what bounds the row while it is not met


GOALS: tuple[Goal, ...] = (
    Goal("PUSH->PULL tcp 1 B", "thr/tcp/1B", "msgs_per_s", 1.3, limit=_STREAM),
    Goal("PUSH->PULL tcp 64 B", "thr/tcp/64B", "msgs_per_s", 1.3, limit=_STREAM),
    Goal("PUSH->PULL tcp 1 KiB", "thr/tcp/1KiB", "msgs_per_s", 1.15, limit=_STREAM),
    Goal("PUSH->PULL tcp 64 KiB", "thr/tcp/64KiB", "msgs_per_s", 1.0),
    Goal("PUSH->PULL tcp 1 MiB", "thr/tcp/1MiB", "msgs_per_s", 1.0,
         limit="within noise: 0.95-1.15 in interleaved runs (pyzmq itself 1.8k-2.7k msg/s)"),
    Goal("PUSH->PULL ipc 1 B", "thr/ipc/1B", "msgs_per_s", 1.3, limit=_STREAM),
    Goal("PUSH->PULL ipc 64 B", "thr/ipc/64B", "msgs_per_s", 1.3, limit=_STREAM),
    Goal("REQ<->REP tcp 1 B (time)", "lat/tcp/1B", "median_us", 0.85, at_most=True,
         limit="~100 of ~120 µs are the two kernels and wake-ups; each side's 25-33 µs of "
               "user time would have to lose ~10"),
    Goal("REQ<->REP tcp 1 KiB (time)", "lat/tcp/1KiB", "median_us", 1.0, at_most=True,
         limit="at the line: 0.98-1.15 run to run"),
    Goal("PUB -> 8 SUB, 64 B", "pub8/tcp/64B", "delivered_per_s", 1.3,
         limit="eight SUB processes on two cores: bounded by the SUBs' receive path (as "
               "PULL's)"),
    Goal("CURVE 1 B", "thr-curve/tcp/1B", "msgs_per_s", 0.35,
         limit="PyNaCl's per-call cost: ~1.1 µs to seal and ~1.8 µs to open a 1 B box"),
    Goal("CURVE 1 KiB", "thr-curve/tcp/1KiB", "msgs_per_s", 0.75,
         limit="the receiver: 6 µs per message against pyzmq's 2.9, 30% of it in libsodium"),
    Goal("CURVE 64 KiB", "thr-curve/tcp/64KiB", "msgs_per_s", 1.0),
    Goal("CURVE round trip 1 B (time)", "lat-curve/tcp/1B", "median_us", 1.2, at_most=True,
         limit="a seal and an open per round trip on each side (~3 µs of PyNaCl and glue) on "
               "top of REQ/REP's path; 0.84-1.38 run to run"),
    Goal("new connections/s, NULL", "conn-null/tcp", "conns_per_s", 0.8, limit=_CONNECT),
    Goal("new connections/s, CURVE+ZAP", "conn-curve-zap/tcp", "conns_per_s", 1.0,
         limit=_CONNECT),
    Goal("ROUTER + 100 DEALERs, one process", "router/1proc/100", "rt_per_s", 0.9,
         limit=_BROKER),
    Goal("ROUTER + 1,000 DEALERs, one process", "router/1proc/1000", "rt_per_s", 0.9,
         limit=_BROKER),
    Goal("ROUTER + 1,000 DEALERs, 4 processes", "router/4proc/1000", "rt_per_s", 0.9,
         limit=_BROKER),
    Goal("ROUTER + 10,000 DEALERs, 4 processes", "router/4proc/10000", "rt_per_s", 1.0,
         limit=_BROKER),
    Goal("connect + first round trip, 1,000 peers, one process (time)", "router/1proc/1000",
         "connect_ms", 1.0, at_most=True, limit=_CONNECT),
    Goal("connect + first round trip, 10,000 peers (time)", "router/4proc/10000", "connect_ms",
         1.0, at_most=True,
         limit=_CONNECT + "; pyzmq's 31.6 s in the issue was its listener's backlog of 100"),
    Goal("memory per connection, 1,000 peers (KiB)", "router/4proc/1000", "kib_per_conn", 20.0,
         judged="securemq", at_most=True),
    Goal("memory per connection, 10,000 peers (KiB)", "router/4proc/10000", "kib_per_conn",
         20.0, judged="securemq", at_most=True),
    Goal("CPU per round trip flat from 10 to 10,000 idle peers (largest / smallest)",
         "router-idle/", "cpu_us_per_rt", 2.0, judged="flat", at_most=True),
)


def _figure(goal: Goal, results: Sequence[CaseResult]) -> float | None:
    """What the run says for ``goal`` (None: not measured)."""
    if goal.judged == "flat":
        curve = [r.medians.get("securemq", {}).get(goal.metric) for r in results
                 if r.case.name.startswith(goal.case)]
        points = [value for value in curve if value]
        return max(points) / min(points) if len(points) >= 2 else None
    for result in results:
        if result.case.name == goal.case:
            if goal.judged == "securemq":
                return result.medians.get("securemq", {}).get(goal.metric)
            return result.ratios.get(goal.metric)
    return None


def judge(goal: Goal, results: Sequence[CaseResult]) -> tuple[float | None, bool | None]:
    """(the run's figure, whether it meets the goal); (None, None) when the run lacks it."""
    figure = _figure(goal, results)
    if figure is None:
        return None, None
    return figure, (figure <= goal.bound if goal.at_most else figure >= goal.bound)


def goals_markdown(results: Sequence[CaseResult]) -> str:
    """The Goals section: each goal of issue 16 against this run, and what bounds the rows
    that are not met."""
    lines = [
        "## Goals (issue 16)",
        "",
        "Each goal against this run: a ratio is securemq / pyzmq (for a time, lower is better),",
        "memory is securemq's own; \"not run\" means this run did not measure it. What bounds a",
        "row that is not met was measured, not assumed (`docs/PERFORMANCE.md`, \"What a goal",
        "costs\"; `python -m bench.floor` for the floor).",
        "",
        "| goal | case | bound | this run | met | what bounds it |",
        "|---|---|---:|---:|---|---|",
    ]
    for goal in GOALS:
        figure, met = judge(goal, results)
        bound = f"{'<=' if goal.at_most else '>='} {goal.bound:g}"
        shown = "-" if figure is None else f"{figure:.2f}"
        verdict = "not run" if met is None else ("yes" if met else "no")
        limit = goal.limit if met is False else ""
        case = goal.case + "*" if goal.judged == "flat" else goal.case
        lines.append(f"| {goal.label} | `{case}` | {bound} | {shown} | {verdict} | {limit} |")
    return "\n".join(lines)
