"""ws:// and wss:// (ZWS 2.0, RFC 45) at the socket level: what the pattern and security matrices
do not cover -- TLS trust and host names both ways, the draft types over ws, endpoint names,
libzmq's own quirks on ws (observed with pyzmq on both sides), a second WebSocket implementation
(``websockets``) speaking ZWS by hand, and misbehaving peers that cost only their connection.

The patterns run over ws/wss in test_interop_patterns/peers/payloads (the ``endpoints`` fixture)
and every mechanism in test_security_matrix::test_patterns_over_websockets.
"""

from __future__ import annotations

import base64
import errno
import hashlib
import os
import socket
import struct
import time
from typing import Any

import pytest
import zmq

import securemq
from tests.tlsmaterial import tls_material

from .conftest import configure, next_event, wait_event, watch

pytestmark = pytest.mark.skipif(
    not zmq.has("WS"), reason="pyzmq here has no ws:// (install the oracle from ../shared/oracle)"
)

LIBS = {"securemq": securemq, "pyzmq": zmq}
DIRECTIONS = [("securemq", "pyzmq"), ("pyzmq", "securemq"), ("securemq", "securemq")]
DIRECTION_IDS = ["smq_server", "pyzmq_server", "smq_both"]
QUIET_MS = 500


def make(contexts: dict[str, Any], lib: str, kind: str, timeout_ms: int = 5000) -> Any:
    return configure(contexts[lib].socket(getattr(LIBS[lib], kind)), timeout_ms)


def wss_server(sock: Any) -> str:
    tls = tls_material()
    sock.setsockopt(zmq.WSS_CERT_PEM, tls.cert_pem)
    sock.setsockopt(zmq.WSS_KEY_PEM, tls.key_pem)
    sock.bind("wss://127.0.0.1:*")
    return str(sock.getsockopt(zmq.LAST_ENDPOINT).decode())


def wss_client(sock: Any, endpoint: str, trust: bytes, hostname: bytes | None) -> None:
    sock.setsockopt(zmq.WSS_TRUST_PEM, trust)
    if hostname is not None:
        sock.setsockopt(zmq.WSS_HOSTNAME, hostname)
    sock.connect(endpoint)


# -- TLS ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("server", "client"), DIRECTIONS, ids=DIRECTION_IDS)
@pytest.mark.parametrize(
    ("trusted", "hostname", "admitted"),
    [
        ("ca", b"localhost", True),
        ("ca", None, True),  # no WSS_HOSTNAME: the endpoint's host (127.0.0.1, in the SAN)
        ("ca", b"not-localhost.invalid", False),
        ("other", b"localhost", False),
    ],
    ids=["trusted", "endpoint-host", "wrong-hostname", "untrusted-ca"],
)
def test_wss_checks_the_chain_and_the_name(contexts: dict[str, Any], server: str, client: str,
                                           trusted: str, hostname: bytes | None,
                                           admitted: bool) -> None:
    tls = tls_material()
    rep = make(contexts, server, "REP")
    endpoint = wss_server(rep)
    req = make(contexts, client, "REQ")
    wss_client(req, endpoint, tls.ca_pem if trusted == "ca" else tls.other_ca_pem, hostname)
    req.send(b"secret question")
    if not admitted:
        assert not rep.poll(QUIET_MS), "a client that should refuse the server got through"
        return
    assert rep.recv() == b"secret question"
    rep.send(b"secret answer")
    assert req.recv() == b"secret answer"
    # A refused client next to it does not disturb the admitted one.
    stranger = make(contexts, client, "REQ")
    wss_client(stranger, endpoint, tls.other_ca_pem, b"localhost")
    stranger.send(b"x")
    req.send(b"still here")
    assert rep.recv() == b"still here"


def test_wss_refusal_is_reported_on_the_client(contexts: dict[str, Any]) -> None:
    """The securemq client that cannot verify the server sees a handshake failure (and does not
    deliver), then keeps retrying like any failed connection."""
    rep = make(contexts, "pyzmq", "REP")
    endpoint = wss_server(rep)
    req = make(contexts, "securemq", "REQ")
    monitor = watch(req)
    wss_client(req, endpoint, tls_material().other_ca_pem, b"localhost")
    seen = wait_event(monitor, zmq.EVENT_DISCONNECTED)
    assert zmq.EVENT_HANDSHAKE_SUCCEEDED not in seen
    failures = [e for e in seen if e & (zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
                                        | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL)]
    assert failures, f"no handshake failure reported: {[hex(e) for e in seen]}"


