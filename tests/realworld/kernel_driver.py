"""Drive a real Jupyter kernel with jupyter_client and print what happened, as one JSON line.

    python [-m securemq.run] kernel_driver.py {tcp|ipc} {blocking|async} WORKDIR

Run under ``python -m securemq.run`` it is a pyzmq program on securemq: jupyter_client's
sockets here, and ipykernel's in the kernel that jupyter_client starts as ``sys.executable -m
ipykernel_launcher`` (the launcher's alias reaches it through the environment). Run with plain
``python`` it is the same program on pyzmq, the reference. Nothing here knows about securemq:
the facts printed (which ``zmq`` each process imported, the results of executed code, how the
kernel exited) are checked by test_jupyter_kernel.py.

Every wait has a timeout and the kernel is always shut down.
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import sys
import time
import traceback
from pathlib import Path
from typing import Any

READY_TIMEOUT = 30.0
REPLY_TIMEOUT = 15.0
MARKER = "KERNEL-DRIVER-RESULT "

# Executed in the kernel: which zmq it imported, and whether any of pyzmq's own files is loaded.
PROBE = """\
import json as _json, os as _os, sys as _sys
import zmq as _zmq
_pyzmq_files = sorted(
    _m.__file__ for _m in list(_sys.modules.values())
    if (getattr(_m, "__file__", None) or "").endswith(
        (_os.sep + "zmq" + _os.sep + "__init__.py", _os.sep + "zmq" + _os.sep + "sugar"
         + _os.sep + "socket.py"))
    and "_zmq_alias" not in _m.__file__
)
print(_json.dumps({"zmq_file": _zmq.__file__, "zmq_name": _zmq.__name__,
                   "pyzmq_files": _pyzmq_files, "pid": _os.getpid()}))
