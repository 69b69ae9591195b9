"""securemq.asyncio: patterns, cancellation safety, FIFO, timeouts, poll, Poller, termination.

Every test runs its coroutine under ``asyncio.wait_for`` (see ``run``); pattern tests run on the
default loop and on uvloop when it is installed.
"""

from __future__ import annotations

import asyncio
import socket as pysocket
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import pytest
import zmq as pyzmq
import zmq.asyncio as pyzmq_asyncio

import securemq as zmq
import securemq.asyncio as zaio

Run = Callable[[Coroutine[Any, Any, Any]], Any]
BOUND = 5.0


def _runner(loop_name: str) -> Run:
    factory: Callable[[], asyncio.AbstractEventLoop] | None = None
    if loop_name == "uvloop":
        uvloop = pytest.importorskip("uvloop")
        factory = uvloop.new_event_loop

    def run(coro: Coroutine[Any, Any, Any]) -> Any:
        with asyncio.Runner(loop_factory=factory) as runner:
            return runner.run(asyncio.wait_for(coro, BOUND))

    return run


@pytest.fixture(params=["asyncio", "uvloop"])
def run_any(request: pytest.FixtureRequest) -> Run:
    return _runner(str(request.param))


@pytest.fixture
def run() -> Run:
    return _runner("asyncio")


@pytest.fixture
def actx() -> Iterator[zaio.Context]:
    context = zaio.Context()
    yield context
    context.destroy(linger=0)


@pytest.fixture
def make(actx: zaio.Context) -> Callable[..., zaio.Socket]:
    def factory(socket_type: int, **options: Any) -> zaio.Socket:
        sock = actx.socket(socket_type)
        sock.linger = 0
        for name, value in options.items():
            setattr(sock, name, value)
        return sock

    return factory


def _bind(sock: zmq.Socket, transport: str) -> str:
    if transport == "inproc":
        endpoint = f"inproc://aio-{id(sock):x}"
        sock.bind(endpoint)
        return endpoint
    sock.bind("tcp://127.0.0.1:*")
    return bytes(sock.getsockopt(zmq.LAST_ENDPOINT)).decode()


@pytest.fixture(params=["inproc", "tcp"])
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


# -- the API surface ------------------------------------------------------------------------


def test_context_makes_asyncio_sockets_and_has_its_own_instance() -> None:
    ctx = zaio.Context.instance()
    try:
        assert isinstance(ctx, zaio.Context)
        assert zaio.Context.instance() is ctx
        sock = ctx.socket(zmq.PAIR)
        assert isinstance(sock, zaio.Socket) and isinstance(sock, zmq.Socket)
        sock.close()
        sync = zmq.Context.instance()
        assert not isinstance(sync, zaio.Context)
    finally:
        ctx.destroy(linger=0)
    assert zaio.Context.instance() is not ctx
    zaio.Context.instance().destroy(linger=0)


def test_sync_options_api_is_unchanged(make: Callable[..., zaio.Socket]) -> None:
    sock = make(zmq.DEALER, rcvtimeo=123)
    assert sock.rcvtimeo == 123
    sock.setsockopt(zmq.SNDHWM, 7)
    assert sock.getsockopt(zmq.SNDHWM) == 7
    sock.routing_id = b"me"
    assert sock.identity == b"me"


# -- patterns -----------------------------------------------------------------------------------


def test_req_rep(run_any: Run, make: Callable[..., zaio.Socket], transport: str) -> None:
    rep, req = make(zmq.REP), make(zmq.REQ)
    req.connect(_bind(rep, transport))

    async def server() -> None:
        for _ in range(3):
            msg = await rep.recv_multipart()
            await rep.send_multipart([b"re:" + msg[0]])

    async def main() -> list[bytes]:
        task = asyncio.ensure_future(server())
        replies = []
        for i in range(3):
            await req.send(b"q%d" % i)
            replies.append(await req.recv())
        await task
        return replies

    assert run_any(main()) == [b"re:q0", b"re:q1", b"re:q2"]


def test_push_pull_multipart_and_order(run_any: Run, make: Callable[..., zaio.Socket],
                                       transport: str) -> None:
    pull, push = make(zmq.PULL), make(zmq.PUSH)
    push.connect(_bind(pull, transport))
    count = 500

    async def producer() -> None:
        for i in range(count):
            await push.send_multipart([b"head", str(i).encode()])

    async def main() -> list[list[bytes]]:
        task = asyncio.ensure_future(producer())
        got = [await pull.recv_multipart() for _ in range(count)]
        await task
        return got

    got = run_any(main())
    assert got == [[b"head", str(i).encode()] for i in range(count)]


