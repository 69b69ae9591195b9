"""A Jupyter kernel on securemq: jupyter_client starts ipykernel and runs code in it.

kernel_driver.py is an ordinary jupyter_client program (nothing in it knows securemq). Run with
``python -m securemq.run`` it puts the client on securemq, and the kernel that jupyter_client
starts as ``sys.executable -m ipykernel_launcher`` inherits the alias through the environment:
the kernel reports which ``zmq`` it imported, and these tests insist it is securemq's, with none
of pyzmq's files loaded. Each run starts a kernel, waits until it answers, executes code (output
through execute_interactive, input() through the stdin channel, an error, and a raw execute with
the shell reply and the iopub messages read by hand), checks the heartbeat, and shuts the kernel
down; the kernel must exit by itself, status 0. Over tcp and ipc, with the blocking and the
asyncio client. The same program on pyzmq is the reference, so the expectations are checked
against the real thing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import securemq

HERE = Path(__file__).resolve().parent
DRIVER = HERE / "kernel_driver.py"
DRIVER_TIMEOUT_S = 90.0
SECUREMQ_DIR = Path(securemq.__file__).resolve().parent

pytest.importorskip("jupyter_client")
pytest.importorskip("ipykernel")

TRANSPORTS = ("tcp", "ipc")
CLIENTS = ("blocking", "async")


def run_driver(library: str, transport: str, client: str, tmp_path: Path) -> dict[str, Any]:
    """Run kernel_driver.py on ``library``; return its facts (fails the test on error)."""
    workdir = tmp_path / "k"  # short: ipc paths are limited to 107 bytes
    workdir.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "SECUREMQ_AS_ZMQ") and not k.startswith("PYTEST_")}
    env.update(
        JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"), JUPYTER_DATA_DIR=str(tmp_path / "data"),
        JUPYTER_CONFIG_DIR=str(tmp_path / "config"), IPYTHONDIR=str(tmp_path / "ipython"),
        JUPYTER_PLATFORM_DIRS="1", PYTHONFAULTHANDLER="1", PYTHONUNBUFFERED="1",
    )
    prefix = ["-m", "securemq.run"] if library == "securemq" else []
    command = [sys.executable, *prefix, str(DRIVER), transport, client, str(workdir)]
    proc = subprocess.Popen(command, cwd=tmp_path, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=DRIVER_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGABRT)  # faulthandler prints every thread's stack
        out, err = proc.communicate(timeout=10)
        pytest.fail(f"kernel driver ({library}, {transport}, {client}) still running after"
                    f" {DRIVER_TIMEOUT_S} s\n--- stderr:\n{err[-6000:]}")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        kill_leftover_kernel(workdir)
    lines = [line for line in out.splitlines() if line.startswith("KERNEL-DRIVER-RESULT ")]
    assert lines, f"no result from the driver (exit {proc.returncode})\n{err[-6000:]}"
    facts: dict[str, Any] = json.loads(lines[-1].split(" ", 1)[1])
    assert "error" not in facts, f"{facts['error']}\n{facts['traceback']}\n{err[-6000:]}"
    assert proc.returncode == 0, err[-6000:]
    return facts


def kill_leftover_kernel(workdir: Path) -> None:
    """Should a failed run leave its kernel behind (it runs in a session of its own), end it:
    its pid is in the kernel's own output only, so look for its connection file instead."""
    connection = str(workdir / "kernel.json")
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"ipykernel_launcher" in cmdline and connection.encode() in cmdline:
            try:
                os.kill(int(entry.name), signal.SIGKILL)
            except ProcessLookupError:
                pass


def check_kernel_session(facts: dict[str, Any], library: str, transport: str,
                         client: str) -> None:
    """What every run must show, whichever library runs it."""
    assert facts["transport"] == transport
    assert facts["client_class"] == ("BlockingKernelClient" if client == "blocking"
                                     else "AsyncKernelClient")
    steps = {step["step"]: step for step in facts["steps"]}
    assert set(steps) == {"probe", "stdin", "error", "raw"}
    assert steps["probe"]["status"] == "ok" and steps["probe"]["results"] == ["42"]
    assert steps["stdin"]["status"] == "ok"
    assert steps["stdin"]["prompts"] == ["who are you? "]
    assert steps["stdin"]["stdout"] == "hello securemq\n"
    assert steps["error"]["status"] == "error"
    assert steps["error"]["ename"] == "ZeroDivisionError"
    assert steps["raw"]["status"] == "ok" and steps["raw"]["parent_ok"]
    assert steps["raw"]["results"] == ["45"]
    for step in steps.values():
        assert step["states"] == ["busy", "idle"], step
    assert facts["heartbeat"] is True
    assert facts["kernel_returncode"] == 0, "the kernel did not exit by itself on shutdown"

    client_zmq, kernel_zmq = Path(facts["client"]["zmq_file"]), Path(facts["kernel"]["zmq_file"])
    if library == "securemq":
        for side in (client_zmq, kernel_zmq):
            assert side.resolve().is_relative_to(SECUREMQ_DIR), side
        assert facts["client"]["zmq_name"] == facts["kernel"]["zmq_name"] == "securemq"
        assert facts["kernel"]["pyzmq_files"] == [], "pyzmq was loaded in the kernel"
    else:
        assert not kernel_zmq.resolve().is_relative_to(SECUREMQ_DIR)
        assert facts["kernel"]["zmq_name"] == "zmq" and facts["kernel"]["pyzmq_files"]


def combos() -> list[Any]:
    return [pytest.param(t, c, id=f"{t}-{c}") for t in TRANSPORTS for c in CLIENTS]


@pytest.mark.timeout(DRIVER_TIMEOUT_S + 30)
@pytest.mark.parametrize(("transport", "client"), combos())
def test_kernel_on_pyzmq_reference(transport: str, client: str, tmp_path: Path) -> None:
    """The same program on pyzmq: proves the driver and the expectations."""
    facts = run_driver("pyzmq", transport, client, tmp_path)
    check_kernel_session(facts, "pyzmq", transport, client)


@pytest.mark.timeout(DRIVER_TIMEOUT_S + 30)
@pytest.mark.parametrize(("transport", "client"), combos())
def test_kernel_on_securemq(transport: str, client: str, tmp_path: Path) -> None:
    """jupyter_client and ipykernel, unmodified, on securemq through the launcher."""
    facts = run_driver("securemq", transport, client, tmp_path)
    check_kernel_session(facts, "securemq", transport, client)