def test_wss_bind_without_a_certificate_is_einval(contexts: dict[str, Any]) -> None:
    """libzmq 4.3.5 aborts the process here; securemq refuses the bind and says why."""
    sock = make(contexts, "securemq", "REP")
    with pytest.raises(securemq.ZMQError) as info:
        sock.bind("wss://127.0.0.1:*")
    assert info.value.errno == zmq.EINVAL
    assert "WSS_CERT_PEM" in str(info.value) and "wss://127.0.0.1:*" in str(info.value)


def test_bad_pem_is_einval_and_not_echoed(contexts: dict[str, Any]) -> None:
    key_text = b"-----BEGIN PRIVATE KEY-----\nTOPSECRETKEYMATERIAL\n-----END PRIVATE KEY-----\n"
    server = make(contexts, "securemq", "REP")
    server.setsockopt(zmq.WSS_CERT_PEM, tls_material().cert_pem)
    server.setsockopt(zmq.WSS_KEY_PEM, key_text)
    with pytest.raises(securemq.ZMQError) as info:
        server.bind("wss://127.0.0.1:*")
    assert info.value.errno == zmq.EINVAL
    assert "TOPSECRET" not in str(info.value)
    client = make(contexts, "securemq", "REQ")
    client.setsockopt(zmq.WSS_TRUST_PEM, b"-----BEGIN CERTIFICATE-----\nnot base64\n")
    with pytest.raises(securemq.ZMQError) as info:
        client.connect("wss://127.0.0.1:5555")
    assert info.value.errno == zmq.EINVAL and "connect('wss://127.0.0.1:5555')" in str(info.value)


def test_wss_options_are_set_only_as_in_libzmq(contexts: dict[str, Any]) -> None:
    for lib in ("securemq", "pyzmq"):
        sock = make(contexts, lib, "REQ")
        sock.setsockopt(zmq.WSS_HOSTNAME, b"localhost")
        with pytest.raises(LIBS[lib].ZMQError) as info:
            sock.getsockopt(zmq.WSS_HOSTNAME)
        assert info.value.errno == zmq.EINVAL, lib


# -- draft types over ws ------------------------------------------------------------------------

DRAFTS = pytest.mark.skipif(not getattr(zmq, "DRAFT_API", False),
                            reason="needs the draft-enabled oracle pyzmq")


@DRAFTS
@pytest.mark.parametrize(("server", "client"), DIRECTIONS[:2], ids=DIRECTION_IDS[:2])
def test_client_server_over_ws(contexts: dict[str, Any], server: str, client: str) -> None:
    srv = make(contexts, server, "SERVER")
    srv.bind("ws://127.0.0.1:*")
    cli = make(contexts, client, "CLIENT")
    cli.connect(srv.getsockopt(zmq.LAST_ENDPOINT).decode())
    cli.send(b"hello")
    frame = srv.recv(copy=False)
    assert frame.bytes == b"hello"
    srv.send(b"welcome", routing_id=frame.routing_id)
    assert cli.recv() == b"welcome"


@DRAFTS
@pytest.mark.parametrize(("dish_lib", "radio_lib"), DIRECTIONS[:2], ids=DIRECTION_IDS[:2])
def test_radio_dish_over_ws(contexts: dict[str, Any], dish_lib: str, radio_lib: str) -> None:
    dish = make(contexts, dish_lib, "DISH", timeout_ms=50)
    dish.bind("ws://127.0.0.1:*")
    dish.join("weather" if dish_lib == "securemq" else b"weather")
    radio = make(contexts, radio_lib, "RADIO")
    radio.connect(dish.getsockopt(zmq.LAST_ENDPOINT).decode())
    deadline = time.monotonic() + 5
    while True:  # the JOIN travels to the radio after the handshake
        radio.send(b"noise", group="sport")
        radio.send(b"sunny", group="weather")
        try:
            frame = dish.recv(copy=False)
            break
        except (zmq.Again, securemq.Again):
            assert time.monotonic() < deadline, "the dish never got its group over ws"
    assert (frame.bytes, frame.group) == (b"sunny", "weather")


