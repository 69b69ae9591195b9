"""Woodhouse: PLAIN user name and password, checked by a ZAP authenticator.

Passwords travel in CLEAR TEXT: use PLAIN only on a trusted network or inside another secure
channel. Two clients try in turn: "admin" with the right password is accepted and its message
carries ``User-Id`` "admin"; the same user with a wrong password is refused (ZAP status 400 on
both monitors) and its message never arrives.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from securemq.auth import ThreadAuthenticator

import securemq as zmq
from securemq.utils.monitor import recv_monitor_message

TIMEOUT_MS = 5000
PASSWORDS = {"admin": "secret"}


def wait_event(monitor: Any, wanted: set[int]) -> dict[str, Any] | None:
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while (left := deadline - time.monotonic()) > 0:
        if not monitor.poll(int(left * 1000) + 1):
            break
        event = recv_monitor_message(monitor)
        if event["event"] in wanted:
            return event
    return None


OUTCOMES: set[int] = {zmq.EVENT_HANDSHAKE_SUCCEEDED, zmq.EVENT_HANDSHAKE_FAILED_AUTH,
            zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL, zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL}


def try_client(ctx: zmq.Context, server: Any, monitor: Any, port: int, password: str) -> str:
    """Connect with ``password``; return "accepted", "denied" or "unexpected"."""
    client = ctx.socket(zmq.PUSH)
    client.linger = 0
    client.plain_username = b"admin"
    client.plain_password = password.encode()
    client.connect(f"tcp://127.0.0.1:{port}")
    client.send(b"Hello", zmq.NOBLOCK)
    shown = "*" * len(password)
    print(f"woodhouse: client 'admin' / {shown} ({'right' if password == 'secret' else 'wrong'} "
          "password) sent b'Hello'")
    event = wait_event(monitor, OUTCOMES)
    try:
        if event is None:
            print("woodhouse: server monitor: no handshake outcome")
            return "unexpected"
        print(f"woodhouse: server monitor: {event['event'].name} (value {event['value']})")
        if event["event"] == zmq.EVENT_HANDSHAKE_SUCCEEDED and server.poll(TIMEOUT_MS):
            frame = server.recv(copy=False)
            print(f"woodhouse: server received {frame.bytes!r} from User-Id "
                  f"{frame.get('User-Id')!r}: ACCEPTED")
            return "accepted" if frame.get("User-Id") == "admin" else "unexpected"
        if event["event"] == zmq.EVENT_HANDSHAKE_FAILED_AUTH and not server.poll(300):
            print(f"woodhouse: ZAP status {event['value']}, server received nothing: DENIED")
            return "denied"
        return "unexpected"
    finally:
        client.close(linger=0)


def main() -> int:
    ctx = zmq.Context()
    try:
        with ThreadAuthenticator(ctx) as auth:
            auth.configure_plain(domain="*", passwords=PASSWORDS)
            print("woodhouse: authenticator knows user 'admin'")
            server = ctx.socket(zmq.PULL)
            server.linger = 0
            server.plain_server = True
            monitor = server.get_monitor_socket()
            port = server.bind_to_random_port("tcp://127.0.0.1")
            print(f"woodhouse: PLAIN server bound to tcp://127.0.0.1:{port}")
            good = try_client(ctx, server, monitor, port, "secret")
            bad = try_client(ctx, server, monitor, port, "guess")
            monitor.close(linger=0)
            server.disable_monitor()
            server.close(linger=0)
    finally:
        ctx.destroy(linger=0)
    ok = good == "accepted" and bad == "denied"
    print("woodhouse: OK" if ok else "woodhouse: FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
