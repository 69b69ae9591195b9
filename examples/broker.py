"""Request-reply broker (the guide's "rrbroker" with zmq.proxy), written for securemq.

Clients (REQ) connect to the broker's frontend ROUTER; workers (REP) connect to its backend
DEALER; ``zmq.proxy`` shuttles messages between the two in its own thread, keeping the routing
envelopes intact so every reply finds its client.

Shutdown: when the clients are done, the main thread terminates the context. Every blocking
call then raises ``ContextTerminated``: the proxy thread and the workers catch it, close their
sockets and return, and ``Context.term()`` returns once all sockets are closed.
"""

from __future__ import annotations

import sys
import threading
from collections import Counter

import securemq as zmq

CLIENTS = 3
WORKERS = 2
REQUESTS = 4
TIMEOUT_MS = 5000


def broker(ctx: zmq.Context, ready: threading.Event, endpoints: dict[str, str]) -> None:
    frontend = ctx.socket(zmq.ROUTER)
    backend = ctx.socket(zmq.DEALER)
    for sock in (frontend, backend):
        sock.linger = 0
    frontend.bind("tcp://127.0.0.1:*")
    backend.bind("tcp://127.0.0.1:*")
    endpoints["frontend"] = frontend.last_endpoint.decode()
    endpoints["backend"] = backend.last_endpoint.decode()
    ready.set()
    try:
        zmq.proxy(frontend, backend)
    except zmq.ContextTerminated:
        print("broker: context terminated, proxy stopped")
    finally:
        frontend.close()
        backend.close()


def worker(ctx: zmq.Context, name: str, backend: str) -> None:
    rep = ctx.socket(zmq.REP)
    rep.linger = 0
    rep.connect(backend)
    handled = 0
    try:
        while True:
            request = rep.recv_string()
            handled += 1
            rep.send_string(f"{request} -> handled by {name}")
    except zmq.ContextTerminated:
        print(f"{name}: stopping after {handled} requests")
    finally:
        rep.close()


def client(ctx: zmq.Context, name: str, frontend: str, replies: list[str]) -> None:
    req = ctx.socket(zmq.REQ)
    req.linger = 0
    req.rcvtimeo = TIMEOUT_MS
    req.sndtimeo = TIMEOUT_MS
    req.connect(frontend)
    try:
        for i in range(REQUESTS):
            req.send_string(f"{name} request {i}")
            reply = req.recv_string()
            print(f"{name}: {reply}")
            replies.append(reply)
    except zmq.Again:
        print(f"{name}: timed out", file=sys.stderr)
    finally:
        req.close()


def main() -> int:
    ctx = zmq.Context()
    ready = threading.Event()
    endpoints: dict[str, str] = {}
    proxy_thread = threading.Thread(target=broker, args=(ctx, ready, endpoints), daemon=True)
    proxy_thread.start()
    if not ready.wait(TIMEOUT_MS / 1000):
        print("broker: did not start", file=sys.stderr)
        return 1
    print(f"broker: frontend {endpoints['frontend']}, backend {endpoints['backend']}")
    workers = [threading.Thread(target=worker, args=(ctx, f"worker-{i}", endpoints["backend"]),
                                daemon=True) for i in range(WORKERS)]
    replies: list[str] = []
    clients = [threading.Thread(target=client,
                                args=(ctx, f"client-{i}", endpoints["frontend"], replies),
                                daemon=True) for i in range(CLIENTS)]
    for thread in workers + clients:
        thread.start()
    for thread in clients:
        thread.join(TIMEOUT_MS * REQUESTS / 1000)
    ctx.term()
    for thread in [proxy_thread, *workers]:
        thread.join(TIMEOUT_MS / 1000)
    by_client = Counter(reply.split()[0] for reply in replies)
    expected = CLIENTS * REQUESTS
    print(f"broker: {len(replies)} of {expected} requests answered "
          f"({', '.join(f'{c}={n}' for c, n in sorted(by_client.items()))})")
    alive = [t.name for t in [proxy_thread, *workers] if t.is_alive()]
    if alive:
        print(f"broker: threads still running: {alive}", file=sys.stderr)
        return 1
    return 0 if len(replies) == expected else 1


if __name__ == "__main__":
    sys.exit(main())
