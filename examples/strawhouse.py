"""Strawhouse: NULL mechanism plus a ZAP domain, so the server filters clients by IP address.

Still no encryption: an address check only keeps honest strangers out. Two runs:

1. the authenticator allows 127.0.0.1: the client's message arrives;
2. the authenticator denies the network 127.0.0.0/8: the server's monitor reports
   HANDSHAKE_FAILED_AUTH with ZAP status 400 and the message never arrives.

The server must set ``zap_domain``: without it libzmq (and securemq) never ask ZAP for NULL.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from securemq.auth import AuditRecord, ThreadAuthenticator

import securemq as zmq
from securemq.utils.monitor import recv_monitor_message

TIMEOUT_MS = 5000


def wait_handshake(monitor: Any) -> dict[str, Any] | None:
    """The first handshake outcome (succeeded or failed) the server's monitor reports."""
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    outcomes = {
        zmq.EVENT_HANDSHAKE_SUCCEEDED,
        zmq.EVENT_HANDSHAKE_FAILED_AUTH,
        zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL,
        zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL,
    }
    while (left := deadline - time.monotonic()) > 0:
        if not monitor.poll(int(left * 1000) + 1):
            break
        event = recv_monitor_message(monitor)
        if event["event"] in outcomes:
            return event
    return None


def attempt(label: str, allow: bool) -> bool:
    """One server + authenticator + client; True when the outcome is the expected one."""
    ctx = zmq.Context()
    records: list[AuditRecord] = []
    try:
        with ThreadAuthenticator(ctx, on_decision=records.append) as auth:
            if allow:
                auth.allow("127.0.0.1")
                print(f"strawhouse[{label}]: authenticator allows 127.0.0.1")
            else:
                auth.deny("127.0.0.0/8")
                print(f"strawhouse[{label}]: authenticator denies 127.0.0.0/8")
            server = ctx.socket(zmq.PULL)
            server.linger = 0
            server.zap_domain = b"global"
            monitor = server.get_monitor_socket()
            port = server.bind_to_random_port("tcp://127.0.0.1")

            client = ctx.socket(zmq.PUSH)
            client.linger = 0
            client.connect(f"tcp://127.0.0.1:{port}")
            client.send(b"Hello", zmq.NOBLOCK)
            print(f"strawhouse[{label}]: client connected from 127.0.0.1 and queued b'Hello'")

            event = wait_handshake(monitor)
            name = "nothing" if event is None else event["event"].name
            value = "" if event is None else f" (status {event['value']})"
            print(f"strawhouse[{label}]: server monitor: {name}{value}")
            if allow:
                ok = server.poll(TIMEOUT_MS) != 0 and [r.status for r in records] == [200]
                if ok:
                    frame = server.recv(copy=False)
                    print(
                        f"strawhouse[{label}]: authenticator said {records[0].status} "
                        f"{records[0].reason!r}; server received {frame.bytes!r} "
                        f"from {frame.get('Peer-Address')}: ACCEPTED"
                    )
                else:
                    print(f"strawhouse[{label}]: FAILED: not accepted through ZAP ({records})")
            else:
                refused = event is not None and event["event"] == zmq.EVENT_HANDSHAKE_FAILED_AUTH
                delivered = server.poll(300) != 0
                ok = refused and event is not None and event["value"] == 400 and not delivered
                for record in records:
                    print(f"strawhouse[{label}]: authenticator audit: {record.address} -> "
                          f"{record.status} {record.reason!r}")
                print(f"strawhouse[{label}]: server received nothing: DENIED" if ok else
                      f"strawhouse[{label}]: FAILED: the client was not refused")
            for sock in (client, monitor):
                sock.close(linger=0)
            server.disable_monitor()
            server.close(linger=0)
            return ok
    finally:
        ctx.destroy(linger=0)


def main() -> int:
    ok = attempt("allowed", allow=True) and attempt("denied", allow=False)
    print("strawhouse: OK" if ok else "strawhouse: FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
