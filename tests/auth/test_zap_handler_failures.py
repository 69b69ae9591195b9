"""A securemq server whose ZAP handler fails to answer (REFERENCE.md 4.5), for NULL, PLAIN, CURVE.

How this works: the test itself is the ZAP handler. It binds a securemq ROUTER (or REP) at
inproc://zeromq.zap.01 in the server's context and reads it from the test thread, so it decides
exactly when a request is read, answered, or abandoned; the server's handshakes run on the
reactor thread meanwhile. Clients are pyzmq (libzmq 4.3.5) sockets in their own context, with
reconnection off where a retry would blur the outcome (a retry after the handler is gone is let
in by design for NULL and CURVE). Every wait is a poll or a monitor read with a deadline; the
only sleep is the deliberately slow handler's.

Cases:
- the handler reads the request and closes without replying, or never reads it and closes:
  the server reports HANDSHAKE_FAILED_NO_DETAIL / EPIPE and delivers nothing; a handler bound
  again afterwards serves a good client on the same server socket;
- ZAP_ENFORCE_DOMAIN=1, a domain and no handler: NO_DETAIL / EFAULT for every mechanism;
  without enforcement NULL and CURVE connect and PLAIN fails (NO_DETAIL / EFAULT);
- a slow answer to one client does not hold up another client answered out of order;
- the request frames equal, frame for frame, what a libzmq server sends its own handler.
"""

from __future__ import annotations

import errno
import shutil
import struct
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import zmq
from zmq.utils.z85 import decode as z85_decode

import securemq

TIMEOUT_MS = 3000
QUIET_MS = 200  # how long "nothing is delivered" is watched
SLOW_HANDLER_S = 1.0
DOMAIN = b"ZAPTEST"
ZAP_ENDPOINT = "inproc://zeromq.zap.01"
MECHANISMS = ["NULL", "PLAIN", "CURVE"]

SERVER_PUBLIC, SERVER_SECRET = zmq.curve_keypair()
CLIENT_PUBLIC, CLIENT_SECRET = zmq.curve_keypair()

HANDSHAKE_OUTCOMES = {
    zmq.EVENT_HANDSHAKE_SUCCEEDED,
    zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL,
    zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL,
    zmq.EVENT_HANDSHAKE_FAILED_AUTH,
}


# -- fixtures -----------------------------------------------------------------------------------


@pytest.fixture
def smq_ctx() -> Iterator[securemq.Context]:
    ctx = securemq.Context()
    yield ctx
    ctx.destroy(linger=0)


@pytest.fixture
def pz_ctx() -> Iterator[zmq.Context[zmq.Socket[bytes]]]:
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    yield ctx
    ctx.destroy(linger=0)


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A short directory for ipc endpoints (AF_UNIX paths are limited to 107 bytes)."""
    path = Path(tempfile.mkdtemp(prefix="smq-zap-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


# -- sockets ------------------------------------------------------------------------------------


def bounded(sock: Any) -> Any:
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.RCVTIMEO, TIMEOUT_MS)
    sock.setsockopt(zmq.SNDTIMEO, TIMEOUT_MS)
    return sock


def bind_handler(ctx: Any, socket_type: int = zmq.ROUTER) -> Any:
    """The test's own ZAP handler socket (securemq or pyzmq, matching ``ctx``)."""
    sock = bounded(ctx.socket(socket_type))
    sock.bind(ZAP_ENDPOINT)
    return sock


@dataclass
class Server:
    sock: Any
    monitor: Any
    endpoint: str


def make_server(ctx: Any, mechanism: str, *, domain: bytes | None = DOMAIN,
                routing_id: bytes | None = None, enforce: bool = False,
                endpoint: str = "tcp://127.0.0.1") -> Server:
    sock = bounded(ctx.socket(zmq.DEALER))
    if domain is not None:
        sock.zap_domain = domain
    if routing_id is not None:
        sock.routing_id = routing_id
    if enforce:
        sock.setsockopt(securemq.SocketOption.ZAP_ENFORCE_DOMAIN, 1)
    if mechanism == "PLAIN":
        sock.plain_server = True
    elif mechanism == "CURVE":
        sock.curve_server = True
        sock.curve_publickey = SERVER_PUBLIC
        sock.curve_secretkey = SERVER_SECRET
    monitor = bounded(sock.get_monitor_socket())
    if endpoint.startswith("tcp"):
        port = sock.bind_to_random_port(endpoint)
        return Server(sock, monitor, f"{endpoint}:{port}")
    sock.bind(endpoint)
    return Server(sock, monitor, endpoint)


def make_client(ctx: Any, server: Server, mechanism: str, *, reconnect: bool = True,
                username: bytes = b"admin") -> Any:
    sock = bounded(ctx.socket(zmq.DEALER))
    if not reconnect:
        sock.reconnect_ivl = -1
    if mechanism == "PLAIN":
        sock.plain_username = username
        sock.plain_password = b"password"
    elif mechanism == "CURVE":
        sock.curve_serverkey = SERVER_PUBLIC
        sock.curve_publickey = CLIENT_PUBLIC
        sock.curve_secretkey = CLIENT_SECRET
    sock.connect(server.endpoint)
    return sock


