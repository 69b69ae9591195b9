"""Grasslands: no security at all (NULL mechanism, no ZAP).

Anyone who can reach the port can talk to the server and nothing is encrypted: fine on a trusted
loopback, never across a network you do not control. A PUSH client sends one message to a PULL
server on a random loopback port; the script prints each step and exits 0 on success.
"""

from __future__ import annotations

import sys

import securemq as zmq

TIMEOUT_MS = 5000


def main() -> int:
    ctx = zmq.Context()
    try:
        server = ctx.socket(zmq.PULL)
        server.linger = 0
        port = server.bind_to_random_port("tcp://127.0.0.1")
        print(f"grasslands: server (PULL, NULL mechanism) bound to tcp://127.0.0.1:{port}")

        client = ctx.socket(zmq.PUSH)
        client.linger = 0
        client.connect(f"tcp://127.0.0.1:{port}")
        client.send(b"Hello")
        print("grasslands: client (PUSH) connected and sent b'Hello'")

        if not server.poll(TIMEOUT_MS):
            print("grasslands: FAILED: nothing arrived")
            return 1
        frame = server.recv(copy=False)
        print(f"grasslands: server received {frame.bytes!r} from {frame.get('Peer-Address')}")
        print("grasslands: OK: no authentication, no encryption")
        client.close()
        server.close()
        return 0
    finally:
        ctx.destroy(linger=0)


if __name__ == "__main__":
    sys.exit(main())
