"""PAIR sockets between threads over inproc (the guide's "mtrelay"), written for securemq.

Three steps signal each other in a chain: step 1 tells step 2 it is ready, step 2 tells the
main thread. Each link is a PAIR over ``inproc://`` in one shared Context, where messages
move between the threads' queues directly, with no bytes on any wire. Afterwards the main
thread and a helper thread play ping-pong over another inproc PAIR.
"""

from __future__ import annotations

import sys
import threading

import securemq as zmq

TIMEOUT_MS = 5000
VOLLEYS = 5


def signal_next(ctx: zmq.Context, endpoint: str) -> None:
    """Send READY and close; the peer reads the message after we are gone."""
    sender = ctx.socket(zmq.PAIR)
    try:
        sender.connect(endpoint)
        sender.send(b"READY")
    finally:
        sender.close()


def step1(ctx: zmq.Context) -> None:
    print("step 1: ready, signaling step 2")
    signal_next(ctx, "inproc://step2")


def step2(ctx: zmq.Context) -> None:
    receiver = ctx.socket(zmq.PAIR)
    receiver.linger = 0
    receiver.rcvtimeo = TIMEOUT_MS
    try:
        receiver.bind("inproc://step2")
        thread = threading.Thread(target=step1, args=(ctx,), daemon=True)
        thread.start()
        signal = receiver.recv()
        thread.join(TIMEOUT_MS / 1000)
    except zmq.Again:
        print("step 2: no signal from step 1", file=sys.stderr)
        return
    finally:
        receiver.close()
    print(f"step 2: got {signal.decode()} from step 1, signaling step 3")
    signal_next(ctx, "inproc://step3")


def ponger(ctx: zmq.Context) -> None:
    pair = ctx.socket(zmq.PAIR)
    pair.rcvtimeo = TIMEOUT_MS
    pair.connect("inproc://pingpong")
    try:
        for _ in range(VOLLEYS):
            ball = pair.recv_string()
            pair.send_string(ball.replace("ping", "pong"))
    except zmq.Again:
        pass
    finally:
        pair.close()


def main() -> int:
    ctx = zmq.Context()
    receiver = ctx.socket(zmq.PAIR)
    receiver.linger = 0
    receiver.rcvtimeo = TIMEOUT_MS
    receiver.bind("inproc://step3")
    chain = threading.Thread(target=step2, args=(ctx,), daemon=True)
    chain.start()
    pinger = ctx.socket(zmq.PAIR)
    pinger.linger = 0
    pinger.rcvtimeo = TIMEOUT_MS
    pinger.sndtimeo = TIMEOUT_MS
    status = 0
    try:
        signal = receiver.recv()
        print(f"step 3: got {signal.decode()} from step 2, test successful")
        pinger.bind("inproc://pingpong")
        other = threading.Thread(target=ponger, args=(ctx,), daemon=True)
        other.start()
        for i in range(VOLLEYS):
            pinger.send_string(f"ping {i}")
            print(f"main: {pinger.recv_string()}")
        other.join(TIMEOUT_MS / 1000)
        chain.join(TIMEOUT_MS / 1000)
    except zmq.Again:
        print("main: timed out", file=sys.stderr)
        status = 1
    finally:
        receiver.close()
        pinger.close()
        ctx.term()
    if status == 0:
        print(f"pair_inproc: relay and {VOLLEYS} volleys done")
    return status


if __name__ == "__main__":
    sys.exit(main())
