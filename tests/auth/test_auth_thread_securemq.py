"""ThreadAuthenticator on a SECUREMQ context: the same handler, securemq sockets around it."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import zmq
from securemq.auth import AuditRecord, ThreadAuthenticator

import securemq

Ctx = securemq.Context


@pytest.fixture
def ctx() -> Iterator[Ctx]:
    context = securemq.Context()
    yield context
    context.destroy(linger=0)


def test_handler_answers_a_zap_request_over_inproc(ctx: Ctx) -> None:
    with ThreadAuthenticator(ctx) as auth:
        auth.configure_plain(passwords={"u": "p"})
        req = ctx.socket(securemq.REQ)
        req.connect("inproc://zeromq.zap.01")
        req.send_multipart([b"1.0", b"9", b"", b"127.0.0.1", b"", b"PLAIN", b"u", b"p"])
        assert req.poll(5000)
        assert req.recv_multipart() == [b"1.0", b"9", b"200", b"OK", b"u", b""]
        req.close(0)


def test_securemq_plain_server_with_pyzmq_client(ctx: Ctx) -> None:
    decided = threading.Event()
    records: list[AuditRecord] = []

    def on_decision(record: AuditRecord) -> None:
        records.append(record)
        decided.set()

    pyzmq_ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    try:
        with ThreadAuthenticator(ctx, on_decision=on_decision) as auth:
            auth.configure_plain(passwords={"u": "p"})
            server = ctx.socket(securemq.DEALER)
            server.plain_server = True
            port = server.bind_to_random_port("tcp://127.0.0.1")
            for password, accepted in ((b"p", True), (b"bad", False)):
                decided.clear()
                client = pyzmq_ctx.socket(zmq.DEALER)
                client.linger = 0
                client.plain_username = b"u"
                client.plain_password = password
                client.connect(f"tcp://127.0.0.1:{port}")
                client.send(b"hi")
                assert decided.wait(5)
                assert records[-1].status == (200 if accepted else 400)
                if accepted:
                    assert server.poll(5000)
                    frame = server.recv(copy=False)
                    assert frame.bytes == b"hi" and frame.get("User-Id") == "u"
                else:
                    assert not server.poll(100)
                client.close()
            server.close(0)
    finally:
        pyzmq_ctx.destroy(linger=0)
