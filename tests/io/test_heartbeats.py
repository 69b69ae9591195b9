"""ZMTP 3.1 heartbeats at socket level (mirrors libzmq's tests/test_heartbeats.cpp).

A raw TCP "mock ZMTP 3.1 peer" is built here from securemq's own sans-IO pieces (greeting,
frames, commands, metadata): it does the NULL handshake by hand and then lets a test send PINGs,
ignore PINGs, or go silent, while a real securemq socket sits on the other side. Socket-to-socket
scenarios run securemq against securemq and against pyzmq (libzmq 4.3.5), and the dead-peer case
runs through tests/faults/faultproxy.py so that a link can be stalled without closing it.

Timing: every wait has a deadline; "nothing happens" is asserted by polling a monitor for a
bounded window, never by sleeping.
"""

from __future__ import annotations

import socket
import struct
import time
from collections import deque
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest
import zmq as pyzmq

import securemq
from securemq.constants import Event
from securemq.zmtp.commands import command_name, decode_command, encode_command
from securemq.zmtp.frames import COMMAND, FrameDecoder, encode_frame
from securemq.zmtp.greeting import GreetingParser, encode_greeting
from securemq.zmtp.metadata import decode_metadata, encode_metadata, lookup
from tests.faults.faultproxy import FaultProxy

DEADLINE = 5.0
IMPLS = {"securemq": securemq, "pyzmq": pyzmq}


# (the ``contexts`` fixture: tests/conftest.py)
def make_socket(ctxs: dict[str, Any], impl: str, socket_type: int, **options: int) -> Any:
    sock = ctxs[impl].socket(socket_type)
    sock.setsockopt(pyzmq.LINGER, 0)
    sock.setsockopt(pyzmq.RCVTIMEO, int(DEADLINE * 1000))
    sock.setsockopt(pyzmq.SNDTIMEO, int(DEADLINE * 1000))
    for name, value in options.items():
        sock.setsockopt(getattr(pyzmq, name.upper()), value)
    return sock


def bind_tcp(sock: Any) -> str:
    sock.bind("tcp://127.0.0.1:*")
    last = sock.getsockopt(pyzmq.LAST_ENDPOINT)
    return str(last.decode())


# -- monitor helpers (same API on both implementations) ------------------------------------------
def next_event(mon: Any, timeout: float) -> tuple[int, int] | None:
    if not mon.poll(max(int(timeout * 1000), 0)):
        return None
    frames = mon.recv_multipart()
    event, value = struct.unpack("<HI", frames[0])
    return int(event), int(value)


def wait_event(mon: Any, wanted: int, timeout: float = DEADLINE) -> list[int]:
    """Events up to and including ``wanted``; fails the test at the deadline."""
    deadline = time.monotonic() + timeout
    seen: list[int] = []
    while True:
        got = next_event(mon, deadline - time.monotonic())
        if got is None:
            names = [Event(e).name for e in seen]
            pytest.fail(f"monitor: no {Event(wanted).name} within {timeout}s; saw {names}")
        seen.append(got[0])
        if got[0] == wanted:
            return seen


def events_during(mons: list[Any], window: float) -> list[int]:
    """Every event any of ``mons`` reports during ``window`` seconds (bounded poll)."""
    seen: list[int] = []
    deadline = time.monotonic() + window
    while (left := deadline - time.monotonic()) > 0:
        for mon in mons:
            got = next_event(mon, min(left, 0.02))
            if got is not None:
                seen.append(got[0])
    return seen


# -- the mock ZMTP 3.1 peer ------------------------------------------------------------------------
def ping(ttl_deciseconds: int, context: bytes = b"") -> bytes:
    return encode_command(b"PING", ttl_deciseconds.to_bytes(2, "big") + context)