def test_pub_sub(run_any: Run, make: Callable[..., zaio.Socket], transport: str) -> None:
    pub, sub = make(zmq.PUB), make(zmq.SUB)
    sub.subscribe(b"weather")
    sub.connect(_bind(pub, transport))

    async def main() -> list[bytes]:
        # Slow joiner: publish until the subscription has arrived and a message got through.
        while not await sub.poll(10):
            await pub.send(b"sports nope")
            await pub.send(b"weather sunny")
        got = await sub.recv()
        await pub.send(b"sports nope")
        await pub.send(b"weather rain")
        rest = await sub.recv()
        while rest == b"weather sunny":
            rest = await sub.recv()
        return [got, rest]

    assert run_any(main()) == [b"weather sunny", b"weather rain"]


def test_dealer_router(run_any: Run, make: Callable[..., zaio.Socket], transport: str) -> None:
    router, dealer = make(zmq.ROUTER), make(zmq.DEALER, routing_id=b"d1")
    dealer.connect(_bind(router, transport))

    async def main() -> tuple[list[bytes], list[bytes]]:
        await dealer.send_multipart([b"", b"hello"])
        at_router = await router.recv_multipart()
        await router.send_multipart([at_router[0], b"", b"world"])
        return at_router, await dealer.recv_multipart()

    at_router, at_dealer = run_any(main())
    assert at_router == [b"d1", b"", b"hello"]
    assert at_dealer == [b"", b"world"]


def test_string_json_pyobj_and_frames(run: Run, make: Callable[..., zaio.Socket]) -> None:
    a, b = make(zmq.PAIR), make(zmq.PAIR)
    b.connect(_bind(a, "inproc"))

    async def main() -> list[Any]:
        await a.send_string("héllo")
        await a.send_json({"k": [1, 2]})
        await a.send_pyobj((1, "x"))
        await a.send(b"one", zmq.SNDMORE)
        await a.send(b"two")
        await a.send_serialized({"s": 1}, lambda m: [repr(m).encode()])
        out = [await b.recv_string(), await b.recv_json(), await b.recv_pyobj()]
        first = await b.recv(copy=False)
        out += [first.bytes, first.more, b.rcvmore, await b.recv()]
        out.append(await b.recv_serialized(lambda frames: frames[0].decode()))
        return out

    assert run(main()) == ["héllo", {"k": [1, 2]}, (1, "x"), b"one", True, True, b"two",
                           "{'s': 1}"]


def test_str_payload_is_refused_synchronously(make: Callable[..., zaio.Socket]) -> None:
    sock = make(zmq.PAIR)
    with pytest.raises(TypeError):
        sock.send("text")
    with pytest.raises(TypeError, match="frame 1"):
        sock.send_multipart([b"a", "b"])


# -- interop with pyzmq --------------------------------------------------------------------------


def test_with_pyzmq_asyncio_req_rep(run: Run, make: Callable[..., zaio.Socket]) -> None:
    pctx = pyzmq_asyncio.Context()
    try:
        rep = pctx.socket(pyzmq.REP)
        rep.linger = 0
        port = rep.bind_to_random_port("tcp://127.0.0.1")
        req = make(zmq.REQ)
        req.connect(f"tcp://127.0.0.1:{port}")

        async def server() -> None:
            for _ in range(2):
                msg = await rep.recv_multipart()
                await rep.send_multipart([b"pyzmq:" + msg[0]])

        async def main() -> list[bytes]:
            task = asyncio.ensure_future(server())
            out = []
            for word in (b"a", b"b"):
                await req.send(word)
                out.append(await req.recv())
            await task
            return out

        assert run(main()) == [b"pyzmq:a", b"pyzmq:b"]
    finally:
        pctx.destroy(linger=0)


