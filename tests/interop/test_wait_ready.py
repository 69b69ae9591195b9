"""Knowing whether a socket is connected and authenticated: ``wait_ready`` (blocking and
asyncio) against libzmq servers and securemq servers, ``wait_for_subscribers``, and libzmq's
draft RECONNECT_STOP, run side by side with libzmq where libzmq has it.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import time
from collections.abc import Iterator
from typing import Any

import pytest
import zmq
import zmq.auth.thread

import securemq
import securemq.asyncio
from securemq import auth as smq_auth
from securemq.io.status import Failure, Outcome
from securemq.readiness import verdict

from .conftest import configure

LIBS = {"securemq": securemq, "pyzmq": zmq}


@pytest.fixture
def auths() -> Iterator[list[Any]]:
    started: list[Any] = []
    yield started
    for auth in started:
        auth.stop()


def authenticator(contexts: dict[str, Any], lib: str, auths: list[Any]) -> Any:
    auth = (smq_auth.ThreadAuthenticator if lib == "securemq"
            else zmq.auth.thread.ThreadAuthenticator)(contexts[lib])
    auth.start()
    auths.append(auth)
    return auth


def server(contexts: dict[str, Any], lib: str, mechanism: str = "NULL") -> tuple[Any, bytes]:
    """A REP server bound on loopback; returns it and its CURVE public key (if any)."""
    sock = configure(contexts[lib].socket(zmq.REP))
    public = b""
    if mechanism == "PLAIN":
        sock.plain_server = True
    elif mechanism == "CURVE":
        public, secret = zmq.curve_keypair()
        sock.curve_server = True
        sock.curve_secretkey = secret
    sock.bind("tcp://127.0.0.1:*")
    return sock, public


def client(contexts: dict[str, Any], **options: Any) -> securemq.Socket:
    sock: securemq.Socket = configure(contexts["securemq"].socket(securemq.REQ))
    for name, value in options.items():
        setattr(sock, name, value)
    return sock


def endpoint(sock: Any) -> str:
    return str(sock.getsockopt(zmq.LAST_ENDPOINT).decode())


SERVERS = pytest.mark.parametrize("server_lib", ["pyzmq", "securemq"])


# -- the verdict (pure) -------------------------------------------------------------------------


def test_verdict_table() -> None:
    auth = Outcome("tcp://a", Failure.AUTH, "x", 400, "not authorized")
    key = Outcome("tcp://a", Failure.SERVER_KEY, "closed")
    refused = Outcome("tcp://a", Failure.REFUSED, "connection refused")
    stopped = Outcome("tcp://a", Failure.REFUSED, "connection refused", final=True)
    assert verdict(1, [auth], 1) is None  # something is up: no error
    assert isinstance(verdict(0, [refused, auth], 1), securemq.AuthenticationFailed)
    assert isinstance(verdict(0, [key], 1), securemq.ServerKeyRejected)
    assert verdict(0, [refused], 1) is None  # retrying: keep waiting
    assert verdict(0, [stopped], 1) is None  # another connect() is still dialed
    assert isinstance(verdict(0, [stopped], 0), securemq.ReconnectStopped)


# -- wait_ready ---------------------------------------------------------------------------------


@SERVERS
def test_ready_when_the_handshake_completes(contexts: dict[str, Any], server_lib: str) -> None:
    srv, public = server(contexts, server_lib, "CURVE")
    cli = client(contexts, curve_serverkey=public)
    cli.curve_publickey, cli.curve_secretkey = securemq.curve_keypair()
    cli.connect(endpoint(srv))
    cli.wait_ready(5)
    cli.send(b"ping")
    assert srv.recv() == b"ping"


@SERVERS
def test_refused_credentials_are_authentication_failed(contexts: dict[str, Any],
                                                       server_lib: str, auths: list[Any]) -> None:
    authenticator(contexts, server_lib, auths).configure_plain(
        domain="*", passwords={"alice": "right"})
    srv, _ = server(contexts, server_lib, "PLAIN")
    cli = client(contexts, plain_username=b"alice", plain_password=b"wrong")
    cli.connect(endpoint(srv))
    started = time.monotonic()
    with pytest.raises(securemq.AuthenticationFailed) as info:
        cli.wait_ready(5)
    assert time.monotonic() - started < 4, "an auth refusal must end the wait at once"
    assert (info.value.status, info.value.reason) == (400, "not authorized")
    assert info.value.endpoint == endpoint(srv)
    assert "authentication failed" in str(info.value)


@SERVERS
def test_wrong_server_key_is_named(contexts: dict[str, Any], server_lib: str) -> None:
    srv, _ = server(contexts, server_lib, "CURVE")
    someone_else, _ = zmq.curve_keypair()
    cli = client(contexts, curve_serverkey=someone_else)
    cli.curve_publickey, cli.curve_secretkey = securemq.curve_keypair()
    cli.connect(endpoint(srv))
    with pytest.raises(securemq.ServerKeyRejected) as info:
        cli.wait_ready(5)
    assert "wrong server key" in str(info.value)


def test_timeout_names_the_last_failure(contexts: dict[str, Any]) -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now
    cli = client(contexts, reconnect_ivl=20)
    cli.connect(f"tcp://127.0.0.1:{port}")
    with pytest.raises(securemq.HandshakeTimeout) as info:
        cli.wait_ready(0.3)
    assert isinstance(info.value, securemq.Again) and isinstance(info.value, TimeoutError)
    assert "refused" in str(info.value).lower()


def test_a_bound_socket_waits_for_its_first_client(contexts: dict[str, Any]) -> None:
    srv = configure(contexts["securemq"].socket(securemq.REP))
    srv.bind("tcp://127.0.0.1:*")
    with pytest.raises(securemq.HandshakeTimeout):
        srv.wait_ready(0.1)
    peer = configure(contexts["pyzmq"].socket(zmq.REQ))
    peer.connect(endpoint(srv))
    srv.wait_ready(5)


def test_unconnected_socket_is_an_error(contexts: dict[str, Any]) -> None:
    with pytest.raises(securemq.HandshakeError) as info:
        client(contexts).wait_ready(1)
    assert info.value.errno == zmq.EFSM


def test_inproc_peer_counts(contexts: dict[str, Any]) -> None:
    ctx = contexts["securemq"]
    rep = configure(ctx.socket(securemq.REP))
    rep.bind("inproc://ready")
    req = configure(ctx.socket(securemq.REQ))
    req.connect("inproc://ready")
    req.wait_ready(1)


def test_asyncio_wait_ready(contexts: dict[str, Any], auths: list[Any]) -> None:
    authenticator(contexts, "pyzmq", auths).configure_plain(
        domain="*", passwords={"alice": "right"})
    good, _ = server(contexts, "pyzmq", "PLAIN")

    async def scenario() -> None:
        ctx = securemq.asyncio.Context()
        try:
            ok = ctx.socket(securemq.REQ)
            ok.linger = 0
            ok.plain_username, ok.plain_password = b"alice", b"right"
            ok.connect(endpoint(good))
            await ok.wait_ready(5)
            bad = ctx.socket(securemq.REQ)
            bad.linger = 0
            bad.plain_username, bad.plain_password = b"alice", b"wrong"
            bad.connect(endpoint(good))
            with pytest.raises(securemq.AuthenticationFailed):
                await bad.wait_ready(5)
            idle = ctx.socket(securemq.REQ)
            idle.linger = 0
            idle.connect("tcp://127.0.0.1:1")
            with pytest.raises(securemq.HandshakeTimeout):
                await idle.wait_ready(0.2)
        finally:
            ctx.destroy(linger=0)

    asyncio.run(asyncio.wait_for(scenario(), 20))


# -- RECONNECT_STOP (libzmq draft), side by side ------------------------------------------------


def _events_for(monitor: Any, seconds: float) -> list[int]:
    seen = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        if monitor.poll(int(left * 1000) + 1):
            head, _ = monitor.recv_multipart()
            seen.append(struct.unpack("<HI", head)[0])
    return seen


@pytest.mark.parametrize("lib", ["securemq", "pyzmq"])
@pytest.mark.parametrize("flag", [0, 1], ids=["default", "CONN_REFUSED"])
def test_reconnect_stop_on_refusal(contexts: dict[str, Any], lib: str, flag: int) -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    sock = configure(contexts[lib].socket(zmq.DEALER))
    sock.setsockopt(zmq.RECONNECT_IVL, 20)
    sock.setsockopt(109, flag)  # ZMQ_RECONNECT_STOP
    monitor = sock.get_monitor_socket()
    configure(monitor)
    sock.connect(f"tcp://127.0.0.1:{port}")
    retried = zmq.EVENT_CONNECT_RETRIED in _events_for(monitor, 0.4)
    assert retried == (flag == 0), (lib, flag)


@pytest.mark.parametrize("lib", ["securemq", "pyzmq"])
def test_reconnect_stop_on_failed_handshake(contexts: dict[str, Any], lib: str) -> None:
    """A server that is not ZMTP (it hangs up at once) ends the connect() for good with
    HANDSHAKE_FAILED, and is redialed without it."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(5)
    port = listener.getsockname()[1]
    counts = {}
    for flag in (0, 2):
        sock = configure(contexts[lib].socket(zmq.DEALER))
        sock.setsockopt(zmq.RECONNECT_IVL, 20)
        sock.setsockopt(109, flag)
        sock.connect(f"tcp://127.0.0.1:{port}")
        accepted = 0
        deadline = time.monotonic() + 0.6
        listener.settimeout(0.05)
        while time.monotonic() < deadline:
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            conn.close()
            accepted += 1
        sock.close()
        counts[flag] = accepted
    listener.close()
    assert counts[0] > 2, counts  # redialed again and again
    assert counts[2] == 1, counts  # once, then never again