class MockPeer:
    """A raw TCP client speaking ZMTP 3.1 NULL by hand (securemq.zmtp codecs, no engine)."""

    def __init__(self, endpoint: str, socket_type: bytes = b"DEALER") -> None:
        host, port = endpoint.removeprefix("tcp://").rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=DEADLINE)
        self.socket_type = socket_type
        self.decoder = FrameDecoder()
        self.frames: deque[tuple[int, bytes]] = deque()
        self.eof = False
        self.peer_properties: dict[str, bytes] = {}

    def close(self) -> None:
        self.sock.close()

    def _read_chunk(self, timeout: float) -> bytes | None:
        """Bytes from the wire; None on timeout; b"" (and ``eof``) when the peer closed."""
        self.sock.settimeout(max(timeout, 0.001))
        try:
            data = self.sock.recv(65536)
        except TimeoutError:
            return None
        except ConnectionResetError:
            data = b""
        if not data:
            self.eof = True
        return data

    def handshake(self) -> None:
        self.sock.sendall(encode_greeting(b"NULL", as_server=False))
        parser = GreetingParser()
        rest: bytes | None = None
        deadline = time.monotonic() + DEADLINE
        while rest is None:
            chunk = self._read_chunk(deadline - time.monotonic())
            if not chunk:
                raise AssertionError("mock: no greeting from the securemq peer")
            rest = parser.feed(chunk)
        greeting = parser.greeting
        assert greeting is not None
        assert greeting.version == (3, 1) and greeting.mechanism == b"NULL"
        self.frames.extend(self.decoder.feed(rest))
        self.send_command(b"READY", encode_metadata({"Socket-Type": self.socket_type}))
        frame = self.next_frame(DEADLINE)
        assert frame is not None and frame[0] & COMMAND, "mock: expected the peer's READY"
        name, data = decode_command(frame[1])
        assert name == b"READY"
        self.peer_properties = decode_metadata(data)

    def send_command(self, name: bytes, data: bytes = b"") -> None:
        self.sock.sendall(encode_frame(COMMAND, encode_command(name, data)))

    def send_raw_command(self, body: bytes) -> None:
        self.sock.sendall(encode_frame(COMMAND, body))

    def send_message(self, *frames: bytes) -> None:
        for index, body in enumerate(frames):
            self.sock.sendall(encode_frame(1 if index < len(frames) - 1 else 0, body))

    def next_frame(self, timeout: float) -> tuple[int, bytes] | None:
        """The next (flags, body); None at the deadline or at EOF (then ``eof`` is set)."""
        deadline = time.monotonic() + timeout
        while not self.frames:
            if self.eof:
                return None
            chunk = self._read_chunk(deadline - time.monotonic())
            if chunk is None:
                return None
            self.frames.extend(self.decoder.feed(chunk))
        return self.frames.popleft()

    def next_command(self, name: bytes, timeout: float = DEADLINE) -> bytes:
        """The data of the next command called ``name`` (other frames are skipped)."""
        deadline = time.monotonic() + timeout
        while (frame := self.next_frame(deadline - time.monotonic())) is not None:
            if frame[0] & COMMAND and command_name(frame[1]) == name:
                return decode_command(frame[1])[1]
        raise AssertionError(f"mock: no {name!r} command within {timeout}s (eof={self.eof})")

    def frames_until_eof(self, timeout: float) -> tuple[list[tuple[int, bytes]], float]:
        """Every frame until the peer closes; (frames, seconds it took). Fails at the deadline."""
        start = time.monotonic()
        got: list[tuple[int, bytes]] = []
        while True:
            frame = self.next_frame(start + timeout - time.monotonic())
            if frame is not None:
                got.append(frame)
                continue
            if self.eof:
                return got, time.monotonic() - start
            raise AssertionError(f"mock: peer did not close within {timeout}s")


@pytest.fixture(params=["securemq", "pyzmq"])
def mock_server(contexts: dict[str, Any],
                request: pytest.FixtureRequest) -> Callable[..., tuple[Any, Any, str]]:
    """A ROUTER on tcp with a monitor: (router, monitor, endpoint). Every mock scenario runs
    against securemq and against libzmq (pyzmq), so the expectations are libzmq's own."""
    impl = str(request.param)

    def factory(**options: int) -> tuple[Any, Any, str]:
        router = make_socket(contexts, impl, pyzmq.ROUTER, **options)
        mon = router.get_monitor_socket()
        endpoint = bind_tcp(router)
        wait_event(mon, Event.LISTENING)
        return router, mon, endpoint

    return factory


