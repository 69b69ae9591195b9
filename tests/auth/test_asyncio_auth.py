"""AsyncioAuthenticator: the ZAP handler as an asyncio task, with securemq and pyzmq clients."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import pytest
import zmq as pyzmq
import zmq.asyncio as pyzmq_asyncio
from securemq.auth.asyncio import AsyncioAuthenticator
from securemq.auth.handler import AuditRecord

import securemq as zmq
import securemq.asyncio as zaio

BOUND = 5.0


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(asyncio.wait_for(coro, BOUND))


@pytest.fixture
def actx() -> Iterator[zaio.Context]:
    context = zaio.Context()
    yield context
    context.destroy(linger=0)


@pytest.fixture
def pctx() -> Iterator[pyzmq.Context[pyzmq.Socket[bytes]]]:
    context: pyzmq.Context[pyzmq.Socket[bytes]] = pyzmq.Context()
    yield context
    context.destroy(linger=0)


class Decisions:
    """Audit records as an asyncio queue (on_decision runs on the loop, in the handler task)."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[AuditRecord] = asyncio.Queue()

    def __call__(self, record: AuditRecord) -> None:
        self.queue.put_nowait(record)

    async def next(self) -> AuditRecord:
        return await asyncio.wait_for(self.queue.get(), 3)


def _server(ctx: Any, configure: Callable[[Any], None]) -> tuple[Any, str]:
    server = ctx.socket(zmq.DEALER)
    server.linger = 0
    configure(server)
    server.bind("tcp://127.0.0.1:*")
    return server, bytes(server.getsockopt(zmq.LAST_ENDPOINT)).decode()


def _client(ctx: Any, endpoint: str, configure: Callable[[Any], None]) -> Any:
    client = ctx.socket(zmq.DEALER)
    client.linger = 0
    configure(client)
    client.connect(endpoint)
    return client


def _plain_client(username: bytes, password: bytes) -> Callable[[Any], None]:
    def configure(sock: Any) -> None:
        sock.plain_username = username
        sock.plain_password = password

    return configure


def _plain_server(sock: Any) -> None:
    sock.plain_server = True


async def _delivered(server: Any) -> Any:
    return await asyncio.wait_for(server.recv(copy=False), 3)


# -- PLAIN ------------------------------------------------------------------------------------


def test_plain_with_securemq_asyncio_clients(actx: zaio.Context) -> None:
    async def main() -> None:
        decisions = Decisions()
        auth = AsyncioAuthenticator(actx, on_decision=decisions)
        auth.start()
        assert auth.is_alive()
        auth.configure_plain(passwords={"admin": "secret"})
        server, endpoint = _server(actx, _plain_server)

        good = _client(actx, endpoint, _plain_client(b"admin", b"secret"))
        await good.send(b"hello")
        frame = await _delivered(server)
        assert frame.bytes == b"hello" and frame.get("User-Id") == "admin"
        assert (await decisions.next()).status == 200

        bad = _client(actx, endpoint, _plain_client(b"admin", b"wrong"))
        await bad.send(b"intruder")
        record = await decisions.next()
        assert (record.status, record.principal) == (400, "admin")
        assert await server.poll(100) == 0
        auth.stop()
        assert not auth.is_alive()

    run(main())


def test_plain_with_pyzmq_client(actx: zaio.Context,
                                 pctx: pyzmq.Context[pyzmq.Socket[bytes]]) -> None:
    async def main() -> None:
        decisions = Decisions()
        auth = AsyncioAuthenticator(actx, on_decision=decisions)
        auth.start()
        auth.configure_plain(passwords={"u": "p"})
        server, endpoint = _server(actx, _plain_server)
        for password, status in ((b"p", 200), (b"nope", 400)):
            client = _client(pctx, endpoint, _plain_client(b"u", password))
            client.send(b"from pyzmq")
            assert (await decisions.next()).status == status
            if status == 200:
                frame = await _delivered(server)
                assert frame.bytes == b"from pyzmq" and frame.get("User-Id") == "u"
            else:
                assert await server.poll(100) == 0
            client.close()
        auth.stop()

    run(main())


def test_serves_a_sync_securemq_context() -> None:
    ctx = zmq.Context()
    try:

        async def main() -> None:
            decisions = Decisions()
            auth = AsyncioAuthenticator(ctx, on_decision=decisions)
            auth.start()
            auth.configure_plain(passwords={"u": "p"})
            req = ctx.socket(zmq.REQ)
            req.linger = 0
            req.connect("inproc://zeromq.zap.01")
            req.send_multipart([b"1.0", b"7", b"", b"127.0.0.1", b"", b"PLAIN", b"u", b"p"])
            assert (await decisions.next()).status == 200
            poller = zaio.Poller()
            poller.register(req, zmq.POLLIN)
            assert await poller.poll(2000) == [(req, zmq.POLLIN)]
            assert req.recv_multipart() == [b"1.0", b"7", b"200", b"OK", b"u", b""]
            auth.stop()

        run(main())
    finally:
        ctx.destroy(linger=0)


# -- CURVE with an async credentials provider ---------------------------------------------------