# -- endpoints ----------------------------------------------------------------------------------


def test_last_endpoint_and_unbind(contexts: dict[str, Any]) -> None:
    for lib in ("securemq", "pyzmq"):
        sock = make(contexts, lib, "PULL")
        sock.bind("ws://127.0.0.1:*")
        endpoint = sock.getsockopt(zmq.LAST_ENDPOINT).decode()
        assert endpoint.startswith("ws://127.0.0.1:") and endpoint.endswith("/"), (lib, endpoint)
        sock.unbind(endpoint)
        with pytest.raises(LIBS[lib].ZMQError) as info:
            sock.unbind(endpoint)
        assert info.value.errno == errno.ENOENT, lib


def test_a_path_is_kept_and_any_path_reaches_the_listener(contexts: dict[str, Any]) -> None:
    """libzmq neither routes nor checks the path: a client with another path still connects."""
    pull = make(contexts, "securemq", "PULL")
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    pull.bind(f"ws://127.0.0.1:{port}/zmq/feed")
    assert pull.getsockopt(zmq.LAST_ENDPOINT) == f"ws://127.0.0.1:{port}/zmq/feed".encode()
    push = make(contexts, "pyzmq", "PUSH")
    push.connect(f"ws://127.0.0.1:{port}/elsewhere")
    push.send(b"found")
    assert pull.recv() == b"found"


def test_ws_over_ipv6(contexts: dict[str, Any]) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    pull = make(contexts, "securemq", "PULL")
    pull.setsockopt(zmq.IPV6, 1)
    try:
        pull.bind("ws://[::1]:*")
    except securemq.ZMQError as exc:
        pytest.skip(f"no ::1 here ({exc})")
    endpoint = pull.getsockopt(zmq.LAST_ENDPOINT).decode()
    assert endpoint.startswith("ws://[::1]:")
    push = make(contexts, "pyzmq", "PUSH")
    push.setsockopt(zmq.IPV6, 1)
    push.connect(endpoint)
    push.send(b"six")
    assert pull.recv() == b"six"


# -- libzmq's own behaviour on ws, observed (pyzmq on both sides) --------------------------------


def _handshakes(monitor: Any, quiet_ms: int = 300) -> int:
    count = 0
    while (got := next_event(monitor, quiet_ms)) is not None:
        count += got[0] == zmq.EVENT_HANDSHAKE_SUCCEEDED
    return count


def test_libzmq_reports_handshake_succeeded_twice_on_ws(contexts: dict[str, Any]) -> None:
    """libzmq 4.3.5 emits HANDSHAKE_SUCCEEDED for the WebSocket upgrade and again for the ZMTP
    handshake, on both ends; securemq reports each connection's handshake once."""
    counts = {}
    for lib in ("pyzmq", "securemq"):
        server, client = make(contexts, lib, "PAIR"), make(contexts, lib, "PAIR")
        server_mon, client_mon = watch(server), watch(client)
        server.bind("ws://127.0.0.1:*")
        client.connect(server.getsockopt(zmq.LAST_ENDPOINT).decode())
        client.send(b"x")
        assert server.recv() == b"x"
        counts[lib] = (_handshakes(server_mon), _handshakes(client_mon))
    assert counts == {"pyzmq": (2, 2), "securemq": (1, 1)}


# -- a second WebSocket implementation speaking ZWS 2.0 by hand ---------------------------------
#
# RFC 45's subprotocol names ("ZWS2.0/NULL") contain "/", which is not an HTTP token character,
# so the ``websockets`` package refuses them in its handshake helpers. The upgrade is therefore
# written out here by hand and ``websockets``' sans-IO ``Protocol`` does the framing (masking,
# lengths, control frames): a second RFC 6455 implementation next to wsproto.

_WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def _command(name: bytes, body: bytes = b"") -> bytes:
    return b"\x02" + bytes((len(name),)) + name + body


def _property(name: bytes, value: bytes) -> bytes:
    return bytes((len(name),)) + name + struct.pack(">I", len(value)) + value