@pytest.fixture
def mocks() -> Iterator[list[MockPeer]]:
    made: list[MockPeer] = []
    yield made
    for mock in made:
        mock.close()


def connect_mock(mocks: list[MockPeer], endpoint: str, socket_type: bytes = b"DEALER") -> MockPeer:
    mock = MockPeer(endpoint, socket_type)
    mocks.append(mock)
    mock.handshake()
    return mock


# -- the mock never answers PING -----------------------------------------------------------------
def test_mock_handshake_is_sound(mock_server: Callable[..., tuple[Any, Any, str]],
                                 mocks: list[MockPeer]) -> None:
    """Positive control for the hand-made peer: its message reaches the ROUTER, the reply it."""
    router, _mon, endpoint = mock_server()
    mock = connect_mock(mocks, endpoint)
    assert lookup(mock.peer_properties, "Socket-Type") == b"ROUTER"
    mock.send_message(b"hello")
    routing_id, body = router.recv_multipart()
    assert body == b"hello"
    router.send_multipart([routing_id, b"world"])
    frame = mock.next_frame(DEADLINE)
    assert frame == (0, b"world")


def test_timeout_when_the_peer_never_answers_ping(
    mock_server: Callable[..., tuple[Any, Any, str]], mocks: list[MockPeer]
) -> None:
    _router, mon, endpoint = mock_server(heartbeat_ivl=50, heartbeat_ttl=1500)
    mock = connect_mock(mocks, endpoint)
    start = time.monotonic()
    frames, took = mock.frames_until_eof(DEADLINE)
    pings = [body for flags, body in frames if flags & COMMAND and command_name(body) == b"PING"]
    assert pings, f"no PING arrived before the disconnect (frames: {frames!r})"
    for body in pings:
        data = decode_command(body)[1]
        # 2-byte TTL in deciseconds (HEARTBEAT_TTL 1500 ms -> 15), and libzmq sends no context.
        assert data == struct.pack(">H", 15), f"PING data {data!r}"
    # Timeout defaults to IVL: the server gives up after roughly IVL + TIMEOUT of silence.
    assert 0.05 <= took < 2.0, f"disconnected after {took:.3f}s"
    events = wait_event(mon, Event.DISCONNECTED, timeout=DEADLINE - (time.monotonic() - start))
    assert events[:2] == [Event.ACCEPTED, Event.HANDSHAKE_SUCCEEDED], [Event(e) for e in events]
    assert Event.HANDSHAKE_FAILED_NO_DETAIL not in events


def test_answering_pong_keeps_the_connection(
    mock_server: Callable[..., tuple[Any, Any, str]], mocks: list[MockPeer]
) -> None:
    """Control for the timeout test: a mock that answers each PING stays connected."""
    router, mon, endpoint = mock_server(heartbeat_ivl=50)
    mock = connect_mock(mocks, endpoint)
    deadline = time.monotonic() + 0.5
    answered = 0
    while (left := deadline - time.monotonic()) > 0:
        frame = mock.next_frame(left)
        if frame is None:
            assert not mock.eof, "server closed a connection that answered every PING"
            break
        if frame[0] & COMMAND and command_name(frame[1]) == b"PING":
            mock.send_command(b"PONG")
            answered += 1
    assert answered >= 3
    assert Event.DISCONNECTED not in events_during([mon], 0.01)
    mock.send_message(b"still here")
    assert router.recv_multipart()[1] == b"still here"


