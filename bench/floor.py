"""What any pure-Python ZeroMQ could reach on this machine: a lower bound on the work per message.

``python -m bench.floor`` runs two workloads three ways, interleaved: pyzmq (libzmq), securemq,
and a *floor*, the least a Python program must do to move the same messages with the same
API shape -- one Python call per message sent or received, ZMTP framing, non-blocking sockets
and epoll, one thread, no high-water marks, no fair queue, no handshake, no locks. Nothing a
real implementation needs is cheaper than this, so where the floor itself is below a goal of
issue 16, that goal cannot be met in pure Python on this machine (the measured limit the issue
asks for); where it is above, the gap is securemq's own.

* ``stream``: PUSH -> PULL, 1 B messages, tcp loopback, sender and receiver in two processes,
  messages per second at the receiver (the floor's sender frames into a buffer and writes it
  every 256 messages; its receiver reads 64 KiB at a time and parses with one loop).
* ``latency``: REQ <-> REP round trips, 1 B, tcp loopback, two processes, median microseconds
  per round trip at the REQ side (the floor's peers block in recv; a REQ message is the empty
  delimiter frame and the body).
* ``broker``: a ROUTER and N DEALERs in one process (as ``router/1proc/N``): each round every
  DEALER sends 16 B, the ROUTER receives ``[identity, body]`` and echoes it, every DEALER
  receives; round trips per second and CPU per round trip.

Linux only (epoll). Speed is measured here, never asserted in a test.
"""

from __future__ import annotations

import argparse
import importlib
import multiprocessing as mp
import resource
import select
import socket
import statistics
import sys
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

SHORT = [bytes((0, size)) for size in range(256)]
SHORT_MORE = [bytes((1, size)) for size in range(256)]
END = b"END"


# -- the floor's "sockets": the least Python per message ----------------------------------------
class FloorPush:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf: list[bytes] = []

    def send(self, body: bytes) -> None:
        buf = self.buf
        buf.append(SHORT[len(body)])
        buf.append(body)
        if len(buf) >= 512:
            self.flush()

    def flush(self) -> None:
        if self.buf:
            self.sock.sendall(b"".join(self.buf))
            self.buf = []


class FloorPull:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.queue: deque[bytes] = deque()
        self.rest = b""

    def recv(self) -> bytes:
        queue = self.queue
        while not queue:
            self._fill()
        return queue.popleft()

    def _fill(self) -> None:
        data = self.rest + self.sock.recv(65536)
        append = self.queue.append
        pos, end_of_data = 0, len(data)
        while end_of_data - pos >= 2:
            end = pos + 2 + data[pos + 1]  # short frames only (this workload has no other)
            if end > end_of_data:
                break
            append(data[pos + 2 : end])
            pos = end
        self.rest = data[pos:]


def _floor_sender(port: int, count: int) -> None:
    sock = socket.create_connection(("127.0.0.1", port))
    push = FloorPush(sock)
    for _ in range(count):
        push.send(b"x")
    push.send(END)
    push.flush()
    sock.close()


def _zmq_sender(impl: str, port: int, count: int) -> None:
    zmq = importlib.import_module(impl)
    ctx = zmq.Context()
    push = ctx.socket(zmq.PUSH)
    push.connect(f"tcp://127.0.0.1:{port}")
    for _ in range(count):
        push.send(b"x")
    push.send(END)
    push.close(linger=-1)
    ctx.term()