# -- ZAP and monitor helpers --------------------------------------------------------------------


def read_request(handler: Any) -> tuple[list[bytes], list[bytes]]:
    """(envelope, request frames) of the next request on a ROUTER or REP handler."""
    assert handler.poll(TIMEOUT_MS), "ZAP handler: no request arrived"
    frames: list[bytes] = handler.recv_multipart()
    if handler.type == zmq.REP:
        return [], frames
    assert len(frames) >= 2 and frames[1] == b"", f"ZAP handler: bad envelope {frames[:2]!r}"
    return frames[:2], frames[2:]


def answer(handler: Any, envelope: list[bytes], request: list[bytes],
           status: bytes = b"200") -> None:
    handler.send_multipart([*envelope, b"1.0", request[1], status, b"OK", b"user", b""])


def next_outcome(monitor: Any, timeout_ms: int = TIMEOUT_MS) -> tuple[int, int] | None:
    """(event, value) of the next handshake outcome on a monitor, None by the deadline."""
    deadline = time.monotonic() + timeout_ms / 1000
    while (left := deadline - time.monotonic()) > 0:
        if not monitor.poll(int(left * 1000) + 1):
            return None
        head = monitor.recv_multipart()[0]
        event, value = struct.unpack("<HI", head[:6])
        if event in HANDSHAKE_OUTCOMES:
            return int(event), int(value)
    return None


def receive(server: Server) -> bytes:
    assert server.sock.poll(TIMEOUT_MS), "server: nothing delivered"
    got: bytes = server.sock.recv()
    return got


def nothing_delivered(server: Server) -> bool:
    return not server.sock.poll(QUIET_MS)


def good_client_after_rebind(smq_ctx: securemq.Context, pz_ctx: Any, server: Server,
                             mechanism: str) -> None:
    """A handler bound again serves a new client on the same server socket."""
    handler = bind_handler(smq_ctx)
    try:
        client = make_client(pz_ctx, server, mechanism)
        client.send(b"good")
        envelope, request = read_request(handler)
        answer(handler, envelope, request)
        assert next_outcome(server.monitor) == (zmq.EVENT_HANDSHAKE_SUCCEEDED, 0)
        assert receive(server) == b"good"
        client.close(linger=0)
    finally:
        handler.close(linger=0)


# -- the handler goes away without answering ----------------------------------------------------

EPIPE_FAILURE = (zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL, errno.EPIPE)
EFAULT_FAILURE = (zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL, errno.EFAULT)


@pytest.mark.parametrize("handler_type", [zmq.ROUTER, zmq.REP], ids=["ROUTER", "REP"])
@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_handler_reads_request_then_closes_without_reply(
    smq_ctx: securemq.Context, pz_ctx: Any, mechanism: str, handler_type: int
) -> None:
    handler = bind_handler(smq_ctx, handler_type)
    server = make_server(smq_ctx, mechanism)
    client = make_client(pz_ctx, server, mechanism, reconnect=False)
    client.send(b"sneaky")
    _, request = read_request(handler)
    assert request[:2] == [b"1.0", b"1"] and request[5] == mechanism.encode()
    handler.close(linger=0)
    assert next_outcome(server.monitor) == EPIPE_FAILURE
    assert nothing_delivered(server)
    client.close(linger=0)
    good_client_after_rebind(smq_ctx, pz_ctx, server, mechanism)


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_handler_never_reads_request_then_closes(
    smq_ctx: securemq.Context, pz_ctx: Any, mechanism: str
) -> None:
    handler = bind_handler(smq_ctx)
    server = make_server(smq_ctx, mechanism)
    client = make_client(pz_ctx, server, mechanism, reconnect=False)
    client.send(b"sneaky")
    # poll() reports the queued request without taking it off the socket
    assert handler.poll(TIMEOUT_MS, zmq.POLLIN), "ZAP handler: no request arrived"
    handler.close(linger=0)
    assert next_outcome(server.monitor) == EPIPE_FAILURE
    assert nothing_delivered(server)
    client.close(linger=0)
    good_client_after_rebind(smq_ctx, pz_ctx, server, mechanism)


# -- no handler bound ---------------------------------------------------------------------------


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_enforced_domain_without_handler_fails_efault(
    smq_ctx: securemq.Context, pz_ctx: Any, mechanism: str
) -> None:
    server = make_server(smq_ctx, mechanism, enforce=True)
    assert server.sock.getsockopt(securemq.SocketOption.ZAP_ENFORCE_DOMAIN) == 1
    client = make_client(pz_ctx, server, mechanism)
    client.send(b"sneaky")
    assert next_outcome(server.monitor) == EFAULT_FAILURE
    assert nothing_delivered(server)


