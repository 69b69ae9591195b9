"""Seeing loss, then recovering from it: SEQUENCE stamps and the zguide's Clone pattern.

A server keeps a key-value state and publishes every change (PUB). A client mirrors it: it
asks for a snapshot over DEALER/ROUTER, then applies the published changes that are newer. PUB
drops messages for a subscriber that falls behind (its pipe is full) -- by design, and silently
with libzmq. With SEQUENCE set on both ends, the subscriber sees each gap (a MESSAGES_LOST
monitor event, and ``sequence_counts()``), so the client knows its copy is stale and asks for a
fresh snapshot. At the end its copy equals the server's.
"""

from __future__ import annotations

import json
import logging
import sys
import threading

import securemq as zmq
from securemq.utils.monitor import recv_monitor_message

UPDATES = 20_000
KEYS = 50


def server(ctx: zmq.Context, ready: threading.Event, endpoints: list[str],
           done: threading.Event) -> None:
    state: dict[str, int] = {}
    version = 0
    publisher = ctx.socket(zmq.PUB)
    publisher.linger = 0
    publisher.sndhwm = 100  # a small pipe: a slow client loses updates
    publisher.setsockopt(zmq.SEQUENCE, 1)
    publisher.bind("tcp://127.0.0.1:*")
    snapshots = ctx.socket(zmq.ROUTER)
    snapshots.linger = 0
    snapshots.bind("tcp://127.0.0.1:*")
    endpoints += [publisher.last_endpoint.decode(), snapshots.last_endpoint.decode()]
    ready.set()
    publisher.wait_for_subscribers(1, 5)
    poller = zmq.Poller()
    poller.register(snapshots, zmq.POLLIN)
    while not done.is_set():
        if version < UPDATES:
            version += 1
            key = f"key-{version % KEYS}"
            state[key] = version
            publisher.send_multipart([key.encode(), b"%d" % version])
        elif not poller.poll(50):
            # Idle: a heartbeat (the zguide's HUGZ) carries a stamp too, so a gap at the very
            # end is seen as well.
            publisher.send_multipart([b"HUGZ", b"%d" % version])
        while poller.poll(0):
            identity, _request = snapshots.recv_multipart()
            snapshots.send_multipart([identity, b"%d" % version, json.dumps(state).encode()])
    publisher.close()
    snapshots.close()


def main() -> int:
    # Each gap is also logged (securemq.sequence, WARNING); this client reports them itself.
    logging.getLogger("securemq.sequence").setLevel(logging.ERROR)
    ctx = zmq.Context()
    ready, done = threading.Event(), threading.Event()
    endpoints: list[str] = []
    thread = threading.Thread(target=server, args=(ctx, ready, endpoints, done), daemon=True)
    thread.start()
    ready.wait(5)
    updates = ctx.socket(zmq.SUB)
    updates.linger = 0
    updates.rcvhwm = 100
    updates.setsockopt(zmq.SEQUENCE, 1)
    losses = updates.get_monitor_socket(zmq.EVENT_MESSAGES_LOST)
    updates.subscribe(b"")
    updates.connect(endpoints[0])
    snapshot = ctx.socket(zmq.DEALER)
    snapshot.linger = 0
    snapshot.rcvtimeo = 5000
    snapshot.connect(endpoints[1])

    def fetch() -> tuple[int, dict[str, int]]:
        snapshot.send(b"snapshot?")
        version, body = snapshot.recv_multipart()
        return int(version), json.loads(body)

    version, mirror = fetch()
    resyncs = 0
    poller = zmq.Poller()
    poller.register(updates, zmq.POLLIN)
    poller.register(losses, zmq.POLLIN)
    while True:
        events = dict(poller.poll(5000))
        if not events:
            print("client: the server went quiet", file=sys.stderr)
            return 1
        if losses in events:
            lost = recv_monitor_message(losses)["value"]
            resyncs += 1
            if resyncs <= 3:
                print(f"client: {lost} updates lost -> asking for a snapshot")
            version, mirror = fetch()
            continue
        key, value = updates.recv_multipart()
        if key == b"HUGZ":
            if int(value) == version == UPDATES and not losses.poll(0):
                break  # the server is done and nothing was lost since our last look
            continue
        if int(value) > version:
            version = int(value)
            mirror[key.decode()] = version
        sum(range(200))  # slow on purpose: the publisher gets ahead, PUB drops for us
    version, truth = fetch()
    done.set()
    thread.join(5)
    counts = updates.sequence_counts()
    print(f"client: {resyncs} resyncs; stamps saw {sum(c['lost'] for c in counts)} lost, "
          f"{sum(c['received'] for c in counts)} received")
    print(f"client: mirror {'==' if mirror == truth else '!='} server state at version {version}")
    ctx.destroy(linger=0)
    return 0 if mirror == truth else 1


if __name__ == "__main__":
    sys.exit(main())