def stream(impl: str, count: int) -> dict[str, float]:
    """Messages per second at the receiver, from the first message to the end marker."""
    spawn = mp.get_context("spawn")
    if impl == "floor":
        listener = socket.create_server(("127.0.0.1", 0))
        port = listener.getsockname()[1]
        sender = spawn.Process(target=_floor_sender, args=(port, count))
        sender.start()
        conn, _ = listener.accept()
        listener.close()
        pull: Any = FloorPull(conn)
    else:
        zmq = importlib.import_module(impl)
        ctx = zmq.Context()
        pull = ctx.socket(zmq.PULL)
        pull.linger = 0
        port = pull.bind_to_random_port("tcp://127.0.0.1")
        sender = spawn.Process(target=_zmq_sender, args=(impl, port, count))
        sender.start()
    recv = pull.recv
    recv()
    started = time.perf_counter()
    got = 1
    while recv() != END:
        got += 1
    elapsed = time.perf_counter() - started
    sender.join(30)
    if impl == "floor":
        pull.sock.close()
    else:
        ctx.destroy(linger=0)
    if got != count:
        raise SystemExit(f"stream/{impl}: sent {count}, received {got}")
    return {"msgs_per_s": got / elapsed}


# -- latency: REQ <-> REP --------------------------------------------------------------------
REQUEST = b"\x01\x00" + SHORT[1] + b"x"  # [b"", b"x"]: REQ's delimiter, then the body


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    data = sock.recv(size)
    while len(data) < size:
        more = sock.recv(size - len(data))
        if not more:
            raise SystemExit("latency/floor: peer closed")
        data += more
    return data


def _floor_rep(port: int, count: int) -> None:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for _ in range(count):
        sock.sendall(_recv_exactly(sock, len(REQUEST)))
    sock.close()


def _zmq_rep(impl: str, port: int, count: int) -> None:
    zmq = importlib.import_module(impl)
    ctx = zmq.Context()
    rep = ctx.socket(zmq.REP)
    rep.connect(f"tcp://127.0.0.1:{port}")
    for _ in range(count):
        rep.send(rep.recv())
    rep.close(linger=-1)
    ctx.term()


def latency(impl: str, count: int) -> dict[str, float]:
    """Median microseconds per round trip, after 100 warm-up round trips."""
    spawn = mp.get_context("spawn")
    total = count + 100
    times: list[float] = []
    clock = time.perf_counter
    if impl == "floor":
        listener = socket.create_server(("127.0.0.1", 0))
        peer = spawn.Process(target=_floor_rep, args=(listener.getsockname()[1], total))
        peer.start()
        sock, _ = listener.accept()
        listener.close()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for index in range(total):
            started = clock()
            sock.sendall(REQUEST)
            _recv_exactly(sock, len(REQUEST))
            if index >= 100:
                times.append(clock() - started)
        sock.close()
    else:
        zmq = importlib.import_module(impl)
        ctx = zmq.Context()
        req = ctx.socket(zmq.REQ)
        req.linger = 0
        req.rcvtimeo = 10000
        port = req.bind_to_random_port("tcp://127.0.0.1")
        peer = spawn.Process(target=_zmq_rep, args=(impl, port, total))
        peer.start()
        for index in range(total):
            started = clock()
            req.send(b"x")
            req.recv()
            if index >= 100:
                times.append(clock() - started)
        ctx.destroy(linger=0)
    peer.join(30)
    return {"median_us": statistics.median(times) * 1e6}


# -- broker: a ROUTER and N DEALERs in one process ----------------------------------------------
class FloorConnection:
    """One tcp connection, both directions framed: read chunks into whole messages."""

    __slots__ = ("identity", "inbox", "partial", "rest", "sock")

    def __init__(self, sock: socket.socket, identity: bytes) -> None:
        sock.setblocking(False)
        if sock.family != socket.AF_UNIX:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = sock
        self.identity = identity
        self.inbox: deque[list[bytes]] = deque()
        self.rest = b""
        self.partial: list[bytes] = []  # frames of a message whose last frame is to come

    def read(self) -> None:
        try:
            chunk = self.sock.recv(65536)
        except BlockingIOError:
            return
        data = self.rest + chunk if self.rest else chunk
        pos, end_of_data = 0, len(data)
        msg = self.partial
        append = self.inbox.append
        while end_of_data - pos >= 2:
            flags = data[pos]
            end = pos + 2 + data[pos + 1]
            if end > end_of_data:
                break
            msg.append(data[pos + 2 : end])
            pos = end
            if not flags & 1:
                append(msg)
                msg = []
        self.partial = msg
        self.rest = data[pos:]


