"""The benchmark's worker processes: the entry point a spawned worker runs (every role, from
``workers`` and ``scale_workers``) and the runner's handle on one worker."""

from __future__ import annotations

import importlib
import multiprocessing
import time
from multiprocessing.connection import Connection
from typing import Any

from .scale_workers import SCALE_ROLES
from .workers import ROLES, BenchError, BenchSkip, Params

_MP = multiprocessing.get_context("spawn")


def worker_main(role: str, impl: str, params: Params, conn: Connection) -> None:
    """Process entry point: run ``role`` against implementation ``impl``, report to ``conn``."""
    try:
        zmq = importlib.import_module(impl)
        (ROLES[role] if role in ROLES else SCALE_ROLES[role])(zmq, impl, params, conn)
    except BenchSkip as exc:
        try:
            conn.send({"skip": str(exc)})
        except OSError:
            pass
    except BaseException as exc:
        try:
            conn.send({"error": f"{role} ({impl}): {type(exc).__name__}: {exc}"})
        except OSError:
            pass
        if not isinstance(exc, Exception):
            raise
    finally:
        conn.close()


class Worker:
    """One spawned worker process and the runner's end of its control pipe."""

    def __init__(self, role: str, impl: str, params: Params) -> None:
        self.label = f"{role} ({impl})"
        self.conn, child = _MP.Pipe()
        self.proc = _MP.Process(target=worker_main, args=(role, impl, params, child),
                                name=f"bench-{role}", daemon=True)
        self.proc.start()
        child.close()

    def expect(self, key: str, deadline: float) -> Any:
        """Wait for the message ``{key: value}`` until ``deadline`` (monotonic); its value."""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BenchError(f"runner: {self.label} sent no {key!r} before the deadline")
            try:
                if not self.conn.poll(min(remaining, 0.2)):
                    if not self.proc.is_alive() and not self.conn.poll(0):
                        raise self._exited(key)
                    continue
                msg = self.conn.recv()
            except (EOFError, OSError):
                raise self._exited(key) from None
            if "error" in msg:
                raise BenchError(str(msg["error"]))
            if "skip" in msg:
                raise BenchSkip(str(msg["skip"]))
            if key not in msg:
                raise BenchError(f"runner: {self.label} sent {sorted(msg)} instead of {key!r}")
            return msg[key]

    def _exited(self, key: str) -> BenchError:
        self.proc.join(1.0)
        return BenchError(f"runner: {self.label} exited before sending {key!r} "
                          f"(exit code {self.proc.exitcode})")

    def send(self, message: str) -> None:
        try:
            self.conn.send(message)
        except OSError:  # already gone; stop() reports how it ended
            pass

    def stop(self, grace: float) -> str | None:
        """Join, then terminate, then kill; a warning if the worker did not exit by itself."""
        warning = None
        self.proc.join(max(grace, 0.0))
        if self.proc.is_alive():
            warning = f"{self.label} did not exit within {grace:.0f} s and was terminated"
            self.proc.terminate()
            self.proc.join(2.0)
            if self.proc.is_alive():
                self.proc.kill()
                self.proc.join(2.0)
        elif self.proc.exitcode not in (0, None):
            warning = f"{self.label} exited with code {self.proc.exitcode}"
        self.conn.close()
        return warning


def _rate(count: int, elapsed: float) -> float:
    return count / elapsed if elapsed > 0 else 0.0


def _check_equal(what: str, expected: int, got: int) -> None:
    if expected != got:
        raise BenchError(f"lost messages: {what}: sent {expected}, received {got} "
                         f"({expected - got} missing)")
