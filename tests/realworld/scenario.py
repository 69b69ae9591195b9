"""Run programs as they are, on pyzmq or on securemq, and watch what they print.

A ``Scenario`` is a few processes started together (a server and its client, an example and
the peer it needs), each with the lines its output must show. A process either has to exit by
itself (exit status 0), or runs until every watched process has shown its lines, and is then
stopped: examples that serve for ever are proven by their output, then ended.

The library is chosen from outside: ``python prog.py`` is pyzmq, ``python -m securemq.run
prog.py`` is securemq (``import zmq`` and every ``zmq.*`` resolve to securemq, in that process
and in the Python processes it starts). The programs are never modified.

Examples bind fixed ports (5555, 9000, ...) and some bind ``tcp://*``. To keep them off the
host's network and out of each other's way, every scenario runs in a private network namespace
that has only a loopback interface (``unshare --net`` + ``nsenter``, as root); where that is not
possible, a scenario runs on the host only if its fixed ports are free.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

LIBRARIES = ("pyzmq", "securemq")
STOP_GRACE_S = 3.0

# record_example(path, status, detail, securemq_ok=None): conftest.py keeps the table
RecordExample = Callable[..., None]


@dataclass(frozen=True)
class Proc:
    """One process of a scenario.

    ``argv`` is what follows ``python`` (a script path relative to the scenario's directory,
    then its arguments); ``expect`` are regular expressions that must match lines of its output
    (stdout and stderr together), in this order; ``forbid`` must match no line. ``exits``: the
    process must end by itself with status 0 (else it is stopped once everything is seen).
    ``watched``: the scenario waits for its expectations (a helper whose output does not
    matter is not watched).
    """

    name: str
    argv: tuple[str, ...]
    expect: tuple[str, ...] = ()
    forbid: tuple[str, ...] = (r"Traceback \(most recent call last\)",)
    exits: bool = True
    watched: bool = True
    library: str | None = None  # None: the scenario's library; "securemq-direct": no alias


@dataclass
class Outcome:
    """What one process did."""

    name: str
    output: str = ""
    returncode: int | None = None
    stopped: bool = False  # stopped by the runner (not exited by itself)
    missing: list[str] = field(default_factory=list)
    forbidden: list[str] = field(default_factory=list)

    def ok(self, proc: Proc) -> bool:
        if self.missing or self.forbidden:
            return False
        if proc.exits:
            return self.returncode == 0 and not self.stopped
        return True

    def describe(self, proc: Proc) -> str:
        how = "stopped by the runner" if self.stopped else f"exit status {self.returncode}"
        lines = [f"--- {self.name} ({how})"]
        if self.missing:
            lines.append(f"    missing (in order): {self.missing}")
        if self.forbidden:
            lines.append(f"    forbidden lines seen: {self.forbidden}")
        if proc.exits and (self.stopped or self.returncode != 0):
            lines.append("    expected to exit by itself with status 0")
        output = self.output.splitlines()
        if len(output) > 50:
            output = [*output[:15], f"... ({len(output) - 45} lines) ...", *output[-30:]]
        lines.extend("    | " + line for line in output)
        return "\n".join(lines)


@dataclass
class Result:
    library: str
    outcomes: list[tuple[Proc, Outcome]]
    seconds: float
    timed_out: bool

    @property
    def ok(self) -> bool:
        return all(outcome.ok(proc) for proc, outcome in self.outcomes)

    def describe(self) -> str:
        head = f"on {self.library}: {'passed' if self.ok else 'FAILED'} in {self.seconds:.1f} s"
        if self.timed_out:
            head += " (timed out)"
        return "\n".join([head, *(o.describe(p) for p, o in self.outcomes)])


def missing_in_order(output: str, patterns: Sequence[str]) -> list[str]:
    """The patterns not matched by successive lines of ``output`` (each after the last)."""
    lines = output.splitlines()
    position = 0
    for index, pattern in enumerate(patterns):
        regex = re.compile(pattern)
        for offset in range(position, len(lines)):
            if regex.search(lines[offset]):
                position = offset + 1
                break
        else:
            return list(patterns[index:])
    return []


def forbidden_lines(output: str, patterns: Sequence[str]) -> list[str]:
    regexes = [re.compile(p) for p in patterns]
    return [line for line in output.splitlines() if any(r.search(line) for r in regexes)]


def python_command(library: str, argv: Sequence[str]) -> list[str]:
    if library == "pyzmq":
        return [sys.executable, *argv]
    if library == "securemq":
        return [sys.executable, "-m", "securemq.run", *argv]
    raise ValueError(f"unknown library {library!r}")


def example_env(**extra: str) -> dict[str, str]:
    """The environment of an example: no alias unless the launcher sets it, one BLAS thread
    (the heartbeat examples multiply big matrices; the machine is shared), unbuffered output."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "SECUREMQ_AS_ZMQ") and not k.startswith("PYTEST_")}
    env.update(PYTHONUNBUFFERED="1", PYTHONDONTWRITEBYTECODE="1", OPENBLAS_NUM_THREADS="1",
               OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONFAULTHANDLER="1")
    env.update(extra)
    return env


