"""proxy / proxy_steerable: forwarding both ways, capture, shutdown, control commands.

The proxy runs in a thread on sockets made in the test; it is stopped by terminating the context
(proxy raises ContextTerminated and the thread closes its sockets) or by TERMINATE. Every thread
is joined with a deadline so that a proxy that does not stop fails the test instead of hanging.

libzmq 4.3.5 reference (checked with pyzmq 27.3's zmq.proxy_steerable):
- STATISTICS answers 8 little-endian uint64 frames: frontend (frames received, bytes received,
  frames sent, bytes sent), then the same for the backend. Counts are message *parts* and their
  payload bytes.
- On a REP control socket every other command (PAUSE, RESUME, TERMINATE, unknown) is answered
  with one empty frame, so the REP socket stays usable.
- 4.3.5 itself has PAUSE and RESUME swapped and also answers on PAIR (fixed upstream right after
  the release, libzmq PR #4600); the tests follow the documented, fixed behaviour.
"""

from __future__ import annotations

import struct
import threading
import time
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
import zmq as pyzmq

import securemq as zmq
from securemq.error import ContextTerminated

JOIN_S = 5.0


class ProxyThread:
    """Runs proxy/proxy_steerable in a thread; records how it ended; closes its sockets."""

    def __init__(self, lib: ModuleType, sockets: list[Any], steerable: bool) -> None:
        self.outcome: tuple[str, Any] | None = None
        self._sockets = sockets
        self._lib = lib
        self._steerable = steerable
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            if self._steerable:
                result = self._lib.proxy_steerable(*self._sockets)
            else:
                result = self._lib.proxy(*self._sockets)
            self.outcome = ("returned", result)
        except (ContextTerminated, pyzmq.ContextTerminated) as exc:
            self.outcome = ("terminated", exc.errno)
        except Exception as exc:  # reported by the test through self.outcome
            self.outcome = ("error", repr(exc))
        finally:
            for sock in self._sockets:
                if sock is not None:
                    sock.close(0)

    def join(self) -> None:
        self.thread.join(JOIN_S)
        assert not self.thread.is_alive(), "proxy did not stop"


def make(ctx: Any, kind: int, **options: Any) -> Any:
    sock = ctx.socket(kind)
    sock.linger = 0
    sock.rcvtimeo = 5000
    sock.sndtimeo = 5000
    for name, value in options.items():
        setattr(sock, name, value)
    return sock


def endpoint_of(sock: Any) -> str:
    last = sock.getsockopt(zmq.LAST_ENDPOINT)
    return last.decode() if isinstance(last, bytes) else str(last)


def terminate(ctx: Any, proxy: ProxyThread, own: list[Any]) -> None:
    """Close the test's sockets, then term() the context: the proxy must raise ETERM."""
    for sock in own:
        sock.close(0)
    done = threading.Event()

    def term() -> None:
        ctx.term()
        done.set()

    threading.Thread(target=term, daemon=True).start()
    proxy.join()
    assert done.wait(JOIN_S), "context.term() did not return after the proxy stopped"
    assert proxy.outcome == ("terminated", zmq.ETERM)


@pytest.fixture
def raw_ctx() -> Iterator[zmq.Context]:
    """A context the test terminates itself (destroyed at the end if it did not)."""
    ctx = zmq.Context()
    yield ctx
    if not ctx.closed:
        ctx.destroy(linger=0)


def stats(control: Any) -> list[int]:
    control.send(b"STATISTICS")
    frames = control.recv_multipart()
    assert [len(f) for f in frames] == [8] * 8, frames
    return [struct.unpack("<Q", f)[0] for f in frames]


