"""STREAM: raw TCP (and ipc) connections with a routing id each.

Most tests run the same code on libzmq (pyzmq) and on securemq with the same assertions, the
other end being a plain Python socket; then STREAM talks to STREAM across the two libraries,
both ways. Where the two differ on purpose, the test says so and shows both.
"""

from __future__ import annotations

import errno
import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import zmq

import securemq

from .conftest import configure, next_event, watch

LIBS = {"securemq": securemq, "pyzmq": zmq}
BOTH = pytest.mark.parametrize("lib", ["securemq", "pyzmq"])


def stream(contexts: dict[str, Any], lib: str, timeout_ms: int = 5000, **options: Any) -> Any:
    sock = configure(contexts[lib].socket(zmq.STREAM), timeout_ms)
    for name, value in options.items():
        sock.setsockopt(getattr(zmq, name.upper()), value)
    return sock


def bound(sock: Any) -> int:
    sock.bind("tcp://127.0.0.1:*")
    return int(sock.getsockopt(zmq.LAST_ENDPOINT).rsplit(b":", 1)[1])


def client(port: int) -> socket.socket:
    conn = socket.create_connection(("127.0.0.1", port), timeout=5)
    conn.settimeout(5)
    return conn


def listener() -> tuple[socket.socket, int]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(5)
    return server, int(server.getsockname()[1])


def wait_for_eof(conn: socket.socket, sock: Any) -> bytes:
    """What ``conn`` reads until EOF. libzmq ends the connection only when its application
    thread next calls into the socket, so the socket is polled meanwhile (securemq ends it at
    once)."""
    conn.settimeout(0.05)
    got = b""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        sock.poll(0)
        try:
            chunk = conn.recv(65536)
        except TimeoutError:
            continue
        except ConnectionResetError:
            return got
        if not chunk:
            return got
        got += chunk
    raise AssertionError(f"no EOF within 5 s (read {got!r})")