class NetNamespace:
    """A private network namespace with only ``lo`` (up), held by a ``cat`` reading our pipe:
    it ends when we close the pipe, or when this process dies."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            ["unshare", "--net", "sh", "-c", "ip link set lo up && echo ready && exec cat"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if line != "ready":
            err = self.proc.stderr.read() if self.proc.stderr else ""
            self.close()
            raise OSError(f"no private network namespace: {err.strip() or line!r}")

    def wrap(self, command: Sequence[str]) -> list[str]:
        return ["nsenter", f"--net=/proc/{self.proc.pid}/ns/net", "--", *command]

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


_netns_ok: bool | None = None
_netns_why = ""


def netns_available() -> tuple[bool, str]:
    """Whether private network namespaces can be made here (checked once)."""
    global _netns_ok, _netns_why
    if _netns_ok is None:
        if not (shutil.which("unshare") and shutil.which("nsenter") and shutil.which("ip")):
            _netns_ok, _netns_why = False, "unshare, nsenter or ip is missing"
        else:
            try:
                NetNamespace().close()
                _netns_ok = True
            except OSError as exc:
                _netns_ok, _netns_why = False, str(exc)
    return _netns_ok, _netns_why


def ports_free(ports: Sequence[int]) -> bool:
    for port in ports:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


@contextmanager
def isolation() -> Iterator[NetNamespace | None]:
    ok, _ = netns_available()
    if not ok:
        yield None
        return
    ns = NetNamespace()
    try:
        yield ns
    finally:
        ns.close()


class _Running:
    """A started process, its output collected by a thread."""

    def __init__(self, proc: Proc, command: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.proc = proc
        self.popen = subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      start_new_session=True)
        self.chunks: list[bytes] = []
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.stopped = False

    def _read(self) -> None:
        assert self.popen.stdout is not None
        fd = self.popen.stdout.fileno()
        for chunk in iter(lambda: os.read(fd, 65536), b""):
            with self.lock:
                self.chunks.append(chunk)

    def finished(self) -> bool:
        """It exited and all its output is read."""
        return self.popen.poll() is not None and not self.reader.is_alive()

    def output(self) -> str:
        with self.lock:
            return b"".join(self.chunks).decode("utf-8", "replace")

    def satisfied(self) -> bool:
        return not missing_in_order(self.output(), self.proc.expect)

    def stop(self) -> None:
        """SIGTERM to its process group (it and the processes it started), then SIGKILL."""
        if self.popen.poll() is None:
            self.stopped = True
        for sig, wait in ((signal.SIGTERM, STOP_GRACE_S), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(self.popen.pid, sig)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                self.popen.wait(timeout=wait)
                if sig == signal.SIGTERM:
                    # the group may hold children (multiprocessing): make sure they are gone
                    try:
                        os.killpg(self.popen.pid, signal.SIGKILL)
                    except (ProcessLookupError, PermissionError):
                        pass
                break
            except subprocess.TimeoutExpired:
                continue
        self.reader.join(timeout=5)
        if self.popen.stdout is not None:
            self.popen.stdout.close()


def run_scenario(procs: Sequence[Proc], library: str, cwd: Path, timeout: float,
                 env: dict[str, str] | None = None, poll_s: float = 0.05) -> Result:
    """Start ``procs`` together on ``library`` in ``cwd``; wait until every process that must
    exit has exited and every watched process has shown its lines, or ``timeout``."""
    environment = env if env is not None else example_env()
    started = time.monotonic()
    running: list[_Running] = []
    timed_out = False
    with isolation() as ns:
        try:
            for proc in procs:
                lib = library if proc.library is None else proc.library
                command = python_command(lib, proc.argv)
                if ns is not None:
                    command = ns.wrap(command)
                running.append(_Running(proc, command, cwd, environment))
            deadline = started + timeout
            while True:
                exited = all(r.finished() for r in running if r.proc.exits)
                seen = all(r.satisfied() for r in running if r.proc.watched)
                # nothing more can come: a process that had to exit failed, or a watched one
                # ended without showing its lines
                failed = any(r.finished() and ((r.popen.returncode != 0 and r.proc.exits)
                                               or (r.proc.watched and not r.satisfied()))
                             for r in running)
                if (exited and seen) or failed:
                    break
                if time.monotonic() >= deadline:
                    timed_out = True
                    break
                time.sleep(poll_s)
        finally:
            for r in running:
                r.stop()
    outcomes = []
    for r in running:
        text = r.output()
        outcomes.append((r.proc, Outcome(
            name=r.proc.name, output=text, returncode=r.popen.returncode, stopped=r.stopped,
            missing=missing_in_order(text, r.proc.expect) if r.proc.watched else [],
            forbidden=forbidden_lines(text, r.proc.forbid))))
    return Result(library, outcomes, time.monotonic() - started, timed_out)
