"""The workload table: which cases exist, their names, their metrics, and the run settings.

A case is one workload (throughput, latency, new connections, PUB fan-out) on one transport with
one message size and one security level. Names look like ``thr/tcp/1KiB``,
``thr-curve/ipc/64KiB``, ``lat/inproc/1B``, ``conn-curve-zap/tcp``, ``pub8/ipc/64B``; ``--only``
matches them by substring or glob.

The *scale* cases (``scale_cases``) put many peers on one socket: a ROUTER with N DEALERs
(``router/1proc/N``, ``router/4proc/N``, ``router-idle/N``), a PUB with N SUBs (``pubmany/N``) and
N clients connecting at once (``storm-null/N``, ``storm-curve/N``), all over tcp. They are not in
the default sets: ``--scale`` or an ``--only`` that names them runs them.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

Kind = Literal["thr", "lat", "conn", "pub", "router", "pubmany", "storm"]
Security = Literal["null", "curve", "curve+zap"]

KiB = 1024
MiB = 1024 * 1024

# The implementations compared, by importable module name (imported as ``zmq`` in the workers).
IMPLEMENTATIONS: tuple[str, ...] = ("securemq", "zmq")
BASELINE = "zmq"
FANOUT = 8
# Scale cases: peer counts, client processes, active DEALERs of router-idle, message size.
SCALE_PEERS: tuple[int, ...] = (10, 100, 1_000, 10_000)
QUICK_SCALE_PEERS: tuple[int, ...] = (10, 100, 1_000)
PUBMANY_PEERS: tuple[int, ...] = (100, 1_000)
SCALE_PROCS = 4  # client processes of router/4proc, pubmany and the storms
IDLE_ACTIVE = 10  # active DEALERs of router-idle/N (the other N - 10 only connect)
IDLE_PROCS = 3  # processes holding router-idle's idle DEALERs
SCALE_SIZE = 16  # bytes per ROUTER<->DEALER message
# Extra deadline per peer on top of Settings.run_timeout (connecting 10,000 peers takes a while).
TIMEOUT_PER_PEER = {"null": 0.03, "curve": 0.06, "curve+zap": 0.06}


@dataclass(frozen=True)
class Case:
    name: str
    kind: Kind
    transport: str
    size: int
    security: Security = "null"
    subscribers: int = 0
    # Scale cases: peers (DEALERs, SUBs or storm clients), the client processes that hold them
    # (0: all in the process of the ROUTER), and how many DEALERs send (0: all of them).
    peers: int = 0
    procs: int = 0
    active: int = 0


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
    "router": (Metric("rt_per_s", "round trips", "rt/s", True),
               Metric("connect_ms", "connect + 1st round trip", "ms", False),
               Metric("kib_per_conn", "memory per peer", "KiB", False),
               Metric("cpu_us_per_rt", "CPU per round trip", "us", False),
               Metric("router_cpu_us_per_rt", "ROUTER CPU per round trip", "us", False),
               Metric("router_kib_per_conn", "ROUTER memory per peer", "KiB", False)),
    "pubmany": (Metric("delivered_per_s", "delivered", "msg/s", True),
                Metric("drop_pct", "dropped by PUB (HWM)", "%", False)),
    "storm": (Metric("storm_ms", "all connected + 1 round trip", "ms", False),
              Metric("conns_per_s", "connections", "conn/s", True)),
}
# The metrics shown in the ratio table (the others are in the JSON only).
TABLE_METRICS: dict[Kind, tuple[str, ...]] = {
    "thr": ("msgs_per_s",),
    "lat": ("median_us", "p99_us"),
    "conn": ("conns_per_s",),
    "pub": ("delivered_per_s",),
    "router": ("rt_per_s", "connect_ms", "kib_per_conn", "cpu_us_per_rt"),
    "pubmany": ("delivered_per_s",),
    "storm": ("storm_ms",),
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
    run_timeout: float = 60.0  # hard deadline of one run (plus TIMEOUT_PER_PEER per peer)
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


# The scale constructors are public: the smoke test builds them with 3 peers.


def router_case(layout: str, peers: int) -> Case:
    """``router/1proc/N`` (the DEALERs in the ROUTER's process) or ``router/4proc/N``."""
    procs = SCALE_PROCS if layout == "4proc" else 0
    return Case(f"router/{layout}/{peers}", "router", "tcp", SCALE_SIZE, peers=peers,
                procs=procs)


def router_idle_case(peers: int, active: int = IDLE_ACTIVE) -> Case:
    """``router-idle/N``: 10 DEALERs (in one process) send, the other N - 10 (in 3 more) are
    connected and idle."""
    return Case(f"router-idle/{peers}", "router", "tcp", SCALE_SIZE, peers=peers,
                procs=1 + IDLE_PROCS, active=min(active, peers))


def pubmany_case(peers: int) -> Case:
    return Case(f"pubmany/{peers}", "pubmany", "tcp", 64, peers=peers, procs=SCALE_PROCS)


def storm_case(peers: int, security: Security) -> Case:
    prefix = "storm-null" if security == "null" else "storm-curve"
    return Case(f"{prefix}/{peers}", "storm", "tcp", SCALE_SIZE, security, peers=peers,
                procs=SCALE_PROCS)


def run_timeout(case: Case, settings: Settings) -> float:
    """The hard deadline of one run of ``case``: longer for many peers."""
    return settings.run_timeout + case.peers * TIMEOUT_PER_PEER[case.security]


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


def scale_cases(peer_counts: Sequence[int] = SCALE_PEERS) -> list[Case]:
    """Many peers on one socket, over tcp: ROUTER with N DEALERs (in its own process, over 4
    client processes, and 10 active among N), PUB with N SUBs, N clients connecting at once."""
    cases: list[Case] = []
    cases += [router_case("1proc", n) for n in peer_counts]
    cases += [router_case("4proc", n) for n in peer_counts]
    cases += [router_idle_case(n) for n in peer_counts]
    cases += [pubmany_case(n) for n in PUBMANY_PEERS]
    cases += [storm_case(n, "null") for n in peer_counts]
    cases += [storm_case(n, "curve+zap") for n in peer_counts]
    return cases


def quick_scale_cases() -> list[Case]:
    """The scale cases up to 1,000 peers."""
    return scale_cases(QUICK_SCALE_PEERS)


def select(cases: Iterable[Case], patterns: Sequence[str]) -> list[Case]:
    """Cases whose name contains one of ``patterns`` or matches it as a glob (all if none); a
    pattern that is exactly a case's name selects that case alone (``router/4proc/10`` is not
    also ``router/4proc/100``)."""
    cases = list(cases)
    if not patterns:
        return cases
    names = {case.name for case in cases}

    def matches(name: str, pattern: str) -> bool:
        if pattern in names:
            return name == pattern
        return pattern in name or fnmatch.fnmatchcase(name, pattern)

    return [case for case in cases if any(matches(case.name, p) for p in patterns)]


def find(name: str) -> Case:
    """The case called exactly ``name`` in the full or scale table (or ``KeyError``)."""
    for case in (*full_cases(), *scale_cases()):
        if case.name == name:
            return case
    raise KeyError(f"bench: no case named {name!r}")
