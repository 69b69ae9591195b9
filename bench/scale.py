"""Runs the scale cases: a ROUTER with N DEALERs, a PUB with N SUBs, connection storms.

How this works
--------------
Same rules as ``runner``: every worker is a spawned process (see ``scale_workers``), every wait
has the run's deadline, counts are checked, and the caller stops every worker it started. Waits
here collect one message from several workers at once (``gather``) while watching the others,
so that a client that fails while the runner waits for the server ends the run at once.

- ``router/4proc/N``, ``router-idle/N``: the ROUTER process binds; the client processes are
  spawned and, once all have imported the implementation, told to ``"connect"`` together; the
  connect time is from the first client's first socket to the last client's last echo. The
  runner then marks the ROUTER's CPU time, starts the rounds (``"go"``), takes the results of
  the active clients, marks the ROUTER again, stops the idle clients, and ends the run
  (``"done"``: end markers, the ROUTER's count of echoed messages, which must equal the first
  round plus the round trips). CPU per round trip is the CPU time of every process over the
  timed phase (ROUTER between the marks, clients over their rounds) over the round trips.
- ``router/1proc/N``: one process does it all (``router_1proc``).
- ``storm-*/N``: as the connect phase of ``router/4proc/N`` (and CURVE + ZAP for storm-curve).
- ``pubmany/N``: as ``pub8``, with N SUB sockets over a few processes.

Before spawning anything, ``check_fds`` compares the descriptors each process will need with the
RLIMIT_NOFILE hard limit (the workers raise their soft limit up to it) and skips the run, with
the reason, when a process could not hold its sockets.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from multiprocessing.connection import wait
from typing import Any

from .cases import Case
from .process import Worker, _check_equal, _rate
from .scale_workers import fd_shortage, fds_needed
from .workers import BenchError, BenchSkip, Params

_WATCH_EXIT_GRACE = 2.0  # seconds to collect the exit code of a watched worker that closed


def gather(workers: Sequence[Worker], key: str, deadline: float,
           watch: Sequence[Worker] = ()) -> list[Any]:
    """``{key: value}`` from each of ``workers`` (any order) before ``deadline``; the values in
    the order of ``workers``. ``watch``: workers that must not fail meanwhile (an error, a
    message or an exit with a non-zero code from one of them ends the run; exiting cleanly is
    fine)."""
    pending: dict[Any, Worker] = {worker.conn: worker for worker in workers}
    watched: dict[Any, Worker] = {worker.conn: worker for worker in watch}
    values: dict[Any, Any] = {}
    while pending:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            late = ", ".join(worker.label for worker in pending.values())
            raise BenchError(f"runner: no {key!r} from {late} before the deadline")
        for conn in wait([*pending, *watched], timeout=min(remaining, 0.5)):
            worker = pending[conn] if conn in pending else watched[conn]
            try:
                msg = worker.conn.recv()
            except (EOFError, OSError):
                worker.proc.join(_WATCH_EXIT_GRACE)
                code = worker.proc.exitcode
                if conn in watched and code in (0, None):  # done (None: still tearing down)
                    del watched[conn]
                    continue
                what = f"exited before sending {key!r}" if conn in pending else "died"
                raise BenchError(f"runner: {worker.label} {what} (exit code {code})") from None
            if "error" in msg:
                raise BenchError(str(msg["error"]))
            if "skip" in msg:
                raise BenchSkip(str(msg["skip"]))
            if conn in watched or key not in msg:
                raise BenchError(f"runner: {worker.label} sent {sorted(msg)} while the runner "
                                 f"waited for {key!r}")
            values[conn] = msg[key]
            del pending[conn]
    return [values[worker.conn] for worker in workers]


def split(total: int, parts: int) -> list[int]:
    """``total`` peers over at most ``parts`` processes, as evenly as possible, none empty."""
    parts = min(parts, total)
    if parts <= 0:
        return []
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def layout(case: Case) -> list[tuple[int, int]]:
    """(DEALERs, active DEALERs) of each client process; empty for router/1proc."""
    if case.kind == "router" and case.active:
        idle = case.peers - case.active
        return [(case.active, case.active), *((k, 0) for k in split(idle, case.procs - 1))]
    return [(k, k) for k in split(case.peers, case.procs)]


def fd_demand(case: Case) -> list[tuple[str, int]]:
    """(which process, descriptors it needs) for every process of ``case``."""
    if case.kind == "router" and not case.procs:
        return [("the ROUTER with its DEALERs",
                 fds_needed(case.peers + 1, 2 * case.peers))]
    server = "the PUB" if case.kind == "pubmany" else "the ROUTER"
    return [(server, fds_needed(8, case.peers)),
            *((f"a client with {k} sockets", fds_needed(k, k)) for k, _ in layout(case))]


def check_fds(case: Case) -> None:
    """``BenchSkip`` if a process of ``case`` needs more descriptors than the hard limit."""
    try:
        import resource
    except ImportError:
        return
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard == resource.RLIM_INFINITY:
        return
    for who, need in fd_demand(case):
        if need > hard:
            raise BenchSkip(f"{who} {fd_shortage(need, hard, 'hard')}")


def _backlog(case: Case) -> int:
    """The listener's BACKLOG for both implementations (default 100): the peer count, so that a
    burst of connects is not dropped by the kernel (which caps it at net.core.somaxconn)."""
    return max(100, case.peers)


def _scale_params(case: Case, params: Params) -> Params:
    return {**params, "peers": case.peers, "backlog": _backlog(case)}


def _mark(server: Worker, deadline: float, watch: Sequence[Worker]) -> dict[str, Any]:
    """The ROUTER process's CPU time and RSS now."""
    server.send("mark")
    marked: dict[str, Any] = gather([server], "marked", deadline, watch)[0]
    return marked


