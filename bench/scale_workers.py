"""What runs inside the processes of the scale workloads: many peers on one socket.

How this works
--------------
The conventions of ``workers`` hold here too: the implementation under test is imported as
``zmq``, the runner and the process talk over a Pipe with small dicts, every socket has LINGER 0
and RCVTIMEO/SNDTIMEO. The roles:

Each process first makes one throwaway connection of its own (``warm_up``), so that one-off
costs (modules loaded on first use, the I/O thread) are not counted as the cost of N peers.

- ``router_server``: a ROUTER (tcp, BACKLOG raised to the peer count) that echoes
  ``[identity, body]`` until each of its N peers has sent the empty end marker. A helper thread
  answers the runner's ``"mark"`` with the process's CPU time and RSS, so that the runner can take
  the ROUTER's CPU over exactly the timed phase and its memory once every peer is connected.
  With ``curve+zap`` it is a CURVE server with a ThreadAuthenticator (CURVE_ALLOW_ANY).
- ``router_client``: holds k DEALERs. It reports ``{"spawned"}`` once imported; on ``"connect"``
  it creates and connects them all, sends one message on each and receives every echo, then
  reports ``{"connected": {start, end, rss_delta}}``. On ``"go"`` its first ``active`` DEALERs do
  rounds (each sends one message, then each receives its echo) for ``duration`` seconds; a client
  without active DEALERs waits for ``"stop"`` instead. Either reports ``{"result": ...}`` with its
  round trips and CPU time. On ``"done"`` every DEALER sends the end marker and waits for its
  echo. Storm clients (``rounds`` false) go from ``"connected"`` straight to ``"done"``.
- ``router_1proc``: the ROUTER and its N DEALERs in one process, one context, one thread; the
  same phases without the runner in between.
- ``pubmany_publisher`` / ``pubmany_subscriber``: as ``publisher`` / ``subscriber`` of
  ``workers`` (same markers: W warm-up, D data, E end), with k SUB sockets per subscriber
  process read through a Poller.

Every process first raises its RLIMIT_NOFILE soft limit to the hard limit and reports
``{"skip": reason}`` if that is still too few for its sockets (``fds_needed``). CPU time is
``getrusage(RUSAGE_SELF)`` (user + system, every thread of the process); memory is the resident
set size from ``/proc/self/statm`` (peak RSS from ``getrusage`` where there is no /proc).
"""

from __future__ import annotations

import errno
import os
import threading
import time
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from typing import Any

from .workers import (
    _DATA,
    _END,
    BenchError,
    BenchSkip,
    Params,
    Role,
    _await,
    _bind_server,
    _curve_client,
    _curve_server,
    _last_endpoint,
    _socket,
    publisher,
    start_authenticator,
)

_WARMUP = ord("W")
FD_SLACK = 64  # descriptors besides the sockets: interpreter, control pipe, context, ZAP
_DRAIN = 256  # messages read from one SUB socket before the Poller is asked again


# -- limits, memory, CPU --------------------------------------------------------------------------


def fds_needed(sockets: int, connections: int) -> int:
    """Descriptors a process needs for ``sockets`` sockets and ``connections`` tcp connection
    ends: one each (libzmq's mailbox and securemq's Waker are one eventfd per socket), plus
    ``FD_SLACK``."""
    return sockets + connections + FD_SLACK


def fd_shortage(need: int, limit: int, which: str) -> str:
    return (f"needs about {need:,} file descriptors in one process, but the RLIMIT_NOFILE "
            f"{which} limit is {limit:,} (raise it: ulimit -n / -Hn, /etc/security/limits.conf)")


def raise_fd_limit(need: int) -> None:
    """Raise the RLIMIT_NOFILE soft limit to the hard limit; ``BenchSkip`` if still below
    ``need``."""
    try:
        import resource
    except ImportError:  # not POSIX: nothing to raise and nothing to check
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    infinity = resource.RLIM_INFINITY
    want = hard if hard != infinity else max(soft, need)
    if soft != infinity and soft < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        except (ValueError, OSError):
            pass
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft != infinity and soft < need:
        raise BenchSkip(fd_shortage(need, soft, "soft"))


