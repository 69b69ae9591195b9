"""Function calls per message: a count for A/B comparisons that machine noise does not move.

``python -m bench.calls`` runs three workloads in one process over tcp loopback with a profile
hook on every thread it starts (the callers and the context's I/O thread), counting calls of
Python functions and of builtins (C functions) while the workload runs. Timings on this machine
move by 20% from run to run; these counts move by a few percent (how messages batch depends on
timing) and say what a change took off a hot path. Calls differ in cost, so a lower count is a
hint, not a speed-up: compare with ``bench.run`` and ``bench.floor`` as well.

* ``broker``: a ROUTER and N DEALERs in one context (as ``bench.floor``'s broker); calls per
  round trip.
* ``reqrep``: REQ in the main thread, REP in another; calls per round trip, both sides.
* ``stream``: PUSH in a thread, PULL in the main thread, 1 B messages; calls per message, both
  ends.

``--impl zmq`` counts pyzmq the same way (its work is in C: it shows the floor of the API).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import threading
from collections import Counter
from collections.abc import Callable
from types import FrameType
from typing import Any

from .floor import broker_round, raise_fd_limit

WORKLOADS = ("broker", "reqrep", "stream")
TIMEOUT_MS = 10_000


class CallCounter:
    """Counts ``call`` and ``c_call`` profile events per thread while ``counting`` is set."""

    def __init__(self, by_name: bool = False) -> None:
        self.counting = False
        self.by_name = by_name
        self._local = threading.local()
        self._per_thread: list[list[int]] = []  # [python, builtin] of each thread seen
        self._names: list[Counter[str]] = []  # calls by function, per thread (by_name)

    def hook(self, frame: FrameType, event: str, arg: Any) -> None:
        if not self.counting:
            return
        try:
            counts: list[int] = self._local.counts
        except AttributeError:
            counts = self._local.counts = [0, 0]
            self._per_thread.append(counts)
            self._local.names = Counter()
            self._names.append(self._local.names)
        if event == "call":
            counts[0] += 1
            if self.by_name:
                code = frame.f_code
                where = code.co_filename.rsplit("/", 1)[-1]
                self._local.names[f"{code.co_qualname} ({where})"] += 1
        elif event == "c_call":
            counts[1] += 1
            if self.by_name:
                self._local.names[f"{getattr(arg, '__qualname__', arg)} (builtin)"] += 1

    def names(self) -> Counter[str]:
        """Calls by function, over every thread (with ``by_name``)."""
        total: Counter[str] = Counter()
        for names in self._names:
            total.update(names)
        return total

    def install(self) -> None:
        """On this thread and every thread started from now on."""
        threading.setprofile(self.hook)
        sys.setprofile(self.hook)

    def uninstall(self) -> None:
        sys.setprofile(None)
        threading.setprofile(None)

    def totals(self) -> tuple[int, int, int]:
        """(Python calls, builtin calls, threads that made any)."""
        python = sum(counts[0] for counts in self._per_thread)
        builtin = sum(counts[1] for counts in self._per_thread)
        return python, builtin, len(self._per_thread)


def _socket(zmq: Any, ctx: Any, kind: int) -> Any:
    sock = ctx.socket(kind)
    sock.linger = 0
    sock.rcvtimeo = sock.sndtimeo = TIMEOUT_MS
    return sock


def _connected(zmq: Any, ctx: Any, bound_kind: int, connecting_kind: int) -> tuple[Any, Any]:
    """A socket bound to a random loopback port and one connected to it."""
    bound = _socket(zmq, ctx, bound_kind)
    port = bound.bind_to_random_port("tcp://127.0.0.1")
    connecting = _socket(zmq, ctx, connecting_kind)
    connecting.connect(f"tcp://127.0.0.1:{port}")
    return bound, connecting


def _broker(zmq: Any, ctx: Any, counter: CallCounter, size: int) -> int:
    """``size`` DEALERs, 20 rounds (bench.floor's); returns the round trips counted."""
    rounds = 20
    raise_fd_limit()
    if zmq.__name__ == "zmq":
        ctx.set(zmq.MAX_SOCKETS, size + 64)
    router = _socket(zmq, ctx, zmq.ROUTER)
    router.setsockopt(zmq.BACKLOG, size)
    port = router.bind_to_random_port("tcp://127.0.0.1")
    dealers = [_socket(zmq, ctx, zmq.DEALER) for _ in range(size)]
    for dealer in dealers:
        dealer.connect(f"tcp://127.0.0.1:{port}")
    one_round = broker_round(router, dealers, "bench.calls: broker")
    one_round()
    one_round()
    counter.counting = True
    for _ in range(rounds):
        one_round()
    counter.counting = False
    return rounds * size


def _reqrep(zmq: Any, ctx: Any, counter: CallCounter, size: int) -> int:
    """``size`` round trips of 1 B; returns how many were counted."""
    warmup = 100
    rep, req = _connected(zmq, ctx, zmq.REP, zmq.REQ)

    def echo() -> None:
        for _ in range(warmup + size):
            rep.send(rep.recv())

    server = threading.Thread(target=echo, daemon=True)
    server.start()
    for index in range(warmup + size):
        if index == warmup:
            counter.counting = True
        req.send(b"x")
        req.recv()
    counter.counting = False
    server.join(TIMEOUT_MS / 1000)
    return size


def _stream(zmq: Any, ctx: Any, counter: CallCounter, size: int) -> int:
    """``size`` messages of 1 B after a warm-up; returns how many were counted."""
    warmup = 1000
    pull, push = _connected(zmq, ctx, zmq.PULL, zmq.PUSH)
    go = threading.Event()

    def send() -> None:
        for _ in range(warmup):
            push.send(b"x")
        go.wait(TIMEOUT_MS / 1000)
        for _ in range(size):
            push.send(b"x")

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    for _ in range(warmup):
        pull.recv()
    counter.counting = True
    go.set()
    for _ in range(size):
        pull.recv()
    counter.counting = False
    sender.join(TIMEOUT_MS / 1000)
    return size


_RUNS: dict[str, Callable[[Any, Any, CallCounter, int], int]] = {
    "broker": _broker, "reqrep": _reqrep, "stream": _stream,
}
DEFAULT_SIZES = {"broker": 100, "reqrep": 2000, "stream": 100_000}


def measure(workload: str, size: int | None = None, impl: str = "securemq",
            by_name: int = 0) -> dict[str, Any]:
    """Calls per round trip (broker, reqrep) or per message (stream), Python and builtin,
    how many threads made them, and (``by_name``) the most called functions, per unit."""
    zmq = importlib.import_module(impl)
    counter = CallCounter(by_name=by_name > 0)
    counter.install()  # (before the context: its I/O thread must carry the hook)
    try:
        ctx = zmq.Context()
        try:
            units = _RUNS[workload](zmq, ctx, counter, size or DEFAULT_SIZES[workload])
        finally:
            counter.counting = False
            ctx.destroy(linger=0)
    finally:
        counter.uninstall()
    python, builtin, threads = counter.totals()
    top = [(name, count / units) for name, count in counter.names().most_common(by_name)]
    return {"python": python / units, "builtin": builtin / units, "threads": threads,
            "top": top}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.calls", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=WORKLOADS, action="append",
                        help="a workload (repeatable; all by default)")
    parser.add_argument("--impl", default="securemq", choices=("securemq", "zmq"))
    parser.add_argument("--size", type=int,
                        help="broker: DEALERs; reqrep: round trips; stream: messages")
    parser.add_argument("--by-name", type=int, default=0, metavar="N",
                        help="also list the N most called functions, per unit")
    args = parser.parse_args(argv)
    unit = {"broker": "round trip", "reqrep": "round trip", "stream": "message"}
    for workload in args.only or WORKLOADS:
        result = measure(workload, args.size, args.impl, args.by_name)
        print(f"{workload:7} {args.impl}: {result['python']:7.1f} Python calls and "
              f"{result['builtin']:7.1f} builtin calls per {unit[workload]} "
              f"({result['threads']:.0f} threads)")
        for name, count in result["top"]:
            print(f"    {count:7.2f}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