# -- proxy --------------------------------------------------------------------------------------
@pytest.mark.parametrize("transport", ["inproc", "tcp"])
def test_router_dealer_with_capture(raw_ctx: zmq.Context, transport: str) -> None:
    frontend, backend = make(raw_ctx, zmq.ROUTER), make(raw_ctx, zmq.DEALER)
    capture_in, capture_out = make(raw_ctx, zmq.PULL), make(raw_ctx, zmq.PUSH)
    if transport == "inproc":
        frontend.bind("inproc://front")
        backend.bind("inproc://back")
    else:
        frontend.bind("tcp://127.0.0.1:*")
        backend.bind("tcp://127.0.0.1:*")
    capture_in.bind("inproc://capture")
    capture_out.connect("inproc://capture")
    front_ep, back_ep = endpoint_of(frontend), endpoint_of(backend)
    proxy = ProxyThread(zmq, [frontend, backend, capture_out], steerable=False)

    clients = [make(raw_ctx, zmq.REQ) for _ in range(3)]
    worker = make(raw_ctx, zmq.REP)
    worker.connect(back_ep)
    for client in clients:
        client.connect(front_ep)
    for i, client in enumerate(clients):
        client.send_multipart([b"job", str(i).encode()])
    served = []
    for _ in clients:
        job = worker.recv_multipart()
        served.append(job[1])
        worker.send_multipart([b"done", job[1]])
    for i, client in enumerate(clients):
        assert client.recv_multipart() == [b"done", str(i).encode()]
    assert sorted(served) == [b"0", b"1", b"2"]

    # The capture socket sees every message each way, whole (with the ROUTER envelope).
    captured = [capture_in.recv_multipart() for _ in range(6)]
    requests = [m for m in captured if m[-2] == b"job"]
    replies = [m for m in captured if m[-2] == b"done"]
    assert len(requests) == len(replies) == 3
    assert all(len(m) == 4 and m[1] == b"" for m in captured)  # id, delimiter, 2 frames
    assert not capture_in.poll(50)

    terminate(raw_ctx, proxy, [*clients, worker, capture_in])


def test_xsub_xpub_subscriptions_flow_upstream(raw_ctx: zmq.Context) -> None:
    frontend, backend = make(raw_ctx, zmq.XSUB), make(raw_ctx, zmq.XPUB)
    capture_in, capture_out = make(raw_ctx, zmq.PULL), make(raw_ctx, zmq.PUSH)
    frontend.bind("tcp://127.0.0.1:*")
    backend.bind("tcp://127.0.0.1:*")
    capture_in.bind("inproc://capture-ps")
    capture_out.connect("inproc://capture-ps")
    proxy = ProxyThread(zmq, [frontend, backend, capture_out], steerable=False)

    publisher = make(raw_ctx, zmq.PUB)
    pub_monitor = publisher.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED)
    publisher.connect(endpoint_of(frontend))
    subscriber = make(raw_ctx, zmq.SUB)
    subscriber.connect(endpoint_of(backend))
    subscriber.subscribe(b"weather")
    assert pub_monitor.poll(5000)

    # The subscription travels SUB -> XPUB -> proxy -> XSUB -> PUB: the capture shows it.
    assert capture_in.recv_multipart() == [b"\x01weather"]
    deadline = time.monotonic() + 5
    while True:
        publisher.send_multipart([b"sports", b"skip"])
        publisher.send_multipart([b"weather", b"rain"])
        if subscriber.poll(20):
            break
        assert time.monotonic() < deadline, "no publication reached the subscriber"
    assert subscriber.recv_multipart() == [b"weather", b"rain"]
    while subscriber.poll(50):
        assert subscriber.recv_multipart()[0] == b"weather"

    publisher.disable_monitor()
    terminate(raw_ctx, proxy, [publisher, pub_monitor, subscriber, capture_in])


def test_proxy_without_capture_stops_on_term(raw_ctx: zmq.Context) -> None:
    frontend, backend = make(raw_ctx, zmq.PULL), make(raw_ctx, zmq.PUSH)
    frontend.bind("inproc://pull")
    backend.bind("inproc://push")
    proxy = ProxyThread(zmq, [frontend, backend], steerable=False)
    source, sink = make(raw_ctx, zmq.PUSH), make(raw_ctx, zmq.PULL)
    source.connect("inproc://pull")
    sink.connect("inproc://push")
    source.send_multipart([b"a", b"b"])
    assert sink.recv_multipart() == [b"a", b"b"]
    terminate(raw_ctx, proxy, [source, sink])