def test_heartbeat_timeout_zero_sends_pings_but_never_times_out(
    mock_server: Callable[..., tuple[Any, Any, str]], mocks: list[MockPeer]
) -> None:
    """libzmq arms the PONG timer only when HEARTBEAT_TIMEOUT > 0 (zmtp_engine.cpp
    produce_ping_message): with 0 it keeps pinging a silent peer and never hangs up."""
    router, _mon, endpoint = mock_server(heartbeat_ivl=50, heartbeat_timeout=0)
    mock = connect_mock(mocks, endpoint)
    deadline = time.monotonic() + 0.5
    pings = 0
    while (left := deadline - time.monotonic()) > 0:
        frame = mock.next_frame(left)
        if frame is None:
            assert not mock.eof, f"server hung up after {pings} unanswered PINGs"
            break
        if frame[0] & COMMAND and command_name(frame[1]) == b"PING":
            pings += 1
    assert pings >= 3
    mock.send_message(b"still here")
    assert router.recv_multipart()[1] == b"still here"


# -- PING context --------------------------------------------------------------------------------
def test_pong_echoes_the_ping_context(mock_server: Callable[..., tuple[Any, Any, str]],
                                      mocks: list[MockPeer]) -> None:
    router, _mon, endpoint = mock_server()
    mock = connect_mock(mocks, endpoint)
    mock.send_raw_command(ping(0, b"LOL"))
    assert mock.next_command(b"PONG") == b"LOL"
    long_context = bytes(range(65, 65 + 65))
    mock.send_raw_command(ping(0, long_context))
    assert mock.next_command(b"PONG") == long_context[:16]
    mock.send_raw_command(ping(0))
    assert mock.next_command(b"PONG") == b""
    # The connection is still good after the PINGs.
    mock.send_message(b"after")
    assert router.recv_multipart()[1] == b"after"


def test_pong_context_fed_one_byte_at_a_time(mock_server: Callable[..., tuple[Any, Any, str]],
                                             mocks: list[MockPeer]) -> None:
    _router, _mon, endpoint = mock_server()
    mock = connect_mock(mocks, endpoint)
    mock.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for byte in encode_frame(COMMAND, ping(0, b"byte-by-byte")):
        mock.sock.sendall(bytes((byte,)))
    assert mock.next_command(b"PONG") == b"byte-by-byte"


# -- TTL honoured ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("client_impl", "server_impl"),
    [("securemq", "securemq"), ("securemq", "pyzmq"), ("pyzmq", "securemq")],
)
def test_server_honours_the_client_ttl(contexts: dict[str, Any], client_impl: str,
                                       server_impl: str) -> None:
    """Client pings every 250 ms but promises only 100 ms: a server without heartbeats of its
    own disconnects it once the TTL runs out."""
    server = make_socket(contexts, server_impl, pyzmq.ROUTER)
    mon = server.get_monitor_socket()
    endpoint = bind_tcp(server)
    client = make_socket(contexts, client_impl, pyzmq.DEALER,
                         heartbeat_ttl=100, heartbeat_ivl=250)
    client.connect(endpoint)
    wait_event(mon, Event.HANDSHAKE_SUCCEEDED)
    start = time.monotonic()
    wait_event(mon, Event.DISCONNECTED, timeout=3.0)
    took = time.monotonic() - start
    # The first PING (at 250 ms) carries the TTL; it expires 100 ms later.
    assert took >= 0.2, f"disconnected after {took:.3f}s, before the first PING could arrive"


@pytest.mark.parametrize(("client_impl", "server_impl"),
                         [("securemq", "securemq"), ("pyzmq", "securemq")])
def test_ttl_longer_than_the_interval_keeps_the_connection(
    contexts: dict[str, Any], client_impl: str, server_impl: str
) -> None:
    """Control: the same client promising 1 s with pings every 250 ms is never dropped."""
    server = make_socket(contexts, server_impl, pyzmq.ROUTER)
    mon = server.get_monitor_socket()
    endpoint = bind_tcp(server)
    client = make_socket(contexts, client_impl, pyzmq.DEALER,
                         heartbeat_ttl=1000, heartbeat_ivl=250)
    client.connect(endpoint)
    wait_event(mon, Event.HANDSHAKE_SUCCEEDED)
    assert Event.DISCONNECTED not in events_during([mon], 0.7)
    client.send(b"alive")
    assert server.recv_multipart()[1] == b"alive"


