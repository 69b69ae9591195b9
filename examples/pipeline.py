"""Parallel pipeline (the guide's divide and conquer): ventilator -> 3 workers -> collector.

The ventilator PUSHes tasks, each worker PULLs tasks, "works" for a few milliseconds and
PUSHes a result, the collector PULLs all results. Workers are threads here, each with its own
sockets. Before sending, the ventilator waits (through its socket monitor) until all three
workers have completed the handshake, so the round robin spreads tasks over all of them instead
of handing everything to the first worker that happened to connect.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter

import securemq as zmq
from securemq.utils.monitor import recv_monitor_message

WORKERS = 3
TASKS = 30
TIMEOUT_MS = 5000


def worker(ctx: zmq.Context, name: str, tasks_at: str, results_at: str,
           stop: threading.Event) -> None:
    receiver = ctx.socket(zmq.PULL)
    sender = ctx.socket(zmq.PUSH)
    for sock in (receiver, sender):
        sock.linger = 0
        sock.sndtimeo = TIMEOUT_MS
    receiver.connect(tasks_at)
    sender.connect(results_at)
    try:
        while not stop.is_set():
            if not receiver.poll(50):
                continue
            workload_ms = int(receiver.recv_string())
            time.sleep(workload_ms / 1000)  # the "work"
            sender.send_string(f"{name} {workload_ms}")
    finally:
        receiver.close()
        sender.close()


def wait_for_workers(monitor: zmq.Socket, count: int) -> bool:
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    seen = 0
    while seen < count:
        remaining = int((deadline - time.monotonic()) * 1000)
        if remaining <= 0 or not monitor.poll(remaining):
            return False
        if recv_monitor_message(monitor)["event"] == zmq.EVENT_HANDSHAKE_SUCCEEDED:
            seen += 1
    return True


def main() -> int:
    ctx = zmq.Context()
    ventilator = ctx.socket(zmq.PUSH)
    collector = ctx.socket(zmq.PULL)
    for sock in (ventilator, collector):
        sock.linger = 0
        sock.rcvtimeo = TIMEOUT_MS
        sock.sndtimeo = TIMEOUT_MS
    monitor = ventilator.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED)
    ventilator.bind("tcp://127.0.0.1:*")
    collector.bind("tcp://127.0.0.1:*")
    tasks_at = ventilator.last_endpoint.decode()
    results_at = collector.last_endpoint.decode()
    print(f"ventilator: tasks at {tasks_at}, collector: results at {results_at}")

    stop = threading.Event()
    threads = [
        threading.Thread(target=worker, args=(ctx, f"worker-{i}", tasks_at, results_at, stop),
                         daemon=True)
        for i in range(WORKERS)
    ]
    for thread in threads:
        thread.start()
    status = 0
    try:
        if not wait_for_workers(monitor, WORKERS):
            print("ventilator: workers did not all connect", file=sys.stderr)
            return 1
        print(f"ventilator: {WORKERS} workers connected, sending {TASKS} tasks")
        total_ms = 0
        for i in range(TASKS):
            workload = 1 + i % 5
            total_ms += workload
            ventilator.send_string(str(workload))
        per_worker: Counter[str] = Counter()
        done_ms = 0
        for _ in range(TASKS):
            name, workload_ms = collector.recv_string().split()
            per_worker[name] += 1
            done_ms += int(workload_ms)
        for name in sorted(per_worker):
            print(f"collector: {name} did {per_worker[name]} tasks")
        print(f"collector: {TASKS} results, {done_ms} ms of work in total")
        if done_ms != total_ms:
            status = 1
    except zmq.Again:
        print("collector: timed out waiting for results", file=sys.stderr)
        status = 1
    finally:
        stop.set()
        for thread in threads:
            thread.join(TIMEOUT_MS / 1000)
        ventilator.disable_monitor()
        monitor.close()
        ventilator.close()
        collector.close()
        ctx.term()
    if status == 0:
        print("pipeline: all tasks done")
    return status


if __name__ == "__main__":
    sys.exit(main())
