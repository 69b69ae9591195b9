"""The portable reactor: every selector kind the platform has, forced through the environment.

The unit tests drive a Reactor over each available ``selectors`` kind with a socketpair. The last
test runs a slice of the suite (messaging, interop with libzmq, CURVE, wake-ups) in a fresh
interpreter with ``SECUREMQ_SELECTOR=select`` and ``SECUREMQ_WAKER=pipe``: the generic select()
loop and the pipe wake-up channel that macOS-like platforms use, covered on Linux CI.
"""

from __future__ import annotations

import os
import selectors
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from securemq.io import reactor as reactor_module
from securemq.io.reactor import Reactor

KINDS = [name for name, cls in reactor_module._SELECTORS.items() if hasattr(selectors, cls)]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=KINDS)
def reactor(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Reactor:
    monkeypatch.setenv("SECUREMQ_SELECTOR", str(request.param))
    r = Reactor()
    assert r.selector_name == reactor_module._SELECTORS[str(request.param)]
    yield r
    r.stop()


def test_unknown_selector_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECUREMQ_SELECTOR", "carrier-pigeon")
    with pytest.raises(ValueError, match="SECUREMQ_SELECTOR"):
        Reactor()


def test_calls_timers_and_readiness(reactor: Reactor) -> None:
    assert reactor.run_sync(lambda: 42) == 42
    assert reactor.run_sync(reactor.in_reactor)
    fired = threading.Event()
    reactor.call_soon(lambda: reactor.call_later(0.01, fired.set))
    assert fired.wait(5)
    a, b = socket.socketpair()
    a.setblocking(False)
    got: list[bytes] = []
    readable = threading.Event()

    def on_read() -> None:
        got.append(a.recv(100))
        readable.set()

    with a, b:
        reactor.run_sync(lambda: reactor.set_handlers(a, on_read, None))
        b.send(b"ping")
        assert readable.wait(5)
        assert got == [b"ping"]
        writable = threading.Event()
        reactor.run_sync(lambda: reactor.set_handlers(a, on_read, writable.set))
        assert writable.wait(5)
        reactor.run_sync(lambda: reactor.set_handlers(a, None, None))


def test_cancelled_timer_never_fires(reactor: Reactor) -> None:
    fired: list[int] = []
    timer = reactor.run_sync(lambda: reactor.call_later(0.02, lambda: fired.append(1)))
    reactor.run_sync(timer.cancel)
    done = threading.Event()
    reactor.run_sync(lambda: reactor.call_later(0.05, done.set))
    assert done.wait(5)
    assert fired == []


def _identity(fd: int) -> tuple[int, int] | None:
    try:
        st = os.fstat(fd)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def test_stop_releases_every_descriptor() -> None:
    reactors = [Reactor() for _ in range(20)]
    owned = {
        fd: _identity(fd)
        for r in reactors
        for fd in (r._selector.fileno() if hasattr(r._selector, "fileno") else -1,
                   r._wake_read, r._wake_write)
        if fd >= 0
    }
    assert all(identity is not None for identity in owned.values())
    for r in reactors:
        r.stop()
    assert not any(r.running for r in reactors)
    # Each descriptor a reactor held is closed now (or its number already reused for
    # another file by some other thread: then it is not the same file).
    for fd, identity in owned.items():
        assert _identity(fd) != identity, f"descriptor {fd} still open after stop()"
    for r in reactors:
        r.call_soon(lambda: None)  # a late hand-off after stop is harmless


@pytest.mark.timeout(300)
def test_suite_slice_on_the_portable_select_loop_and_pipe_waker() -> None:
    env = dict(os.environ, SECUREMQ_SELECTOR="select", SECUREMQ_WAKER="pipe")
    probe = subprocess.run(
        [sys.executable, "-c",
         "import securemq as z; c = z.Context(); s = c.socket(z.PAIR); s.bind('tcp://127.0.0.1:*');"
         "print(c.io.reactor().selector_name); c.destroy(0)"],
        env=env, capture_output=True, text=True, timeout=60, check=True,
    )
    assert probe.stdout.strip() == "SelectSelector"
    started = time.monotonic()
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-o", "addopts=", "-q", "-x", "-p", "no:cacheprovider",
         "tests/api/test_messaging.py", "tests/interop/test_interop_patterns.py",
         "tests/io/test_wakeups.py", "tests/io/test_heartbeats.py", "tests/io/test_fastpath.py",
         "tests/security/test_curve_traffic_failures.py"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=280,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert " passed" in run.stdout, run.stdout[-500:]
    assert time.monotonic() - started < 280