def _read_head(sock: socket.socket) -> tuple[bytes, bytes]:
    """The HTTP head up to the blank line, and any bytes after it."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise AssertionError(f"connection closed during the upgrade: {data!r}")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


class ByHandZws:
    """One ZWS 2.0 peer: the HTTP upgrade written by hand, frames by ``websockets``."""

    def __init__(self, sock: socket.socket, client: bool, leftover: bytes = b"") -> None:
        from websockets.protocol import Protocol, Side

        self.sock = sock
        self.ws = Protocol(Side.CLIENT if client else Side.SERVER)
        self.pending: list[bytes] = []
        if leftover:
            self.ws.receive_data(leftover)

    @classmethod
    def connect(cls, port: int, subprotocol: str) -> ByHandZws:
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        key = base64.b64encode(os.urandom(16))
        sock.sendall(
            b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Key: " + key + b"\r\n"
            b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: "
            + subprotocol.encode() + b"\r\n\r\n"
        )
        head, rest = _read_head(sock)
        accept = base64.b64encode(hashlib.sha1(key + _WS_GUID).digest())
        lines = head.split(b"\r\n")
        assert lines[0].startswith(b"HTTP/1.1 101"), lines[0]
        headers = {k.strip().lower(): v.strip() for k, _, v in
                   (line.partition(b":") for line in lines[1:])}
        assert headers[b"sec-websocket-accept"] == accept
        assert headers[b"sec-websocket-protocol"] == subprotocol.encode()
        return cls(sock, client=True, leftover=rest)

    @classmethod
    def accept(cls, sock: socket.socket, subprotocol: str) -> ByHandZws:
        head, rest = _read_head(sock)
        headers = {k.strip().lower(): v.strip() for k, _, v in
                   (line.partition(b":") for line in head.split(b"\r\n")[1:])}
        offered = [p.strip() for p in headers[b"sec-websocket-protocol"].split(b",")]
        assert subprotocol.encode() in offered, offered
        accept = base64.b64encode(
            hashlib.sha1(headers[b"sec-websocket-key"] + _WS_GUID).digest())
        sock.sendall(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n"
            b"Sec-WebSocket-Protocol: " + subprotocol.encode() + b"\r\n\r\n"
        )
        return cls(sock, client=False, leftover=rest)

    def send(self, message: bytes) -> None:
        self.ws.send_binary(message)
        for chunk in self.ws.data_to_send():
            self.sock.sendall(chunk)

    def recv(self) -> bytes:
        from websockets.frames import Opcode

        deadline = time.monotonic() + 5
        while not self.pending:
            for frame in self.ws.events_received():
                if frame.opcode is Opcode.BINARY:
                    self.pending.append(bytes(frame.data))
            if self.pending:
                break
            assert time.monotonic() < deadline, "ZWS peer: nothing received"
            data = self.sock.recv(65536)
            assert data, "ZWS peer: connection closed"
            self.ws.receive_data(data)
        return self.pending.pop(0)


@pytest.mark.parametrize("kind", ["PULL", "REP"])
def test_websockets_framing_client_speaks_zws_by_hand(contexts: dict[str, Any],
                                                       kind: str) -> None:
    pytest.importorskip("websockets")
    server = make(contexts, "securemq", kind)
    server.bind("ws://127.0.0.1:*")
    port = int(server.getsockopt(zmq.LAST_ENDPOINT).decode().rsplit(":", 1)[1].rstrip("/"))
    peer = ByHandZws.connect(port, "ZWS2.0/NULL")
    peer_type = b"PUSH" if kind == "PULL" else b"REQ"
    peer.send(_command(b"READY", _property(b"Socket-Type", peer_type)))
    ready = peer.recv()
    assert ready.startswith(_command(b"READY"))
    assert _property(b"Socket-Type", kind.encode()) in ready
    if kind == "PULL":
        peer.send(b"\x01part one")  # MORE
        peer.send(b"\x00part two")
        assert server.recv_multipart() == [b"part one", b"part two"]
    else:
        peer.send(b"\x01")  # REQ's empty delimiter
        peer.send(b"\x00question")
        assert server.recv() == b"question"
        server.send(b"answer")
        assert peer.recv() == b"\x01"
        assert peer.recv() == b"\x00answer"
    peer.sock.close()


def test_websockets_framing_server_accepts_our_client(contexts: dict[str, Any]) -> None:
    """The other way round: securemq's ws client against the by-hand server."""
    pytest.importorskip("websockets")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(5)
    push = make(contexts, "securemq", "PUSH")
    push.connect(f"ws://127.0.0.1:{listener.getsockname()[1]}/")
    sock, _ = listener.accept()
    sock.settimeout(5)
    peer = ByHandZws.accept(sock, "ZWS2.0/NULL")
    peer.send(_command(b"READY", _property(b"Socket-Type", b"PULL")))
    ready = peer.recv()
    assert ready.startswith(_command(b"READY"))
    assert _property(b"Socket-Type", b"PUSH") in ready
    push.send_multipart([b"over", b"websockets"])
    assert peer.recv() == b"\x01over"
    assert peer.recv() == b"\x00websockets"
    sock.close()
    listener.close()