def _curve_server(public: bytes, secret: bytes) -> Callable[[Any], None]:
    def configure(sock: Any) -> None:
        sock.curve_server = True
        sock.curve_publickey, sock.curve_secretkey = public, secret

    return configure


def _curve_client(server_public: bytes, pair: tuple[bytes, bytes]) -> Callable[[Any], None]:
    def configure(sock: Any) -> None:
        sock.curve_serverkey = server_public
        sock.curve_publickey, sock.curve_secretkey = pair

    return configure


@pytest.mark.parametrize("client_lib", ["securemq", "pyzmq"])
def test_async_curve_callback(actx: zaio.Context, pctx: pyzmq.Context[pyzmq.Socket[bytes]],
                              client_lib: str) -> None:
    server_public, server_secret = zmq.curve_keypair()
    good_pair = zmq.curve_keypair()
    client_ctx: Any = actx if client_lib == "securemq" else pctx
    asked: list[tuple[str, bytes, bool]] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()

        class Provider:
            async def callback(self, domain: str, key: bytes) -> bool:
                await asyncio.sleep(0.001)  # really awaited, on the authenticator's loop
                asked.append((domain, key, asyncio.get_running_loop() is loop))
                return key == good_pair[0]

        decisions = Decisions()
        auth = AsyncioAuthenticator(actx, on_decision=decisions)
        auth.start()
        auth.configure_curve_callback(domain="*", credentials_provider=Provider())
        server, endpoint = _server(actx, _curve_server(server_public, server_secret))

        good = _client(client_ctx, endpoint, _curve_client(server_public, good_pair))
        sent = good.send(b"trusted")
        if asyncio.isfuture(sent):
            await sent
        assert (await decisions.next()).status == 200
        frame = await _delivered(server)
        assert frame.bytes == b"trusted"
        assert frame.get("User-Id") == good_pair[0].decode()

        bad = _client(client_ctx, endpoint, _curve_client(server_public, zmq.curve_keypair()))
        sent = bad.send(b"stranger")
        if asyncio.isfuture(sent):
            await sent
        assert (await decisions.next()).status == 400
        assert await server.poll(100) == 0
        auth.stop()

    run(main())
    assert asked[0] == ("*", good_pair[0], True)
    assert asked[1][2] and asked[1][1] != good_pair[0]


# -- lifecycle ----------------------------------------------------------------------------------


def test_stop_frees_the_endpoint_and_restart_works(actx: zaio.Context) -> None:
    async def main() -> None:
        auth = AsyncioAuthenticator(actx)
        auth.start()
        with pytest.raises(RuntimeError, match="already running"):
            auth.start()
        auth.stop()
        await asyncio.sleep(0)
        assert not auth.is_alive()
        with AsyncioAuthenticator(actx) as again:
            again.configure_plain(passwords={"u": "p"})
            req = actx.socket(zmq.REQ)
            req.linger = 0
            req.connect("inproc://zeromq.zap.01")
            await req.send_multipart([b"1.0", b"1", b"", b"", b"", b"PLAIN", b"u", b"x"])
            reply = await asyncio.wait_for(req.recv_multipart(), 3)
            assert reply[2] == b"400"
            req.close()

    run(main())


def test_start_needs_a_loop(actx: zaio.Context) -> None:
    auth = AsyncioAuthenticator(actx)
    with pytest.raises(RuntimeError, match="running event loop"):
        auth.start()
    assert auth.zap_socket is None


def test_explicit_loop_argument(actx: zaio.Context) -> None:
    loop = asyncio.new_event_loop()
    try:
        auth = AsyncioAuthenticator(actx, loop=loop)
        auth.start()  # outside the loop: the task is created on the given loop
        assert auth.is_alive()
        auth.configure_plain(passwords={"u": "p"})

        async def ask() -> list[bytes]:
            req = actx.socket(zmq.REQ)
            req.linger = 0
            req.connect("inproc://zeromq.zap.01")
            await req.send_multipart([b"1.0", b"2", b"", b"", b"", b"PLAIN", b"u", b"p"])
            reply: list[bytes] = await asyncio.wait_for(req.recv_multipart(), 3)
            req.close()
            return reply

        assert loop.run_until_complete(ask())[2] == b"200"
        auth.stop()
        loop.run_until_complete(asyncio.sleep(0))
    finally:
        loop.close()


def test_on_a_pyzmq_asyncio_context() -> None:
    pctx = pyzmq_asyncio.Context()
    try:

        async def main() -> None:
            decisions = Decisions()
            auth = AsyncioAuthenticator(pctx, on_decision=decisions)
            auth.start()
            auth.configure_plain(passwords={"u": "p"})
            server, endpoint = _server(pctx, _plain_server)
            client = _client(pctx, endpoint, _plain_client(b"u", b"p"))
            await client.send(b"libzmq both ways")
            assert (await decisions.next()).status == 200
            frame = await _delivered(server)
            assert frame.bytes == b"libzmq both ways" and frame.get("User-Id") == "u"
            auth.stop()

        run(main())
    finally:
        pctx.destroy(linger=0)
