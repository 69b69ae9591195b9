"""close() and term() release every OS resource at once, with the garbage collector off.

Each scenario runs in a fresh interpreter with ``gc.disable()``: sockets and contexts are made,
used and closed many times, and the process's open descriptors (``/proc/self/fd``) and threads
must come back to where they started -- not "after the next gc.collect()" -- and a final
collection must find no securemq object left in a reference cycle.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc/self/fd")

ROOT = Path(__file__).resolve().parents[2]

PRELUDE = """
import gc, json, os, sys, threading, time
sys.path.insert(0, {root!r})
import securemq as zmq

def fds():
    return len(os.listdir("/proc/self/fd"))

def settle(base, what):
    deadline = time.monotonic() + 10
    while fds() > base and time.monotonic() < deadline:
        time.sleep(0.01)
    return fds()

def securemq_garbage():
    gc.set_debug(gc.DEBUG_SAVEALL)
    gc.collect()
    found = sorted({{type(o).__module__ + "." + type(o).__qualname__ for o in gc.garbage
                     if (type(o).__module__ or "").startswith("securemq")}})
    gc.garbage.clear()
    gc.set_debug(0)
    return found

gc.disable()
"""


def run(body: str) -> dict[str, object]:
    code = PRELUDE.format(root=str(ROOT)) + textwrap.dedent(body)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=240, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.timeout(300)
@pytest.mark.parametrize("mechanism", ["null", "curve"])
def test_dealer_churn_returns_every_descriptor(mechanism: str) -> None:
    result = run(f"""
        count = {1000 if mechanism == "null" else 300}
        ctx = zmq.Context()
        server = ctx.socket(zmq.ROUTER)
        server.linger = 0
        curve = {mechanism == "curve"}
        if curve:
            spub, ssec = zmq.curve_keypair()
            server.curve_server = True
            server.curve_secretkey = ssec
        port = server.bind_to_random_port("tcp://127.0.0.1")

        def one():
            d = ctx.socket(zmq.DEALER)
            d.linger = 0
            if curve:
                cpub, csec = zmq.curve_keypair()
                d.curve_serverkey, d.curve_publickey, d.curve_secretkey = spub, cpub, csec
            d.connect(f"tcp://127.0.0.1:{{port}}")
            d.send(b"ping")
            ident, _ = server.recv_multipart()
            server.send_multipart([ident, b"pong"])
            assert d.recv() == b"pong"
            d.close()

        one()
        base = settle(fds(), "warm-up")
        for _ in range(count):
            one()
        after = settle(base, "churn")
        garbage = securemq_garbage()
        ctx.destroy(0)
        print(json.dumps({{"base": base, "after": after, "garbage": garbage}}))
    """)
    # (base may still count the warm-up connection the server has not seen close yet; a leak
    # per connection would be hundreds of descriptors over base)
    assert result["after"] <= result["base"], result
    assert result["garbage"] == [], result


@pytest.mark.timeout(300)
def test_socket_and_context_churn_returns_descriptors_and_threads() -> None:
    result = run("""
        import asyncio
        import securemq.asyncio as zaio
        base, threads = fds(), threading.active_count()
        ctx = zmq.Context()
        for i in range(1000):
            s = ctx.socket(zmq.DEALER)
            s.close()
        for i in range(200):
            a, b = ctx.socket(zmq.PAIR), ctx.socket(zmq.PAIR)
            a.bind(f"inproc://r{i}")
            b.connect(f"inproc://r{i}")
            b.send(b"x")
            assert a.recv() == b"x"
            a.close()
            b.close()
        ctx.term()
        sockets_after = fds()
        for i in range(50):
            c = zmq.Context()
            s = c.socket(zmq.PUSH)
            s.linger = 0
            s.bind("tcp://127.0.0.1:*")
            s.close()
            c.term()
        contexts_after = fds()

        async def used(c):
            pull, push = c.socket(zmq.PULL), c.socket(zmq.PUSH)
            pull.linger = push.linger = 0
            port = pull.bind_to_random_port("tcp://127.0.0.1")
            push.connect(f"tcp://127.0.0.1:{port}")
            await push.send(b"x")
            assert await pull.recv() == b"x"
            pull.close()
            push.close()

        for i in range(20):
            c = zaio.Context()
            asyncio.run(used(c))
            c.term()
        asyncio_after = settle(base, "asyncio")
        garbage = securemq_garbage()
        print(json.dumps({"base": base, "sockets": sockets_after, "contexts": contexts_after,
                          "asyncio": asyncio_after, "garbage": garbage,
                          "threads": threads, "threads_after": threading.active_count()}))
    """)
    assert result["sockets"] == result["base"], result
    assert result["contexts"] == result["base"], result
    assert result["asyncio"] == result["base"], result
    assert result["threads_after"] == result["threads"], result
    assert result["garbage"] == [], result