def test_pyzmq_clients_and_workers_around_securemq_proxy(raw_ctx: zmq.Context) -> None:
    frontend, backend = make(raw_ctx, zmq.ROUTER), make(raw_ctx, zmq.DEALER)
    frontend.bind("tcp://127.0.0.1:*")
    backend.bind("tcp://127.0.0.1:*")
    front_ep, back_ep = endpoint_of(frontend), endpoint_of(backend)
    proxy = ProxyThread(zmq, [frontend, backend, None], steerable=False)
    pz_ctx: Any = pyzmq.Context()
    try:
        workers = [make(pz_ctx, pyzmq.REP) for _ in range(2)]
        for worker in workers:
            worker.connect(back_ep)
        clients = [make(pz_ctx, pyzmq.REQ) for _ in range(4)]
        for client in clients:
            client.connect(front_ep)
        for i, client in enumerate(clients):
            client.send(b"req-%d" % i)
        poller = pyzmq.Poller()
        for worker in workers:
            poller.register(worker, pyzmq.POLLIN)
        answered = 0
        deadline = time.monotonic() + 5
        while answered < len(clients):
            assert time.monotonic() < deadline, "workers did not get every request"
            for worker, _ in poller.poll(100):
                request = worker.recv()
                worker.send(request.replace(b"req", b"rep"))
                answered += 1
        for i, client in enumerate(clients):
            assert client.recv() == b"rep-%d" % i
    finally:
        pz_ctx.destroy(linger=0)
    terminate(raw_ctx, proxy, [])


# -- proxy_steerable -------------------------------------------------------------------------
class Steered:
    """PUSH -> [PULL | proxy | PUSH] -> PULL over inproc, with a PAIR (or REP) control."""

    def __init__(self, lib: ModuleType, ctx: Any, control_type: int) -> None:
        self.ctx = ctx
        frontend, backend = make(ctx, lib.PULL), make(ctx, lib.PUSH)
        frontend.bind("inproc://st-front")
        backend.bind("inproc://st-back")
        proxy_control = make(ctx, control_type)
        proxy_control.bind("inproc://st-control")
        self.control = make(ctx, lib.REQ if control_type == lib.REP else lib.PAIR)
        self.control.connect("inproc://st-control")
        self.source, self.sink = make(ctx, lib.PUSH), make(ctx, lib.PULL)
        self.source.connect("inproc://st-front")
        self.sink.connect("inproc://st-back")
        self.proxy = ProxyThread(lib, [frontend, backend, None, proxy_control], steerable=True)

    def close(self) -> None:
        for sock in (self.control, self.source, self.sink):
            sock.close(0)


@pytest.fixture
def steered(ctx: zmq.Context) -> Iterator[Steered]:
    rig = Steered(zmq, ctx, zmq.PAIR)
    yield rig
    if rig.proxy.thread.is_alive():
        rig.control.send(b"TERMINATE")
        rig.proxy.join()
    rig.close()


def test_pause_queues_and_resume_delivers(steered: Steered) -> None:
    steered.source.send(b"first")
    assert steered.sink.recv() == b"first"
    steered.control.send(b"PAUSE")
    stats(steered.control)  # commands run in order: the proxy is paused now
    steered.source.send(b"held-1")
    steered.source.send(b"held-2")
    assert not steered.sink.poll(200), "a message crossed a paused proxy"
    steered.control.send(b"RESUME")
    assert steered.sink.recv() == b"held-1"
    assert steered.sink.recv() == b"held-2"


