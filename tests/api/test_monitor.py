"""Socket monitor event sequences, securemq on both ends, asserted against libzmq 4.3.5.

Every expected sequence below was observed with pyzmq 27.3 (libzmq 4.3.5) on both ends running
the same scenario (tests/interop/test_monitor_vs_libzmq.py runs them side by side). Values that
legitimately differ run to run are normalised: file descriptors become ``FD`` and reconnect
intervals (RECONNECT_IVL plus a random jitter) become ``IVL``; their ranges are checked by
dedicated tests. Scenarios that loop (a client retrying) are read up to a fixed marker event, so
the compared prefix does not depend on timing.
"""

from __future__ import annotations

import errno
import socket as pysocket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from securemq.auth import ThreadAuthenticator

import securemq as zmq
from securemq.constants import Event, ProtocolError
from securemq.utils.monitor import parse_monitor_message, recv_monitor_message

E = Event
FD = "fd"
IVL = "ivl"
# Events whose value is a file descriptor / a reconnect interval in libzmq.
_FD_EVENTS = {E.LISTENING, E.ACCEPTED, E.CONNECTED, E.CLOSED, E.DISCONNECTED}
QUIET_MS = 150

RawEvent = tuple[int, int, str]
Canon = tuple[Event, object]


# -- helpers ---------------------------------------------------------------------------------
def next_event(mon: zmq.Socket, timeout_ms: int) -> RawEvent | None:
    if not mon.poll(max(timeout_ms, 0)):
        return None
    frames = mon.recv_multipart()
    assert len(frames) == 2, f"monitor message must have 2 frames, got {frames!r}"
    event, value = struct.unpack("<HI", frames[0])
    return int(event), int(value), frames[1].decode()


def read_until(mon: zmq.Socket, event: Event, count: int = 1,
               timeout: float = 5.0) -> list[RawEvent]:
    """Events up to and including the ``count``-th ``event``; fails at the deadline."""
    deadline = time.monotonic() + timeout
    seen: list[RawEvent] = []
    hits = 0
    while hits < count:
        got = next_event(mon, int((deadline - time.monotonic()) * 1000))
        if got is None:
            pytest.fail(f"monitor: no {event.name} #{count} within {timeout}s; saw "
                        f"{canon(seen)}")
        seen.append(got)
        if got[0] == event:
            hits += 1
    return seen


def read_quiet(mon: zmq.Socket, quiet_ms: int = QUIET_MS) -> list[RawEvent]:
    """Whatever arrives until ``quiet_ms`` passes with no event (bounded: at most 2 s)."""
    out: list[RawEvent] = []
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        got = next_event(mon, quiet_ms)
        if got is None:
            break
        out.append(got)
    return out


def canon(events: list[RawEvent]) -> list[Canon]:
    result: list[Canon] = []
    for event, value, _endpoint in events:
        ev = Event(event)
        shown: object = value
        if ev in _FD_EVENTS:
            shown = FD
        elif ev == E.CONNECT_RETRIED:
            shown = IVL
        result.append((ev, shown))
    return result


def endpoint_of(sock: zmq.Socket) -> str:
    last: bytes = sock.getsockopt(zmq.LAST_ENDPOINT)
    return last.decode()


@pytest.fixture
def mk(ctx: zmq.Context) -> Callable[..., zmq.Socket]:
    def factory(kind: int = zmq.DEALER, **options: Any) -> zmq.Socket:
        sock = ctx.socket(kind)
        sock.linger = 0
        sock.rcvtimeo = 5000
        sock.sndtimeo = 5000
        for name, value in options.items():
            setattr(sock, name, value)
        return sock

    return factory


def monitor(sock: zmq.Socket, events: int = zmq.EVENT_ALL) -> zmq.Socket:
    mon = sock.get_monitor_socket(events)
    mon.linger = 0
    return mon