def test_mock_ping_ttl_then_silence_is_disconnected(
    mock_server: Callable[..., tuple[Any, Any, str]], mocks: list[MockPeer]
) -> None:
    _router, mon, endpoint = mock_server()
    mock = connect_mock(mocks, endpoint)
    wait_event(mon, Event.HANDSHAKE_SUCCEEDED)
    mock.send_raw_command(ping(1))  # TTL 1 decisecond = 100 ms
    frames, took = mock.frames_until_eof(3.0)
    assert [command_name(body) for _flags, body in frames] == [b"PONG"]
    assert 0.05 <= took < 2.0, f"disconnected after {took:.3f}s"
    wait_event(mon, Event.DISCONNECTED)


def test_mock_ping_ttl_zero_then_silence_stays(
    mock_server: Callable[..., tuple[Any, Any, str]], mocks: list[MockPeer]
) -> None:
    """Control: TTL 0 promises nothing, so silence afterwards is not a reason to hang up."""
    _router, mon, endpoint = mock_server()
    mock = connect_mock(mocks, endpoint)
    wait_event(mon, Event.HANDSHAKE_SUCCEEDED)
    mock.send_raw_command(ping(0))
    assert mock.next_command(b"PONG") == b""
    assert mock.next_frame(0.4) is None and not mock.eof
    assert Event.DISCONNECTED not in events_during([mon], 0.01)


def test_traffic_after_a_ttl_ping_cancels_the_ttl(
    mock_server: Callable[..., tuple[Any, Any, str]], mocks: list[MockPeer]
) -> None:
    """libzmq arms the TTL timer when a PING arrives and cancels it on the next inbound
    message of any kind (stream_engine_base.cpp decode_and_push); only the next PING re-arms
    it. So PING(TTL 100 ms), one data message, then silence: the connection stays."""
    router, mon, endpoint = mock_server()
    mock = connect_mock(mocks, endpoint)
    wait_event(mon, Event.HANDSHAKE_SUCCEEDED)
    mock.send_raw_command(ping(1))
    assert mock.next_command(b"PONG") == b""
    mock.send_message(b"after the ping")
    assert router.recv_multipart()[1] == b"after the ping"
    assert mock.next_frame(0.4) is None and not mock.eof, "TTL outlived the traffic"
    assert Event.DISCONNECTED not in events_during([mon], 0.01)


# -- no timeout under normal ping/pong ------------------------------------------------------------
PAIRS = [
    (pyzmq.DEALER, pyzmq.ROUTER),
    (pyzmq.REQ, pyzmq.REP),
    (pyzmq.PUSH, pyzmq.PULL),
    (pyzmq.SUB, pyzmq.PUB),
    (pyzmq.PAIR, pyzmq.PAIR),
]
PAIR_IDS = ["dealer-router", "req-rep", "push-pull", "sub-pub", "pair-pair"]


def exchange(client: Any, server: Any, client_type: int) -> None:
    """One message across the pair (client -> server, or server -> client for SUB/PUB)."""
    if client_type == pyzmq.SUB:
        server.send(b"news")
        assert client.recv() == b"news"
    elif client_type == pyzmq.REQ:
        client.send(b"question")
        assert server.recv() == b"question"
        server.send(b"answer")
        assert client.recv() == b"answer"
    else:
        client.send(b"data")
        assert server.recv_multipart()[-1] == b"data"


