"""Ironhouse: CURVE encryption, and only clients whose certificate the server holds get in.

Certificates are made with ``securemq.auth.create_certificates`` in a temporary directory: the
server's pair, an "alice" pair whose PUBLIC certificate is placed in the server's trusted
directory, and a "mallory" pair that is not. Alice's message arrives; Mallory is refused with
ZAP status 400 (HANDSHAKE_FAILED_AUTH on both monitors) and her message never arrives.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from securemq.auth import ThreadAuthenticator, create_certificates, load_certificate

import securemq as zmq
from securemq.utils.monitor import recv_monitor_message

TIMEOUT_MS = 5000
OUTCOMES: set[int] = {zmq.EVENT_HANDSHAKE_SUCCEEDED, zmq.EVENT_HANDSHAKE_FAILED_AUTH,
            zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL, zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL}


def wait_outcome(monitor: Any) -> dict[str, Any] | None:
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while (left := deadline - time.monotonic()) > 0:
        if not monitor.poll(int(left * 1000) + 1):
            break
        event = recv_monitor_message(monitor)
        if event["event"] in OUTCOMES:
            return event
    return None


def try_client(ctx: zmq.Context, keys: Path, name: str, server: Any, monitor: Any,
               server_public: bytes, port: int) -> str:
    public, secret = load_certificate(keys / f"{name}.key_secret")
    assert secret is not None
    sock = ctx.socket(zmq.PUSH)
    sock.linger = 0
    sock.curve_serverkey = server_public
    sock.curve_publickey = public
    sock.curve_secretkey = secret
    client_monitor = sock.get_monitor_socket()
    sock.connect(f"tcp://127.0.0.1:{port}")
    sock.send(f"Hello from {name}".encode(), zmq.NOBLOCK)
    print(f"ironhouse: {name} ({public.decode()[:12]}...) sent a message")
    try:
        event = wait_outcome(monitor)
        if event is None:
            print("ironhouse: server monitor: no handshake outcome")
            return "unexpected"
        print(f"ironhouse: server monitor: {event['event'].name} (value {event['value']})")
        if event["event"] == zmq.EVENT_HANDSHAKE_SUCCEEDED and server.poll(TIMEOUT_MS):
            frame = server.recv(copy=False)
            print(f"ironhouse: server received {frame.bytes!r}, User-Id "
                  f"{frame.get('User-Id')}: ACCEPTED")
            return "accepted"
        if event["event"] == zmq.EVENT_HANDSHAKE_FAILED_AUTH and not server.poll(300):
            told = wait_outcome(client_monitor)
            if told is not None:
                print(f"ironhouse: {name}'s monitor: {told['event'].name} (value {told['value']})")
            print(f"ironhouse: server received nothing from {name}: DENIED")
            return "denied"
        return "unexpected"
    finally:
        client_monitor.close(linger=0)
        sock.disable_monitor()
        sock.close(linger=0)


def main() -> int:
    keys = Path(tempfile.mkdtemp(prefix="ironhouse-"))
    ctx = zmq.Context()
    try:
        trusted = keys / "trusted"
        trusted.mkdir()
        for name in ("server", "alice", "mallory"):
            create_certificates(keys, name)
        shutil.copy(keys / "alice.key", trusted / "alice.key")
        print(f"ironhouse: certificates made in {keys}; only alice.key is in trusted/")
        server_public, server_secret = load_certificate(keys / "server.key_secret")
        with ThreadAuthenticator(ctx) as auth:
            auth.configure_curve(domain="*", location=str(trusted))
            server = ctx.socket(zmq.PULL)
            server.linger = 0
            server.curve_server = True
            server.curve_publickey = server_public
            server.curve_secretkey = server_secret
            monitor = server.get_monitor_socket()
            port = server.bind_to_random_port("tcp://127.0.0.1")
            print(f"ironhouse: CURVE server bound to tcp://127.0.0.1:{port}")
            alice = try_client(ctx, keys, "alice", server, monitor, server_public, port)
            mallory = try_client(ctx, keys, "mallory", server, monitor, server_public, port)
            monitor.close(linger=0)
            server.disable_monitor()
            server.close(linger=0)
    finally:
        ctx.destroy(linger=0)
        shutil.rmtree(keys, ignore_errors=True)
    ok = alice == "accepted" and mallory == "denied"
    print("ironhouse: OK" if ok else "ironhouse: FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