def _window(results: Sequence[dict[str, Any]]) -> float:
    """From the earliest start to the latest end (CLOCK_MONOTONIC is system-wide)."""
    return float(max(r["end"] for r in results) - min(r["start"] for r in results))


def _clients(case: Case, impl: str, params: Params, ready: dict[str, Any], rounds: bool,
             workers: list[Worker]) -> list[Worker]:
    clients = [Worker("router_client", impl, {**params, **ready, "peers": peers,
                                              "active": active, "rounds": rounds})
               for peers, active in layout(case)]
    workers.extend(clients)
    return clients


def _connect(clients: Sequence[Worker], server: Worker,
             deadline: float) -> list[dict[str, Any]]:
    """All clients imported, then all told to connect at once; their connect reports."""
    gather(clients, "spawned", deadline, [server])
    for client in clients:
        client.send("connect")
    connected: list[dict[str, Any]] = gather(clients, "connected", deadline, [server])
    return connected


def _router_1proc(case: Case, impl: str, params: Params, deadline: float,
                  workers: list[Worker]) -> tuple[dict[str, float], dict[str, Any]]:
    worker = Worker("router_1proc", impl, _scale_params(case, params))
    workers.append(worker)
    res: dict[str, Any] = gather([worker], "result", deadline)[0]
    _check_equal("ROUTER<->DEALER in one process", res["served"], res["received"])
    metrics = {
        "rt_per_s": _rate(res["round_trips"], res["elapsed"]),
        "connect_ms": res["connect_s"] * 1000.0,
        "kib_per_conn": res["rss_delta"] / case.peers / 1024.0,
        "cpu_us_per_rt": res["cpu_s"] / res["round_trips"] * 1e6,
    }
    return metrics, {"process": res}


