"""Per-socket statistics: what a publisher sent, what it dropped for a slow subscriber, who
failed to authenticate -- ``sock.stats()``, and the same numbers for Prometheus.

A PUB serves two subscribers over tcp: one keeps up, one reads nothing and so is dropped at
the high-water mark. A third client comes with a wrong PLAIN password and is refused. The
publisher then prints its statistics, per subscriber too, and, when ``prometheus_client`` is
installed (``pip install 'securemq[metrics]'``), the lines a Prometheus scrape would get.

Run: python examples/stats.py
"""

from __future__ import annotations

import threading
import time

from securemq.auth import ThreadAuthenticator

import securemq as zmq


def main() -> None:
    ctx = zmq.Context()
    auth = ThreadAuthenticator(ctx)
    auth.start()
    auth.configure_plain(domain="*", passwords={"reader": "secret"})

    pub = ctx.socket(zmq.PUB)
    pub.linger = 0
    pub.plain_server = True
    pub.sndhwm = 100
    pub.bind("tcp://127.0.0.1:*")
    endpoint = pub.getsockopt_string(zmq.LAST_ENDPOINT)

    def subscriber(password: str) -> zmq.Socket:
        sub = ctx.socket(zmq.SUB)
        sub.linger = 0
        sub.rcvhwm = 100
        sub.rcvtimeo = 5000
        sub.plain_username, sub.plain_password = b"reader", password.encode()
        sub.subscribe(b"")
        sub.connect(endpoint)
        return sub

    fast, slow = subscriber("secret"), subscriber("secret")
    intruder = subscriber("guess")
    pub.wait_for_subscribers(2, timeout=5)

    received = 0

    def keep_up() -> None:  # the fast subscriber reads everything, in its own thread
        nonlocal received
        while fast.recv() != b"end":
            received += 1

    reader = threading.Thread(target=keep_up)
    reader.start()
    sent = 0
    deadline = time.monotonic() + 10
    while pub.stats()["dropped_out"] == 0 and time.monotonic() < deadline:
        for _ in range(100):  # the slow subscriber's buffers fill, then its pipe
            pub.send(b"tick " + b"x" * 16_000)
            sent += 1
        while received < sent and time.monotonic() < deadline:
            time.sleep(0.001)  # (the publisher waits for the fast one: it loses nothing)
    pub.send(b"end")
    reader.join()
    while pub.stats()["handshake_failures"]["auth"] == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    print(f"fast subscriber: received {received} of {sent}")

    stats = pub.stats()
    print(f"publisher: {sent} messages published to {stats['connections']} subscribers")
    print(f"publisher: {stats['messages_out']} queued, {stats['dropped_out']} dropped at the HWM, "
          f"{stats['bytes_out']} bytes on the wire")
    for peer in sorted(stats["peers"], key=lambda entry: entry["dropped_out"]):
        print(f"  subscriber: {peer['messages_out']} queued, {peer['dropped_out']} dropped, "
              f"{peer['queued_out']} waiting")
    print(f"publisher: handshakes refused by ZAP: {stats['handshake_failures']['auth']}")

    try:
        import prometheus_client
    except ImportError:
        print("prometheus: install prometheus_client for the exporter")
    else:
        from securemq.stats import PrometheusCollector

        registry = prometheus_client.CollectorRegistry()
        registry.register(PrometheusCollector({"feed": pub}))
        for line in prometheus_client.generate_latest(registry).decode().splitlines():
            if line.startswith(("securemq_dropped_out_total", "securemq_connections{",
                                'securemq_handshake_failures_total{kind="auth"')):
                print(f"prometheus: {line}")

    for sock in (fast, slow, intruder, pub):
        sock.close()
    auth.stop()
    ctx.term()
    print("stats: done")


if __name__ == "__main__":
    main()