class ZapHandler:
    """A bare ZAP handler (REP at inproc://zeromq.zap.01) answering a fixed status."""

    def __init__(self, ctx: zmq.Context, status: bytes) -> None:
        self.status = status
        self.requests: list[list[bytes]] = []
        self._sock = ctx.socket(zmq.REP)
        self._sock.linger = 0
        self._sock.bind("inproc://zeromq.zap.01")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        try:
            while not self._stop.is_set():
                if not self._sock.poll(20):
                    continue
                request = self._sock.recv_multipart()
                self.requests.append(request)
                self._sock.send_multipart([request[0], request[1], self.status, b"REFUSED",
                                           b"", b""])
        finally:
            self._sock.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


@pytest.fixture
def zap_handler(ctx: zmq.Context) -> Iterator[Callable[[bytes], ZapHandler]]:
    handlers: list[ZapHandler] = []

    def start(status: bytes) -> ZapHandler:
        handler = ZapHandler(ctx, status)
        handlers.append(handler)
        return handler

    yield start
    for handler in handlers:
        handler.stop()


# -- connect, handshake, disconnect, close --------------------------------------------------
def test_connect_and_handshake_sequences(mk: Callable[..., zmq.Socket]) -> None:
    server, client = mk(), mk()
    smon, cmon = monitor(server), monitor(client)
    server.bind("tcp://127.0.0.1:*")
    endpoint = endpoint_of(server)
    client.connect(endpoint)

    server_events = read_until(smon, E.HANDSHAKE_SUCCEEDED) + read_quiet(smon)
    client_events = read_until(cmon, E.HANDSHAKE_SUCCEEDED) + read_quiet(cmon)

    assert canon(server_events) == [(E.LISTENING, FD), (E.ACCEPTED, FD),
                                    (E.HANDSHAKE_SUCCEEDED, 0)]
    assert canon(client_events) == [(E.CONNECT_DELAYED, errno.EINPROGRESS), (E.CONNECTED, FD),
                                    (E.HANDSHAKE_SUCCEEDED, 0)]
    assert {ep for _, _, ep in server_events + client_events} == {endpoint}
    assert all(value > 0 for ev, value, _ in server_events + client_events if ev in _FD_EVENTS)


def test_client_close_then_server_close(mk: Callable[..., zmq.Socket]) -> None:
    server, client = mk(), mk()
    smon, cmon = monitor(server), monitor(client)
    server.bind("tcp://127.0.0.1:*")
    endpoint = endpoint_of(server)
    client.connect(endpoint)
    read_until(smon, E.HANDSHAKE_SUCCEEDED)
    read_until(cmon, E.HANDSHAKE_SUCCEEDED)

    client.close()
    # libzmq: the closing socket reports only MONITOR_STOPPED; its peer sees DISCONNECTED.
    assert canon(read_until(cmon, E.MONITOR_STOPPED) + read_quiet(cmon)) == [
        (E.MONITOR_STOPPED, 0)]
    assert canon(read_until(smon, E.DISCONNECTED) + read_quiet(smon)) == [(E.DISCONNECTED, FD)]

    server.close()
    closing = read_until(smon, E.MONITOR_STOPPED) + read_quiet(smon)
    assert canon(closing) == [(E.CLOSED, FD), (E.MONITOR_STOPPED, 0)]
    assert closing[0][2] == endpoint and closing[1][2] == ""


def test_disconnected_value_is_the_fd(mk: Callable[..., zmq.Socket]) -> None:
    """libzmq reports the connection's fd with DISCONNECTED (as with ACCEPTED/CONNECTED)."""
    server, client = mk(), mk()
    smon = monitor(server)
    server.bind("tcp://127.0.0.1:*")
    client.connect(endpoint_of(server))
    accepted = read_until(smon, E.HANDSHAKE_SUCCEEDED)
    client.close()
    disconnected = read_until(smon, E.DISCONNECTED)[-1]
    assert disconnected[1] == accepted[-2][1] > 0


