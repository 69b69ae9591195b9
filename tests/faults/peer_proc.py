"""A peer process for the fault tests (run as a script, possibly inside a network namespace).

Usage: ``peer_proc.py ROLE ENDPOINT [options]``; ROLE is ``pull`` or ``push``. It prints one line
per fact, flushed at once, so the test can follow it and can SIGKILL it at any point:

- ``ready`` once bound / connected;
- ``msg <seq> <parts> <bytes> <ok>`` per message received (``pull``); ``ok`` is 1 when every
  part has the size and content the sender wrote;
- ``event <NAME>`` per monitor event (with ``--monitor``);
- ``sent <seq>`` after each message handed to the socket (``push --count``).

Messages are ``[b"<seq>", part, ...]``; part ``i`` is ``--part-size`` bytes of ``i % 256``.
A message whose seq is ``END`` makes a ``pull`` peer print ``done`` and exit.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from typing import Any


def _zmq(impl: str) -> Any:
    if impl == "pyzmq":
        import zmq

        return zmq
    import securemq

    return securemq


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _watch_monitor(zmq: Any, sock: Any) -> None:
    mon = sock.get_monitor_socket()
    names = {int(e): e.name for e in zmq.Event}

    def run() -> None:
        while True:
            try:
                frames = mon.recv_multipart()
            except Exception:
                return
            event = int.from_bytes(frames[0][:2], "little")
            _say(f"event {names.get(event, hex(event))}")

    threading.Thread(target=run, daemon=True).start()


def _configure(zmq: Any, sock: Any, args: argparse.Namespace) -> None:
    sock.linger = 0
    if args.heartbeat:
        sock.setsockopt(zmq.HEARTBEAT_IVL, 100)
        sock.setsockopt(zmq.HEARTBEAT_TIMEOUT, 300)
    if args.sndhwm is not None:
        sock.sndhwm = args.sndhwm


def _attach(sock: Any, args: argparse.Namespace) -> None:
    if args.bind:
        sock.bind(args.endpoint)
    else:
        sock.connect(args.endpoint)


def run_pull(zmq: Any, args: argparse.Namespace) -> None:
    ctx = zmq.Context()
    sock = ctx.socket(zmq.PULL)
    _configure(zmq, sock, args)
    if args.monitor:
        _watch_monitor(zmq, sock)
    _attach(sock, args)
    _say("ready")
    while True:
        msg = sock.recv_multipart()
        if msg[0] == b"END":
            _say("done")
            break
        ok = all(
            len(part) == args.part_size and part[:1] == bytes([index % 256]) and
            part[-1:] == bytes([index % 256])
            for index, part in enumerate(msg[1:])
        )
        _say(f"msg {msg[0].decode()} {len(msg) - 1} {sum(map(len, msg[1:]))} {int(ok)}")
    ctx.destroy(linger=0)


def run_push(zmq: Any, args: argparse.Namespace) -> None:
    ctx = zmq.Context()
    sock = ctx.socket(zmq.PUSH)
    _configure(zmq, sock, args)
    if args.monitor:
        _watch_monitor(zmq, sock)
    _attach(sock, args)
    _say("ready")
    parts = [bytes([i % 256]) * args.part_size for i in range(args.parts)]
    seq = args.start
    while args.count < 0 or seq < args.start + args.count:
        sock.send_multipart([str(seq).encode(), *parts])
        _say(f"sent {seq}")
        seq += 1
        if args.interval:
            time.sleep(args.interval)
    # Stay alive (connected) until killed or stdin closes.
    sys.stdin.read()
    ctx.destroy(linger=0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("role", choices=["pull", "push"])
    parser.add_argument("endpoint")
    parser.add_argument("--impl", choices=["securemq", "pyzmq"], default="securemq")
    parser.add_argument("--bind", action="store_true")
    parser.add_argument("--heartbeat", action="store_true")
    parser.add_argument("--monitor", action="store_true")
    parser.add_argument("--sndhwm", type=int)
    parser.add_argument("--parts", type=int, default=1)
    parser.add_argument("--part-size", type=int, default=16)
    parser.add_argument("--count", type=int, default=-1)
    parser.add_argument("--start", type=int, default=0)
    parser.add_argument("--interval", type=float, default=0.0)
    args = parser.parse_args()
    zmq = _zmq(args.impl)
    (run_pull if args.role == "pull" else run_push)(zmq, args)


if __name__ == "__main__":
    main()