def check_no_timeout(ctxs: dict[str, Any], client_impl: str, server_impl: str,
                     client_type: int, server_type: int, curve: bool = False,
                     window: float = 0.3) -> None:
    server = make_socket(ctxs, server_impl, server_type, heartbeat_ivl=50)
    client = make_socket(ctxs, client_impl, client_type, heartbeat_ivl=50)
    if curve:
        server_public, server_secret = securemq.curve_keypair()
        client_public, client_secret = securemq.curve_keypair()
        server.setsockopt(pyzmq.CURVE_SERVER, 1)
        server.setsockopt(pyzmq.CURVE_SECRETKEY, server_secret)
        client.setsockopt(pyzmq.CURVE_SERVERKEY, server_public)
        client.setsockopt(pyzmq.CURVE_PUBLICKEY, client_public)
        client.setsockopt(pyzmq.CURVE_SECRETKEY, client_secret)
    if client_type == pyzmq.SUB:
        client.setsockopt(pyzmq.SUBSCRIBE, b"")
    server_mon = server.get_monitor_socket()
    client_mon = client.get_monitor_socket()
    endpoint = bind_tcp(server)
    client.connect(endpoint)
    wait_event(server_mon, Event.HANDSHAKE_SUCCEEDED)
    wait_event(client_mon, Event.HANDSHAKE_SUCCEEDED)
    if client_type == pyzmq.SUB:
        # The subscription travels after the handshake: wait until it is in place.
        deadline = time.monotonic() + DEADLINE
        while not client.poll(20):
            assert time.monotonic() < deadline, "subscription never took effect"
            server.send(b"warm-up")
        while client.poll(50):
            client.recv()
    exchange(client, server, client_type)
    # Several IVL + TIMEOUT periods (100 ms each) of nothing but heartbeats.
    seen = events_during([server_mon, client_mon], window)
    assert Event.DISCONNECTED not in seen, [Event(e).name for e in seen]
    exchange(client, server, client_type)


@pytest.mark.parametrize(("client_type", "server_type"), PAIRS, ids=PAIR_IDS)
@pytest.mark.parametrize(
    ("client_impl", "server_impl"),
    [("securemq", "securemq"), ("securemq", "pyzmq"), ("pyzmq", "securemq")],
)
def test_no_timeout_under_normal_ping_pong(contexts: dict[str, Any], client_impl: str,
                                           server_impl: str, client_type: int,
                                           server_type: int) -> None:
    check_no_timeout(contexts, client_impl, server_impl, client_type, server_type)


@pytest.mark.parametrize(("client_type", "server_type"), PAIRS, ids=PAIR_IDS)
def test_no_timeout_under_curve(contexts: dict[str, Any], client_type: int,
                                server_type: int) -> None:
    check_no_timeout(contexts, "securemq", "securemq", client_type, server_type, curve=True)


@pytest.mark.parametrize(("client_impl", "server_impl"),
                         [("securemq", "pyzmq"), ("pyzmq", "securemq")])
def test_no_timeout_under_curve_with_libzmq(contexts: dict[str, Any], client_impl: str,
                                            server_impl: str) -> None:
    check_no_timeout(contexts, client_impl, server_impl, pyzmq.DEALER, pyzmq.ROUTER, curve=True)


# -- a dead peer is detected ----------------------------------------------------------------------
@pytest.mark.parametrize("server_impl", ["securemq", "pyzmq"])
def test_stalled_link_is_detected_then_reconnects(contexts: dict[str, Any],
                                                  server_impl: str) -> None:
    server = make_socket(contexts, server_impl, pyzmq.ROUTER)
    endpoint = bind_tcp(server)
    port = int(endpoint.rsplit(":", 1)[1])
    with FaultProxy("127.0.0.1", port) as proxy:
        client = make_socket(contexts, "securemq", pyzmq.DEALER, heartbeat_ivl=100,
                             heartbeat_timeout=300, reconnect_ivl=50)
        mon = client.get_monitor_socket()
        client.connect(proxy.endpoint)
        wait_event(mon, Event.HANDSHAKE_SUCCEEDED)
        client.send(b"one")
        routing_id, body = server.recv_multipart()
        assert body == b"one"
        server.send_multipart([routing_id, b"echo one"])
        assert client.recv() == b"echo one"

        proxy.stall()
        start = time.monotonic()
        events = wait_event(mon, Event.DISCONNECTED, timeout=3.0)
        took = time.monotonic() - start
        assert Event.DISCONNECTED not in events[:-1]
        # No traffic for HEARTBEAT_TIMEOUT after a PING: not sooner than the timeout itself.
        assert 0.25 <= took < 2.0, f"dead peer detected after {took:.3f}s"

        proxy.unstall()
        wait_event(mon, Event.HANDSHAKE_SUCCEEDED, timeout=3.0)
        assert proxy.accepted >= 2
        client.send(b"two")
        deadline = time.monotonic() + DEADLINE
        while True:
            routing_id, body = server.recv_multipart()
            if body == b"two":
                break
            assert time.monotonic() < deadline
        server.send_multipart([routing_id, b"echo two"])
        assert client.recv() == b"echo two"