def rss_bytes() -> int:
    """This process's resident set size now (peak RSS where /proc is missing)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        import resource
        return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def cpu_seconds() -> float:
    """User + system CPU time of this process so far, all threads (getrusage: microseconds;
    os.times, in clock ticks, where it is missing)."""
    try:
        import resource
    except ImportError:
        times = os.times()
        return times.user + times.system
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _out_of_fds(exc: BaseException) -> bool:
    return getattr(exc, "errno", None) == errno.EMFILE


def _context(zmq: Any, sockets: int) -> Any:
    """A context allowed ``sockets`` sockets (pyzmq's default MAX_SOCKETS is 1023)."""
    ctx = zmq.Context()
    ctx.set(zmq.MAX_SOCKETS, max(1024, sockets + FD_SLACK))
    return ctx


def _long_timeout_ms(params: Params) -> int:
    """Socket timeout while connecting: the whole run (the runner's deadline comes first)."""
    return int(params["run_timeout"] * 1000)


def _set_timeouts(zmq: Any, socks: Sequence[Any], timeout_ms: int) -> None:
    for sock in socks:
        sock.setsockopt(zmq.RCVTIMEO, timeout_ms)
        sock.setsockopt(zmq.SNDTIMEO, timeout_ms)


def warm_up(zmq: Any, ctx: Any, params: Params) -> None:
    """One throwaway tcp connection and round trip inside this process with the case's security
    (through the ZAP handler if there is one): what loads or starts on first use, in either
    implementation, is ready before anything is measured."""
    server = _socket(zmq, ctx, zmq.ROUTER, params)
    client = _socket(zmq, ctx, zmq.DEALER, params)
    try:
        if params["security"] != "null":
            _curve_client(zmq, client, _curve_server(zmq, server), zmq.curve_keypair())
        server.bind("tcp://127.0.0.1:*")
        client.connect(_last_endpoint(zmq, server))
        client.send(b"W")
        identity, body = server.recv_multipart()
        server.send_multipart([identity, body])
        client.recv()
    except zmq.Again as exc:
        raise BenchError("warm-up: no round trip within the I/O timeout") from exc
    finally:
        client.close()
        server.close()


def _command(conn: Connection, expected: str, params: Params) -> None:
    got = _await(conn, expected, params["run_timeout"])
    if got != expected:
        raise BenchError(f"worker: got {got!r} from the runner instead of {expected!r}")


# -- ROUTER <-> N DEALERs ------------------------------------------------------------------------


def _dealers(zmq: Any, ctx: Any, params: Params, count: int,
             keypair: tuple[bytes, bytes] | None) -> list[Any]:
    """``count`` DEALERs connected to ``params["endpoint"]``, with the long (connect) timeouts."""
    timeout_ms = _long_timeout_ms(params)
    dealers: list[Any] = []
    try:
        for _ in range(count):
            sock = ctx.socket(zmq.DEALER)
            dealers.append(sock)
            sock.setsockopt(zmq.LINGER, 0)
            sock.setsockopt(zmq.RCVTIMEO, timeout_ms)
            sock.setsockopt(zmq.SNDTIMEO, timeout_ms)
            if keypair is not None:
                _curve_client(zmq, sock, params["server_key"], keypair)
            sock.connect(params["endpoint"])
    except Exception as exc:
        if _out_of_fds(exc):
            raise BenchError(f"out of file descriptors (EMFILE) at DEALER #{len(dealers)} "
                             f"of {count}: {exc}") from exc
        raise
    return dealers


def _round(zmq: Any, dealers: Sequence[Any], data: bytes) -> None:
    """Every DEALER sends ``data``, then every DEALER receives its echo."""
    for sock in dealers:
        sock.send(data)
    _receive_echoes(zmq, dealers, len(data))


def _receive_echoes(zmq: Any, dealers: Sequence[Any], size: int) -> None:
    done = 0
    try:
        for sock in dealers:
            reply = sock.recv()
            if len(reply) != size:
                raise BenchError(f"DEALER: echo of {len(reply)} bytes, expected {size}")
            done += 1
    except zmq.Again as exc:
        raise BenchError(f"DEALER: timed out with {done} of {len(dealers)} echoes of a round "
                         f"received") from exc


def _timed_rounds(zmq: Any, dealers: Sequence[Any], data: bytes, params: Params,
                  round_trip: Callable[[], None] | None = None) -> dict[str, Any]:
    """Rounds for ``duration`` seconds or ``max_round_trips``; ``round_trip`` (one-process
    case) does a round instead of ``_round``."""
    done = 0
    cpu0 = cpu_seconds()
    start = time.perf_counter()
    deadline = start + params["duration"]
    while True:
        if round_trip is None:
            _round(zmq, dealers, data)
        else:
            round_trip()
        done += len(dealers)
        end = time.perf_counter()
        if end >= deadline or done >= params["max_round_trips"]:
            break
    return {"round_trips": done, "start": start, "end": end, "elapsed": end - start,
            "cpu_s": cpu_seconds() - cpu0}


def _finish(zmq: Any, dealers: Sequence[Any]) -> None:
    """Every DEALER sends the end marker and waits for its echo (so nothing is lost at close)."""
    try:
        for sock in dealers:
            sock.send(b"")
        for sock in dealers:
            if sock.recv() != b"":
                raise BenchError("DEALER: expected the echo of the end marker")
    except zmq.Again as exc:
        raise BenchError("DEALER: timed out waiting for the end marker's echo") from exc


def _answer_marks(conn: Connection, lock: threading.Lock, timeout: float) -> None:
    """Helper thread of the ROUTER process: each ``"mark"`` is answered with CPU time and RSS."""
    try:
        while conn.poll(timeout):
            if conn.recv() != "mark":
                return
            with lock:
                conn.send({"marked": {"cpu_s": cpu_seconds(), "rss": rss_bytes()}})
    except (EOFError, OSError):
        return


def _route_echo(zmq: Any, sock: Any, peers: int) -> int:
    """Echo ``[identity, body]`` until ``peers`` end markers; returns the data messages."""
    recv, send = sock.recv_multipart, sock.send_multipart
    served = ended = 0
    try:
        while ended < peers:
            identity, body = recv()
            send([identity, body])
            if body:
                served += 1
            else:
                ended += 1
    except zmq.Again as exc:
        raise BenchError(f"ROUTER: timed out after {served} messages and {ended} of {peers} "
                         f"end markers") from exc
    return served


def router_server(zmq: Any, impl: str, params: Params, conn: Connection) -> None:
    raise_fd_limit(fds_needed(8, params["peers"]))
    ctx = zmq.Context()
    auth: Any = None
    try:
        auth = start_authenticator(impl, ctx, params)
        warm_up(zmq, ctx, params)
        sock = _socket(zmq, ctx, zmq.ROUTER, params)
        sock.setsockopt(zmq.RCVTIMEO, _long_timeout_ms(params))
        ready = _bind_server(zmq, sock, params)
        conn.send({"ready": {**ready, "rss0": rss_bytes()}})
        lock = threading.Lock()
        threading.Thread(target=_answer_marks, args=(conn, lock, params["run_timeout"]),
                         name="bench-marks", daemon=True).start()
        served = _route_echo(zmq, sock, params["peers"])
        with lock:
            conn.send({"result": {"served": served}})
    finally:
        if auth is not None:
            auth.stop()
        ctx.destroy(linger=0)


def router_client(zmq: Any, impl: str, params: Params, conn: Connection) -> None:
    count, active = params["peers"], params["active"]
    raise_fd_limit(fds_needed(count, count))
    ctx = _context(zmq, count)
    try:
        keypair = zmq.curve_keypair() if params["security"] != "null" else None
        data = b"D" * params["size"]
        warm_up(zmq, ctx, params)
        conn.send({"spawned": True})
        _command(conn, "connect", params)
        rss0 = rss_bytes()
        start = time.perf_counter()
        dealers = _dealers(zmq, ctx, params, count, keypair)
        _round(zmq, dealers, data)
        end = time.perf_counter()
        conn.send({"connected": {"start": start, "end": end, "rss_delta": rss_bytes() - rss0,
                                 "peers": count}})
        _set_timeouts(zmq, dealers, params["io_timeout_ms"])
        if params["rounds"]:
            _command(conn, "go", params)
            if active:
                result = _timed_rounds(zmq, dealers[:active], data, params)
            else:
                cpu0 = cpu_seconds()
                _command(conn, "stop", params)
                result = {"round_trips": 0, "cpu_s": cpu_seconds() - cpu0}
            conn.send({"result": result})
        _command(conn, "done", params)
        _set_timeouts(zmq, dealers, _long_timeout_ms(params))  # many peers end at once
        _finish(zmq, dealers)
    finally:
        ctx.destroy(linger=0)


def _local_round(zmq: Any, router: Any, dealers: Sequence[Any], data: bytes,
                 counts: dict[str, int]) -> None:
    """One round with the ROUTER in this thread: all send, the ROUTER echoes, all receive."""
    for sock in dealers:
        sock.send(data)
    try:
        for _ in range(len(dealers)):
            identity, body = router.recv_multipart()
            router.send_multipart([identity, body])
            counts["served"] += 1
    except zmq.Again as exc:
        raise BenchError(f"ROUTER: timed out after {counts['served']} messages") from exc
    _receive_echoes(zmq, dealers, len(data))
    counts["received"] += len(dealers)


def router_1proc(zmq: Any, impl: str, params: Params, conn: Connection) -> None:
    """ROUTER and N DEALERs in one process, one context, driven by one thread."""
    peers = params["peers"]
    raise_fd_limit(fds_needed(peers + 1, 2 * peers))
    ctx = _context(zmq, peers + 1)
    try:
        warm_up(zmq, ctx, params)
        router = _socket(zmq, ctx, zmq.ROUTER, params)
        router.setsockopt(zmq.RCVTIMEO, _long_timeout_ms(params))
        endpoint = _bind_server(zmq, router, params)["endpoint"]
        data = b"D" * params["size"]
        counts = {"served": 0, "received": 0}
        rss0 = rss_bytes()
        start = time.perf_counter()
        dealers = _dealers(zmq, ctx, {**params, "endpoint": endpoint}, peers, None)
        _local_round(zmq, router, dealers, data, counts)
        connected = time.perf_counter() - start
        rss_delta = rss_bytes() - rss0
        _set_timeouts(zmq, [router, *dealers], params["io_timeout_ms"])
        result = _timed_rounds(zmq, dealers, data, params,
                               lambda: _local_round(zmq, router, dealers, data, counts))
        conn.send({"result": {**result, **counts, "connect_s": connected,
                              "rss_delta": rss_delta}})
    finally:
        ctx.destroy(linger=0)


# -- PUB -> many SUBs ----------------------------------------------------------------------------


def pubmany_publisher(zmq: Any, impl: str, params: Params, conn: Connection) -> None:
    raise_fd_limit(fds_needed(1, params["peers"]))
    publisher(zmq, impl, params, conn)


def pubmany_subscriber(zmq: Any, impl: str, params: Params, conn: Connection) -> None:
    """k SUB sockets read through one Poller: counts data per socket until each saw the end."""
    count = params["peers"]
    raise_fd_limit(fds_needed(count, count))
    ctx = _context(zmq, count)
    try:
        socks = []
        for _ in range(count):
            sock = _socket(zmq, ctx, zmq.SUB, params)
            sock.setsockopt(zmq.SUBSCRIBE, b"")
            sock.connect(params["endpoint"])
            socks.append(sock)
        poller = zmq.Poller()
        for sock in socks:
            poller.register(sock, zmq.POLLIN)
        index = {sock: i for i, sock in enumerate(socks)}
        received = [0] * count
        seen = [False] * count
        unseen = open_socks = count
        first = end = 0.0
        subscribed = False
        deadline = time.monotonic() + params["run_timeout"]
        while open_socks:
            events = poller.poll(params["io_timeout_ms"])
            if not events or time.monotonic() > deadline:
                raise BenchError(f"subscriber: timed out with {open_socks} of {count} SUB "
                                 f"sockets still waiting for the end marker "
                                 f"({sum(received)} messages received)")
            for sock, _ in events:
                i = index[sock]
                for _ in range(_DRAIN):
                    try:
                        msg = sock.recv(zmq.NOBLOCK)
                    except zmq.Again:
                        break
                    if not seen[i]:
                        seen[i] = True
                        unseen -= 1
                    tag = msg[0]
                    if tag == _DATA:
                        if not first:
                            first = time.perf_counter()
                        received[i] += 1
                    elif tag == _END:
                        if not received[i]:
                            raise BenchError("subscriber: end marker before any data")
                        end = time.perf_counter()
                        open_socks -= 1
                        poller.unregister(sock)
                        break
                    elif tag != _WARMUP:
                        raise BenchError(f"subscriber: unexpected message {msg[:8]!r}")
            if not subscribed and not unseen:
                conn.send({"subscribed": True})
                subscribed = True
        conn.send({"result": {"received": sum(received), "first": first, "end": end,
                              "sockets": count, "min_per_socket": min(received),
                              "max_per_socket": max(received)}})
    finally:
        ctx.destroy(linger=0)


SCALE_ROLES: dict[str, Role] = {
    "router_server": router_server,
    "router_client": router_client,
    "router_1proc": router_1proc,
    "pubmany_publisher": pubmany_publisher,
    "pubmany_subscriber": pubmany_subscriber,
}