def test_terminate_returns(steered: Steered) -> None:
    steered.source.send(b"x")
    assert steered.sink.recv() == b"x"
    steered.control.send(b"TERMINATE")
    steered.proxy.join()
    assert steered.proxy.outcome is not None and steered.proxy.outcome[0] == "returned"


def test_terminate_returns_zero_like_pyzmq(steered: Steered) -> None:
    """pyzmq's proxy_steerable returns libzmq's return code, 0, after TERMINATE."""
    steered.control.send(b"TERMINATE")
    steered.proxy.join()
    assert steered.proxy.outcome == ("returned", 0)


def test_unknown_command_is_ignored(steered: Steered) -> None:
    steered.control.send(b"FROBNICATE")
    steered.source.send(b"still flowing")
    assert steered.sink.recv() == b"still flowing"


def test_statistics_count_frames_and_bytes(steered: Steered) -> None:
    """libzmq: frames (not messages) and payload bytes, received and sent, per side."""
    steered.source.send_multipart([b"ab", b"cde"])
    steered.source.send(b"f")
    assert steered.sink.recv_multipart() == [b"ab", b"cde"]
    assert steered.sink.recv() == b"f"
    assert stats(steered.control) == [3, 6, 0, 0, 0, 0, 3, 6]


def _router_dealer_stats(lib: ModuleType) -> list[int]:
    """The same REQ/REP traffic through lib's proxy_steerable; returns STATISTICS."""
    ctx: Any = lib.Context()
    try:
        frontend, backend = make(ctx, lib.ROUTER), make(ctx, lib.DEALER)
        frontend.bind("inproc://rd-front")
        backend.bind("inproc://rd-back")
        proxy_control, control = make(ctx, lib.PAIR), make(ctx, lib.PAIR)
        proxy_control.bind("inproc://rd-control")
        control.connect("inproc://rd-control")
        proxy = ProxyThread(lib, [frontend, backend, None, proxy_control], steerable=True)
        client, worker = make(ctx, lib.REQ, routing_id=b"client"), make(ctx, lib.REP)
        client.connect("inproc://rd-front")
        worker.connect("inproc://rd-back")
        for payload in (b"hello", b"much longer payload"):
            client.send_multipart([payload, b"!"])
            worker.send_multipart([*worker.recv_multipart(), b"reply"])
            client.recv_multipart()
        result = stats(control)
        control.send(b"TERMINATE")
        proxy.join()
        for sock in (client, worker, control):
            sock.close(0)
        return result
    finally:
        ctx.destroy(linger=0)


def test_statistics_match_libzmq() -> None:
    reference = _router_dealer_stats(pyzmq)
    # Frontend in: 2 x (routing id "client", delimiter, payload, "!") = 8 frames.
    assert reference[0] == 8 and reference[6] == 8
    assert reference[2] == reference[4] == 10  # replies carry one more frame
    assert _router_dealer_stats(zmq) == reference


@pytest.fixture
def steered_rep(ctx: zmq.Context) -> Iterator[Steered]:
    rig = Steered(zmq, ctx, zmq.REP)
    yield rig
    rig.close()
    if rig.proxy.thread.is_alive():
        ctx.destroy(linger=0)
        rig.proxy.join()


def test_rep_control_gets_empty_replies(steered_rep: Steered) -> None:
    control = steered_rep.control
    control.send(b"PAUSE")
    assert control.poll(2000), "no reply to PAUSE on a REP control socket"
    assert control.recv_multipart() == [b""]
    assert len(stats(control)) == 8
    control.send(b"RESUME")
    assert control.recv_multipart() == [b""]
    control.send(b"TERMINATE")
    assert control.recv_multipart() == [b""]
    steered_rep.proxy.join()


def test_steerable_stops_on_term_without_control_commands(raw_ctx: zmq.Context) -> None:
    rig = Steered(zmq, raw_ctx, zmq.PAIR)
    rig.source.send(b"x")
    assert rig.sink.recv() == b"x"
    terminate(raw_ctx, rig.proxy, [rig.control, rig.source, rig.sink])
