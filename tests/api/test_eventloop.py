"""securemq.eventloop: ZMQStream driven by tornado's IOLoop, the future-returning sockets, and the
deprecated ioloop module.

Every test runs its coroutine on a fresh asyncio loop under a deadline (``run``); the stream
callbacks resolve futures the test awaits, so nothing waits a fixed time.
"""

from __future__ import annotations

import asyncio
import pickle
import select
import threading
from collections.abc import Coroutine
from typing import Any

import pytest

tornado_ioloop = pytest.importorskip("tornado.ioloop")
from tornado import gen  # noqa: E402
from tornado.ioloop import IOLoop  # noqa: E402

import securemq as zmq  # noqa: E402
import securemq.asyncio as zaio  # noqa: E402
from securemq.eventloop import future as zfuture  # noqa: E402
from securemq.eventloop.zmqstream import ZMQStream  # noqa: E402

from .conftest import MakeSocket  # noqa: E402

BOUND = 10.0


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(asyncio.wait_for(coro, BOUND))


def pair(make: MakeSocket, a: int, b: int) -> tuple[zmq.Socket, zmq.Socket]:
    """``a`` bound on a random loopback port, ``b`` connected to it."""
    first, second = make(a), make(b)
    port = first.bind_to_random_port("tcp://127.0.0.1")
    second.connect(f"tcp://127.0.0.1:{port}")
    return first, second