class FloorReactor:
    """One epoll over every connection of the process, run by whichever call waits."""

    def __init__(self) -> None:
        self.epoll = select.epoll()
        self.by_fd: dict[int, tuple[FloorConnection, deque[FloorConnection]]] = {}

    def add(self, conn: FloorConnection, ready: deque[FloorConnection]) -> None:
        self.by_fd[conn.sock.fileno()] = (conn, ready)
        self.epoll.register(conn.sock.fileno(), select.EPOLLIN)

    def wait(self) -> None:
        by_fd = self.by_fd
        for fd, _ in self.epoll.poll(10.0):
            conn, ready = by_fd[fd]
            had = bool(conn.inbox)
            conn.read()
            if conn.inbox and not had:
                ready.append(conn)


class FloorDealer:
    def __init__(self, conn: FloorConnection, reactor: FloorReactor) -> None:
        self.conn = conn
        self.reactor = reactor
        self.ready: deque[FloorConnection] = deque()
        reactor.add(conn, self.ready)

    def send(self, body: bytes) -> None:
        self.conn.sock.send(SHORT[len(body)] + body)

    def recv(self) -> bytes:
        inbox = self.conn.inbox
        while not inbox:
            self.reactor.wait()
        if len(inbox) == 1:
            self.ready.clear()
        return inbox.popleft()[0]


class FloorRouter:
    def __init__(self, reactor: FloorReactor) -> None:
        self.reactor = reactor
        self.ready: deque[FloorConnection] = deque()  # round-robin over peers with messages
        self.by_identity: dict[bytes, FloorConnection] = {}

    def attach(self, conn: FloorConnection) -> None:
        self.by_identity[conn.identity] = conn
        self.reactor.add(conn, self.ready)

    def recv_multipart(self) -> list[bytes]:
        ready = self.ready
        while not ready:
            self.reactor.wait()
        conn = ready.popleft()
        msg = conn.inbox.popleft()
        if conn.inbox:
            ready.append(conn)
        return [conn.identity, *msg]

    def send_multipart(self, parts: list[bytes]) -> None:
        identity, body = parts
        self.by_identity[identity].sock.send(SHORT[len(body)] + body)


def _floor_broker(peers: int) -> tuple[Any, list[Any], Any]:
    reactor = FloorReactor()
    router = FloorRouter(reactor)
    listener = socket.create_server(("127.0.0.1", 0), backlog=peers)
    port = listener.getsockname()[1]
    dealers = []
    for index in range(peers):
        client = socket.create_connection(("127.0.0.1", port))
        served, _ = listener.accept()
        identity = b"\x00" + index.to_bytes(4, "big")
        router.attach(FloorConnection(served, identity))
        dealers.append(FloorDealer(FloorConnection(client, identity), reactor))
    listener.close()

    def close() -> None:
        for conn, _ in reactor.by_fd.values():
            conn.sock.close()
        reactor.epoll.close()

    return router, dealers, close


def _zmq_broker(impl: str, peers: int) -> tuple[Any, list[Any], Any]:
    zmq = importlib.import_module(impl)
    ctx = zmq.Context()
    if impl == "zmq":
        ctx.set(zmq.MAX_SOCKETS, peers + 64)
    router = ctx.socket(zmq.ROUTER)
    router.linger = 0
    router.rcvtimeo = 10000
    router.setsockopt(zmq.BACKLOG, peers)
    port = router.bind_to_random_port("tcp://127.0.0.1")
    dealers = []
    for _ in range(peers):
        dealer = ctx.socket(zmq.DEALER)
        dealer.linger = 0
        dealer.rcvtimeo = 10000
        dealer.connect(f"tcp://127.0.0.1:{port}")
        dealers.append(dealer)
    return router, dealers, lambda: ctx.destroy(linger=0)