def read_exactly(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        assert chunk, f"EOF after {len(data)} of {size} bytes"
        data += chunk
    return data


# -- a bound STREAM and plain TCP clients -------------------------------------------------------


@BOTH
def test_server_sees_connect_data_and_close(contexts: dict[str, Any], lib: str) -> None:
    server = stream(contexts, lib)
    conn = client(bound(server))
    frames = server.recv_multipart(copy=False)
    routing_id = frames[0].bytes
    assert [f.bytes for f in frames] == [routing_id, b""]  # STREAM_NOTIFY: connected
    assert len(routing_id) == 5 and routing_id[0] == 0
    assert frames[1].get("Peer-Address") == "127.0.0.1"
    conn.sendall(b"GET / HTTP/1.0\r\n\r\n")
    got = b""
    while len(got) < 18:
        rid, chunk = server.recv_multipart()
        assert rid == routing_id
        got += chunk
    assert got == b"GET / HTTP/1.0\r\n\r\n"
    server.send_multipart([routing_id, b"HTTP/1.0 200 OK\r\n\r\nhello"])
    server.send_multipart([routing_id, b""])  # close it
    assert wait_for_eof(conn, server) == b"HTTP/1.0 200 OK\r\n\r\nhello"
    assert not server.poll(200), "a connection the socket closed itself is not announced"
    conn.close()


@BOTH
def test_peer_close_is_announced(contexts: dict[str, Any], lib: str) -> None:
    server = stream(contexts, lib)
    port = bound(server)
    first, second = client(port), client(port)
    ids = [server.recv_multipart()[0] for _ in range(2)]
    assert len(set(ids)) == 2
    first.sendall(b"one")
    sender, data = server.recv_multipart()
    first.close()
    assert server.recv_multipart() == [sender, b""]  # STREAM_NOTIFY: disconnected
    second.sendall(b"two")
    other, data = server.recv_multipart()
    assert (other != sender, data) == (True, b"two")
    server.send_multipart([other, b"still served"])
    assert second.recv(100) == b"still served"


@BOTH
def test_notify_off(contexts: dict[str, Any], lib: str) -> None:
    server = stream(contexts, lib, timeout_ms=300, stream_notify=0)
    conn = client(bound(server))
    conn.sendall(b"x")
    _, data = server.recv_multipart()
    assert data == b"x"
    conn.close()
    with pytest.raises(LIBS[lib].Again):
        server.recv_multipart()
    with pytest.raises(LIBS[lib].ZMQError) as info:
        server.getsockopt(zmq.STREAM_NOTIFY)  # set-only in libzmq
    assert info.value.errno == errno.EINVAL


@BOTH
def test_unknown_id_is_ehostunreach(contexts: dict[str, Any], lib: str) -> None:
    server = stream(contexts, lib)
    bound(server)
    with pytest.raises(LIBS[lib].ZMQError) as info:
        server.send_multipart([b"\x00nope", b"data"])
    assert info.value.errno == zmq.EHOSTUNREACH


@BOTH
def test_router_options_are_not_stream_options(contexts: dict[str, Any], lib: str) -> None:
    server = stream(contexts, lib)
    with pytest.raises(LIBS[lib].ZMQError) as info:
        server.setsockopt(zmq.ROUTER_MANDATORY, 1)
    assert info.value.errno == errno.EINVAL


@BOTH
def test_frames_of_a_send_are_id_data_pairs(contexts: dict[str, Any], lib: str) -> None:
    server = stream(contexts, lib)
    port = bound(server)
    a, b = client(port), client(port)
    a.sendall(b"a")
    while (msg := server.recv_multipart())[1] != b"a":
        pass
    a_id = msg[0]
    b.sendall(b"b")
    while (msg := server.recv_multipart())[1] != b"b":
        pass
    b_id = msg[0]
    server.send(a_id, zmq.SNDMORE)
    server.send(b"to a", zmq.SNDMORE)  # MORE on data does not join it to the next frame...
    server.send(b_id, zmq.SNDMORE)  # ...which names the next connection
    server.send(b"to b")
    assert a.recv(100) == b"to a"
    assert b.recv(100) == b"to b"


@BOTH
def test_ipc(contexts: dict[str, Any], lib: str, ipc_dir: Path) -> None:
    server = stream(contexts, lib)
    path = str(ipc_dir / f"stream-{lib}.ipc")
    server.bind(f"ipc://{path}")
    conn = socket.socket(socket.AF_UNIX)
    conn.settimeout(5)
    conn.connect(path)
    routing_id = server.recv_multipart()[0]
    conn.sendall(b"over ipc")
    assert server.recv_multipart() == [routing_id, b"over ipc"]
    server.send_multipart([routing_id, b"back"])
    assert conn.recv(100) == b"back"


@BOTH
def test_monitor_has_no_handshake(contexts: dict[str, Any], lib: str) -> None:
    """A raw connection negotiates nothing: no HANDSHAKE_SUCCEEDED (libzmq neither)."""
    server = stream(contexts, lib)
    monitor = watch(server)
    conn = client(bound(server))
    server.recv_multipart()
    conn.sendall(b"x")
    server.recv_multipart()
    conn.close()
    server.recv_multipart()
    seen = []
    while (got := next_event(monitor, 300)) is not None:
        seen.append(got[0])
    assert zmq.EVENT_ACCEPTED in seen and zmq.EVENT_DISCONNECTED in seen
    assert zmq.EVENT_HANDSHAKE_SUCCEEDED not in seen


# -- a connecting STREAM and a plain TCP server -------------------------------------------------


@BOTH
def test_client_learns_its_id_queues_and_reconnects(contexts: dict[str, Any], lib: str) -> None:
    server, port = listener()
    sock = stream(contexts, lib, reconnect_ivl=20)
    assert sock.getsockopt(zmq.ROUTING_ID) == b""
    sock.connect(f"tcp://127.0.0.1:{port}")
    routing_id = sock.getsockopt(zmq.ROUTING_ID)  # the id libzmq just gave the connection
    assert len(routing_id) == 5
    sock.send_multipart([routing_id, b"sent before the connection"])
    conn, _ = server.accept()
    conn.settimeout(5)
    assert sock.recv_multipart() == [routing_id, b""]
    assert read_exactly(conn, 26) == b"sent before the connection"
    conn.sendall(b"reply")
    assert sock.recv_multipart() == [routing_id, b"reply"]
    conn.close()
    assert sock.recv_multipart() == [routing_id, b""]  # disconnected
    conn, _ = server.accept()  # it dials again: same pipe, same id
    conn.settimeout(5)
    assert sock.recv_multipart() == [routing_id, b""]
    sock.send_multipart([routing_id, b"again"])
    assert conn.recv(100) == b"again"
    # Ending it ourselves: EOF, and no more dialing.
    sock.send_multipart([routing_id, b""])
    assert wait_for_eof(conn, sock) == b""
    server.settimeout(0.3)
    with pytest.raises(TimeoutError):
        server.accept()
    server.close()


@BOTH
def test_connect_routing_id(contexts: dict[str, Any], lib: str) -> None:
    server, port = listener()
    sock = stream(contexts, lib)
    sock.setsockopt(zmq.CONNECT_ROUTING_ID, b"upstream")
    sock.connect(f"tcp://127.0.0.1:{port}")
    assert sock.getsockopt(zmq.ROUTING_ID) == b""  # a chosen name is not "given"
    conn, _ = server.accept()
    assert sock.recv_multipart() == [b"upstream", b""]
    sock.send_multipart([b"upstream", b"named"])
    assert conn.recv(100) == b"named"
    conn.close()
    server.close()


# -- STREAM to STREAM across the two libraries --------------------------------------------------


@pytest.mark.parametrize(("server_lib", "client_lib"),
                         [("securemq", "pyzmq"), ("pyzmq", "securemq")])
def test_stream_to_stream(contexts: dict[str, Any], server_lib: str, client_lib: str) -> None:
    server = stream(contexts, server_lib)
    port = bound(server)
    sock = stream(contexts, client_lib)
    sock.connect(f"tcp://127.0.0.1:{port}")
    my_id = sock.getsockopt(zmq.ROUTING_ID)
    assert sock.recv_multipart() == [my_id, b""]
    their_id = server.recv_multipart()[0]
    sock.send_multipart([my_id, b"ping"])
    assert server.recv_multipart() == [their_id, b"ping"]
    server.send_multipart([their_id, b"pong"])
    assert sock.recv_multipart() == [my_id, b"pong"]
    server.send_multipart([their_id, b""])
    deadline = time.monotonic() + 5
    while not sock.poll(20):  # (libzmq ends it when its thread next calls into the socket)
        server.poll(0)
        assert time.monotonic() < deadline, "the client never saw the server end it"
    assert sock.recv_multipart() == [my_id, b""]


def test_large_transfer_arrives_whole_and_in_order(contexts: dict[str, Any]) -> None:
    """Chunks are whatever the reads give; together they are the stream, byte for byte."""
    server = stream(contexts, "securemq")
    conn = client(bound(server))
    routing_id = server.recv_multipart()[0]
    payload = bytes(range(256)) * 16384  # 4 MiB
    sender = threading.Thread(target=conn.sendall, args=(payload,))
    sender.start()
    got = bytearray()
    while len(got) < len(payload):
        rid, chunk = server.recv_multipart()
        assert rid == routing_id and chunk
        got += chunk
    sender.join()
    assert bytes(got) == payload
    server.send_multipart([routing_id, payload])
    assert read_exactly(conn, len(payload)) == payload


# -- securemq's own rules ------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ["inproc://raw", "ws://127.0.0.1:5999"])
def test_raw_streams_only_over_tcp_and_ipc(contexts: dict[str, Any], endpoint: str) -> None:
    """libzmq accepts these and then has nothing raw to speak there; securemq says so."""
    sock = stream(contexts, "securemq")
    with pytest.raises(securemq.ZMQError) as info:
        sock.connect(endpoint)
    assert info.value.errno == zmq.ENOCOMPATPROTO and "STREAM" in str(info.value)


def test_churning_clients_do_not_disturb_a_served_one(contexts: dict[str, Any]) -> None:
    server = stream(contexts, "securemq")
    port = bound(server)
    steady = client(port)
    steady_id = server.recv_multipart()[0]
    for _ in range(50):
        passing = client(port)
        passing.sendall(b"\x00\xff" * 100)
        passing.close()
    steady.sendall(b"steady")
    while True:
        rid, data = server.recv_multipart()
        if rid == steady_id and data:
            break
    assert data == b"steady"
    server.send_multipart([steady_id, b"ok"])
    assert steady.recv(10) == b"ok"