@pytest.mark.parametrize(
    ("mechanism", "connects"), [("NULL", True), ("PLAIN", False), ("CURVE", True)]
)
def test_unenforced_domain_without_handler(
    smq_ctx: securemq.Context, pz_ctx: Any, mechanism: str, connects: bool
) -> None:
    server = make_server(smq_ctx, mechanism)
    assert server.sock.getsockopt(securemq.SocketOption.ZAP_ENFORCE_DOMAIN) == 0
    client = make_client(pz_ctx, server, mechanism)
    client.send(b"hello")
    if connects:
        assert next_outcome(server.monitor) == (zmq.EVENT_HANDSHAKE_SUCCEEDED, 0)
        assert receive(server) == b"hello"
    else:
        assert next_outcome(server.monitor) == EFAULT_FAILURE
        assert nothing_delivered(server)


# -- a slow answer holds up only its own connection ---------------------------------------------


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_slow_answer_delays_only_that_connection(
    smq_ctx: securemq.Context, pz_ctx: Any, mechanism: str
) -> None:
    handler = bind_handler(smq_ctx)
    server = make_server(smq_ctx, mechanism)

    slow = make_client(pz_ctx, server, mechanism, username=b"slow")
    slow.send(b"slow")
    slow_envelope, slow_request = read_request(handler)
    asked_at = time.monotonic()

    fast = make_client(pz_ctx, server, mechanism, username=b"fast")
    fast.send(b"fast")
    fast_envelope, fast_request = read_request(handler)
    assert fast_envelope[0] != slow_envelope[0], "both requests came on one handler pipe"
    if mechanism == "PLAIN":
        assert (slow_request[6], fast_request[6]) == (b"slow", b"fast")

    answer(handler, fast_envelope, fast_request)  # out of order: the second client first
    assert next_outcome(server.monitor) == (zmq.EVENT_HANDSHAKE_SUCCEEDED, 0)
    assert receive(server) == b"fast"
    assert time.monotonic() - asked_at < SLOW_HANDLER_S, "the fast client waited for the slow one"
    assert not server.sock.poll(0), "the slow client got in before its ZAP answer"

    time.sleep(max(0.0, SLOW_HANDLER_S - (time.monotonic() - asked_at)))  # the slow handler
    answer(handler, slow_envelope, slow_request)
    assert next_outcome(server.monitor) == (zmq.EVENT_HANDSHAKE_SUCCEEDED, 0)
    assert receive(server) == b"slow"
    handler.close(linger=0)


# -- the request frames are libzmq's ------------------------------------------------------------


def capture_request(server_ctx: Any, client_ctx: Any, mechanism: str, endpoint: str,
                    domain: bytes | None, routing_id: bytes | None) -> list[bytes]:
    """The ZAP request a server in ``server_ctx`` sends its handler for one client from
    ``client_ctx``; the handler accepts it and the client's message must then arrive."""
    handler = bind_handler(server_ctx)
    server = make_server(server_ctx, mechanism, domain=domain, routing_id=routing_id,
                         endpoint=endpoint)
    client = make_client(client_ctx, server, mechanism)
    try:
        client.send(b"hello")
        envelope, request = read_request(handler)
        answer(handler, envelope, request)
        assert receive(server) == b"hello"
        assert not handler.poll(QUIET_MS // 2), "ZAP handler: a second request for one client"
        return request
    finally:
        for sock in (client, server.monitor, server.sock, handler):
            sock.close(linger=0)


# (mechanism, transport, ZAP_DOMAIN, ROUTING_ID of the server)
FRAME_CASES = [
    ("NULL", "tcp", DOMAIN, b"IDENT"),
    ("PLAIN", "tcp", DOMAIN, b"IDENT"),
    ("CURVE", "tcp", DOMAIN, b"IDENT"),
    ("PLAIN", "tcp", None, None),
    ("CURVE", "tcp", None, None),
    ("NULL", "ipc", DOMAIN, b"IDENT"),
    ("PLAIN", "ipc", DOMAIN, None),
    ("CURVE", "ipc", None, b"IDENT"),
]


@pytest.mark.parametrize("client_lib", ["pyzmq", "securemq"], ids=["pyzmq_client", "smq_client"])
@pytest.mark.parametrize(("mechanism", "transport", "domain", "routing_id"), FRAME_CASES)
def test_request_frames_match_libzmq(
    smq_ctx: securemq.Context, pz_ctx: Any, short_dir: Path, client_lib: str, mechanism: str,
    transport: str, domain: bytes | None, routing_id: bytes | None,
) -> None:
    client_ctx = pz_ctx if client_lib == "pyzmq" else smq_ctx
    ipc = f"ipc://{short_dir}/%s.ipc"
    base = "tcp://127.0.0.1" if transport == "tcp" else ipc
    ours = capture_request(smq_ctx, client_ctx, mechanism, base.replace("%s", "smq"),
                           domain, routing_id)
    theirs = capture_request(pz_ctx, client_ctx, mechanism, base.replace("%s", "pyzmq"),
                             domain, routing_id)
    assert ours == theirs
    # and what both sent, spelled out
    credentials = {
        "NULL": [],
        "PLAIN": [b"admin", b"password"],
        "CURVE": [z85_decode(CLIENT_PUBLIC)],
    }[mechanism]
    assert ours[:3] == [b"1.0", b"1", domain or b""]
    assert ours[4:] == [routing_id or b"", mechanism.encode(), *credentials]
    if transport == "tcp":
        assert ours[3] == b"127.0.0.1"