6 * 7
"""
STDIN_CODE = "name = input('who are you? ')\nprint('hello', name)"
ERROR_CODE = "1 / 0"
RAW_CODE = "sum(range(10))"


def client_facts() -> dict[str, Any]:
    import zmq

    return {"zmq_file": zmq.__file__, "zmq_name": zmq.__name__}


class Outputs:
    """An ``output_hook``: keeps stdout text and execute results of one execution."""

    def __init__(self) -> None:
        self.stdout = ""
        self.results: list[str] = []
        self.states: list[str] = []

    def __call__(self, msg: dict[str, Any]) -> None:
        kind = msg["msg_type"]
        content = msg["content"]
        if kind == "status":
            self.states.append(content["execution_state"])
        elif kind == "stream" and content.get("name") == "stdout":
            self.stdout += content["text"]
        elif kind == "execute_result":
            self.results.append(content["data"]["text/plain"])


def summarize(name: str, reply: dict[str, Any], out: Outputs) -> dict[str, Any]:
    content = reply["content"]
    return {"step": name, "status": content["status"], "ename": content.get("ename"),
            "stdout": out.stdout, "results": out.results, "states": out.states}


def probe_facts(stdout: str) -> dict[str, Any]:
    facts: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    return facts


# -- the blocking client ------------------------------------------------------------------------
def run_blocking(transport: str, workdir: Path) -> dict[str, Any]:
    from jupyter_client.manager import KernelManager

    km = KernelManager(transport=transport, connection_file=str(workdir / "kernel.json"))
    km.shutdown_wait_time = 20.0
    km.start_kernel()
    proc = km.provisioner.process  # type: ignore[union-attr]
    kc = km.client()
    kc.start_channels()
    facts: dict[str, Any] = {"client": client_facts(), "transport": km.transport,
                             "client_class": type(kc).__name__, "steps": []}
    try:
        started = time.monotonic()
        kc.wait_for_ready(timeout=READY_TIMEOUT)
        facts["ready_s"] = round(time.monotonic() - started, 2)

        out = Outputs()
        reply = kc.execute_interactive(PROBE, timeout=REPLY_TIMEOUT, output_hook=out)
        facts["steps"].append(summarize("probe", reply, out))
        facts["kernel"] = probe_facts(out.stdout)

        out = Outputs()
        prompts: list[str] = []

        def answer(msg: dict[str, Any]) -> None:
            prompts.append(msg["content"]["prompt"])
            kc.input("securemq")

        reply = kc.execute_interactive(STDIN_CODE, timeout=REPLY_TIMEOUT, output_hook=out,
                                       allow_stdin=True, stdin_hook=answer)
        facts["steps"].append(summarize("stdin", reply, out) | {"prompts": prompts})

        out = Outputs()
        reply = kc.execute_interactive(ERROR_CODE, timeout=REPLY_TIMEOUT, output_hook=out)
        facts["steps"].append(summarize("error", reply, out))

        # The same by hand: execute, the shell reply, then iopub until the kernel is idle.
        msg_id = kc.execute(RAW_CODE)
        shell = kc.get_shell_msg(timeout=REPLY_TIMEOUT)
        out = Outputs()
        deadline = time.monotonic() + REPLY_TIMEOUT
        while time.monotonic() < deadline:
            try:
                msg = kc.get_iopub_msg(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            out(msg)
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                break
        facts["steps"].append(summarize("raw", shell, out)
                              | {"parent_ok": shell["parent_header"]["msg_id"] == msg_id})
        facts["heartbeat"] = kc.is_alive()
    finally:
        kc.stop_channels()
        started = time.monotonic()
        km.shutdown_kernel(now=False)
        facts["shutdown_s"] = round(time.monotonic() - started, 2)
        facts["kernel_returncode"] = proc.wait(timeout=10)
    return facts


# -- the asyncio client -------------------------------------------------------------------------
async def run_async(transport: str, workdir: Path) -> dict[str, Any]:
    from jupyter_client.manager import AsyncKernelManager

    km = AsyncKernelManager(transport=transport, connection_file=str(workdir / "kernel.json"))
    km.shutdown_wait_time = 20.0
    await km.start_kernel()
    proc = km.provisioner.process  # type: ignore[union-attr]
    kc = km.client()
    kc.start_channels()
    facts: dict[str, Any] = {"client": client_facts(), "transport": km.transport,
                             "client_class": type(kc).__name__, "steps": []}
    try:
        started = time.monotonic()
        await kc.wait_for_ready(timeout=READY_TIMEOUT)
        facts["ready_s"] = round(time.monotonic() - started, 2)

        out = Outputs()
        reply = await kc.execute_interactive(PROBE, timeout=REPLY_TIMEOUT, output_hook=out)
        facts["steps"].append(summarize("probe", reply, out))
        facts["kernel"] = probe_facts(out.stdout)

        out = Outputs()
        prompts: list[str] = []

        def answer(msg: dict[str, Any]) -> None:
            prompts.append(msg["content"]["prompt"])
            kc.input("securemq")

        reply = await kc.execute_interactive(STDIN_CODE, timeout=REPLY_TIMEOUT,
                                             output_hook=out, allow_stdin=True,
                                             stdin_hook=answer)
        facts["steps"].append(summarize("stdin", reply, out) | {"prompts": prompts})

        out = Outputs()
        reply = await kc.execute_interactive(ERROR_CODE, timeout=REPLY_TIMEOUT, output_hook=out)
        facts["steps"].append(summarize("error", reply, out))

        msg_id = kc.execute(RAW_CODE)
        shell = await kc.get_shell_msg(timeout=REPLY_TIMEOUT)
        out = Outputs()
        deadline = time.monotonic() + REPLY_TIMEOUT
        while time.monotonic() < deadline:
            try:
                msg = await kc.get_iopub_msg(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            out(msg)
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                break
        facts["steps"].append(summarize("raw", shell, out)
                              | {"parent_ok": shell["parent_header"]["msg_id"] == msg_id})
        facts["heartbeat"] = await kc.is_alive()
    finally:
        kc.stop_channels()
        started = time.monotonic()
        await km.shutdown_kernel(now=False)
        facts["shutdown_s"] = round(time.monotonic() - started, 2)
        facts["kernel_returncode"] = proc.wait(timeout=10)
    return facts


def main(argv: list[str]) -> int:
    transport, flavour, workdir = argv[0], argv[1], Path(argv[2])
    try:
        if flavour == "blocking":
            facts = run_blocking(transport, workdir)
        else:
            facts = asyncio.run(run_async(transport, workdir))
    except BaseException as exc:  # report whatever went wrong, then fail
        print(MARKER + json.dumps({"error": repr(exc), "traceback": traceback.format_exc()}))
        sys.stdout.flush()
        return 1
    print(MARKER + json.dumps(facts))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    os.environ.setdefault("JUPYTER_PLATFORM_DIRS", "1")
    raise SystemExit(main(sys.argv[1:]))
