"""Behaviours from the ZeroMQ guide (zguide), on securemq: our own code, written from the
guide's descriptions of its examples, with ``import securemq as zmq``.

- mtrelay: a relay of threads over inproc PAIR whose step sockets are left to the garbage
  collector; the program prints its result and must then exit, not hang in ``term()``.
- lbbroker: a load-balancing ROUTER/ROUTER broker with many REQ clients and REQ workers, all
  released at the same moment.
- simple pirate: a queue, a REQ client that retries with a fresh socket on timeout, and a
  worker that dies holding a request.
- paranoid pirate: heartbeats between DEALER workers and the queue; a dead worker is purged, and
  a worker reconnects when the queue restarts.
- espresso: a pub/sub proxy (``zmq.proxy`` and ``zmq.devices.ThreadProxy``) with a capture
  socket that sees the subscriptions go up and the messages come down.
- a publisher that exits right after sending: the subscriber gets everything, the last too.

Every socket here has LINGER 0 and receive/send timeouts unless the behaviour under test needs
otherwise; waits poll with a deadline; loopback only, random ports.
"""

from __future__ import annotations

import collections
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

import securemq as zmq
from securemq import devices

TIMEOUT_MS = 5000
DEADLINE_S = 20.0


# -- helpers -----------------------------------------------------------------------------------
def new_socket(ctx: zmq.Context, kind: int, *, linger: int = 0, rcvtimeo: int = TIMEOUT_MS,
               sndtimeo: int = TIMEOUT_MS) -> zmq.Socket:
    sock = ctx.socket(kind)
    sock.linger = linger
    sock.rcvtimeo = rcvtimeo
    sock.sndtimeo = sndtimeo
    return sock


def bind_any(sock: zmq.Socket, transport: str, name: str, tmp_path: Path) -> str:
    """Bind to a fresh endpoint of ``transport``; return the endpoint to connect to."""
    if transport == "inproc":
        endpoint = f"inproc://{name}-{id(sock):x}"
    elif transport == "ipc":
        endpoint = f"ipc://{tmp_path / name}.ipc"
    else:
        endpoint = "tcp://127.0.0.1:*"
    sock.bind(endpoint)
    last: bytes = sock.getsockopt(zmq.LAST_ENDPOINT)
    return last.decode()


def wait_until(condition: Callable[[], bool], timeout: float = DEADLINE_S,
               what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.005)


class Crew:
    """Threads that must all end in time; an exception in any of them fails the test."""

    def __init__(self) -> None:
        self.threads: list[threading.Thread] = []
        self.errors: list[tuple[str, BaseException]] = []

    def start(self, target: Callable[..., object], *args: Any, name: str = "") -> None:
        def run() -> None:
            try:
                target(*args)
            except BaseException as exc:
                self.errors.append((name or target.__name__, exc))

        thread = threading.Thread(target=run, name=name or target.__name__, daemon=True)
        thread.start()
        self.threads.append(thread)

    def join(self, timeout: float = DEADLINE_S) -> None:
        deadline = time.monotonic() + timeout
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        alive = [t.name for t in self.threads if t.is_alive()]
        assert not self.errors, f"threads failed: {self.errors!r}"
        assert not alive, f"threads still running after {timeout} s: {alive}"


@pytest.fixture
def ctx() -> Iterator[zmq.Context]:
    context = zmq.Context()
    yield context
    context.destroy(linger=0)


