"""What runs inside each benchmark process.

How this works
--------------
The runner spawns one process per role (``multiprocessing``, spawn context) with
``worker_main(role, impl, params, conn)``. The worker imports the implementation under test by
module name (``securemq`` or ``zmq``) *as* ``zmq``, so the very same code drives both. It talks to
the runner over ``conn`` (a multiprocessing Pipe end) with small dicts:

- a binding role sends ``{"ready": {"endpoint", "server_key"}}`` once it is bound (random tcp
  port read back from LAST_ENDPOINT; CURVE server keys are made here);
- a subscriber sends ``{"subscribed": True}`` once a warm-up message reached it;
- every role sends ``{"result": {...}}`` with its counts and timings, or ``{"error": text}``, or
  ``{"skip": reason}`` when the run cannot be done on this machine (``BenchSkip``: too few file
  descriptors, say);
- the runner sends ``"go"`` (to the publisher) and ``"done"`` (to senders, which must keep their
  socket open until the receiver has everything, rather than rely on LINGER).

Streams end with an in-band marker so the receiver knows when to stop: an empty message for
PUSH/PULL and REQ/REP (data messages are never empty), a message starting with ``E`` for PUB/SUB
(data starts with ``D``, warm-ups with ``W``). Receivers time the stream from the first data
message to the end marker, so connection set-up is excluded. Every socket gets LINGER 0 and
RCVTIMEO/SNDTIMEO, so a stuck peer turns into an error instead of a hang. The roles of the scale
workloads are in ``scale_workers`` (``worker_main`` looks them up there).
"""

from __future__ import annotations

import importlib
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

Params = dict[str, Any]
Role = Callable[[Any, str, Params, Connection], None]

_DATA, _END = ord("D"), ord("E")
_WARMUP_INTERVAL = 0.01  # seconds between PUB warm-up messages
_END_INTERVAL = 0.001  # seconds between repeated PUB end markers (PUB may drop one at HWM)


class BenchError(Exception):
    """A benchmark run went wrong (lost messages, timeout, a worker died)."""


class BenchSkip(Exception):
    """A run cannot be done on this machine (too few file descriptors, say): reported as skipped
    for that case and implementation, not as an error."""


# -- helpers -------------------------------------------------------------------------------------


def _socket(zmq: Any, ctx: Any, kind: int, params: Params) -> Any:
    sock = ctx.socket(kind)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.RCVTIMEO, params["io_timeout_ms"])
    sock.setsockopt(zmq.SNDTIMEO, params["io_timeout_ms"])
    return sock


def _last_endpoint(zmq: Any, sock: Any) -> str:
    endpoint = sock.getsockopt(zmq.LAST_ENDPOINT)
    return endpoint.decode() if isinstance(endpoint, bytes) else str(endpoint)


def _curve_server(zmq: Any, sock: Any) -> str:
    """Make the server a CURVE server with a fresh key pair; returns its public key (Z85)."""
    public, secret = zmq.curve_keypair()
    sock.setsockopt(zmq.CURVE_SERVER, 1)
    sock.setsockopt(zmq.CURVE_PUBLICKEY, public)
    sock.setsockopt(zmq.CURVE_SECRETKEY, secret)
    return str(public.decode())


def _curve_client(zmq: Any, sock: Any, server_key: str, keypair: tuple[bytes, bytes]) -> None:
    public, secret = keypair
    sock.setsockopt(zmq.CURVE_SERVERKEY, server_key.encode())
    sock.setsockopt(zmq.CURVE_PUBLICKEY, public)
    sock.setsockopt(zmq.CURVE_SECRETKEY, secret)


def _bind_server(zmq: Any, sock: Any, params: Params) -> dict[str, Any]:
    server_key = _curve_server(zmq, sock) if params["security"] != "null" else None
    if params.get("backlog"):
        sock.setsockopt(zmq.BACKLOG, params["backlog"])
    sock.bind(params["bind"])
    return {"endpoint": _last_endpoint(zmq, sock), "server_key": server_key}


def _connect_client(zmq: Any, sock: Any, params: Params) -> None:
    if params["security"] != "null":
        _curve_client(zmq, sock, params["server_key"], zmq.curve_keypair())
    sock.connect(params["endpoint"])