def test_peer_restart(mk: Callable[..., zmq.Socket]) -> None:
    """Server closed and re-bound on the same port: the client retries, then reconnects."""
    server, client = mk(), mk()
    cmon = monitor(client)
    server.bind("tcp://127.0.0.1:*")
    endpoint = endpoint_of(server)
    client.connect(endpoint)
    read_until(cmon, E.HANDSHAKE_SUCCEEDED)

    server.close()
    # The first refused attempt (CLOSED) shows the server is really gone before it returns.
    lost = read_until(cmon, E.CLOSED)
    restarted = mk()
    smon = monitor(restarted)
    restarted.bind(endpoint)
    back = read_until(cmon, E.HANDSHAKE_SUCCEEDED)

    assert collapse(canon(lost + back)) == [
        (E.DISCONNECTED, FD),
        (E.CONNECT_RETRIED, IVL), (E.CONNECT_DELAYED, errno.EINPROGRESS), (E.CLOSED, FD),
        (E.CONNECT_RETRIED, IVL), (E.CONNECT_DELAYED, errno.EINPROGRESS), (E.CONNECTED, FD),
        (E.HANDSHAKE_SUCCEEDED, 0),
    ]
    assert canon(read_until(smon, E.HANDSHAKE_SUCCEEDED)) == [
        (E.LISTENING, FD), (E.ACCEPTED, FD), (E.HANDSHAKE_SUCCEEDED, 0)]
    client.send(b"again")
    assert restarted.recv() == b"again"


def test_reconnect_interval_values(mk: Callable[..., zmq.Socket]) -> None:
    """CONNECT_RETRIED carries the delay: RECONNECT_IVL plus a jitter below RECONNECT_IVL."""
    port_holder = mk()
    port_holder.bind("tcp://127.0.0.1:*")
    endpoint = endpoint_of(port_holder)
    port_holder.close()
    client = mk(reconnect_ivl=50)
    cmon = monitor(client)
    client.connect(endpoint)
    events = read_until(cmon, E.CONNECT_RETRIED, count=3)
    delays = [value for ev, value, _ in events if ev == E.CONNECT_RETRIED]
    assert all(50 <= d < 100 for d in delays), delays


