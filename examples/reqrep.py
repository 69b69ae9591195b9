"""REQ/REP ping-pong (the ZeroMQ guide's "hello world"), written for securemq.

A REP server runs in a thread and answers every request; the REQ client sends a few pings and
prints each reply. The server binds to a random loopback port (``tcp://127.0.0.1:*``) and the
client connects to what ``LAST_ENDPOINT`` reports, so several copies can run at once.
"""

from __future__ import annotations

import sys
import threading

import securemq as zmq

ROUNDS = 5
TIMEOUT_MS = 5000


def server(ctx: zmq.Context, ready: threading.Event, endpoint: list[str]) -> None:
    rep = ctx.socket(zmq.REP)
    rep.linger = 0
    rep.rcvtimeo = TIMEOUT_MS
    rep.bind("tcp://127.0.0.1:*")
    endpoint.append(rep.last_endpoint.decode())
    ready.set()
    try:
        for _ in range(ROUNDS):
            request = rep.recv_string()
            print(f"server: received {request!r}")
            rep.send_string(request.replace("ping", "pong"))
    finally:
        rep.close()


def main() -> int:
    ctx = zmq.Context()
    ready = threading.Event()
    endpoint: list[str] = []
    thread = threading.Thread(target=server, args=(ctx, ready, endpoint), daemon=True)
    thread.start()
    if not ready.wait(TIMEOUT_MS / 1000):
        print("client: server did not start", file=sys.stderr)
        return 1
    req = ctx.socket(zmq.REQ)
    req.linger = 0
    req.rcvtimeo = TIMEOUT_MS
    req.sndtimeo = TIMEOUT_MS
    req.connect(endpoint[0])
    print(f"client: connected to {endpoint[0]}")
    try:
        for i in range(ROUNDS):
            req.send_string(f"ping {i}")
            reply = req.recv_string()
            print(f"client: received {reply!r}")
    except zmq.Again:
        print("client: no reply within the timeout", file=sys.stderr)
        return 1
    finally:
        req.close()
        thread.join(TIMEOUT_MS / 1000)
        ctx.term()
    print(f"reqrep: {ROUNDS} round trips done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
