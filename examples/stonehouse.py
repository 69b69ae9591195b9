"""Stonehouse: CURVE encryption, any client key accepted (``CURVE_ALLOW_ANY``).

The link is encrypted and the CLIENT authenticates the server (it must know the server's public
key), but the server lets any client key in. Shown here: a client with a fresh key pair is
accepted and its messages carry its Z85 public key as ``User-Id``; a client that expects a
different server key never gets its message through (it cannot complete the handshake).
"""

from __future__ import annotations

import sys
import time
from typing import Any

from securemq.auth import CURVE_ALLOW_ANY, ThreadAuthenticator

import securemq as zmq
from securemq.utils.monitor import recv_monitor_message

TIMEOUT_MS = 5000


def wait_event(monitor: Any, wanted: int, timeout_ms: int = TIMEOUT_MS) -> dict[str, Any] | None:
    deadline = time.monotonic() + timeout_ms / 1000
    while (left := deadline - time.monotonic()) > 0:
        if not monitor.poll(int(left * 1000) + 1):
            break
        event = recv_monitor_message(monitor)
        if event["event"] == wanted:
            return event
    return None


def client(ctx: zmq.Context, server_public: bytes, port: int) -> tuple[Any, bytes]:
    public, secret = zmq.curve_keypair()
    sock = ctx.socket(zmq.PUSH)
    sock.linger = 0
    sock.curve_serverkey = server_public
    sock.curve_publickey = public
    sock.curve_secretkey = secret
    sock.connect(f"tcp://127.0.0.1:{port}")
    sock.send(b"Hello", zmq.NOBLOCK)
    return sock, public


def main() -> int:
    ok = False
    ctx = zmq.Context()
    try:
        with ThreadAuthenticator(ctx) as auth:
            auth.configure_curve(domain="*", location=CURVE_ALLOW_ANY)
            print("stonehouse: authenticator accepts any CURVE client key")
            server_public, server_secret = zmq.curve_keypair()
            server = ctx.socket(zmq.PULL)
            server.linger = 0
            server.curve_server = True
            server.curve_publickey = server_public
            server.curve_secretkey = server_secret
            monitor = server.get_monitor_socket()
            port = server.bind_to_random_port("tcp://127.0.0.1")
            print(f"stonehouse: CURVE server bound to tcp://127.0.0.1:{port}")

            sock, public = client(ctx, server_public, port)
            print(f"stonehouse: client with a brand-new key {public.decode()} sent b'Hello'")
            accepted = False
            if wait_event(monitor, zmq.EVENT_HANDSHAKE_SUCCEEDED) and server.poll(TIMEOUT_MS):
                frame = server.recv(copy=False)
                accepted = frame.get("User-Id") == public.decode()
                print(f"stonehouse: server received {frame.bytes!r} from User-Id "
                      f"{frame.get('User-Id')}: ACCEPTED")
            sock.close(linger=0)

            wrong_server_public, _ = zmq.curve_keypair()
            impostor, _ = client(ctx, wrong_server_public, port)
            print("stonehouse: a client expecting a DIFFERENT server key sent b'Hello'")
            failed = wait_event(monitor, zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL)
            if failed is not None:
                print(f"stonehouse: server monitor: HANDSHAKE_FAILED_PROTOCOL "
                      f"(0x{failed['value']:x}, the client's HELLO did not decrypt)")
            refused = failed is not None and not server.poll(300)
            if refused:
                print("stonehouse: server received nothing from it: REFUSED")
            impostor.close(linger=0)
            monitor.close(linger=0)
            server.disable_monitor()
            server.close(linger=0)
            ok = accepted and refused
    finally:
        ctx.destroy(linger=0)
    print("stonehouse: OK" if ok else "stonehouse: FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
