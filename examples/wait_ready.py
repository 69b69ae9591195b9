"""Knowing whether you are connected, and why not: wait_ready and wait_for_subscribers.

With libzmq, a client whose server refused its credentials, whose CURVE_SERVERKEY is wrong, or
whose server is not up looks the same: messages queue and nothing arrives. securemq's
``wait_ready(timeout)`` returns once a handshake completed, or says which of those it is.
``wait_for_subscribers(n, timeout)`` is the cure for ZeroMQ's "slow joiner": a PUB waits until
its subscribers' subscriptions have arrived, so the first messages are not dropped.
"""

from __future__ import annotations

import sys

from securemq.auth import ThreadAuthenticator

import securemq as zmq

TIMEOUT_S = 5.0


def client(ctx: zmq.Context, endpoint: str, server_key: bytes) -> zmq.Socket:
    sock = ctx.socket(zmq.REQ)
    sock.linger = 0
    sock.curve_serverkey = server_key
    sock.curve_publickey, sock.curve_secretkey = zmq.curve_keypair()
    sock.connect(endpoint)
    return sock


def main() -> int:
    ctx = zmq.Context()
    auth = ThreadAuthenticator(ctx)
    auth.start()
    auth.configure_curve(domain="*", location=zmq.auth.CURVE_ALLOW_ANY)
    try:
        server_public, server_secret = zmq.curve_keypair()
        server = ctx.socket(zmq.REP)
        server.linger = 0
        server.curve_server, server.curve_secretkey = True, server_secret
        server.bind("tcp://127.0.0.1:*")
        endpoint = server.last_endpoint.decode()

        good = client(ctx, endpoint, server_public)
        good.wait_ready(TIMEOUT_S)
        print("right server key: ready")

        wrong_key, _ = zmq.curve_keypair()
        try:
            client(ctx, endpoint, wrong_key).wait_ready(TIMEOUT_S)
        except zmq.ServerKeyRejected as exc:
            print(f"wrong server key: {type(exc).__name__}")

        nobody = ctx.socket(zmq.REQ)
        nobody.linger = 0
        nobody.connect("tcp://127.0.0.1:1")
        try:
            nobody.wait_ready(0.3)
        except zmq.HandshakeTimeout as exc:
            print(f"no server: {type(exc).__name__} ({exc.last})")

        publisher = ctx.socket(zmq.PUB)
        publisher.linger = 0
        publisher.bind("tcp://127.0.0.1:*")
        subscriber = ctx.socket(zmq.SUB)
        subscriber.linger = 0
        subscriber.rcvtimeo = int(TIMEOUT_S * 1000)
        subscriber.connect(publisher.last_endpoint.decode())
        subscriber.subscribe(b"")
        count = publisher.wait_for_subscribers(1, TIMEOUT_S)
        publisher.send(b"the very first message")
        print(f"{count} subscriber ready; it got {subscriber.recv()!r}")
        return 0
    finally:
        auth.stop()
        ctx.destroy(linger=0)


if __name__ == "__main__":
    sys.exit(main())