# -- misbehaving peers cost only their own connection -------------------------------------------


def _raw(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.settimeout(5)
    return sock


def _upgrade(sock: socket.socket, protocol: str = "ZWS2.0/NULL") -> bytes:
    sock.sendall(
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        b"Sec-WebSocket-Protocol: " + protocol.encode() + b"\r\n\r\n"
    )
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = sock.recv(4096)
        if not chunk:
            break
        answer += chunk
    return answer


def _masked(opcode: int, payload: bytes, fin: bool = True, declared: int | None = None) -> bytes:
    length = len(payload) if declared is None else declared
    head = bytes(((0x80 if fin else 0) | opcode,))
    if length < 126:
        head += bytes((0x80 | length,))
    elif length < 1 << 16:
        head += bytes((0x80 | 126,)) + struct.pack(">H", length)
    else:
        head += bytes((0x80 | 127,)) + struct.pack(">Q", length)
    mask = b"\x11\x22\x33\x44"
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def _closed_by_server(sock: socket.socket) -> bool:
    deadline = time.monotonic() + 5
    try:
        while time.monotonic() < deadline:
            if not sock.recv(65536):
                return True
    except (ConnectionResetError, TimeoutError):
        return True
    return False


@pytest.mark.parametrize("attack", ["garbage", "plain-http", "wrong-subprotocol", "text-message",
                                    "unmasked", "huge-declared-length", "empty-message"])
def test_bad_websocket_peer_costs_only_its_connection(contexts: dict[str, Any],
                                                      attack: str) -> None:
    pull = make(contexts, "securemq", "PULL")
    pull.setsockopt(zmq.MAXMSGSIZE, 1 << 20)
    pull.bind("ws://127.0.0.1:*")
    endpoint = pull.getsockopt(zmq.LAST_ENDPOINT).decode()
    port = int(endpoint.rsplit(":", 1)[1].rstrip("/"))
    good = make(contexts, "pyzmq", "PUSH")
    good.connect(endpoint)
    good.send(b"before")
    assert pull.recv() == b"before"

    bad = _raw(port)
    if attack == "garbage":
        bad.sendall(b"\x00\xffnot http at all\r\n\r\n" * 4)
    elif attack == "plain-http":
        bad.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    elif attack == "wrong-subprotocol":
        assert b" 101 " not in _upgrade(bad, "ZWS2.0/CURVE")
    else:
        assert b" 101 " in _upgrade(bad)
        ready = _command(b"READY", _property(b"Socket-Type", b"PUSH"))
        bad.sendall(_masked(0x2, ready))
        if attack == "text-message":
            bad.sendall(_masked(0x1, b"\x00text is not ZWS"))
        elif attack == "unmasked":
            bad.sendall(b"\x82\x05\x00abcd")
        elif attack == "huge-declared-length":
            bad.sendall(_masked(0x2, b"\x00" * 16, declared=1 << 40)[:40])
        elif attack == "empty-message":
            bad.sendall(_masked(0x2, b""))
    assert _closed_by_server(bad), f"{attack}: the server kept a misbehaving connection"
    bad.close()
    good.send(b"after")
    assert pull.recv() == b"after"
    assert not pull.poll(100), "the bad peer's bytes were delivered"