def run_router(case: Case, impl: str, params: Params, deadline: float,
               workers: list[Worker]) -> tuple[dict[str, float], dict[str, Any]]:
    check_fds(case)
    if not case.procs:
        return _router_1proc(case, impl, params, deadline, workers)
    params = _scale_params(case, params)
    server = Worker("router_server", impl, params)
    workers.append(server)
    ready = gather([server], "ready", deadline)[0]
    rss0 = ready.pop("rss0")
    clients = _clients(case, impl, params, ready, True, workers)
    active = [c for c, (_, a) in zip(clients, layout(case), strict=True) if a]
    idle = [c for c, (_, a) in zip(clients, layout(case), strict=True) if not a]
    connected = _connect(clients, server, deadline)

    mark0 = _mark(server, deadline, clients)
    for client in clients:
        client.send("go")
    results = gather(active, "result", deadline, [server, *idle])
    mark1 = _mark(server, deadline, clients)
    for client in idle:
        client.send("stop")
    idle_results = gather(idle, "result", deadline, [server, *active])
    for client in clients:
        client.send("done")
    served = gather([server], "result", deadline, clients)[0]["served"]

    round_trips = sum(r["round_trips"] for r in results)
    _check_equal("ROUTER<->DEALER (first round + round trips)", case.peers + round_trips, served)
    router_cpu = mark1["cpu_s"] - mark0["cpu_s"]
    cpu = router_cpu + sum(r["cpu_s"] for r in (*results, *idle_results))
    metrics = {
        "rt_per_s": _rate(round_trips, _window(results)),
        "connect_ms": _window(connected) * 1000.0,
        "kib_per_conn": sum(c["rss_delta"] for c in connected) / case.peers / 1024.0,
        "cpu_us_per_rt": cpu / round_trips * 1e6,
        "router_cpu_us_per_rt": router_cpu / round_trips * 1e6,
        "router_kib_per_conn": (mark0["rss"] - rss0) / case.peers / 1024.0,
    }
    raw = {"layout": layout(case), "served": served, "connected": connected,
           "clients": [*results, *idle_results], "router_cpu_s": router_cpu}
    return metrics, raw


def run_storm(case: Case, impl: str, params: Params, deadline: float,
              workers: list[Worker]) -> tuple[dict[str, float], dict[str, Any]]:
    check_fds(case)
    params = _scale_params(case, params)
    server = Worker("router_server", impl, params)
    workers.append(server)
    ready = gather([server], "ready", deadline)[0]
    rss0 = ready.pop("rss0")
    clients = _clients(case, impl, params, ready, False, workers)
    connected = _connect(clients, server, deadline)
    mark = _mark(server, deadline, clients)
    for client in clients:
        client.send("done")
    served = gather([server], "result", deadline, clients)[0]["served"]
    _check_equal("storm: one round trip per client", case.peers, served)
    elapsed = _window(connected)
    metrics = {"storm_ms": elapsed * 1000.0, "conns_per_s": _rate(case.peers, elapsed)}
    raw = {"layout": layout(case), "connected": connected,
           "router_kib_per_conn": (mark["rss"] - rss0) / case.peers / 1024.0}
    return metrics, raw


def run_pubmany(case: Case, impl: str, params: Params, deadline: float,
                workers: list[Worker]) -> tuple[dict[str, float], dict[str, Any]]:
    check_fds(case)
    params = _scale_params(case, params)
    pub = Worker("pubmany_publisher", impl, params)
    workers.append(pub)
    ready = gather([pub], "ready", deadline)[0]
    subs = [Worker("pubmany_subscriber", impl, {**params, **ready, "peers": k})
            for k in split(case.peers, case.procs)]
    workers.extend(subs)
    gather(subs, "subscribed", deadline, [pub])
    pub.send("go")
    *results, published = gather([*subs, pub], "result", deadline)
    pub.send("done")
    sent = published["sent"]
    received = sum(r["received"] for r in results)
    window = max(r["end"] for r in results) - min(r["first"] for r in results)
    expected = sent * case.peers
    metrics = {"delivered_per_s": _rate(received, window),
               "drop_pct": 100.0 * (expected - received) / expected if expected else 0.0}
    raw = {"sent": sent, "subscribers": results}
    return metrics, raw


SCALE_KINDS: dict[str, Callable[[Case, str, Params, float, list[Worker]],
                                tuple[dict[str, float], dict[str, Any]]]] = {
    "router": run_router, "pubmany": run_pubmany, "storm": run_storm,
}
