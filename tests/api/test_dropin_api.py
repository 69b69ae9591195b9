"""pyzmq API that real programs use (jupyter_client, ipykernel, tornado-era code, the zguide).

Shadows (``Socket.shadow(sock.underlying)``, ``Socket(other)``, ``Context.shadow``), the
``_socket_class`` hook, ``track=True`` trackers, ``recv_into``, ``fileno``, ``get_hwm`` /
``set_hwm``, upper-case option attributes, the asyncio Socket made directly, the deprecated
names, garbage-collected contexts, delivery at interpreter exit, and many threads making
their first sockets at once.
"""

from __future__ import annotations

import asyncio
import gc
import os
import subprocess
import sys
import textwrap
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

import securemq as zmq
import securemq.asyncio as zaio

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def ctx() -> Iterator[zmq.Context]:
    context = zmq.Context()
    yield context
    context.destroy(linger=0)


def _pair(ctx: zmq.Context, server_type: int = zmq.PULL,
          client_type: int = zmq.PUSH) -> tuple[zmq.Socket, zmq.Socket]:
    server, client = ctx.socket(server_type), ctx.socket(client_type)
    for sock in (server, client):
        sock.linger = 0
        sock.rcvtimeo = sock.sndtimeo = 5000
    port = server.bind_to_random_port("tcp://127.0.0.1")
    client.connect(f"tcp://127.0.0.1:{port}")
    return server, client


# -- shadows -------------------------------------------------------------------------------------
def test_shadow_shares_the_socket(ctx: zmq.Context) -> None:
    server, client = _pair(ctx)
    shadow = zmq.Socket.shadow(client.underlying)
    assert shadow is not client and shadow.underlying == client.underlying
    shadow.send(b"from the shadow")
    assert server.recv() == b"from the shadow"
    shadow.linger = 123
    assert client.linger == 123  # one socket: options are shared
    assert zmq.Socket(client).underlying == client.underlying  # pyzmq's Socket(other)
    assert type(client.__copy__()) is zmq.Socket


def test_sync_shadow_of_an_asyncio_socket_as_jupyter_client_does() -> None:
    """jupyter_client's Session.send: ``zmq.Socket.shadow(stream.underlying)``."""

    async def main() -> list[bytes]:
        context = zaio.Context()
        try:
            pull, push = context.socket(zmq.PULL), context.socket(zmq.PUSH)
            pull.linger = push.linger = 0
            port = pull.bind_to_random_port("tcp://127.0.0.1")
            push.connect(f"tcp://127.0.0.1:{port}")
            sync_push = zmq.Socket.shadow(push.underlying)
            tracker = sync_push.send_multipart([b"a", b"b"], copy=False, track=True)
            assert tracker is not None and tracker.done
            back = zaio.Socket.from_socket(zmq.Socket.shadow(pull.underlying))
            return list(await asyncio.wait_for(back.recv_multipart(), 5))
        finally:
            context.destroy(linger=0)

    assert asyncio.run(main()) == [b"a", b"b"]


def test_a_shadow_never_closes_what_it_shadows(ctx: zmq.Context) -> None:
    server, client = _pair(ctx)
    shadow = zmq.Socket.shadow(client)
    del shadow
    gc.collect()
    assert not client.closed
    client.send(b"still open")
    assert server.recv() == b"still open"


def test_the_shadow_keeps_the_socket_alive(ctx: zmq.Context) -> None:
    server, client = _pair(ctx)
    shadow = zmq.Socket.shadow(client.underlying)
    del client
    gc.collect()
    shadow.send(b"original object gone, socket still there")
    assert server.recv() == b"original object gone, socket still there"


def test_shadow_of_nothing_is_an_error() -> None:
    with pytest.raises(zmq.ZMQError) as info:
        zmq.Socket.shadow(12345)
    assert info.value.errno == zmq.ENOTSOCK
    with pytest.raises(zmq.ZMQError):
        zmq.Context.shadow(12345)


def test_context_shadow(ctx: zmq.Context) -> None:
    other = zmq.Context.shadow(ctx.underlying)
    assert other.underlying == ctx.underlying
    sock = other.socket(zmq.PAIR)
    sock.bind("inproc://shadowed-context")
    peer = ctx.socket(zmq.PAIR)
    peer.connect("inproc://shadowed-context")  # one context: one inproc namespace
    peer.send(b"x")
    assert sock.recv() == b"x"
    del other
    gc.collect()
    assert not ctx.closed  # a shadow does not destroy what it shares