def test_with_sync_pyzmq_peers(run: Run, make: Callable[..., zaio.Socket]) -> None:
    pctx: pyzmq.Context[pyzmq.Socket[bytes]] = pyzmq.Context()
    try:
        pull = make(zmq.PULL)
        endpoint = _bind(pull, "tcp")
        push = pctx.socket(pyzmq.PUSH)
        push.linger = 0
        push.connect(endpoint)
        router = pctx.socket(pyzmq.ROUTER)
        router.linger = 0
        port = router.bind_to_random_port("tcp://127.0.0.1")
        dealer = make(zmq.DEALER, routing_id=b"aio")
        dealer.connect(f"tcp://127.0.0.1:{port}")

        async def main() -> tuple[list[bytes], list[bytes]]:
            pending = pull.recv_multipart()
            push.send_multipart([b"from", b"pyzmq"])
            got = await pending
            await dealer.send(b"ping")
            # The pyzmq ROUTER is synchronous: poll it without blocking the loop.
            while not router.poll(0):
                await asyncio.sleep(0.005)
            return got, router.recv_multipart()

        got, at_router = run(main())
        assert got == [b"from", b"pyzmq"]
        assert at_router == [b"aio", b"ping"]
    finally:
        pctx.destroy(linger=0)


# -- cancellation safety and FIFO ------------------------------------------------------------------


def test_cancelled_recv_loses_no_message(run_any: Run, make: Callable[..., zaio.Socket],
                                         transport: str) -> None:
    pull, push = make(zmq.PULL), make(zmq.PUSH)
    push.connect(_bind(pull, transport))

    async def main() -> tuple[bool, bytes]:
        pending = pull.recv()
        await asyncio.sleep(0)
        pending.cancel()
        await push.send(b"kept")
        # Give the message time to land while nobody waits (it must stay in the socket).
        assert await pull.poll(2000) == zmq.POLLIN
        return pending.cancelled(), await pull.recv()

    assert run_any(main()) == (True, b"kept")


def test_cancelled_task_waiting_on_recv(run: Run, make: Callable[..., zaio.Socket]) -> None:
    pull, push = make(zmq.PULL), make(zmq.PUSH)
    push.connect(_bind(pull, "tcp"))

    async def main() -> list[bytes]:
        task = asyncio.ensure_future(pull.recv_multipart())
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await push.send_multipart([b"a", b"b"])
        await push.send_multipart([b"c"])
        return [*(await pull.recv_multipart()), *(await pull.recv_multipart())]

    assert run(main()) == [b"a", b"b", b"c"]


def test_cancelled_send_sends_nothing(run: Run, make: Callable[..., zaio.Socket]) -> None:
    push = make(zmq.PUSH)
    endpoint = _bind(push, "tcp")

    async def main() -> list[list[bytes]]:
        first = push.send_multipart([b"cancelled", b"whole"])  # no peer: it waits
        await asyncio.sleep(0.01)
        assert not first.done()
        first.cancel()
        second = push.send_multipart([b"sent", b"whole"])
        pull = make(zmq.PULL)
        pull.connect(endpoint)
        await second
        got = [await pull.recv_multipart()]
        assert await pull.poll(100) == 0
        return got

    assert run(main()) == [[b"sent", b"whole"]]


def test_fifo_three_waiting_tasks(run_any: Run, make: Callable[..., zaio.Socket],
                                  transport: str) -> None:
    pull, push = make(zmq.PULL), make(zmq.PUSH)
    push.connect(_bind(pull, transport))

    async def main() -> list[bytes]:
        order: list[int] = []

        async def waiter(index: int) -> bytes:
            order.append(index)
            return bytes(await pull.recv())

        tasks = []
        for i in range(3):
            tasks.append(asyncio.ensure_future(waiter(i)))
            await asyncio.sleep(0)  # task i registers its recv before task i+1
        assert order == [0, 1, 2]
        for word in (b"first", b"second", b"third"):
            await push.send(word)
        return list(await asyncio.gather(*tasks))

    assert run_any(main()) == [b"first", b"second", b"third"]


def test_fifo_skips_a_cancelled_waiter(run: Run, make: Callable[..., zaio.Socket]) -> None:
    pull, push = make(zmq.PULL), make(zmq.PUSH)
    push.connect(_bind(pull, "inproc"))

    async def main() -> tuple[bytes, bytes]:
        futures = [pull.recv() for _ in range(3)]
        futures[1].cancel()
        await push.send(b"m0")
        await push.send(b"m1")
        return await futures[0], await futures[2]

    assert run(main()) == (b"m0", b"m1")


