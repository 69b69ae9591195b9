"""CURVE server key rotation without a restart (securemq; docs/SECURITY.md).

A ROUTER server holds its new and its old key pair during an overlap window
(``curve_secretkeys = [new, old]``): clients that still know the old public key and clients that
already know the new one are both served. Then the window closes (``curve_secretkeys = [new]``,
no unbind): a client of the old key is refused (the server cannot open its HELLO), a client of
the new key is served, and a connection made with the old key before the change goes on. A
client that knows both keys (``curve_serverkeys = [old, new]``) finds the one the server holds.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import securemq as zmq
from securemq.utils.monitor import recv_monitor_message

TIMEOUT_MS = 5000
NEW_PUBLIC, NEW_SECRET = zmq.curve_keypair()
OLD_PUBLIC, OLD_SECRET = zmq.curve_keypair()


def client(ctx: zmq.Context, endpoint: str | None, name: str,
           *server_keys: bytes) -> zmq.Socket:
    public, secret = zmq.curve_keypair()
    sock = ctx.socket(zmq.DEALER)
    sock.linger = 0
    sock.rcvtimeo = TIMEOUT_MS
    sock.routing_id = name.encode()
    sock.curve_publickey = public
    sock.curve_secretkey = secret
    if len(server_keys) == 1:
        sock.curve_serverkey = server_keys[0]
    else:
        sock.curve_serverkeys = list(server_keys)  # tried in order, one per connection attempt
    if endpoint is not None:
        sock.connect(endpoint)
    return sock


def served(server: zmq.Socket, sock: zmq.Socket, name: str) -> bool:
    sock.send(f"hello from {name}".encode())
    if not server.poll(TIMEOUT_MS):
        return False
    ident, body = server.recv_multipart()
    server.send_multipart([ident, b"welcome " + ident])
    reply = sock.recv()
    print(f"key rotation: {name}: server got {body!r}, client got {reply!r}")
    return True


def refused(server: zmq.Socket, monitor: Any, sock: zmq.Socket, name: str) -> bool:
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while (left := deadline - time.monotonic()) > 0 and monitor.poll(int(left * 1000) + 1):
        event = recv_monitor_message(monitor)
        if event["event"] == zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL:
            code = zmq.ProtocolError(event["value"]).name
            sock.send(b"let me in", zmq.NOBLOCK)
            nothing = not server.poll(300)
            print(f"key rotation: {name}: server monitor: HANDSHAKE_FAILED_PROTOCOL ({code}); "
                  f"{'nothing delivered: REFUSED' if nothing else 'a message got through'}")
            return nothing
    return False


def main() -> int:
    ctx = zmq.Context()
    checks: list[bool] = []
    try:
        server = ctx.socket(zmq.ROUTER)
        server.linger = 0
        server.curve_server = True
        server.curve_secretkeys = [NEW_SECRET, OLD_SECRET]  # the overlap window
        monitor = server.get_monitor_socket(zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL)
        port = server.bind_to_random_port("tcp://127.0.0.1")
        endpoint = f"tcp://127.0.0.1:{port}"
        print(f"key rotation: server on {endpoint} holds the new and the old key")
        old_client = client(ctx, endpoint, "old-key-client", OLD_PUBLIC)
        new_client = client(ctx, endpoint, "new-key-client", NEW_PUBLIC)
        checks += [served(server, old_client, "old-key-client"),
                   served(server, new_client, "new-key-client")]

        server.curve_secretkeys = [NEW_SECRET]  # the window closes: no unbind, no rebind
        print("key rotation: the old key is retired")
        late = client(ctx, endpoint, "late-old-key-client", OLD_PUBLIC)
        checks.append(refused(server, monitor, late, "late-old-key-client"))
        checks.append(served(server, client(ctx, endpoint, "late-new-key-client", NEW_PUBLIC),
                             "late-new-key-client"))
        checks.append(served(server, old_client, "old-key-client (connected before)"))
        both = client(ctx, None, "two-key-client", OLD_PUBLIC, NEW_PUBLIC)
        watch = both.get_monitor_socket(zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL)
        both.connect(endpoint)
        both.wait_ready(timeout=TIMEOUT_MS / 1000)
        unanswered = 0
        while watch.poll(0):
            recv_monitor_message(watch)
            unanswered += 1
        print(f"key rotation: two-key-client: {unanswered} attempt(s) went unanswered "
              "(the old key), then the new key was served")
        checks.append(served(server, both, "two-key-client"))
        watch.close()
        both.disable_monitor()
        monitor.close()
        server.disable_monitor()
    finally:
        ctx.destroy(linger=0)
    ok = all(checks) and len(checks) == 6
    print("key rotation: OK" if ok else "key rotation: FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