# -- classes -------------------------------------------------------------------------------------
class MySocket(zmq.Socket):
    def tag(self) -> str:
        return "mine"


class MyContext(zmq.Context):
    _socket_class = MySocket


def test_socket_class_hooks() -> None:
    context = MyContext()
    try:
        assert isinstance(context.socket(zmq.PAIR), MySocket)
        assert type(context.socket(zmq.PAIR, socket_class=zmq.Socket)) is zmq.Socket
        context._socket_class = zmq.Socket  # jupyter_client swaps it on an instance
        assert type(context.socket(zmq.PAIR)) is zmq.Socket
    finally:
        context.destroy(linger=0)


def test_asyncio_socket_made_directly_and_awaitable_poll() -> None:
    async def main() -> int:
        context = zaio.Context()
        try:
            pull = zaio.Socket(context, zmq.PULL)
            push = zaio.Socket(context, zmq.PUSH)
            pull.linger = push.linger = 0
            port = pull.bind_to_random_port("tcp://127.0.0.1")
            push.connect(f"tcp://127.0.0.1:{port}")
            await push.send(b"x")
            events = await asyncio.wait_for(pull.poll(5000), 5)
            assert await pull.recv() == b"x"
            return int(events)
        finally:
            context.destroy(linger=0)

    assert asyncio.run(main()) == zmq.POLLIN


def test_deprecated_asyncio_names_warn() -> None:
    with pytest.warns(DeprecationWarning):
        zaio.install()
    with pytest.warns(DeprecationWarning):
        loop = zaio.ZMQEventLoop()
    loop.close()
    assert issubclass(zmq.InterruptedSystemCall, zmq.ZMQError)
    assert zmq.InterruptedSystemCall().errno == __import__("errno").EINTR
    assert issubclass(zmq.DraftFDWarning, RuntimeWarning)


# -- small API -----------------------------------------------------------------------------------
def test_track_returns_a_done_tracker(ctx: zmq.Context) -> None:
    server, client = _pair(ctx)
    assert client.send(b"a") is None
    tracker = client.send(bytearray(b"b"), copy=False, track=True)
    assert isinstance(tracker, zmq.MessageTracker) and tracker.done
    tracker.wait(0)
    assert client.send_multipart([b"c", b"d"], track=True).done  # type: ignore[union-attr]
    assert [server.recv() for _ in range(2)] == [b"a", b"b"]
    assert server.recv_multipart() == [b"c", b"d"]


def test_recv_into(ctx: zmq.Context) -> None:
    server, client = _pair(ctx)
    client.send(b"0123456789")
    client.send(b"xyz")
    buffer = bytearray(4)
    assert server.recv_into(buffer) == 10  # the full size, as zmq_recv
    assert buffer == b"0123"
    big = bytearray(10)
    assert server.recv_into(big, nbytes=2) == 3
    assert big[:3] == b"xy\x00"
    with pytest.raises(TypeError):
        server.recv_into(b"read-only")
    with pytest.raises(ValueError):
        server.recv_into(bytearray(1), nbytes=-1)


def test_fileno_hwm_and_upper_case_options(ctx: zmq.Context) -> None:
    sock = ctx.socket(zmq.DEALER)
    assert sock.fileno() == sock.FD == sock.getsockopt(zmq.FD)
    sock.set_hwm(7)
    assert sock.get_hwm() == 7 and sock.rcvhwm == 7 and sock.sndhwm == 7
    sock.LINGER = 0  # pyzmq: upper-case names set options too
    assert sock.linger == 0 and sock.LINGER == 0
    sock.setsockopt_unicode(zmq.ROUTING_ID, "me")
    assert sock.getsockopt_unicode(zmq.ROUTING_ID) == "me"
    assert zmq.DRAFT_API is zmq.has("draft")


def test_a_garbage_collected_context_is_destroyed() -> None:
    context = zmq.Context()
    sock = context.socket(zmq.PULL)
    sock.linger = 0
    sock.bind("tcp://127.0.0.1:*")
    hub = context.io
    with warnings.catch_warnings():
        # (a recorded ResourceWarning would hold the socket, and the socket its context)
        warnings.simplefilter("ignore", ResourceWarning)
        del sock, context
        gc.collect()
    assert hub.terminated and hub.reactor_if_running is None