def collapse(seq: list[Canon]) -> list[Canon]:
    """Remove immediately repeated blocks (retry cycles) until none is left."""
    items = list(seq)
    changed = True
    while changed:
        changed = False
        for size in range(1, len(items) // 2 + 1):
            for i in range(len(items) - 2 * size + 1):
                if items[i:i + size] == items[i + size:i + 2 * size]:
                    del items[i + size:i + 2 * size]
                    changed = True
                    break
            if changed:
                break
    return items


def test_collapse_helper() -> None:
    a, b, c = (E.CONNECT_RETRIED, IVL), (E.CONNECT_DELAYED, 115), (E.CLOSED, FD)
    d = (E.DISCONNECTED, FD)
    assert collapse([d, a, b, c, a, b, c, a, b, c, a, b]) == [d, a, b, c, a, b]
    assert collapse([d, a, b]) == [d, a, b]


# -- handshake failures ---------------------------------------------------------------------
def test_wrong_curve_server_key(mk: Callable[..., zmq.Socket]) -> None:
    _server_public, server_secret = zmq.curve_keypair()
    client_public, client_secret = zmq.curve_keypair()
    wrong_public, _ = zmq.curve_keypair()
    server = mk(curve_server=True, curve_secretkey=server_secret)
    client = mk(curve_serverkey=wrong_public, curve_publickey=client_public,
                curve_secretkey=client_secret)
    smon, cmon = monitor(server), monitor(client)
    server.bind("tcp://127.0.0.1:*")
    client.connect(endpoint_of(server))

    # The server cannot open the HELLO box: protocol failure, no ERROR command, disconnect.
    assert canon(read_until(smon, E.ACCEPTED, count=2)) == [
        (E.LISTENING, FD), (E.ACCEPTED, FD),
        (E.HANDSHAKE_FAILED_PROTOCOL, ProtocolError.ZMTP_CRYPTOGRAPHIC), (E.DISCONNECTED, FD),
        (E.ACCEPTED, FD),
    ]
    # The client sees the connection dropped mid-handshake (EPIPE) and retries.
    assert canon(read_until(cmon, E.CONNECT_RETRIED)) == [
        (E.CONNECT_DELAYED, errno.EINPROGRESS), (E.CONNECTED, FD),
        (E.HANDSHAKE_FAILED_NO_DETAIL, errno.EPIPE), (E.DISCONNECTED, FD),
        (E.CONNECT_RETRIED, IVL),
    ]


def test_curve_success_reports_only_handshake(mk: Callable[..., zmq.Socket]) -> None:
    server_public, server_secret = zmq.curve_keypair()
    client_public, client_secret = zmq.curve_keypair()
    server = mk(curve_server=True, curve_secretkey=server_secret)
    client = mk(curve_serverkey=server_public, curve_publickey=client_public,
                curve_secretkey=client_secret)
    smon = monitor(server, zmq.EVENT_ALL & ~(zmq.EVENT_LISTENING | zmq.EVENT_ACCEPTED))
    cmon = monitor(client, zmq.EVENT_ALL & ~(zmq.EVENT_CONNECTED | zmq.EVENT_CONNECT_DELAYED))
    server.bind("tcp://127.0.0.1:*")
    client.connect(endpoint_of(server))
    assert canon(read_until(smon, E.HANDSHAKE_SUCCEEDED) + read_quiet(smon)) == [
        (E.HANDSHAKE_SUCCEEDED, 0)]
    assert canon(read_until(cmon, E.HANDSHAKE_SUCCEEDED) + read_quiet(cmon)) == [
        (E.HANDSHAKE_SUCCEEDED, 0)]


@pytest.mark.parametrize("status", [b"400", b"500"])
def test_zap_refusal_is_final(mk: Callable[..., zmq.Socket],
                              zap_handler: Callable[[bytes], ZapHandler], status: bytes) -> None:
    handler = zap_handler(status)
    server = mk(plain_server=True)
    client = mk(plain_username=b"user", plain_password=b"pass")
    smon, cmon = monitor(server), monitor(client)
    server.bind("tcp://127.0.0.1:*")
    client.connect(endpoint_of(server))
    code = int(status)

    server_events = read_until(smon, E.HANDSHAKE_FAILED_AUTH)
    server_events += read_quiet(smon)
    client_events = read_until(cmon, E.HANDSHAKE_FAILED_AUTH) + read_quiet(cmon)
    assert canon(server_events) == [(E.LISTENING, FD), (E.ACCEPTED, FD),
                                    (E.HANDSHAKE_FAILED_AUTH, code), (E.DISCONNECTED, FD)]
    # The ERROR command reaches the client, which reports the status and does not reconnect.
    assert canon(client_events) == [(E.CONNECT_DELAYED, errno.EINPROGRESS), (E.CONNECTED, FD),
                                    (E.HANDSHAKE_FAILED_AUTH, code), (E.DISCONNECTED, FD)]
    assert len(handler.requests) == 1


def test_zap_auth_failure_status_values_without_disconnect_detail(
        mk: Callable[..., zmq.Socket], zap_handler: Callable[[bytes], ZapHandler]) -> None:
    """The stable core of ZAP 400: both sides report HANDSHAKE_FAILED_AUTH(400), once."""
    handler = zap_handler(b"400")
    server = mk(plain_server=True)
    client = mk(plain_username=b"user", plain_password=b"pass")
    auth_only = zmq.EVENT_HANDSHAKE_FAILED_AUTH | zmq.EVENT_HANDSHAKE_SUCCEEDED
    smon, cmon = monitor(server, auth_only), monitor(client, auth_only)
    server.bind("tcp://127.0.0.1:*")
    client.connect(endpoint_of(server))
    assert canon(read_until(smon, E.HANDSHAKE_FAILED_AUTH) + read_quiet(smon)) == [
        (E.HANDSHAKE_FAILED_AUTH, 400)]
    assert canon(read_until(cmon, E.HANDSHAKE_FAILED_AUTH) + read_quiet(cmon)) == [
        (E.HANDSHAKE_FAILED_AUTH, 400)]
    assert len(handler.requests) == 1
    assert handler.requests[0][5:] == [b"PLAIN", b"user", b"pass"]


def test_zap_300_is_silent_on_the_client(mk: Callable[..., zmq.Socket],
                                         zap_handler: Callable[[bytes], ZapHandler]) -> None:
    """ZAP 300: the server reports FAILED_AUTH(300); no ERROR goes out, so the client never
    reports an auth failure. What follows is not stable in libzmq 4.3.5 (it usually leaves the
    connection hanging, about 1 run in 12 it drops it and the client retries), so only the
    stable prefix is asserted."""
    zap_handler(b"300")
    server = mk(plain_server=True)
    client = mk(plain_username=b"user", plain_password=b"pass")
    smon, cmon = monitor(server), monitor(client)
    server.bind("tcp://127.0.0.1:*")
    client.connect(endpoint_of(server))
    server_events = read_until(smon, E.HANDSHAKE_FAILED_AUTH)
    client_events = read_until(cmon, E.CONNECTED) + read_quiet(cmon, 300)
    assert canon(server_events) == [(E.LISTENING, FD), (E.ACCEPTED, FD),
                                    (E.HANDSHAKE_FAILED_AUTH, 300)]
    assert canon(client_events)[:2] == [(E.CONNECT_DELAYED, errno.EINPROGRESS),
                                        (E.CONNECTED, FD)]
    client_kinds = {ev for ev, _, _ in client_events}
    assert not client_kinds & {E.HANDSHAKE_FAILED_AUTH, E.HANDSHAKE_SUCCEEDED}


def test_thread_authenticator_wrong_plain_password(ctx: zmq.Context,
                                                   mk: Callable[..., zmq.Socket]) -> None:
    auth = ThreadAuthenticator(ctx)
    auth.start()
    try:
        auth.configure_plain(domain="*", passwords={"admin": "secret"})
        server = mk(plain_server=True)
        client = mk(plain_username=b"admin", plain_password=b"wrong")
        smon, cmon = monitor(server), monitor(client)
        server.bind("tcp://127.0.0.1:*")
        client.connect(endpoint_of(server))
        server_events = read_until(smon, E.HANDSHAKE_FAILED_AUTH) + read_quiet(smon)
        client_events = read_until(cmon, E.HANDSHAKE_FAILED_AUTH) + read_quiet(cmon)
    finally:
        auth.stop()
    assert canon(server_events) == [(E.LISTENING, FD), (E.ACCEPTED, FD),
                                    (E.HANDSHAKE_FAILED_AUTH, 400), (E.DISCONNECTED, FD)]
    assert canon(client_events) == [(E.CONNECT_DELAYED, errno.EINPROGRESS), (E.CONNECTED, FD),
                                    (E.HANDSHAKE_FAILED_AUTH, 400), (E.DISCONNECTED, FD)]


# -- malformed CURVE HELLO from a raw socket -------------------------------------------------
def curve_greeting() -> bytes:
    """A ZMTP 3.0 greeting proposing CURVE as a client (RFC 23)."""
    return (b"\xff" + b"\x00" * 8 + b"\x7f" + bytes([3, 0]) + b"CURVE".ljust(20, b"\x00")
            + b"\x00" + b"\x00" * 31)


def hello_body() -> bytes:
    """A 200-byte HELLO body (RFC 26): name, version 1.0, padding, key, nonce, box."""
    body = b"\x05HELLO" + b"\x01\x00" + b"\x00" * 72 + b"\x11" * 32 + b"\x00" * 8 + b"\x22" * 80
    assert len(body) == 200
    return body


def command(body: bytes) -> bytes:
    return b"\x04" + bytes([len(body)]) + body


MALFORMED_HELLOS = {
    "short": (command(hello_body()[:-1]), ProtocolError.ZMTP_MALFORMED_COMMAND_HELLO),
    "misspelled": (command(b"\x05HELLP" + hello_body()[6:]),
                   ProtocolError.ZMTP_UNEXPECTED_COMMAND),
    "version2": (command(hello_body()[:6] + b"\x02" + hello_body()[7:]),
                 ProtocolError.ZMTP_MALFORMED_COMMAND_HELLO),
}


@pytest.mark.parametrize("bytewise", [False, True], ids=["whole", "bytewise"])
@pytest.mark.parametrize("case", sorted(MALFORMED_HELLOS))
def test_malformed_curve_hello(mk: Callable[..., zmq.Socket], case: str,
                               bytewise: bool) -> None:
    payload, code = MALFORMED_HELLOS[case]
    _, server_secret = zmq.curve_keypair()
    server = mk(curve_server=True, curve_secretkey=server_secret)
    smon = monitor(server)
    server.bind("tcp://127.0.0.1:*")
    port = int(endpoint_of(server).rsplit(":", 1)[1])
    with pysocket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        raw.setsockopt(pysocket.IPPROTO_TCP, pysocket.TCP_NODELAY, 1)
        raw.sendall(curve_greeting())
        greeting = b""
        while len(greeting) < 64:
            chunk = raw.recv(64 - len(greeting))
            assert chunk, "server closed before sending its greeting"
            greeting += chunk
        assert greeting[12:17] == b"CURVE"
        if bytewise:
            for i in range(len(payload)):
                raw.sendall(payload[i:i + 1])
        else:
            raw.sendall(payload)
        events = read_until(smon, E.HANDSHAKE_FAILED_PROTOCOL) + read_quiet(smon)
        # No ERROR command for a malformed HELLO: the server just closes the connection.
        assert raw.recv(1024) == b""
    assert canon(events) == [(E.LISTENING, FD), (E.ACCEPTED, FD),
                             (E.HANDSHAKE_FAILED_PROTOCOL, code), (E.DISCONNECTED, FD)]


# -- bind / unbind / close / disable ----------------------------------------------------------
def test_bind_failure_address_in_use(mk: Callable[..., zmq.Socket]) -> None:
    holder, sock = mk(), mk()
    holder.bind("tcp://127.0.0.1:*")
    endpoint = endpoint_of(holder)
    mon = monitor(sock)
    with pytest.raises(zmq.ZMQError) as info:
        sock.bind(endpoint)
    assert info.value.errno == errno.EADDRINUSE
    events = read_until(mon, E.BIND_FAILED) + read_quiet(mon)
    # The stable part; libzmq also emits CLOSED(fd, "") first for the socket it created and
    # names the endpoint without "tcp://" (see the interop comparison).
    failed = [e for e in events if e[0] == E.BIND_FAILED]
    assert [(Event(ev), value) for ev, value, _ in failed] == [(E.BIND_FAILED, errno.EADDRINUSE)]
    assert failed[0][2].endswith(endpoint.removeprefix("tcp://"))
    assert not [e for e in events if e[0] not in (E.BIND_FAILED, E.CLOSED)]


@pytest.mark.parametrize("addr, code", [("tcp://nosuchif0:5555", errno.ENODEV),
                                        ("tcp://127.0.0.1:abc", errno.EINVAL)])
def test_bind_failure_bad_address_emits_bind_failed(mk: Callable[..., zmq.Socket], addr: str,
                                                    code: int) -> None:
    """libzmq reports BIND_FAILED for an address it cannot resolve, not only for OS errors."""
    sock = mk()
    mon = monitor(sock)
    with pytest.raises(zmq.ZMQError) as info:
        sock.bind(addr)
    assert info.value.errno == code
    events = read_quiet(mon)
    assert [(Event(ev), value) for ev, value, _ in events] == [(E.BIND_FAILED, code)]


def test_unbind_emits_closed(mk: Callable[..., zmq.Socket]) -> None:
    sock = mk()
    mon = monitor(sock)
    sock.bind("tcp://127.0.0.1:*")
    endpoint = endpoint_of(sock)
    listening = read_until(mon, E.LISTENING)
    sock.unbind(endpoint)
    closed = read_until(mon, E.CLOSED) + read_quiet(mon)
    assert canon(closed) == [(E.CLOSED, FD)]
    assert closed[0][1] == listening[0][1] and closed[0][2] == endpoint


def test_disable_monitor_stops_events(mk: Callable[..., zmq.Socket]) -> None:
    sock = mk()
    mon = monitor(sock)
    sock.bind("tcp://127.0.0.1:*")
    read_until(mon, E.LISTENING)
    sock.disable_monitor()
    assert canon(read_until(mon, E.MONITOR_STOPPED) + read_quiet(mon)) == [
        (E.MONITOR_STOPPED, 0)]
    sock.bind("tcp://127.0.0.1:*")
    peer = mk()
    peer.connect(endpoint_of(sock))
    peer.send(b"x")
    assert sock.recv() == b"x"
    assert read_quiet(mon) == []


def test_monitor_replaced_by_new_monitor(ctx: zmq.Context,
                                        mk: Callable[..., zmq.Socket]) -> None:
    """A second monitor() stops the first one (MONITOR_STOPPED), as libzmq."""
    sock = mk()
    tag = f"{id(sock):x}"
    sock.monitor(f"inproc://first-{tag}", zmq.EVENT_ALL)
    first = ctx.socket(zmq.PAIR)
    first.connect(f"inproc://first-{tag}")
    sock.monitor(f"inproc://second-{tag}", zmq.EVENT_ALL)
    second = ctx.socket(zmq.PAIR)
    second.connect(f"inproc://second-{tag}")
    assert canon(read_until(first, E.MONITOR_STOPPED)) == [(E.MONITOR_STOPPED, 0)]
    sock.bind("tcp://127.0.0.1:*")
    assert canon(read_until(second, E.LISTENING)) == [(E.LISTENING, FD)]
    assert read_quiet(first) == []
    first.close(0)
    second.close(0)


def test_get_monitor_socket_twice_returns_the_same_socket(mk: Callable[..., zmq.Socket]) -> None:
    """pyzmq: while a monitor socket is open, get_monitor_socket() returns it again."""
    sock = mk()
    first = monitor(sock)
    again = sock.get_monitor_socket()
    assert again is first
    sock.disable_monitor()
    assert canon(read_until(first, E.MONITOR_STOPPED)) == [(E.MONITOR_STOPPED, 0)]


# -- filtering and message format ----------------------------------------------------------
def test_event_mask_filters(mk: Callable[..., zmq.Socket]) -> None:
    server, client = mk(), mk()
    smon = monitor(server, zmq.EVENT_HANDSHAKE_SUCCEEDED)
    cmon = monitor(client, zmq.EVENT_HANDSHAKE_SUCCEEDED | zmq.EVENT_DISCONNECTED)
    server.bind("tcp://127.0.0.1:*")
    client.connect(endpoint_of(server))
    assert canon(read_until(smon, E.HANDSHAKE_SUCCEEDED)) == [(E.HANDSHAKE_SUCCEEDED, 0)]
    assert canon(read_until(cmon, E.HANDSHAKE_SUCCEEDED)) == [(E.HANDSHAKE_SUCCEEDED, 0)]
    server.close()
    assert canon(read_until(cmon, E.DISCONNECTED) + read_quiet(cmon)) == [(E.DISCONNECTED, FD)]
    # MONITOR_STOPPED is not in the mask: nothing at all on the server's monitor.
    assert read_quiet(smon) == []


def test_message_format_and_parsers(mk: Callable[..., zmq.Socket]) -> None:
    sock = mk()
    mon = monitor(sock)
    sock.bind("tcp://127.0.0.1:*")
    endpoint = endpoint_of(sock)
    frames = mon.recv_multipart()
    assert len(frames) == 2 and len(frames[0]) == 6
    event, value = struct.unpack("<HI", frames[0])
    assert event == zmq.EVENT_LISTENING and value > 0 and frames[1] == endpoint.encode()
    parsed = parse_monitor_message(frames)
    assert parsed == {"event": zmq.EVENT_LISTENING, "value": value,
                      "endpoint": endpoint.encode()}
    sock.unbind(endpoint)
    got = recv_monitor_message(mon)
    assert got["event"] == zmq.EVENT_CLOSED and got["endpoint"] == endpoint.encode()


@pytest.mark.parametrize("bad", [[b"\x08\x00\x01\x00\x00\x00"], [b"\x08\x00", b"x"],
                                 [b"\x08\x00\x01\x00\x00\x00", b"x", b"y"]])
def test_parse_rejects_malformed(bad: list[bytes]) -> None:
    with pytest.raises(RuntimeError):
        parse_monitor_message(bad)