class Collector:
    """A callback that records its calls and lets a coroutine await the n-th one."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []

    def __call__(self, *args: Any) -> None:
        self.calls.append(args)
        for count, fut in self._waiters:
            if len(self.calls) >= count and not fut.done():
                fut.set_result(None)

    async def wait_for(self, count: int) -> list[tuple[Any, ...]]:
        if len(self.calls) < count:
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.append((count, fut))
            await fut
        return self.calls


# -- receiving ---------------------------------------------------------------------------------
def test_on_recv_delivers_every_multipart_message_in_order(make: MakeSocket) -> None:
    pull, push = pair(make, zmq.PULL, zmq.PUSH)

    async def main() -> list[tuple[Any, ...]]:
        stream = ZMQStream(pull)
        got = Collector()
        stream.on_recv(got)
        assert stream.receiving()
        try:
            for i in range(5):
                push.send_multipart([b"part-a", str(i).encode()])
            return await got.wait_for(5)
        finally:
            stream.close()

    calls = run(main())
    assert [c[0] for c in calls] == [[b"part-a", str(i).encode()] for i in range(5)]


def test_on_recv_copy_false_gives_frames(make: MakeSocket) -> None:
    pull, push = pair(make, zmq.PULL, zmq.PUSH)

    async def main() -> Any:
        stream = ZMQStream(pull)
        got = Collector()
        stream.on_recv(got, copy=False)
        try:
            push.send(b"frame")
            return (await got.wait_for(1))[0][0]
        finally:
            stream.close()

    msg = run(main())
    assert len(msg) == 1 and isinstance(msg[0], zmq.Frame) and msg[0].bytes == b"frame"


def test_on_recv_stream_echo_server(make: MakeSocket) -> None:
    """The classic ZMQStream server: a ROUTER echoing each request through the stream."""
    router, dealer = pair(make, zmq.ROUTER, zmq.DEALER)

    async def main() -> list[bytes]:
        stream = ZMQStream(router)
        seen: list[ZMQStream] = []

        def echo(s: ZMQStream, msg: list[bytes]) -> None:
            seen.append(s)
            s.send_multipart([*msg[:-1], msg[-1].upper()])

        stream.on_recv_stream(echo)
        client = ZMQStream(dealer)
        replies = Collector()
        client.on_recv(replies)
        try:
            client.send(b"hello")
            client.send_multipart([b"a", b"b"])
            calls = await replies.wait_for(2)
            assert seen and all(s is stream for s in seen)
            return [c[0] for c in calls]
        finally:
            client.close()
            stream.close()

    assert run(main()) == [[b"HELLO"], [b"a", b"B"]]


def test_coroutine_callbacks_are_scheduled(make: MakeSocket) -> None:
    pull, push = pair(make, zmq.PULL, zmq.PUSH)

    async def main() -> list[bytes]:
        stream = ZMQStream(pull)
        done: asyncio.Future[list[bytes]] = asyncio.get_running_loop().create_future()

        async def on_msg(msg: list[bytes]) -> None:
            await asyncio.sleep(0)
            done.set_result(msg)

        stream.on_recv(on_msg)
        try:
            push.send(b"async")
            return await done
        finally:
            stream.close()

    assert run(main()) == [b"async"]


def test_stop_on_recv_leaves_messages_in_the_socket(make: MakeSocket) -> None:
    pull, push = pair(make, zmq.PULL, zmq.PUSH)

    async def main() -> tuple[list[tuple[Any, ...]], bytes]:
        stream = ZMQStream(pull)
        got = Collector()
        stream.on_recv(got)
        try:
            push.send(b"first")
            await got.wait_for(1)
            stream.stop_on_recv()
            assert not stream.receiving()
            push.send(b"second")
            assert pull.poll(5000, zmq.POLLIN)
            for _ in range(20):  # loop turns in which a wrongly armed stream would take it
                await asyncio.sleep(0)
            return got.calls, pull.recv(zmq.NOBLOCK)
        finally:
            stream.close()

    calls, left = run(main())
    assert [c[0] for c in calls] == [[b"first"]]
    assert left == b"second"


def inproc_pair(make: MakeSocket) -> tuple[zmq.Socket, zmq.Socket]:
    """PULL and PUSH over inproc: a sent message is in the PULL socket when send returns."""
    pull, push = make(zmq.PULL), make(zmq.PUSH)
    endpoint = f"inproc://flush-{id(pull):x}"
    pull.bind(endpoint)
    push.connect(endpoint)
    return pull, push


def test_flush_handles_pending_messages_at_once(make: MakeSocket) -> None:
    pull, push = inproc_pair(make)

    async def main() -> tuple[int, list[tuple[Any, ...]], int, int]:
        stream = ZMQStream(pull)
        got = Collector()
        try:
            for i in range(3):
                push.send(str(i).encode())
            stream.on_recv(got)
            flushed = stream.flush(zmq.POLLIN, limit=2)
            calls = list(got.calls)
            for _ in range(5):  # the turn scheduled before flush must not take another one
                await asyncio.sleep(0)
            during = len(got.calls)
            rest = stream.flush()
            return flushed, calls, during, rest
        finally:
            stream.close()

    flushed, calls, during, rest = run(main())
    assert flushed == 2
    assert [c[0] for c in calls] == [[b"0"], [b"1"]]
    assert during in (2, 3)  # the loop may have delivered the third after the flushed turn
    assert rest == 3 - during


def test_flush_without_recv_callback_drops_incoming(make: MakeSocket) -> None:
    pull, push = inproc_pair(make)

    async def main() -> int:
        stream = ZMQStream(pull)
        try:
            push.send(b"dropped")
            return stream.flush(zmq.POLLIN)
        finally:
            stream.close()

    assert run(main()) == 1


# -- sending --------------------------------------------------------------------------------
def test_send_variants_and_on_send(make: MakeSocket) -> None:
    pull, push = pair(make, zmq.PULL, zmq.PUSH)

    async def main() -> tuple[list[tuple[Any, ...]], list[Any]]:
        stream = ZMQStream(push)
        sent = Collector()
        stream.on_send(sent)
        try:
            stream.send(b"raw")
            stream.send_multipart([b"m1", b"m2"])
            stream.send_string("héllo")
            stream.send_json({"k": [1, 2]})
            stream.send_pyobj({"p": 3})
            assert stream.sending()
            calls = await sent.wait_for(5)
            assert not stream.sending()
            # Received before the stream closes its LINGER-0 socket.
            received = [pull.recv(), pull.recv_multipart(), pull.recv_string(),
                        pull.recv_json(), pickle.loads(pull.recv())]
            return calls, received
        finally:
            stream.close()

    calls, received = run(main())
    assert [c[0] for c in calls][:2] == [[b"raw"], [b"m1", b"m2"]]
    assert all(status is None for _, status in calls)
    assert received == [b"raw", [b"m1", b"m2"], "héllo", {"k": [1, 2]}, {"p": 3}]


def test_send_callback_argument_and_on_send_stream(make: MakeSocket) -> None:
    pull, push = pair(make, zmq.PULL, zmq.PUSH)

    async def main() -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        stream = ZMQStream(push)
        per_send = Collector()
        with_stream = Collector()
        try:
            stream.send(b"one", callback=per_send)
            await per_send.wait_for(1)
            stream.on_send_stream(with_stream)
            stream.send(b"two")
            await with_stream.wait_for(1)
            assert pull.recv_multipart() == [b"one"] and pull.recv_multipart() == [b"two"]
            return per_send.calls, with_stream.calls
        finally:
            stream.close()

    per_send, with_stream = run(main())
    assert per_send == [([b"one"], None)]
    assert len(with_stream) == 1 and with_stream[0][1:] == ([b"two"], None)
    assert isinstance(with_stream[0][0], ZMQStream)


def test_send_error_is_passed_to_the_callback(make: MakeSocket) -> None:
    router, _dealer = pair(make, zmq.ROUTER, zmq.DEALER)
    router.router_mandatory = 1
    # A mandatory ROUTER is writable once it has a peer; the message then goes to no one.
    assert router.poll(5000, zmq.POLLOUT)

    async def main() -> list[tuple[Any, ...]]:
        stream = ZMQStream(router)
        sent = Collector()
        try:
            stream.send_multipart([b"nobody", b"x"], callback=sent)
            return await sent.wait_for(1)
        finally:
            stream.close()

    ((msg, status),) = run(main())
    assert msg == [b"nobody", b"x"]
    assert isinstance(status, zmq.ZMQError) and status.errno == zmq.EHOSTUNREACH


def test_send_string_rejects_bytes(make: MakeSocket) -> None:
    async def main() -> None:
        stream = ZMQStream(make(zmq.PUSH))
        try:
            with pytest.raises(TypeError):
                stream.send_string(b"bytes")  # type: ignore[arg-type]
        finally:
            stream.close()

    run(main())


# -- closing ----------------------------------------------------------------------------------
def test_close_runs_callback_and_closes_socket(make: MakeSocket) -> None:
    sock = make(zmq.PULL)

    async def main() -> list[tuple[Any, ...]]:
        stream = ZMQStream(sock)
        closed = Collector()
        stream.set_close_callback(closed)
        assert not stream.closed()
        stream.close(linger=0)
        assert stream.closed() and stream.socket is None
        with pytest.raises(OSError):
            stream.on_recv(lambda msg: None)
        with pytest.raises(OSError):
            stream.flush()
        stream.close()  # a second close does nothing
        return closed.calls

    assert run(main()) == [()]
    assert sock.closed


def test_socket_closed_behind_the_streams_back(make: MakeSocket) -> None:
    sock = make(zmq.PULL)

    async def main() -> None:
        stream = ZMQStream(sock)
        sock.close()
        with pytest.warns(UserWarning, match="Unregistering FD"):
            assert stream.closed()
        assert stream.socket is None

    run(main())


def test_ioloop_close_all_fds_closes_the_streams_socket() -> None:
    """As pyzmq, the stream registers the socket itself with the IOLoop, so
    ``IOLoop.close(all_fds=True)`` (ipykernel's IOPub thread ends that way) closes the socket
    instead of ``os.close()``-ing its FD behind securemq's back and leaving the socket open,
    which made ``Context.term()`` wait for ever (a Jupyter kernel never exited)."""
    ctx = zmq.Context()
    sock = ctx.socket(zmq.PULL)
    sock.linger = 0
    sock.bind_to_random_port("tcp://127.0.0.1")
    loop = asyncio.new_event_loop()

    async def make_stream() -> ZMQStream:
        return ZMQStream(sock)

    stream = loop.run_until_complete(make_stream())
    stream.io_loop.close(all_fds=True)
    assert sock.closed
    terminated = threading.Event()
    term = threading.Thread(target=lambda: (ctx.term(), terminated.set()), daemon=True)
    term.start()
    term.join(BOUND)
    assert terminated.is_set(), "Context.term() still waits for the stream's socket"


def test_shortcut_methods_are_the_sockets(make: MakeSocket) -> None:
    sock = make(zmq.PUSH)

    async def main() -> None:
        stream = ZMQStream(sock, io_loop=IOLoop.current())
        try:
            assert stream.io_loop is IOLoop.current()
            assert stream.bind == sock.bind and stream.connect == sock.connect
            stream.setsockopt(zmq.SNDHWM, 7)
            assert stream.getsockopt(zmq.SNDHWM) == 7
            port = stream.bind_to_random_port("tcp://127.0.0.1")
            assert isinstance(port, int)
        finally:
            stream.close()

    run(main())


def test_async_socket_warns_and_callbacks_get_plain_results(make: MakeSocket) -> None:
    actx = zaio.Context()
    try:
        pull = actx.socket(zmq.PULL)
        pull.linger = 0
        port = pull.bind_to_random_port("tcp://127.0.0.1")
        push = make(zmq.PUSH)
        push.connect(f"tcp://127.0.0.1:{port}")

        async def main() -> list[tuple[Any, ...]]:
            with pytest.warns(RuntimeWarning, match="ZMQStream only supports"):
                stream = ZMQStream(pull)
            got = Collector()
            stream.on_recv(got)
            try:
                push.send(b"plain")
                return await got.wait_for(1)
            finally:
                stream.close()

        assert run(main()) == [([b"plain"],)]
    finally:
        actx.destroy(linger=0)


def test_fd_is_quiet_after_events_is_read(make: MakeSocket) -> None:
    """libzmq's contract that event loops rely on (DESIGN.md, "Wake-ups"): the FD fires, the
    reader takes what EVENTS reports, and once EVENTS says nothing is pending the FD is quiet."""
    pull, push = pair(make, zmq.PULL, zmq.PUSH)
    fd = pull.getsockopt(zmq.FD)
    push.send(b"x")
    readable, _, _ = select.select([fd], [], [], 5.0)
    assert readable, "the FD did not fire for an incoming message"
    assert pull.getsockopt(zmq.EVENTS) & zmq.POLLIN
    assert pull.recv(zmq.NOBLOCK) == b"x"
    assert pull.getsockopt(zmq.EVENTS) & zmq.POLLIN == 0
    readable, _, _ = select.select([fd], [], [], 0)
    assert not readable


def test_idle_stream_is_not_woken(make: MakeSocket) -> None:
    pull, push = pair(make, zmq.PULL, zmq.PUSH)

    class Counting(ZMQStream):
        calls = 0

        def _handle_events(self, fd: Any, events: int) -> None:
            Counting.calls += 1
            super()._handle_events(fd, events)

    async def main() -> int:
        stream = Counting(pull)
        got = Collector()
        stream.on_recv(got)
        try:
            push.send(b"x")
            await got.wait_for(1)
            for _ in range(5):  # let any scheduled follow-up run
                await asyncio.sleep(0)
            before = Counting.calls
            for _ in range(50):
                await asyncio.sleep(0)
            return Counting.calls - before
        finally:
            stream.close()

    assert run(main()) == 0


# -- zmq.eventloop.future -------------------------------------------------------------------
def test_future_sockets_in_tornado_coroutines() -> None:
    ctx = zfuture.Context()
    try:
        rep = ctx.socket(zmq.REP, linger=0)
        port = rep.bind_to_random_port("tcp://127.0.0.1")
        req = ctx.socket(zmq.REQ, linger=0)
        req.connect(f"tcp://127.0.0.1:{port}")
        assert isinstance(rep, zfuture.Socket) and isinstance(rep, zaio.Socket)

        @gen.coroutine  # type: ignore[untyped-decorator]
        def server() -> Any:
            msg = yield rep.recv_multipart()
            yield rep.send_multipart([m.upper() for m in msg])

        async def main() -> Any:
            task = server()
            fut = req.send(b"ping")
            assert isinstance(fut, asyncio.Future)
            await fut
            poller = zfuture.Poller()
            poller.register(req, zmq.POLLIN)
            events = await poller.poll(5000)
            assert events == [(req, zmq.POLLIN)]
            reply = await req.recv()
            await task
            return reply

        assert run(main()) == b"PING"
    finally:
        ctx.destroy(linger=0)


def test_future_context_io_loop_argument_is_deprecated() -> None:
    with pytest.warns(DeprecationWarning, match="io_loop"):
        ctx = zfuture.Context(io_loop=object())
    try:
        assert zfuture.Context.instance() is not zmq.Context.instance()
        assert isinstance(zfuture.Context.instance(), zfuture.Context)
        assert issubclass(zfuture.CancelledError, Exception)
    finally:
        ctx.destroy(linger=0)
        zfuture.Context.instance().destroy(linger=0)
        zmq.Context.instance().destroy(linger=0)


def test_ioloop_module_is_tornado_with_deprecations() -> None:
    import importlib
    import sys

    sys.modules.pop("securemq.eventloop.ioloop", None)
    with pytest.warns(DeprecationWarning, match="deprecated in pyzmq 17"):
        ioloop = importlib.import_module("securemq.eventloop.ioloop")
    assert ioloop.ZMQIOLoop is tornado_ioloop.IOLoop
    assert ioloop.IOLoop is tornado_ioloop.IOLoop
    assert ioloop.PeriodicCallback is tornado_ioloop.PeriodicCallback
    with pytest.warns(DeprecationWarning):
        ioloop.install()
    import securemq.eventloop as ev

    assert ev.IOLoop is tornado_ioloop.IOLoop
