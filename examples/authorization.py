"""Authorization, not only authentication (securemq; docs/SECURITY.md).

The ZAP policy does not just say who a CURVE client is: its ``Decision`` carries
``securemq.AccessRules``, which the server's sockets enforce.

- ``dashboard`` may subscribe only under ``sensor:temp`` and may not send anything;
- ``ops`` has no rules;
- ``alice`` may be addressed by a ROUTER as ``alice`` only, whatever identity she announces.

A PUB server shows the subscription rule (dashboard's ``sensor:`` subscription is dropped, its
``sensor:temp`` one is kept), a ROUTER server the read-only and routing-id rules. Each refusal is
counted (``sock.authz_counts``) and logged on ``securemq.authz``. The clients are plain
securemq (or libzmq) sockets: nothing changes on their side.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

from securemq.auth import Decision, ThreadAuthenticator, ZapRequest

import securemq as zmq

TIMEOUT_MS = 5000
SERVER_PUBLIC, SERVER_SECRET = zmq.curve_keypair()
USERS = {name: zmq.curve_keypair() for name in ("dashboard", "ops", "alice")}
RULES = {
    "dashboard": zmq.AccessRules(subscribe=["sensor:temp"], read_only=True),
    "alice": zmq.AccessRules(routing_ids=["alice"]),
}


def policy(request: ZapRequest) -> Decision | None:
    """Who the key belongs to, and what that user may do."""
    if request.mechanism != "CURVE":
        return None
    for name, (public, _secret) in USERS.items():
        if request.client_key_z85 == public.decode():
            return Decision.allow("example", user_id=name, rules=RULES.get(name))
    return Decision.deny("example", "Unknown key")


def server(ctx: zmq.Context, socket_type: int) -> tuple[zmq.Socket, str]:
    sock = ctx.socket(socket_type)
    sock.linger = 0
    sock.rcvtimeo = TIMEOUT_MS
    sock.curve_server = True
    sock.curve_secretkey = SERVER_SECRET
    port = sock.bind_to_random_port("tcp://127.0.0.1")
    return sock, f"tcp://127.0.0.1:{port}"


def client(ctx: zmq.Context, socket_type: int, name: str, endpoint: str,
           **options: Any) -> zmq.Socket:
    sock = ctx.socket(socket_type)
    sock.linger = 0
    sock.rcvtimeo = TIMEOUT_MS
    sock.curve_serverkey = SERVER_PUBLIC
    sock.curve_publickey, sock.curve_secretkey = USERS[name]
    for option, value in options.items():
        setattr(sock, option, value)
    sock.connect(endpoint)
    return sock


def pubsub(ctx: zmq.Context) -> bool:
    pub, endpoint = server(ctx, zmq.PUB)
    dashboard = client(ctx, zmq.SUB, "dashboard", endpoint)
    dashboard.subscribe(b"sensor:")  # wider than its rule: dropped by the server
    dashboard.subscribe(b"sensor:temp")
    ops = client(ctx, zmq.SUB, "ops", endpoint)
    ops.subscribe(b"sensor:")
    pub.wait_for_subscribers(2, timeout=TIMEOUT_MS / 1000)
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while not pub.authz_counts.get("subscribe_refused") and time.monotonic() < deadline:
        pub.send(b"heartbeat")  # (the publisher takes in subscriptions when it sends)
    for reading in (b"sensor:temp 21.5", b"sensor:humidity 40", b"sensor:temp 21.7"):
        pub.send(reading)
    got = {name: [] for name in ("dashboard", "ops")}
    for name, sock in (("dashboard", dashboard), ("ops", ops)):
        while sock.poll(300):
            got[name].append(sock.recv())
        print(f"authorization: {name} received {got[name]}")
    print(f"authorization: PUB refused {dict(sorted(pub.authz_counts.items()))}")
    return (got["dashboard"] == [b"sensor:temp 21.5", b"sensor:temp 21.7"]
            and got["ops"] == [b"sensor:temp 21.5", b"sensor:humidity 40", b"sensor:temp 21.7"])


def router(ctx: zmq.Context) -> bool:
    sock, endpoint = server(ctx, zmq.ROUTER)
    dashboard = client(ctx, zmq.DEALER, "dashboard", endpoint, routing_id=b"dashboard")
    alice = client(ctx, zmq.DEALER, "alice", endpoint, routing_id=b"admin")
    dashboard.send(b"DROP TABLE readings")
    alice.send(b"hello from alice")
    ident, body = sock.recv_multipart()
    print(f"authorization: ROUTER got {body!r} from {ident!r} (she announced b'admin')")
    sock.send_multipart([b"alice", b"hello alice"])
    sock.send_multipart([b"dashboard", b"today's report"])
    print(f"authorization: alice received {alice.recv()!r}, "
          f"dashboard received {dashboard.recv()!r}")
    sock.poll(300)  # (nothing else arrives: the dashboard's message was dropped)
    print(f"authorization: ROUTER refused {dict(sorted(sock.authz_counts.items()))}")
    return ident == b"alice" and sock.authz_counts.get("read_only_dropped") == 1


def main() -> int:
    logging.basicConfig(level=logging.WARNING, stream=sys.stdout,
                        format="authorization: [log %(name)s] %(message)s")
    ctx = zmq.Context()
    try:
        with ThreadAuthenticator(ctx) as auth:
            auth.add_policy(policy)
            ok = pubsub(ctx) & router(ctx)
    finally:
        ctx.destroy(linger=0)
    print("authorization: OK" if ok else "authorization: FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