def test_concurrent_senders_never_interleave(run: Run, make: Callable[..., zaio.Socket]) -> None:
    pull, push = make(zmq.PULL), make(zmq.PUSH, sndhwm=2)
    push.connect(_bind(pull, "tcp"))
    pull.rcvhwm = 2

    async def sender(tag: bytes) -> None:
        for i in range(50):
            await push.send_multipart([tag, b"%d" % i, tag])

    async def main() -> list[list[bytes]]:
        tasks = [asyncio.ensure_future(sender(t)) for t in (b"A", b"B", b"C")]
        got = [await pull.recv_multipart() for _ in range(150)]
        await asyncio.gather(*tasks)
        return got

    got = run(main())
    assert all(len(m) == 3 and m[0] == m[2] for m in got)
    for tag in (b"A", b"B", b"C"):
        assert [m[1] for m in got if m[0] == tag] == [b"%d" % i for i in range(50)]


# -- timeouts and NOBLOCK ------------------------------------------------------------------------


def test_rcvtimeo_raises_again(run: Run, make: Callable[..., zaio.Socket]) -> None:
    pull = make(zmq.PULL, rcvtimeo=50)
    _bind(pull, "tcp")

    async def main() -> float:
        start = time.monotonic()
        with pytest.raises(zmq.Again):
            await pull.recv()
        return time.monotonic() - start

    assert 0.04 <= run(main()) < 2.0


def test_sndtimeo_raises_again_and_sends_nothing(run: Run,
                                                 make: Callable[..., zaio.Socket]) -> None:
    push = make(zmq.PUSH, sndtimeo=30)
    endpoint = _bind(push, "inproc")

    async def main() -> list[bytes]:
        with pytest.raises(zmq.Again):
            await push.send(b"late")
        pull = make(zmq.PULL)
        pull.connect(endpoint)
        push.sndtimeo = -1
        await push.send(b"on time")
        return [await pull.recv()]

    assert run(main()) == [b"on time"]


def test_noblock_fails_at_once(run: Run, make: Callable[..., zaio.Socket]) -> None:
    pull = make(zmq.PULL)
    push = make(zmq.PUSH)
    _bind(pull, "inproc")
    _bind(push, "inproc")

    async def main() -> None:
        future = pull.recv(zmq.NOBLOCK)
        assert future.done()
        with pytest.raises(zmq.Again):
            future.result()
        with pytest.raises(zmq.Again):
            await push.send(b"x", zmq.NOBLOCK)
        with pytest.raises(zmq.Again):
            await pull.recv_multipart(zmq.NOBLOCK)

    run(main())


def test_rcvtimeo_zero_behaves_like_noblock(run: Run, make: Callable[..., zaio.Socket]) -> None:
    pull = make(zmq.PULL, rcvtimeo=0)
    _bind(pull, "inproc")

    async def main() -> None:
        with pytest.raises(zmq.Again):
            await pull.recv()

    run(main())


def test_errors_from_the_socket_reach_the_future(run: Run,
                                                 make: Callable[..., zaio.Socket]) -> None:
    req = make(zmq.REQ)
    _bind(req, "inproc")

    async def main() -> None:
        with pytest.raises(zmq.ZMQError) as info:
            await req.recv()  # REQ must send first
        assert info.value.errno == zmq.EFSM

    run(main())


# -- poll ------------------------------------------------------------------------------------------


def test_socket_poll(run: Run, make: Callable[..., zaio.Socket]) -> None:
    pull, push = make(zmq.PULL), make(zmq.PUSH)
    push.connect(_bind(pull, "tcp"))

    async def main() -> list[int]:
        results = [await pull.poll(20), await pull.poll(0)]
        waiting = pull.poll()  # forever
        await asyncio.sleep(0.01)
        assert not waiting.done()
        await push.send(b"x")
        results.append(await waiting)
        results.append(await push.poll(1000, zmq.POLLOUT))
        await pull.recv()
        return results

    assert run(main()) == [0, 0, zmq.POLLIN, zmq.POLLOUT]