def test_stall_without_heartbeat_is_not_detected(contexts: dict[str, Any]) -> None:
    """Control: without HEARTBEAT_IVL a stalled link looks alive for as long as we watch."""
    server = make_socket(contexts, "securemq", pyzmq.ROUTER)
    endpoint = bind_tcp(server)
    port = int(endpoint.rsplit(":", 1)[1])
    with FaultProxy("127.0.0.1", port) as proxy:
        client = make_socket(contexts, "securemq", pyzmq.DEALER)
        mon = client.get_monitor_socket()
        client.connect(proxy.endpoint)
        wait_event(mon, Event.HANDSHAKE_SUCCEEDED)
        proxy.stall()
        assert Event.DISCONNECTED not in events_during([mon], 0.6)


# -- setsockopt ----------------------------------------------------------------------------------
# (value set, value read back or None for EINVAL); libzmq converts HEARTBEAT_TTL to deciseconds
# with C integer division before checking 0 <= ttl <= 65535 (options.cpp).
TTL_CASES = [
    (6553599, 6553500),
    (6553600, None),
    (6553699, None),
    (0, 0),
    (99, 0),  # under 100 ms is "near zero"
    (150, 100),
    (-1, 0),
    (-99, 0),  # truncated toward zero, so still accepted
    (-100, None),
]


@pytest.mark.parametrize(("value", "expected"), TTL_CASES, ids=[str(v) for v, _ in TTL_CASES])
@pytest.mark.parametrize("impl", ["securemq", "pyzmq"])
def test_heartbeat_ttl_limits(contexts: dict[str, Any], impl: str, value: int,
                              expected: int | None) -> None:
    module: ModuleType = IMPLS[impl]
    sock = make_socket(contexts, impl, pyzmq.DEALER)
    sock.setsockopt(pyzmq.HEARTBEAT_TTL, 1200)
    if expected is None:
        with pytest.raises(module.ZMQError) as info:
            sock.setsockopt(pyzmq.HEARTBEAT_TTL, value)
        assert info.value.errno == pyzmq.EINVAL
        assert sock.getsockopt(pyzmq.HEARTBEAT_TTL) == 1200  # a failed set changes nothing
    else:
        sock.setsockopt(pyzmq.HEARTBEAT_TTL, value)
        assert sock.getsockopt(pyzmq.HEARTBEAT_TTL) == expected


@pytest.mark.parametrize("impl", ["securemq", "pyzmq"])
def test_heartbeat_option_defaults_and_ranges(contexts: dict[str, Any], impl: str) -> None:
    module: ModuleType = IMPLS[impl]
    sock = make_socket(contexts, impl, pyzmq.DEALER)
    assert sock.getsockopt(pyzmq.HEARTBEAT_IVL) == 0
    assert sock.getsockopt(pyzmq.HEARTBEAT_TIMEOUT) == -1
    assert sock.getsockopt(pyzmq.HEARTBEAT_TTL) == 0
    sock.setsockopt(pyzmq.HEARTBEAT_IVL, 75)
    sock.setsockopt(pyzmq.HEARTBEAT_TIMEOUT, 200)
    assert sock.getsockopt(pyzmq.HEARTBEAT_IVL) == 75
    assert sock.getsockopt(pyzmq.HEARTBEAT_TIMEOUT) == 200
    sock.setsockopt(pyzmq.HEARTBEAT_TIMEOUT, 0)
    assert sock.getsockopt(pyzmq.HEARTBEAT_TIMEOUT) == 0
    # -1 is only the default ("use IVL"): libzmq refuses to have it set (value >= 0).
    for option in (pyzmq.HEARTBEAT_IVL, pyzmq.HEARTBEAT_TIMEOUT):
        with pytest.raises(module.ZMQError) as info:
            sock.setsockopt(option, -1)
        assert info.value.errno == pyzmq.EINVAL