# -- lifecycle in a fresh interpreter ------------------------------------------------------------
def _python(code: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("scope", ["module", "function"])
@pytest.mark.parametrize("pattern", ["xpub", "push"])
def test_unclosed_sender_delivers_its_last_message_at_exit(ctx: zmq.Context, scope: str,
                                                           pattern: str) -> None:
    """pyzmq's examples/pubsub/publisher.py: bind an XPUB, wait for the subscriber, send,
    send "done", exit without close() or term() -- from main() or at module level; pyzmq
    delivers everything. (And the same for a PUSH that connects.)"""
    receiver = ctx.socket(zmq.SUB if pattern == "xpub" else zmq.PULL)
    receiver.linger = 0
    receiver.rcvtimeo = 20000
    if pattern == "xpub":
        receiver.subscribe(b"")
        setup = "out = ctx.socket(zmq.XPUB)\n"
        setup += "print(out.bind_to_random_port('tcp://127.0.0.1'), flush=True)\n"
        setup += "out.recv()  # the subscription: the subscriber is there\n"
    else:
        port = receiver.bind_to_random_port("tcp://127.0.0.1")
        setup = f"out = ctx.socket(zmq.PUSH)\nout.connect('tcp://127.0.0.1:{port}')\n"
    count = 100 if pattern == "xpub" else 2000  # (a PUB drops at its HWM, 1000)
    body = "import securemq as zmq\nctx = zmq.Context()\n" + setup + textwrap.dedent(f"""
        for i in range({count}):
            out.send(b"payload %d" % i)
        out.send(b"done")
    """)
    if scope == "function":
        body = "def main():\n" + textwrap.indent(body, "    ") + "\nmain()\n"
    process = subprocess.Popen([sys.executable, "-c", body], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True,
                               env=dict(os.environ, PYTHONPATH=str(ROOT)))
    try:
        if pattern == "xpub":
            assert process.stdout is not None
            receiver.connect(f"tcp://127.0.0.1:{int(process.stdout.readline())}")
        received = [receiver.recv() for _ in range(count + 1)]
        assert received[-1] == b"done" and received[0] == b"payload 0"
        assert process.wait(60) == 0
    finally:
        process.kill()
        process.wait()


@pytest.mark.timeout(120)
def test_linger_zero_drops_at_exit_without_hanging() -> None:
    out = _python("""
        import securemq as zmq
        ctx = zmq.Context()
        push = ctx.socket(zmq.PUSH)
        push.linger = 0
        push.connect("tcp://127.0.0.1:9")  # nobody there: with LINGER 0 exit is immediate
        push.send(b"lost")
        print("exiting")
    """, timeout=30)
    assert out.returncode == 0 and out.stdout.strip() == "exiting", out.stderr


@pytest.mark.timeout(120)
def test_many_threads_first_use_at_once() -> None:
    """zguide lbbroker: many threads create and connect sockets at the same moment in a fresh
    process (each one's first use of securemq's lazily started machinery)."""
    out = _python("""
        import threading
        import securemq as zmq
        ctx = zmq.Context()
        router = ctx.socket(zmq.ROUTER)
        router.linger = 0
        router.rcvtimeo = 20000
        port = router.bind_to_random_port("tcp://127.0.0.1")
        errors = []
        start = threading.Barrier(40)

        def worker(i):
            try:
                start.wait()
                d = ctx.socket(zmq.DEALER)
                d.connect(f"tcp://127.0.0.1:{port}")
                d.send(b"%d" % i)
                d.close()  # (LINGER -1: delivered before the socket goes)
                c = zmq.Context()
                s = c.socket(zmq.REQ)
                s.linger = 0
                s.connect("inproc://nobody")
                c.destroy(0)
            except Exception as exc:
                errors.append(repr(exc))

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(40)]
        for t in threads: t.start()
        for t in threads: t.join()
        got = sorted(int(router.recv_multipart()[1]) for _ in range(40)) if not errors else []
        ctx.destroy(0)
        print(errors or got == list(range(40)))
    """)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "True", out.stdout + out.stderr


def test_threading_is_not_left_running_by_contexts() -> None:
    before = threading.active_count()
    for _ in range(5):
        context = zmq.Context()
        context.socket(zmq.PUSH).bind("tcp://127.0.0.1:*")
        context.destroy(linger=0)
    assert threading.active_count() == before
