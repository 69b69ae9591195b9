"""The workload table: which cases exist, their names, their metrics, and the run settings.

A case is one workload (throughput, latency, new connections, PUB fan-out) on one transport with
one message size and one security level. Names look like ``thr/tcp/1KiB``,
``thr-curve/ipc/64KiB``, ``lat/inproc/1B``, ``conn-curve-zap/tcp``, ``pub8/ipc/64B``; ``--only``
matches them by substring or glob.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

Kind = Literal["thr", "lat", "conn", "pub"]
Security = Literal["null", "curve", "curve+zap"]

KiB = 1024
MiB = 1024 * 1024

# The implementations compared, by importable module name (imported as ``zmq`` in the workers).
IMPLEMENTATIONS: tuple[str, ...] = ("securemq", "zmq")
BASELINE = "zmq"
FANOUT = 8


@dataclass(frozen=True)
class Case:
    name: str
    kind: Kind
    transport: str
    size: int
    security: Security = "null"
    subscribers: int = 0


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    unit: str
    higher_is_better: bool


# What each kind of case reports; the ratio is always securemq's number over pyzmq's, so for a
# latency a ratio above 1 means securemq is slower, for a rate a ratio below 1 does.
METRICS: dict[Kind, tuple[Metric, ...]] = {
    "thr": (Metric("msgs_per_s", "throughput", "msg/s", True),
            Metric("mb_per_s", "bandwidth", "MB/s", True)),
    "lat": (Metric("median_us", "round trip median", "us", False),
            Metric("p99_us", "round trip p99", "us", False)),
    "conn": (Metric("conns_per_s", "new connections", "conn/s", True),),
    "pub": (Metric("delivered_per_s", "delivered", "msg/s", True),
            Metric("drop_pct", "dropped by PUB (HWM)", "%", False)),
}
# The metrics shown in the ratio table (the others are in the JSON only).
TABLE_METRICS: dict[Kind, tuple[str, ...]] = {
    "thr": ("msgs_per_s",),
    "lat": ("median_us", "p99_us"),
    "conn": ("conns_per_s",),
    "pub": ("delivered_per_s",),
}


@dataclass(frozen=True)
class Settings:
    """How long and how often each case runs."""

    duration: float  # seconds of sending per run (the time bound)
    repeats: int  # runs per implementation; medians are reported
    max_msgs: int  # message-count bound for throughput and fan-out runs
    max_round_trips: int  # bound for latency runs
    max_conns: int  # bound for connection-rate runs
    warmup_round_trips: int = 50
    run_timeout: float = 60.0  # hard deadline of one run, processes killed after it
    io_timeout_ms: int = 10_000  # RCVTIMEO / SNDTIMEO inside the workers


FULL = Settings(duration=1.0, repeats=3, max_msgs=5_000_000, max_round_trips=200_000,
                max_conns=20_000)
QUICK = Settings(duration=0.25, repeats=2, max_msgs=1_000_000, max_round_trips=50_000,
                 max_conns=5_000)


def size_label(size: int) -> str:
    if size >= MiB and size % MiB == 0:
        return f"{size // MiB}MiB"
    if size >= KiB and size % KiB == 0:
        return f"{size // KiB}KiB"
    return f"{size}B"


def _thr(transport: str, size: int, security: Security = "null") -> Case:
    prefix = "thr" if security == "null" else "thr-curve"
    return Case(f"{prefix}/{transport}/{size_label(size)}", "thr", transport, size, security)


def _lat(transport: str, size: int, security: Security = "null") -> Case:
    prefix = "lat" if security == "null" else "lat-curve"
    return Case(f"{prefix}/{transport}/{size_label(size)}", "lat", transport, size, security)


def _conn(transport: str, security: Security) -> Case:
    prefix = "conn-null" if security == "null" else "conn-curve-zap"
    return Case(f"{prefix}/{transport}", "conn", transport, 1, security)


def _pub(transport: str) -> Case:
    return Case(f"pub{FANOUT}/{transport}/64B", "pub", transport, 64, "null", FANOUT)


def full_cases() -> list[Case]:
    """Every workload of the performance issue, over tcp and ipc (and inproc where it applies:
    in one process, without security, as libzmq)."""
    cases: list[Case] = []
    socket_transports = ("tcp", "ipc")
    for transport in (*socket_transports, "inproc"):
        cases += [_thr(transport, size) for size in (1, 64, KiB, 64 * KiB, MiB)]
    for transport in (*socket_transports, "inproc"):
        cases += [_lat(transport, size) for size in (1, KiB)]
    for transport in socket_transports:
        cases += [_thr(transport, size, "curve") for size in (1, KiB, 64 * KiB)]
    for transport in socket_transports:
        cases += [_lat(transport, size, "curve") for size in (1, KiB)]
    for transport in socket_transports:
        cases += [_conn(transport, "null"), _conn(transport, "curve+zap")]
    cases += [_pub(transport) for transport in socket_transports]
    return cases


def quick_cases() -> list[Case]:
    """A one-minute subset: fewer sizes, tcp for most, one case per workload elsewhere."""
    return [
        _thr("tcp", 1), _thr("tcp", KiB), _thr("tcp", 64 * KiB), _thr("tcp", MiB),
        _thr("ipc", 1), _thr("inproc", 1),
        _lat("tcp", 1), _lat("ipc", 1), _lat("inproc", 1),
        _thr("tcp", 1, "curve"), _thr("tcp", 64 * KiB, "curve"),
        _lat("tcp", 1, "curve"),
        _conn("tcp", "null"), _conn("tcp", "curve+zap"),
        _pub("tcp"),
    ]


def select(cases: Iterable[Case], patterns: Sequence[str]) -> list[Case]:
    """Cases whose name contains one of ``patterns`` or matches it as a glob (all if none)."""
    if not patterns:
        return list(cases)
    return [case for case in cases
            if any(p in case.name or fnmatch.fnmatchcase(case.name, p) for p in patterns)]


def find(name: str) -> Case:
    """The case called exactly ``name`` in the full table (or ``KeyError``)."""
    for case in full_cases():
        if case.name == name:
            return case
    raise KeyError(f"bench: no case named {name!r}")