def test_reconnect_stopped_is_what_wait_ready_says(contexts: dict[str, Any]) -> None:
    cli = client(contexts, reconnect_stop=1)
    cli.connect("tcp://127.0.0.1:1")
    started = time.monotonic()
    with pytest.raises(securemq.ReconnectStopped) as info:
        cli.wait_ready(5)
    assert time.monotonic() - started < 4
    assert "connection refused" in str(info.value)


# -- wait_for_subscribers -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["PUB", "XPUB"])
def test_wait_for_subscribers_then_nothing_is_lost(contexts: dict[str, Any], kind: str) -> None:
    pub = configure(contexts["securemq"].socket(getattr(securemq, kind)))
    pub.bind("tcp://127.0.0.1:*")
    subs = []
    for topic in (b"a", b""):
        sub = configure(contexts["pyzmq"].socket(zmq.SUB))
        sub.connect(endpoint(pub))
        sub.subscribe(topic)
        subs.append(sub)
    assert pub.wait_for_subscribers(2, 5) == 2
    pub.send(b"a first")  # the slow joiner's first message is not dropped any more
    assert [sub.recv() for sub in subs] == [b"a first", b"a first"]
    if kind == "XPUB":  # the application still sees the subscriptions it waited for
        assert sorted(pub.recv() for _ in range(2)) == [b"\x01", b"\x01a"]


def test_wait_for_subscribers_times_out_and_is_for_publishers(contexts: dict[str, Any]) -> None:
    pub = configure(contexts["securemq"].socket(securemq.PUB))
    pub.bind("tcp://127.0.0.1:*")
    with pytest.raises(securemq.WaitTimeout) as info:
        pub.wait_for_subscribers(1, 0.1)
    assert "0 of 1" in str(info.value)
    with pytest.raises(securemq.ZMQError) as refused:
        client(contexts).wait_for_subscribers(1, 0.1)
    assert refused.value.errno == zmq.ENOTSUP