def run_script(source: str, tmp_path: Path, *args: str,
               timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    """Run our own program (``import securemq as zmq``) as a process; it must end in time."""
    script = tmp_path / "program.py"
    script.write_text(textwrap.dedent(source).lstrip())
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SECUREMQ_AS_ZMQ")}
    env["PYTHONFAULTHANDLER"] = "1"
    try:
        return subprocess.run([sys.executable, str(script), *args], capture_output=True,
                              text=True, timeout=timeout, env=env, cwd=tmp_path, check=False)
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
        raise AssertionError(f"the program did not exit within {timeout} s; it printed:\n"
                             f"{out[-3000:]}") from None


@contextmanager
def start_script(source: str, tmp_path: Path, *args: str) -> Iterator[subprocess.Popen[str]]:
    """Start our own program as a process, and make sure it is gone afterwards."""
    script = tmp_path / "program.py"
    script.write_text(textwrap.dedent(source).lstrip())
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SECUREMQ_AS_ZMQ")}
    env["PYTHONFAULTHANDLER"] = "1"
    proc = subprocess.Popen([sys.executable, str(script), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)


# -- mtrelay -----------------------------------------------------------------------------------
MTRELAY = """
    import faulthandler
    import sys
    import threading

    import securemq as zmq

    faulthandler.dump_traceback_later(30, exit=True)  # a hang shows where, then ends

    def step1(context):
        sender = context.socket(zmq.PAIR)
        sender.connect("inproc://step2")
        sender.send(b"READY")  # the socket is never closed: the collector gets it

    def step2(context):
        receiver = context.socket(zmq.PAIR)
        receiver.bind("inproc://step2")
        threading.Thread(target=step1, args=(context,)).start()
        message = receiver.recv()
        sender = context.socket(zmq.PAIR)
        sender.connect("inproc://step3")
        sender.send(message)  # neither socket is closed

    def relay(context):
        receiver = context.socket(zmq.PAIR)
        receiver.bind("inproc://step3")
        threading.Thread(target=step2, args=(context,)).start()
        return receiver, receiver.recv()

    rounds = int(sys.argv[1])
    for n in range(rounds):
        context = zmq.Context()
        receiver, message = relay(context)
        print(f"round {n}: {message.decode()}, test successful", flush=True)
        receiver.close()
        context.term()  # waits for the step sockets: only the collector closes them

    # the last round ends without close() or term(): the program must still exit
    context = zmq.Context()
    receiver, message = relay(context)
    print(f"last round: {message.decode()}, test successful", flush=True)
"""


def test_mtrelay_step_sockets_left_to_the_collector(tmp_path: Path) -> None:
    rounds = 20
    done = run_script(MTRELAY, tmp_path, str(rounds))
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert lines == [*(f"round {n}: READY, test successful" for n in range(rounds)),
                     "last round: READY, test successful"], done.stdout


# -- lbbroker ----------------------------------------------------------------------------------
NBR_CLIENTS, NBR_WORKERS, REQUESTS_EACH = 20, 8, 5


@pytest.mark.parametrize("transport", ["inproc", "tcp", "ipc"])
def test_lbbroker_many_clients_and_workers_at_once(ctx: zmq.Context, transport: str,
                                                    tmp_path: Path) -> None:
    frontend, backend = new_socket(ctx, zmq.ROUTER), new_socket(ctx, zmq.ROUTER)
    front = bind_any(frontend, transport, "frontend", tmp_path)
    back = bind_any(backend, transport, "backend", tmp_path)
    start = threading.Barrier(NBR_CLIENTS + NBR_WORKERS, timeout=DEADLINE_S)
    replies: dict[int, list[bytes]] = {}
    served: collections.Counter[int] = collections.Counter()

    def client(n: int) -> None:
        sock = new_socket(ctx, zmq.REQ)
        sock.connect(front)
        start.wait()
        got = []
        for i in range(REQUESTS_EACH):
            sock.send(f"client-{n} request-{i}".encode())
            got.append(sock.recv())
        replies[n] = got
        sock.close()

    def worker(n: int) -> None:
        sock = new_socket(ctx, zmq.REQ, rcvtimeo=3 * TIMEOUT_MS)
        sock.connect(back)
        start.wait()
        sock.send(b"READY")
        while True:
            address, empty, request = sock.recv_multipart()
            assert empty == b""
            if request == b"END":
                break
            served[n] += 1
            sock.send_multipart([address, b"", b"OK " + request + f" by worker-{n}".encode()])
        sock.close()

    crew = Crew()
    for n in range(NBR_WORKERS):
        crew.start(worker, n, name=f"worker-{n}")
    for n in range(NBR_CLIENTS):
        crew.start(client, n, name=f"client-{n}")

    # the broker: workers queue up as they say READY or reply; clients are read only while a
    # worker is free
    free: collections.deque[bytes] = collections.deque()
    everyone, workers_only = zmq.Poller(), zmq.Poller()
    for poller in (everyone, workers_only):
        poller.register(backend, zmq.POLLIN)
    everyone.register(frontend, zmq.POLLIN)
    total, answered = NBR_CLIENTS * REQUESTS_EACH, 0
    deadline = time.monotonic() + DEADLINE_S
    known: set[bytes] = set()
    while answered < total or len(known) < NBR_WORKERS or len(free) < NBR_WORKERS:
        assert time.monotonic() < deadline, f"broker: {answered} of {total} answered"
        events = dict((everyone if free else workers_only).poll(100))
        if backend in events:
            worker_address, empty, *rest = backend.recv_multipart()
            assert empty == b"", "REQ envelope: an empty delimiter after the address"
            known.add(worker_address)
            free.append(worker_address)
            if rest != [b"READY"]:
                client_address, _, reply = rest
                frontend.send_multipart([client_address, b"", reply])
                answered += 1
        if free and frontend in events:
            client_address, _, request = frontend.recv_multipart()
            backend.send_multipart([free.popleft(), b"", client_address, b"", request])
    for worker_address in free:
        backend.send_multipart([worker_address, b"", b"", b"", b"END"])
    crew.join()

    assert sorted(replies) == list(range(NBR_CLIENTS))
    for n, got in replies.items():
        for i, reply in enumerate(got):
            assert reply.startswith(f"OK client-{n} request-{i} by worker-".encode()), reply
    assert sum(served.values()) == total
    assert len(served) > 1, f"one worker did everything: {served}"


# -- simple pirate -----------------------------------------------------------------------------
REQUEST_TIMEOUT_MS = 500
REQUEST_RETRIES = 6


class LazyPirateClient:
    """A REQ client that, when no reply comes in time, drops its socket (LINGER 0) and resends
    the request on a fresh one."""

    def __init__(self, ctx: zmq.Context, endpoint: str) -> None:
        self.ctx, self.endpoint = ctx, endpoint
        self.retries = 0
        self.sock = self._connect()

    def _connect(self) -> zmq.Socket:
        sock = new_socket(self.ctx, zmq.REQ)
        sock.connect(self.endpoint)
        return sock

    def request(self, body: bytes) -> bytes:
        self.sock.send(body)
        for _ in range(REQUEST_RETRIES):
            if self.sock.poll(REQUEST_TIMEOUT_MS, zmq.POLLIN):
                reply: bytes = self.sock.recv()
                return reply
            self.retries += 1
            self.sock.close(linger=0)
            self.sock = self._connect()
            self.sock.send(body)
        raise AssertionError(f"no reply to {body!r} after {REQUEST_RETRIES} tries")

    def close(self) -> None:
        self.sock.close(linger=0)


class SimpleQueue:
    """The simple pirate queue: a load balancer that knows nothing of its workers' health."""

    def __init__(self, ctx: zmq.Context, stop: threading.Event) -> None:
        self.frontend = new_socket(ctx, zmq.ROUTER)
        self.backend = new_socket(ctx, zmq.ROUTER)
        port = self.frontend.bind_to_random_port("tcp://127.0.0.1")
        self.front = f"tcp://127.0.0.1:{port}"
        port = self.backend.bind_to_random_port("tcp://127.0.0.1")
        self.back = f"tcp://127.0.0.1:{port}"
        self.stop = stop
        self.workers_seen: set[bytes] = set()

    def run(self) -> None:
        free: collections.deque[bytes] = collections.deque()
        poller = zmq.Poller()
        poller.register(self.backend, zmq.POLLIN)
        while not self.stop.is_set():
            if free:
                poller.register(self.frontend, zmq.POLLIN)
            else:
                poller.unregister(self.frontend) if self.frontend in poller else None
            events = dict(poller.poll(50))
            if self.backend in events:
                worker, _, *rest = self.backend.recv_multipart()
                self.workers_seen.add(worker)
                free.append(worker)
                if rest != [b"READY"]:
                    self.frontend.send_multipart(rest)
            if free and self.frontend in events:
                request = self.frontend.recv_multipart()
                self.backend.send_multipart([free.popleft(), b"", *request])
        self.frontend.close()
        self.backend.close()


def test_simple_pirate_client_retries_past_a_dying_worker(ctx: zmq.Context) -> None:
    stop = threading.Event()
    queue = SimpleQueue(ctx, stop)
    handled: dict[str, list[bytes]] = {"flaky": [], "steady": []}
    died = threading.Event()

    def worker(name: str, die_on: int | None) -> None:
        sock = new_socket(ctx, zmq.REQ)
        sock.connect(queue.back)
        sock.send(b"READY")
        while not stop.is_set():
            if not sock.poll(50, zmq.POLLIN):
                continue
            address, _, request = sock.recv_multipart()
            if len(handled[name]) + 1 == die_on:
                died.set()
                sock.close(linger=0)  # dies holding the request: it is never answered
                return
            handled[name].append(request)
            sock.send_multipart([address, b"", b"reply to " + request])
        sock.close()

    crew = Crew()
    crew.start(queue.run, name="queue")
    crew.start(worker, "flaky", 2, name="flaky")
    crew.start(worker, "steady", None, name="steady")
    wait_until(lambda: len(queue.workers_seen) == 2, what="both workers READY")
    client = LazyPirateClient(ctx, queue.front)
    try:
        for sequence in range(1, 11):
            body = str(sequence).encode()
            assert client.request(body) == b"reply to " + body
    finally:
        client.close()
        stop.set()
    crew.join()
    assert died.is_set(), "the flaky worker never got its fatal request"
    assert client.retries >= 1, "the request the dead worker held was never retried"
    assert len(handled["flaky"]) == 1 and len(handled["steady"]) >= 9


# -- paranoid pirate ---------------------------------------------------------------------------
HEARTBEAT_S = 0.1
LIVENESS = 3
RECONNECT_INIT_S, RECONNECT_MAX_S = 0.1, 0.8
PPP_READY, PPP_HEARTBEAT = b"\x01", b"\x02"


class ParanoidQueue:
    """Heartbeats its idle workers and forgets those it has not heard from for
    LIVENESS heartbeats."""

    def __init__(self, ctx: zmq.Context, front_port: int = 0, back_port: int = 0) -> None:
        self.frontend = new_socket(ctx, zmq.ROUTER)
        self.backend = new_socket(ctx, zmq.ROUTER)
        self.front_port = self._bind(self.frontend, front_port)
        self.back_port = self._bind(self.backend, back_port)
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.workers: collections.OrderedDict[bytes, float] = collections.OrderedDict()
        self.ever_seen: set[bytes] = set()
        self.purged: set[bytes] = set()

    @staticmethod
    def _bind(sock: zmq.Socket, port: int) -> int:
        if port == 0:
            return sock.bind_to_random_port("tcp://127.0.0.1")
        sock.bind(f"tcp://127.0.0.1:{port}")
        return port

    def idle_workers(self) -> set[bytes]:
        with self.lock:
            return set(self.workers)

    def run(self) -> None:
        poller = zmq.Poller()
        poller.register(self.backend, zmq.POLLIN)
        heartbeat_at = time.monotonic() + HEARTBEAT_S
        while not self.stop.is_set():
            with self.lock:
                have_workers = bool(self.workers)
            if have_workers and self.frontend not in poller:
                poller.register(self.frontend, zmq.POLLIN)
            elif not have_workers and self.frontend in poller:
                poller.unregister(self.frontend)
            events = dict(poller.poll(int(HEARTBEAT_S * 1000)))
            if self.backend in events:
                address, *msg = self.backend.recv_multipart()
                with self.lock:
                    self.workers.pop(address, None)
                    self.workers[address] = time.monotonic() + HEARTBEAT_S * LIVENESS
                    self.ever_seen.add(address)
                if msg not in ([PPP_READY], [PPP_HEARTBEAT]):
                    self.frontend.send_multipart(msg)
            if self.frontend in events:
                request = self.frontend.recv_multipart()
                with self.lock:
                    worker, _ = self.workers.popitem(last=False)
                self.backend.send_multipart([worker, *request])
            now = time.monotonic()
            if now >= heartbeat_at:
                with self.lock:
                    idle = list(self.workers)
                for worker in idle:
                    self.backend.send_multipart([worker, PPP_HEARTBEAT])
                heartbeat_at = now + HEARTBEAT_S
            with self.lock:
                for worker, expiry in list(self.workers.items()):
                    if expiry < now:
                        del self.workers[worker]
                        self.purged.add(worker)
        self.frontend.close()
        self.backend.close()


class ParanoidWorker:
    """A DEALER worker: heartbeats the queue, and when the queue falls silent for LIVENESS
    heartbeats, reconnects with a fresh socket after a doubling back-off."""

    def __init__(self, ctx: zmq.Context, endpoint: str, name: str,
                 stop: threading.Event) -> None:
        self.ctx, self.endpoint, self.name, self.stop = ctx, endpoint, name, stop
        self.identity = name.encode()
        self.handled = 0
        self.reconnects = 0
        self.die = threading.Event()  # set: the worker dies (while idle), heartbeats stop
        self.died = threading.Event()

    def _connect(self) -> zmq.Socket:
        sock = new_socket(self.ctx, zmq.DEALER)
        sock.identity = self.identity
        sock.connect(self.endpoint)
        sock.send(PPP_READY)
        return sock

    def run(self) -> None:
        sock = self._connect()
        liveness, interval = LIVENESS, RECONNECT_INIT_S
        heartbeat_at = time.monotonic() + HEARTBEAT_S
        while not self.stop.is_set():
            if self.die.is_set():
                sock.close(linger=0)
                self.died.set()
                return
            if sock.poll(int(HEARTBEAT_S * 1000), zmq.POLLIN):
                msg = sock.recv_multipart()
                if len(msg) == 3:  # [client, b"", request]
                    self.handled += 1
                    sock.send_multipart([msg[0], b"", b"reply to " + msg[2]])
                    liveness = LIVENESS
                elif msg == [PPP_HEARTBEAT]:
                    liveness = LIVENESS
                else:
                    raise AssertionError(f"{self.name}: bad message {msg!r}")
                interval = RECONNECT_INIT_S
            else:
                liveness -= 1
                if liveness == 0:
                    # the queue is gone: wait (the back-off), then start over on a new socket
                    self.stop.wait(interval)
                    interval = min(interval * 2, RECONNECT_MAX_S)
                    sock.close(linger=0)
                    sock = self._connect()
                    self.reconnects += 1
                    liveness = LIVENESS
            if time.monotonic() > heartbeat_at:
                heartbeat_at = time.monotonic() + HEARTBEAT_S
                sock.send(PPP_HEARTBEAT)
        sock.close(linger=0)


def test_paranoid_pirate_purges_dead_workers_and_survives_a_queue_restart(
        ctx: zmq.Context) -> None:
    stop = threading.Event()
    first = ParanoidQueue(ctx)
    backend = f"tcp://127.0.0.1:{first.back_port}"
    flaky = ParanoidWorker(ctx, backend, "flaky", stop)
    steady = ParanoidWorker(ctx, backend, "steady", stop)
    crew = Crew()
    crew.start(first.run, name="queue-1")
    crew.start(flaky.run, name="flaky")
    crew.start(steady.run, name="steady")
    wait_until(lambda: first.idle_workers() == {b"flaky", b"steady"}, what="both workers")
    client = LazyPirateClient(ctx, f"tcp://127.0.0.1:{first.front_port}")
    second: ParanoidQueue | None = None
    try:
        for sequence in range(1, 5):
            body = str(sequence).encode()
            assert client.request(body) == b"reply to " + body
        assert flaky.handled >= 1 and steady.handled >= 1
        # a worker dies while idle: its heartbeats stop, and the queue forgets it, so no
        # request is ever sent to it (no client retries)
        flaky.die.set()
        wait_until(lambda: b"flaky" in first.purged, timeout=5, what="the dead worker purged")
        assert first.idle_workers() == {b"steady"}
        flaky_handled = flaky.handled
        for sequence in range(5, 9):
            body = str(sequence).encode()
            assert client.request(body) == b"reply to " + body
        assert client.retries == 0, "a request went to the dead worker"
        assert flaky.handled == flaky_handled

        # the queue goes away; the surviving worker notices the silence and reconnects on a
        # fresh socket (backing off) until a queue answers: a new one, on the same ports
        reconnects_before = steady.reconnects
        first.stop.set()
        wait_until(lambda: first.frontend.closed and first.backend.closed, what="queue 1 down")
        wait_until(lambda: steady.reconnects > reconnects_before, timeout=5,
                   what="the worker noticing the queue is gone")
        second = ParanoidQueue(ctx, first.front_port, first.back_port)
        crew.start(second.run, name="queue-2")
        queue2 = second
        wait_until(lambda: b"steady" in queue2.ever_seen, what="the worker back on queue 2")
        for sequence in range(9, 13):
            body = str(sequence).encode()
            assert client.request(body) == b"reply to " + body
    finally:
        client.close()
        stop.set()
        first.stop.set()
        if second is not None:
            second.stop.set()
    crew.join()
    assert flaky.died.is_set()
    assert flaky.handled + steady.handled >= 12


# -- espresso ----------------------------------------------------------------------------------
@pytest.mark.parametrize("via", ["zmq.proxy", "ThreadProxy"])
def test_espresso_proxy_with_capture(ctx: zmq.Context, via: str) -> None:
    stop = threading.Event()
    publisher = new_socket(ctx, zmq.PUB)
    upstream = f"tcp://127.0.0.1:{publisher.bind_to_random_port('tcp://127.0.0.1')}"
    capture_endpoint = f"inproc://capture-{id(stop):x}"
    crew = Crew()

    if via == "zmq.proxy":
        xsub, xpub = new_socket(ctx, zmq.XSUB), new_socket(ctx, zmq.XPUB)
        xsub.connect(upstream)
        downstream = f"tcp://127.0.0.1:{xpub.bind_to_random_port('tcp://127.0.0.1')}"
        capture = new_socket(ctx, zmq.PAIR)
        capture.bind(capture_endpoint)
        listener = new_socket(ctx, zmq.PAIR)
        listener.connect(capture_endpoint)

        def run_proxy() -> None:
            try:
                zmq.proxy(xsub, xpub, capture)
            except zmq.ContextTerminated:
                pass
            for sock in (xsub, xpub, capture):
                sock.close()

        crew.start(run_proxy, name="proxy")
    else:
        device = devices.ThreadProxy(zmq.XSUB, zmq.XPUB, zmq.PUB)
        device.context_factory = lambda: ctx
        device.daemon = True
        device.connect_in(upstream)
        downstream = f"tcp://127.0.0.1:{device.bind_out_to_random_port('tcp://127.0.0.1')}"
        device.bind_mon(capture_endpoint)
        for option in (zmq.LINGER,):
            for set_option in (device.setsockopt_in, device.setsockopt_out,
                               device.setsockopt_mon):
                set_option(option, 0)
        device.start()
        listener = new_socket(ctx, zmq.SUB)
        listener.setsockopt(zmq.SUBSCRIBE, b"")
        listener.connect(capture_endpoint)

    def publish() -> None:
        count = 0
        while not stop.is_set():
            for topic in (b"A", b"B", b"C"):
                publisher.send_multipart([topic, str(count).encode()])
            count += 1
            stop.wait(0.002)

    subscriber = new_socket(ctx, zmq.SUB)
    subscriber.setsockopt(zmq.SUBSCRIBE, b"A")
    subscriber.setsockopt(zmq.SUBSCRIBE, b"B")
    subscriber.connect(downstream)
    crew.start(publish, name="publisher")

    received = [subscriber.recv_multipart() for _ in range(60)]
    captured: list[list[bytes]] = []

    def seen_everything() -> bool:
        while listener.poll(0, zmq.POLLIN):
            captured.append(listener.recv_multipart())
        firsts = {m[0] for m in captured}
        return {b"\x01A", b"\x01B", b"A", b"B"} <= firsts

    try:
        wait_until(seen_everything, timeout=10, what="subscriptions and messages captured")
    finally:
        stop.set()
        for sock in (publisher, subscriber, listener):
            sock.close()
        ctx.term()  # the proxy ends with ETERM and closes its sockets
    crew.join()
    if via == "ThreadProxy":
        device.join(timeout=DEADLINE_S)
        assert device.done

    topics = collections.Counter(m[0] for m in received)
    assert set(topics) == {b"A", b"B"}, topics  # never C: nobody subscribed to it
    assert all(len(m) == 2 for m in received)
    assert not any(m[0] == b"C" for m in captured), "C was never subscribed, never sent"


# -- a publisher that exits right after sending ------------------------------------------------
PUBLISH_AND_EXIT = """
    import sys

    import securemq as zmq

    endpoint, how, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    ctx = zmq.Context()
    pub = ctx.socket(zmq.XPUB)
    pub.sndhwm = 0
    pub.rcvtimeo = 10000
    pub.connect(endpoint)
    assert pub.recv() == b"\\x01"  # the subscriber is there: nothing is sent into the void
    for n in range(count):
        pub.send(b"%08d" % n + b"." * 56)
    pub.send(b"L" * (1 << 20))  # a large one...
    pub.send(b"END")  # ...and the last one
    if how == "close-term":
        pub.close()
        ctx.term()
    elif how == "sys-exit":
        sys.exit(0)
    # "fall-off": the program just ends, socket and context open
"""


@pytest.mark.parametrize("how", ["fall-off", "sys-exit", "close-term"])
@pytest.mark.parametrize("transport", ["tcp", "ipc"])
def test_publisher_that_exits_right_after_sending(ctx: zmq.Context, transport: str, how: str,
                                                  tmp_path: Path) -> None:
    count = 20000
    sub = new_socket(ctx, zmq.SUB, rcvtimeo=15000)
    sub.rcvhwm = 0
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    endpoint = bind_any(sub, transport, "feed", tmp_path)
    # the subscriber receives while the publisher runs: a socket acts on a new peer (here,
    # sends it the subscription) when its own thread uses it, as in libzmq
    got: list[bytes] = []
    with start_script(PUBLISH_AND_EXIT, tmp_path, endpoint, how, str(count)) as publisher:
        while True:
            try:
                message = sub.recv()
            except zmq.Again:
                break
            got.append(message)
            if message == b"END":
                break
        _, err = publisher.communicate(timeout=30)
    assert publisher.returncode == 0, err[-3000:]
    assert got[-1:] == [b"END"], f"{len(got)} messages, the last ones never came"
    assert len(got) == count + 2
    assert got[-2] == b"L" * (1 << 20)
    for n, message in enumerate(got[:count]):
        assert message == b"%08d" % n + b"." * 56, n