def _await(conn: Connection, what: str, timeout: float) -> Any:
    if not conn.poll(timeout):
        raise BenchError(f"worker: no {what!r} from the runner within {timeout:.0f} s")
    return conn.recv()


def _batch(size: int) -> int:
    """Messages sent between two clock checks: about 256 KiB worth, at most 256."""
    return max(1, min(256, (256 * 1024) // max(size, 1)))


def send_stream(zmq: Any, sock: Any, data: bytes, duration: float, max_msgs: int) -> int:
    """Send ``data`` for ``duration`` seconds (from the first send) or ``max_msgs`` messages,
    whichever comes first; returns how many were sent."""
    send = sock.send
    try:
        send(data)  # blocks until a peer is attached; the clock starts after it
    except zmq.Again as exc:
        raise BenchError("sender: the first message could not be sent (no peer)") from exc
    sent = 1
    batch = _batch(len(data))
    deadline = time.perf_counter() + duration
    try:
        while sent < max_msgs:
            for _ in range(min(batch, max_msgs - sent)):
                send(data)
                sent += 1
            if time.perf_counter() >= deadline:
                break
    except zmq.Again as exc:
        raise BenchError(f"sender: send timed out after {sent} messages") from exc
    return sent


def receive_stream(zmq: Any, sock: Any, size: int) -> dict[str, Any]:
    """Receive ``size``-byte messages until the empty end marker; time first message -> end."""
    recv = sock.recv
    count = 0
    try:
        msg = recv()
        start = time.perf_counter()
        while msg:
            if len(msg) != size:
                raise BenchError(f"receiver: got {len(msg)} bytes, expected {size}")
            count += 1
            msg = recv()
    except zmq.Again as exc:
        raise BenchError(f"receiver: timed out after {count} messages") from exc
    elapsed = time.perf_counter() - start
    return {"received": count, "elapsed": elapsed}


# -- throughput: PUSH -> PULL -------------------------------------------------------------------


def thr_receiver(zmq: Any, impl: str, params: Params, conn: Connection) -> None:
    ctx = zmq.Context()
    try:
        sock = _socket(zmq, ctx, zmq.PULL, params)
        sock.setsockopt(zmq.RCVHWM, params["hwm"])
        conn.send({"ready": _bind_server(zmq, sock, params)})
        conn.send({"result": receive_stream(zmq, sock, params["size"])})
    finally:
        ctx.destroy(linger=0)


def thr_sender(zmq: Any, impl: str, params: Params, conn: Connection) -> None:
    ctx = zmq.Context()
    try:
        sock = _socket(zmq, ctx, zmq.PUSH, params)
        sock.setsockopt(zmq.SNDHWM, params["hwm"])
        _connect_client(zmq, sock, params)
        data = b"x" * params["size"]
        sent = send_stream(zmq, sock, data, params["duration"], params["max_msgs"])
        sock.send(b"")
        conn.send({"result": {"sent": sent}})
        _await(conn, "done", params["run_timeout"])
    finally:
        ctx.destroy(linger=0)


def thr_inproc(zmq: Any, impl: str, params: Params, conn: Connection) -> None:
    """Both ends in one process (inproc only exists inside one context), sender in a thread."""
    ctx = zmq.Context()
    outcome: dict[str, Any] = {}
    try:
        pull = _socket(zmq, ctx, zmq.PULL, params)
        pull.setsockopt(zmq.RCVHWM, params["hwm"])
        pull.bind(params["bind"])
        push = _socket(zmq, ctx, zmq.PUSH, params)
        push.setsockopt(zmq.SNDHWM, params["hwm"])
        push.connect(params["bind"])

        def sender() -> None:
            try:
                data = b"x" * params["size"]
                outcome["sent"] = send_stream(zmq, push, data, params["duration"],
                                              params["max_msgs"])
                push.send(b"")
            except Exception as exc:  # reported through the result below
                outcome["error"] = f"inproc sender: {type(exc).__name__}: {exc}"

        thread = threading.Thread(target=sender, name="bench-sender", daemon=True)
        thread.start()
        result = receive_stream(zmq, pull, params["size"])
        thread.join(params["run_timeout"])
        if "error" in outcome:
            raise BenchError(outcome["error"])
        conn.send({"result": {**result, "sent": outcome.get("sent", -1)}})
    finally:
        ctx.destroy(linger=0)


# -- latency: REQ <-> REP -----------------------------------------------------------------------


def _echo(zmq: Any, sock: Any) -> int:
    """Serve requests until the empty one (answered too); returns the non-empty ones served."""
    recv, send = sock.recv, sock.send
    served = 0
    try:
        while True:
            msg = recv()
            send(msg)
            if not msg:
                return served
            served += 1
    except zmq.Again as exc:
        raise BenchError(f"echo server: timed out after {served} requests") from exc


def _percentile(sorted_ns: list[int], fraction: float) -> float:
    """Nearest-rank percentile of sorted samples, in microseconds."""
    index = min(len(sorted_ns) - 1, max(0, round(fraction * (len(sorted_ns) - 1))))
    return sorted_ns[index] / 1000.0


def round_trips(zmq: Any, sock: Any, params: Params) -> dict[str, Any]:
    """Warm up, then time REQ round trips for ``duration`` or ``max_round_trips``."""
    size = params["size"]
    data = b"x" * size
    send, recv = sock.send, sock.recv
    clock = time.perf_counter_ns
    samples: list[int] = []
    done = 0
    try:
        for _ in range(params["warmup"]):
            send(data)
            recv()
            done += 1
        deadline = clock() + int(params["duration"] * 1e9)
        for _ in range(params["max_round_trips"]):
            t0 = clock()
            send(data)
            reply = recv()
            t1 = clock()
            done += 1
            if len(reply) != size:
                raise BenchError(f"REQ: reply of {len(reply)} bytes, expected {size}")
            samples.append(t1 - t0)
            if t1 >= deadline:
                break
        send(b"")
        recv()
    except zmq.Again as exc:
        raise BenchError(f"REQ: timed out after {done} round trips") from exc
    samples.sort()
    return {"round_trips": done, "samples": len(samples),
            "median_us": _percentile(samples, 0.5), "p99_us": _percentile(samples, 0.99)}


def lat_server(zmq: Any, impl: str, params: Params, conn: Connection) -> None:
    ctx = zmq.Context()
    try:
        sock = _socket(zmq, ctx, zmq.REP, params)
        conn.send({"ready": _bind_server(zmq, sock, params)})
        conn.send({"result": {"served": _echo(zmq, sock)}})
    finally:
        ctx.destroy(linger=0)


def lat_client(zmq: Any, impl: str, params: Params, conn: Connection) -> None:
    ctx = zmq.Context()
    try:
        sock = _socket(zmq, ctx, zmq.REQ, params)
        _connect_client(zmq, sock, params)
        conn.send({"result": round_trips(zmq, sock, params)})
    finally:
        ctx.destroy(linger=0)


def lat_inproc(zmq: Any, impl: str, params: Params, conn: Connection) -> None:
    ctx = zmq.Context()
    outcome: dict[str, Any] = {}
    try:
        rep = _socket(zmq, ctx, zmq.REP, params)
        rep.bind(params["bind"])
        req = _socket(zmq, ctx, zmq.REQ, params)
        req.connect(params["bind"])

        def server() -> None:
            try:
                outcome["served"] = _echo(zmq, rep)
            except Exception as exc:
                outcome["error"] = f"inproc echo: {type(exc).__name__}: {exc}"

        thread = threading.Thread(target=server, name="bench-echo", daemon=True)
        thread.start()
        result = round_trips(zmq, req, params)
        thread.join(params["run_timeout"])
        if "error" in outcome:
            raise BenchError(outcome["error"])
        conn.send({"result": {**result, "served": outcome.get("served", -1)}})
    finally:
        ctx.destroy(linger=0)


# -- new connections: a fresh REQ socket per connection, optionally CURVE + ZAP ----------------


def start_authenticator(impl: str, ctx: Any, params: Params) -> Any:
    """For ``curve+zap``: a started ThreadAuthenticator allowing any CURVE client (else None)."""
    if params["security"] != "curve+zap":
        return None
    auth_module = importlib.import_module(f"{impl}.auth")
    thread_module = importlib.import_module(f"{impl}.auth.thread")
    auth = thread_module.ThreadAuthenticator(ctx)
    auth.start()
    auth.configure_curve(domain="*", location=auth_module.CURVE_ALLOW_ANY)
    return auth


def conn_server(zmq: Any, impl: str, params: Params, conn: Connection) -> None:
    ctx = zmq.Context()
    auth: Any = None
    try:
        auth = start_authenticator(impl, ctx, params)
        sock = _socket(zmq, ctx, zmq.REP, params)
        conn.send({"ready": _bind_server(zmq, sock, params)})
        conn.send({"result": {"served": _echo(zmq, sock)}})
    finally:
        if auth is not None:
            auth.stop()
        ctx.destroy(linger=0)


def _one_connection(zmq: Any, ctx: Any, params: Params, keypair: tuple[bytes, bytes] | None,
                    payload: bytes) -> None:
    sock = _socket(zmq, ctx, zmq.REQ, params)
    try:
        if keypair is not None:
            _curve_client(zmq, sock, params["server_key"], keypair)
        sock.connect(params["endpoint"])
        sock.send(payload)
        sock.recv()
    finally:
        sock.close()


def conn_client(zmq: Any, impl: str, params: Params, conn: Connection) -> None:
    """Open, use once (one round trip proves the handshake and ZAP finished), close; repeat."""
    ctx = zmq.Context()
    try:
        keypair = zmq.curve_keypair() if params["security"] != "null" else None
        count = 0
        start = time.perf_counter()
        deadline = start + params["duration"]
        try:
            while count < params["max_conns"]:
                _one_connection(zmq, ctx, params, keypair, b"x")
                count += 1
                if time.perf_counter() >= deadline:
                    break
            elapsed = time.perf_counter() - start
            _one_connection(zmq, ctx, params, keypair, b"")
        except zmq.Again as exc:
            raise BenchError(f"connection client: timed out after {count} connections") from exc
        conn.send({"result": {"connections": count, "elapsed": elapsed}})
    finally:
        ctx.destroy(linger=0)


# -- PUB fan-out --------------------------------------------------------------------------------


def publisher(zmq: Any, impl: str, params: Params, conn: Connection) -> None:
    ctx = zmq.Context()
    try:
        sock = _socket(zmq, ctx, zmq.PUB, params)
        conn.send({"ready": _bind_server(zmq, sock, params)})
        # Warm up until every subscriber has seen a message (the slow-joiner problem).
        deadline = time.monotonic() + params["run_timeout"]
        while not conn.poll(_WARMUP_INTERVAL):
            sock.send(b"W")
            if time.monotonic() > deadline:
                raise BenchError("publisher: no 'go' from the runner")
        conn.recv()
        data = b"D" + b"x" * (params["size"] - 1)
        sent = send_stream(zmq, sock, data, params["duration"], params["max_msgs"])
        conn.send({"result": {"sent": sent}})
        # PUB drops at HWM, so repeat the end marker until the runner has every result.
        while not conn.poll(_END_INTERVAL):
            sock.send(b"E")
            if time.monotonic() > deadline:
                raise BenchError("publisher: no 'done' from the runner")
    finally:
        ctx.destroy(linger=0)


def subscriber(zmq: Any, impl: str, params: Params, conn: Connection) -> None:
    ctx = zmq.Context()
    try:
        sock = _socket(zmq, ctx, zmq.SUB, params)
        sock.setsockopt(zmq.SUBSCRIBE, b"")
        sock.connect(params["endpoint"])
        recv = sock.recv
        count = 0
        try:
            msg = recv()
            conn.send({"subscribed": True})
            while msg[0] != _DATA:
                if msg[0] == _END:
                    raise BenchError("subscriber: end marker before any data")
                msg = recv()
            first = time.perf_counter()
            while msg[0] == _DATA:  # no warm-ups after data: the publisher stopped them
                count += 1
                msg = recv()
            end = time.perf_counter()
        except zmq.Again as exc:
            raise BenchError(f"subscriber: timed out after {count} messages") from exc
        if msg[0] != _END:
            raise BenchError(f"subscriber: unexpected message {msg[:8]!r}")
        conn.send({"result": {"received": count, "first": first, "end": end}})
    finally:
        ctx.destroy(linger=0)


ROLES: dict[str, Role] = {
    "thr_receiver": thr_receiver,
    "thr_sender": thr_sender,
    "thr_inproc": thr_inproc,
    "lat_server": lat_server,
    "lat_client": lat_client,
    "lat_inproc": lat_inproc,
    "conn_server": conn_server,
    "conn_client": conn_client,
    "publisher": publisher,
    "subscriber": subscriber,
}
