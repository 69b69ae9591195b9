"""PUB/SUB with prefix filtering (the guide's weather server), written for securemq.

The subscriber subscribes to the ``sensor:`` prefix only; the publisher sends a feed of sensor
readings mixed with other traffic. Subscriptions travel to the publisher asynchronously (the
"slow joiner"), so the publisher repeats a warm-up message until the subscriber sees one, then
sends the real feed followed by an ``sensor:end`` marker.
"""

from __future__ import annotations

import random
import sys
import time

import securemq as zmq

TIMEOUT_MS = 5000
READINGS = 10


def feed(rng: random.Random) -> list[str]:
    """Sensor readings interleaved with messages the subscriber must never see."""
    messages: list[str] = []
    for i in range(READINGS):
        kind = rng.choice(["temp", "humidity"])
        value = rng.randint(10, 40) if kind == "temp" else rng.randint(20, 90)
        messages.append(f"sensor:{kind} {i} {value}")
        messages.append(f"status:heartbeat {i}")
    return messages


def main() -> int:
    ctx = zmq.Context()
    pub = ctx.socket(zmq.PUB)
    sub = ctx.socket(zmq.SUB)
    for sock in (pub, sub):
        sock.linger = 0
        sock.rcvtimeo = TIMEOUT_MS
    pub.bind("tcp://127.0.0.1:*")
    endpoint = pub.last_endpoint.decode()
    sub.connect(endpoint)
    sub.subscribe("sensor:")
    print(f"subscriber: connected to {endpoint}, subscribed to 'sensor:'")
    try:
        deadline = time.monotonic() + TIMEOUT_MS / 1000
        while True:
            pub.send_string("sensor:warmup")
            if sub.poll(20):
                sub.recv_string()
                break
            if time.monotonic() > deadline:
                print("subscriber: subscription never reached the publisher", file=sys.stderr)
                return 1
        print("publisher: subscriber is listening, sending the feed")
        messages = feed(random.Random(7))
        for message in messages:
            pub.send_string(message)
        pub.send_string("sensor:end")
        received = 0
        while True:
            update = sub.recv_string()
            if update == "sensor:end":
                break
            if update == "sensor:warmup":  # a late copy of the warm-up message
                continue
            if not update.startswith("sensor:"):
                print(f"subscriber: filter leaked {update!r}", file=sys.stderr)
                return 1
            received += 1
            print(f"subscriber: {update}")
    except zmq.Again:
        print("subscriber: timed out", file=sys.stderr)
        return 1
    finally:
        pub.close()
        sub.close()
        ctx.term()
    filtered = len(messages) - received
    print(f"pubsub: received {received} sensor updates, {filtered} other messages filtered out")
    return 0 if received == READINGS else 1


if __name__ == "__main__":
    sys.exit(main())
