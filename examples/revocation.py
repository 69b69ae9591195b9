"""Revocation that bites (securemq; docs/SECURITY.md): deleting a client's key file closes its
live connection, not only its next handshake.

An ironhouse server trusts the public certificates in a directory; its authenticator runs with
``revoke_live=True``. Alice and Bob connect and talk. Alice's ``.key`` file is deleted: within
about ``curve_reload_interval`` the server closes her connection (logged on ``securemq.io`` and
reported as DISCONNECTED on the server's monitor), her client reconnects and is refused with
ZAP status 400, and Bob goes on as before. (Without ``revoke_live``, as in libzmq, Alice's open
connection would stay up until she disconnects.)
"""

from __future__ import annotations

import logging
import os
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


def wait_event(monitor: Any, wanted: int) -> dict[str, Any] | None:
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while (left := deadline - time.monotonic()) > 0 and monitor.poll(int(left * 1000) + 1):
        event = recv_monitor_message(monitor)
        if event["event"] == wanted:
            return event
    return None


def connect(ctx: zmq.Context, keys: Path, name: str, server_public: bytes,
            endpoint: str) -> tuple[zmq.Socket, Any]:
    public, secret = load_certificate(keys / f"{name}.key_secret")
    sock = ctx.socket(zmq.DEALER)
    sock.linger = 0
    sock.rcvtimeo = TIMEOUT_MS
    sock.routing_id = name.encode()
    sock.curve_serverkey = server_public
    sock.curve_publickey = public
    sock.curve_secretkey = secret
    monitor = sock.get_monitor_socket(zmq.EVENT_DISCONNECTED | zmq.EVENT_HANDSHAKE_FAILED_AUTH)
    sock.connect(endpoint)
    return sock, monitor


def talk(server: zmq.Socket, sock: zmq.Socket, name: str, text: str) -> bool:
    sock.send(text.encode())
    if not server.poll(TIMEOUT_MS):
        return False
    ident, body = server.recv_multipart()
    server.send_multipart([ident, b"ok"])
    print(f"revocation: server got {body!r} from {ident.decode()}; reply {sock.recv()!r}")
    return ident == name.encode()


def main() -> int:
    logging.basicConfig(level=logging.WARNING, stream=sys.stdout,
                        format="revocation: [log %(name)s] %(message)s")
    keys = Path(tempfile.mkdtemp(prefix="revocation-"))
    ctx = zmq.Context()
    checks: list[bool] = []
    try:
        trusted = keys / "trusted"
        trusted.mkdir()
        for name in ("server", "alice", "bob"):
            create_certificates(keys, name)
            if name != "server":
                shutil.copy(keys / f"{name}.key", trusted / f"{name}.key")
        server_public, server_secret = load_certificate(keys / "server.key_secret")
        with ThreadAuthenticator(ctx, curve_reload_interval=0.2) as auth:
            auth.configure_curve(location=str(trusted), revoke_live=True)
            server = ctx.socket(zmq.ROUTER)
            server.linger = 0
            server.curve_server = True
            server.curve_secretkey = server_secret
            server_monitor = server.get_monitor_socket(zmq.EVENT_DISCONNECTED)
            port = server.bind_to_random_port("tcp://127.0.0.1")
            endpoint = f"tcp://127.0.0.1:{port}"
            alice, alice_monitor = connect(ctx, keys, "alice", server_public, endpoint)
            bob, bob_monitor = connect(ctx, keys, "bob", server_public, endpoint)
            checks += [talk(server, alice, "alice", "hi from alice"),
                       talk(server, bob, "bob", "hi from bob")]

            os.remove(trusted / "alice.key")
            print("revocation: alice.key deleted from the trusted directory")
            closed = wait_event(server_monitor, zmq.EVENT_DISCONNECTED)
            print(f"revocation: server monitor: {'DISCONNECTED' if closed else 'nothing'}")
            told = wait_event(alice_monitor, zmq.EVENT_HANDSHAKE_FAILED_AUTH)
            if told is not None:
                print(f"revocation: alice's monitor: her reconnect was refused with ZAP status "
                      f"{told['value']}")
            checks += [closed is not None, told is not None and told["value"] == 400]
            checks.append(talk(server, bob, "bob", "bob is still here"))
            checks.append(not bob_monitor.poll(0))
            for monitor in (server_monitor, alice_monitor, bob_monitor):
                monitor.close()
    finally:
        ctx.destroy(linger=0)
        shutil.rmtree(keys, ignore_errors=True)
    ok = all(checks) and len(checks) == 6
    print("revocation: OK" if ok else "revocation: FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
