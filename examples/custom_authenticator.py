"""A custom authenticator: CURVE keys mapped to users and roles from a JSON file.

How this works
--------------
``RoleBook`` is a policy on securemq.auth's documented interface: a callable taking a
``ZapRequest`` and returning a ``Decision`` (or ``None`` for "no opinion"). It reads
``{"<z85 public key>": {"user": "...", "role": "..."}}`` from a JSON file (written here to a
temporary directory) and, for a known key, answers 200 with the user as User-Id and
``Role=<role>`` as ZAP metadata. The server reads both back from every received message with
``frame.get("User-Id")`` and ``frame.get("Role")``, so the application can authorize per message.
Unknown keys get 400.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from securemq.auth import Decision, ThreadAuthenticator, ZapRequest

import securemq as zmq
from securemq.utils.monitor import recv_monitor_message

TIMEOUT_MS = 5000


class RoleBook:
    """Policy: known CURVE keys from a JSON file -> 200 with User-Id and Role metadata."""

    name = "role-book"

    def __init__(self, path: Path) -> None:
        with open(path, encoding="utf-8") as handle:
            entries = json.load(handle)
        self.entries: dict[str, dict[str, str]] = {
            str(key): {"user": str(v["user"]), "role": str(v["role"])}
            for key, v in entries.items()
        }

    def __call__(self, request: ZapRequest) -> Decision | None:
        if request.mechanism != "CURVE":
            return None  # not ours: let the next policy decide
        key = request.client_key_z85
        entry = self.entries.get(key or "")
        if entry is None:
            return Decision.deny(self.name, "Unknown key")
        return Decision.allow(self.name, user_id=entry["user"], metadata={"Role": entry["role"]})


def wait_outcome(monitor: Any) -> dict[str, Any] | None:
    wanted = {zmq.EVENT_HANDSHAKE_SUCCEEDED, zmq.EVENT_HANDSHAKE_FAILED_AUTH,
              zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL, zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL}
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while (left := deadline - time.monotonic()) > 0:
        if not monitor.poll(int(left * 1000) + 1):
            break
        event = recv_monitor_message(monitor)
        if event["event"] in wanted:
            return event
    return None


def send_as(ctx: zmq.Context, name: str, keys: tuple[bytes, bytes], server_public: bytes,
            port: int) -> Any:
    sock = ctx.socket(zmq.PUSH)
    sock.linger = 0
    sock.curve_serverkey = server_public
    sock.curve_publickey, sock.curve_secretkey = keys
    sock.connect(f"tcp://127.0.0.1:{port}")
    sock.send(f"report from {name}".encode(), zmq.NOBLOCK)
    print(f"custom: {name} sent a message")
    return sock


def main() -> int:
    workdir = Path(tempfile.mkdtemp(prefix="custom-auth-"))
    ctx = zmq.Context()
    results: list[str] = []
    try:
        alice, bob, eve = zmq.curve_keypair(), zmq.curve_keypair(), zmq.curve_keypair()
        book = workdir / "roles.json"
        book.write_text(json.dumps({
            alice[0].decode(): {"user": "alice", "role": "reader"},
            bob[0].decode(): {"user": "bob", "role": "admin"},
        }, indent=2), encoding="utf-8")
        print(f"custom: wrote {book} with users alice (reader) and bob (admin)")

        server_public, server_secret = zmq.curve_keypair()
        with ThreadAuthenticator(ctx) as auth:
            auth.add_policy(RoleBook(book))
            server = ctx.socket(zmq.PULL)
            server.linger = 0
            server.curve_server = True
            server.curve_publickey = server_public
            server.curve_secretkey = server_secret
            monitor = server.get_monitor_socket()
            port = server.bind_to_random_port("tcp://127.0.0.1")
            print(f"custom: CURVE server bound to tcp://127.0.0.1:{port}")

            for name, keys in (("alice", alice), ("bob", bob), ("eve", eve)):
                sock = send_as(ctx, name, keys, server_public, port)
                event = wait_outcome(monitor)
                if event is None:
                    results.append(f"{name}:none")
                elif event["event"] == zmq.EVENT_HANDSHAKE_SUCCEEDED and server.poll(TIMEOUT_MS):
                    frame = server.recv(copy=False)
                    user, role = frame.get("User-Id"), frame.get("Role")
                    print(f"custom: server received {frame.bytes!r} "
                          f"User-Id={user} Role={role}")
                    results.append(f"{user}:{role}")
                elif event["event"] == zmq.EVENT_HANDSHAKE_FAILED_AUTH and not server.poll(300):
                    print(f"custom: {name} refused with ZAP status {event['value']}, "
                          "nothing received")
                    results.append(f"{name}:denied")
                else:
                    results.append(f"{name}:unexpected")
                sock.close(linger=0)
            monitor.close(linger=0)
            server.disable_monitor()
            server.close(linger=0)
    finally:
        ctx.destroy(linger=0)
        shutil.rmtree(workdir, ignore_errors=True)
    ok = results == ["alice:reader", "bob:admin", "eve:denied"]
    print("custom: OK" if ok else f"custom: FAILED ({results})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