def test_poller_sockets_and_raw_fds(run: Run, make: Callable[..., zaio.Socket]) -> None:
    pull, push = make(zmq.PULL), make(zmq.PUSH)
    push.connect(_bind(pull, "tcp"))
    left, right = pysocket.socketpair()
    try:
        poller = zaio.Poller()
        poller.register(pull, zmq.POLLIN)
        poller.register(right, zmq.POLLIN)

        async def main() -> list[list[tuple[Any, int]]]:
            results = [await poller.poll(20)]
            waiting = asyncio.ensure_future(poller.poll())
            await asyncio.sleep(0.01)
            assert not waiting.done()
            await push.send(b"x")
            results.append(await waiting)
            await pull.recv()
            left.send(b"!")
            results.append(await poller.poll(2000))
            return results

        results = run(main())
        assert results == [[], [(pull, zmq.POLLIN)], [(right.fileno(), zmq.POLLIN)]]
        assert not pull._waker._callbacks or pull._waker._callbacks == (pull._aio_wake,)
    finally:
        left.close()
        right.close()


def test_poller_over_sync_securemq_socket(run: Run) -> None:
    ctx = zmq.Context()
    try:
        pull = ctx.socket(zmq.PULL)
        push = ctx.socket(zmq.PUSH)
        for sock in (pull, push):
            sock.linger = 0
        push.connect(_bind(pull, "inproc"))
        poller = zaio.Poller()
        poller.register(pull, zmq.POLLIN)

        async def main() -> list[tuple[Any, int]]:
            waiting = asyncio.ensure_future(poller.poll(2000))
            await asyncio.sleep(0.01)
            # Another thread makes the socket readable: the poll must wake up.
            threading.Thread(target=push.send, args=(b"t",)).start()
            return await waiting

        assert run(main()) == [(pull, zmq.POLLIN)]
        assert pull.recv() == b"t"
    finally:
        ctx.destroy(linger=0)


def test_cancelled_poller_poll_unhooks(run: Run, make: Callable[..., zaio.Socket]) -> None:
    pull = make(zmq.PULL)
    _bind(pull, "inproc")
    poller = zaio.Poller()
    poller.register(pull, zmq.POLLIN)

    async def main() -> None:
        task = asyncio.ensure_future(poller.poll())
        await asyncio.sleep(0.01)
        assert len(pull._waker._callbacks) == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run(main())
    assert pull._waker._callbacks == ()


# -- close and term --------------------------------------------------------------------------------


def test_close_cancels_pending_futures(run: Run, make: Callable[..., zaio.Socket]) -> None:
    pull = make(zmq.PULL)
    _bind(pull, "inproc")

    async def main() -> list[bool]:
        futures = [pull.recv(), pull.recv_multipart(), pull.poll()]
        await asyncio.sleep(0)
        pull.close()
        return [f.cancelled() for f in futures]

    assert run(main()) == [True, True, True]
    with pytest.raises(zmq.ZMQError):
        pull.recv()


def test_close_from_another_thread_cancels(run: Run, make: Callable[..., zaio.Socket]) -> None:
    pull = make(zmq.PULL)
    _bind(pull, "inproc")

    async def main() -> list[bool]:
        futures = [pull.recv(), pull.poll()]
        await asyncio.get_running_loop().run_in_executor(None, pull.close)
        for future in futures:
            with pytest.raises(asyncio.CancelledError):
                await future
        return [f.cancelled() for f in futures]

    assert run(main()) == [True, True]


def test_context_term_fails_pending_futures(run: Run) -> None:
    ctx = zaio.Context()
    pull = ctx.socket(zmq.PULL)
    pull.linger = 0
    pull.bind("tcp://127.0.0.1:*")

    async def main() -> tuple[type[BaseException], type[BaseException]]:
        loop = asyncio.get_running_loop()
        pending, polled = pull.recv(), pull.poll()
        term = loop.run_in_executor(None, ctx.term)
        errors = []
        for future in (pending, polled):
            try:
                await future
            except BaseException as exc:
                errors.append(type(exc))
        pull.close()
        await term
        return errors[0], errors[1]

    assert run(main()) == (zmq.ContextTerminated, zmq.ContextTerminated)
    assert ctx.closed


def test_socket_follows_a_new_event_loop(make: Callable[..., zaio.Socket]) -> None:
    pull, push = make(zmq.PULL), make(zmq.PUSH)
    push.connect(_bind(pull, "inproc"))

    async def once(word: bytes) -> bytes:
        pending = pull.recv()
        await push.send(word)
        return bytes(await pending)

    assert asyncio.run(asyncio.wait_for(once(b"one"), BOUND)) == b"one"
    assert asyncio.run(asyncio.wait_for(once(b"two"), BOUND)) == b"two"