def raise_fd_limit() -> None:
    """The soft limit on open files up to the hard one (a broker with many peers)."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def broker_round(router: Any, dealers: Sequence[Any], label: str) -> Callable[[], None]:
    """One round of the broker workload: every DEALER sends 16 B, the ROUTER echoes each
    message, every DEALER receives its echo (checked)."""
    body = b"D" * 16

    def one_round() -> None:
        for dealer in dealers:
            dealer.send(body)
        for _ in range(len(dealers)):
            router.send_multipart(router.recv_multipart())
        for dealer in dealers:
            if dealer.recv() != body:
                raise SystemExit(f"{label}: wrong echo")

    return one_round


def broker(impl: str, peers: int, duration: float) -> dict[str, float]:
    raise_fd_limit()
    router, dealers, close = (
        _floor_broker(peers) if impl == "floor" else _zmq_broker(impl, peers)
    )
    one_round = broker_round(router, dealers, f"broker/{impl}")
    one_round()
    cpu = time.process_time()
    started = time.perf_counter()
    trips = 0
    while time.perf_counter() - started < duration:
        one_round()
        trips += peers
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu
    close()
    return {"round_trips_per_s": trips / elapsed, "cpu_us_per_round_trip": cpu / trips * 1e6}


def _in_child(queue: Any, workload: str, impl: str, args: tuple[Any, ...]) -> None:
    workloads: dict[str, Callable[..., dict[str, float]]] = {
        "stream": stream, "latency": latency, "broker": broker,
    }
    queue.put(workloads[workload](impl, *args))


def run_isolated(workload: str, impl: str, *args: Any) -> dict[str, float]:
    """Each run in a fresh process, so that no run inherits another's threads or memory."""
    spawn = mp.get_context("spawn")
    queue = spawn.Queue()
    child = spawn.Process(target=_in_child, args=(queue, workload, impl, args))
    child.start()
    result: dict[str, float] = queue.get(timeout=300)
    child.join(30)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.floor", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--messages", type=int, default=1_000_000, help="stream: messages")
    parser.add_argument("--round-trips", type=int, default=20_000, help="latency: round trips")
    parser.add_argument("--peers", type=int, default=1000, help="broker: DEALERs")
    parser.add_argument("--duration", type=float, default=3.0, help="broker: seconds per run")
    parser.add_argument("--only", choices=["stream", "latency", "broker"])
    parser.add_argument("--impl", action="append", choices=["floor", "securemq", "zmq"])
    options = parser.parse_args(argv)
    if not sys.platform.startswith("linux"):
        print("bench.floor needs epoll (Linux)", file=sys.stderr)
        return 2
    impls = options.impl or ["zmq", "securemq", "floor"]
    workloads = [options.only] if options.only else ["stream", "latency", "broker"]
    described = {"stream": "1 B, tcp", "latency": "1 B, tcp, lower is better",
                 "broker": f"{options.peers} DEALERs"}
    for workload in workloads:
        args: tuple[Any, ...] = {
            "stream": (options.messages,),
            "latency": (options.round_trips,),
            "broker": (options.peers, options.duration),
        }[workload]
        runs: dict[str, list[dict[str, float]]] = {impl: [] for impl in impls}
        for _ in range(options.repeats):
            for impl in impls:
                runs[impl].append(run_isolated(workload, impl, *args))
        print(f"{workload} ({described[workload]}), median of {options.repeats}:")
        baseline = None
        for impl in impls:
            medians = {key: statistics.median(run[key] for run in runs[impl])
                       for key in runs[impl][0]}
            rate = next(iter(medians.values()))
            if impl == "zmq":
                baseline = rate
            ratio = f"  {rate / baseline:.2f}x pyzmq" if baseline and impl != "zmq" else ""
            shown = ", ".join(f"{key} {value:,.1f}" for key, value in medians.items())
            print(f"  {impl:9} {shown}{ratio}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
