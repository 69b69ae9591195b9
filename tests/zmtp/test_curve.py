"""CURVE mechanism: in-memory handshakes, traffic, ZAP rules, tampering, and pyzmq interop."""

from __future__ import annotations

import errno
import random
import socket
import struct
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nacl.bindings import crypto_box_keypair, crypto_box_open, crypto_box_open_afternm

from securemq import z85
from securemq.constants import Event, ProtocolError, SocketType
from securemq.zmtp.connection import ZmtpConnection
from securemq.zmtp.errors import AuthenticationFailure, NoDetailFailure, UsageError, ZmtpError
from securemq.zmtp.events import (
    ConnectionFailed,
    HandshakeComplete,
    MessagesReceived,
    ZapRequestNeeded,
)
from securemq.zmtp.events import Event as ConnEvent
from securemq.zmtp.mechanisms.base import ZapReplyData, ZapRequestData, ZapSettings
from securemq.zmtp.mechanisms.curve import CurveMechanism
from tests.zmtp.pump import Responder, of_type, pump_mechanisms
from tests.zmtp.pump import pump as conn_pump

CRYPTO = ProtocolError.ZMTP_CRYPTOGRAPHIC
UNEXPECTED = ProtocolError.ZMTP_UNEXPECTED_COMMAND

SERVER_PUB, SERVER_SEC = crypto_box_keypair()
CLIENT_PUB, CLIENT_SEC = crypto_box_keypair()
DEALER = {"Socket-Type": b"DEALER"}


def seeded(seed: int) -> Callable[[int], bytes]:
    rng = random.Random(seed)
    return rng.randbytes


def make_pair(
    *,
    zap: ZapSettings | None = None,
    client_props: dict[str, bytes] | None = None,
    server_props: dict[str, bytes] | None = None,
    server_key: bytes = SERVER_PUB,
    client_pub: bytes = CLIENT_PUB,
    client_sec: bytes = CLIENT_SEC,
    seed: int = 1,
) -> tuple[CurveMechanism, CurveMechanism]:
    client = CurveMechanism(
        as_server=False,
        properties=client_props or dict(DEALER),
        zap=ZapSettings(),
        public_key=client_pub,
        secret_key=client_sec,
        server_key=server_key,
        random_bytes=seeded(seed),
    )
    server = CurveMechanism(
        as_server=True,
        properties=server_props or dict(DEALER),
        zap=zap or ZapSettings(),
        public_key=SERVER_PUB,
        secret_key=SERVER_SEC,
        random_bytes=seeded(seed + 1000),
    )
    return client, server




def reply(status: bytes, user: bytes = b"", meta: dict[str, bytes] | None = None) -> Responder:
    def respond(request: ZapRequestData) -> ZapReplyData:
        return ZapReplyData(status, b"text", user, meta or {})

    return respond


pump = pump_mechanisms


def handshake(**kwargs: object) -> tuple[CurveMechanism, CurveMechanism, list[bytes]]:
    client, server = make_pair(**kwargs)  # type: ignore[arg-type]
    transcript = pump(client, server)
    assert client.ready and server.ready
    return client, server, transcript


# -- handshakes ------------------------------------------------------------------------------


def test_handshake_without_zap_is_stonehouse() -> None:
    client, server, transcript = handshake(
        client_props={"Socket-Type": b"DEALER", "Identity": b"me"},
        server_props={"Socket-Type": b"ROUTER", "X-Extra": b"x"},
    )
    assert [len(b) for b in transcript[:2]] == [200, 168]
    assert transcript[2].startswith(b"\x08INITIATE") and transcript[3].startswith(b"\x05READY")
    assert server.peer_properties == {"Socket-Type": b"DEALER", "Identity": b"me"}
    assert client.peer_properties == {"Socket-Type": b"ROUTER", "X-Extra": b"x"}
    # As libzmq: without a ZAP decision there is no User-Id (it comes from ZAP only).
    assert server.user_id is None
    assert server.client_key == CLIENT_PUB
    assert server.zap_request is None


def test_hello_layout_and_nonce_prefix() -> None:
    client, _ = make_pair()
    (hello,) = client.next_commands()
    assert len(hello) == 200
    assert hello[:6] == b"\x05HELLO" and hello[6:8] == b"\x01\x00"
    assert hello[8:80] == bytes(72)
    assert hello[112:120] == struct.pack(">Q", 1)  # our counter starts at 1
    plain = crypto_box_open(
        hello[120:], b"CurveZMQHELLO---" + hello[112:120], hello[80:112], SERVER_SEC
    )
    assert plain == bytes(64)


def test_transcript_is_deterministic_with_injected_randomness() -> None:
    *_, first = handshake(seed=7)
    *_, second = handshake(seed=7)
    *_, other = handshake(seed=8)
    assert first == second
    assert first[0] != other[0]


def test_hello_padding_is_not_checked() -> None:
    client, server = make_pair()
    (hello,) = client.next_commands()
    server.process_command(hello[:8] + b"\xaa" * 72 + hello[80:])
    for body in server.next_commands():
        client.process_command(body)
    assert len(client.next_commands()) == 1


def test_ready_only_after_zap_200() -> None:
    client, server = make_pair(zap=ZapSettings(handler_present=True, domain=b"d"))
    pump(client, server)
    assert server.zap_request == ZapRequestData(b"CURVE", [CLIENT_PUB])
    assert not server.ready and not client.ready
    assert server.next_commands() == []
    server.zap_reply(ZapReplyData(b"200", b"OK", b"alice", {"Hello": b"World"}))
    pump(client, server)
    assert server.ready and client.ready
    assert server.user_id == b"alice"
    assert server.zap_properties == {"Hello": b"World"}
    assert server.zap_request is None


@pytest.mark.parametrize(("status", "reason"), [(b"300", None), (b"400", b"400"), (b"500", b"500")])
def test_zap_refusal(status: bytes, reason: bytes | None) -> None:
    client, server = make_pair(zap=ZapSettings(handler_present=True))
    with pytest.raises(AuthenticationFailure) as info:
        pump(client, server, reply(status))
    assert info.value.status == int(status)
    assert info.value.event == Event.HANDSHAKE_FAILED_AUTH
    assert info.value.error_reason == reason
    assert not server.ready


def test_zap_asked_with_empty_domain_when_handler_bound() -> None:
    client, server = make_pair(zap=ZapSettings(handler_present=True))
    pump(client, server, reply(b"200", b"bob"))
    assert server.ready and server.user_id == b"bob"


def test_enforce_without_handler_fails_efault() -> None:
    client, server = make_pair(zap=ZapSettings(domain=b"x", enforce=True))
    with pytest.raises(NoDetailFailure) as info:
        pump(client, server)
    assert info.value.value == errno.EFAULT
    assert info.value.event == Event.HANDSHAKE_FAILED_NO_DETAIL


@pytest.mark.parametrize("handler", [False, True])
def test_enforce_with_empty_domain_skips_zap(handler: bool) -> None:
    client, server = make_pair(zap=ZapSettings(handler_present=handler, enforce=True))
    pump(client, server)  # no responder: would stall if ZAP were asked
    assert server.ready and client.ready
    assert server.user_id is None


def test_domain_without_handler_accepts() -> None:
    client, server = make_pair(zap=ZapSettings(domain=b"x"))
    pump(client, server)
    assert server.ready and client.ready


def test_zap_reply_without_request_is_usage_error() -> None:
    _, server = make_pair()
    with pytest.raises(UsageError):
        server.zap_reply(ZapReplyData(b"200", b"", b"", {}))


def test_incompatible_socket_types_fail_with_invalid_metadata() -> None:
    client, server = make_pair(client_props={"Socket-Type": b"PUB"})
    with pytest.raises(ZmtpError) as info:
        pump(client, server)
    assert info.value.value == ProtocolError.ZMTP_INVALID_METADATA


def test_server_error_command_during_handshake() -> None:
    client, _ = make_pair()
    client.next_commands()
    with pytest.raises(AuthenticationFailure) as info:
        client.process_command(b"\x05ERROR\x03400")
    assert info.value.status == 400 and info.value.reconnect is False
    with pytest.raises(ZmtpError) as info2:
        make_pair()[0].process_command(b"\x05ERROR\x09400")
    assert info2.value.value == ProtocolError.ZMTP_MALFORMED_COMMAND_ERROR


def test_unexpected_commands() -> None:
    client, server = make_pair()
    with pytest.raises(ZmtpError) as info:
        server.process_command(b"\x05READY" + bytes(30))
    assert info.value.value == UNEXPECTED
    with pytest.raises(ZmtpError) as info:
        client.process_command(b"\x05HELLO" + bytes(194))
    assert info.value.value == UNEXPECTED
    with pytest.raises(ZmtpError) as info:
        server.process_command(b"")
    assert info.value.value == ProtocolError.ZMTP_MALFORMED_COMMAND_UNSPECIFIED
    client, server, _ = handshake()
    with pytest.raises(ZmtpError) as info:
        server.process_command(b"\x05HELLO" + bytes(194))
    assert info.value.value == UNEXPECTED


def test_command_while_waiting_for_zap_is_unexpected() -> None:
    client, server = make_pair(zap=ZapSettings(handler_present=True))
    transcript = pump(client, server)
    with pytest.raises(ZmtpError) as info:
        server.process_command(transcript[2])
    assert info.value.value == UNEXPECTED


def test_bad_key_lengths_are_usage_errors() -> None:
    with pytest.raises(UsageError):
        CurveMechanism(
            as_server=True, properties=DEALER, public_key=b"x" * 31, secret_key=SERVER_SEC
        )
    with pytest.raises(UsageError):
        CurveMechanism(
            as_server=False, properties=DEALER, public_key=CLIENT_PUB, secret_key=CLIENT_SEC
        )
    mech = CurveMechanism(
        as_server=False,
        properties=DEALER,
        public_key=z85.encode(CLIENT_PUB),
        secret_key=z85.encode(CLIENT_SEC),
        server_key=z85.encode(SERVER_PUB),
    )
    assert len(mech.next_commands()[0]) == 200


# -- traffic ---------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, 1 << 20, 10 << 20])
def test_traffic_both_ways(size: int) -> None:
    client, server, _ = handshake()
    payload = random.Random(size).randbytes(size)
    wire = client.encode_frame(1, payload)
    assert wire[:8] == b"\x07MESSAGE" and len(wire) == 16 + 16 + 1 + size
    assert server.decode_frame(wire) == (1, payload)
    wire = server.encode_frame(0, payload)
    assert client.decode_frame(wire) == (0, payload)


def test_message_nonces_and_prefixes() -> None:
    client, server, _ = handshake()
    first = client.encode_frame(2, b"cmd")
    second = client.encode_frame(0, b"x")
    assert first[8:16] == struct.pack(">Q", 3)  # HELLO 1, INITIATE 2
    assert second[8:16] == struct.pack(">Q", 4)
    reply_wire = server.encode_frame(0, b"y")
    assert reply_wire[8:16] == struct.pack(">Q", 2)  # READY took 1
    # The box opens with the RFC prefix and the shared key (independent check).
    key = client._precom
    assert crypto_box_open_afternm(first[16:], b"CurveZMQMESSAGEC" + first[8:16], key) == b"\x02cmd"
    assert (
        crypto_box_open_afternm(reply_wire[16:], b"CurveZMQMESSAGES" + reply_wire[8:16], key)
        == b"\x00y"
    )
    assert server.decode_frame(first) == (2, b"cmd")
    assert server.decode_frame(second) == (0, b"x")


def test_replayed_message_fails() -> None:
    client, server, _ = handshake()
    wire = client.encode_frame(0, b"once")
    assert server.decode_frame(wire) == (0, b"once")
    with pytest.raises(ZmtpError) as info:
        server.decode_frame(wire)
    assert info.value.value == ProtocolError.ZMTP_INVALID_SEQUENCE


def test_reordered_message_fails() -> None:
    client, server, _ = handshake()
    first, second = client.encode_frame(0, b"1"), client.encode_frame(0, b"2")
    assert server.decode_frame(second) == (0, b"2")
    with pytest.raises(ZmtpError) as info:
        server.decode_frame(first)
    assert info.value.value == ProtocolError.ZMTP_INVALID_SEQUENCE


def test_forged_message_does_not_advance_the_nonce() -> None:
    client, server, _ = handshake()
    wire = client.encode_frame(0, b"ok")
    forged = wire[:8] + struct.pack(">Q", 1 << 60) + wire[16:]
    with pytest.raises(ZmtpError) as info:
        server.decode_frame(forged)
    assert info.value.value == CRYPTO
    assert server.decode_frame(wire) == (0, b"ok")


def test_traffic_before_ready_is_usage_error() -> None:
    client, _ = make_pair()
    with pytest.raises(UsageError):
        client.encode_frame(0, b"x")
    with pytest.raises(UsageError):
        client.decode_frame(b"\x07MESSAGE" + bytes(25))


# -- tampering -------------------------------------------------------------------------------
# For every byte of each command: flip it and check the exact ZmtpError code. None = accepted.

Expect = Callable[[int], "ProtocolError | None"]


def _hello_expect(offset: int) -> ProtocolError | None:
    if offset < 6:
        return UNEXPECTED
    if offset < 8:
        return ProtocolError.ZMTP_MALFORMED_COMMAND_HELLO
    if offset < 80:
        return None  # padding, not checked (as libzmq)
    return CRYPTO


def _welcome_expect(offset: int) -> ProtocolError | None:
    return UNEXPECTED if offset < 8 else CRYPTO


def _initiate_expect(offset: int) -> ProtocolError | None:
    return UNEXPECTED if offset < 9 else CRYPTO


def _ready_expect(offset: int) -> ProtocolError | None:
    return UNEXPECTED if offset < 6 else CRYPTO


COMMANDS: dict[str, tuple[int, Expect]] = {
    # name -> (index in the transcript, expected code by offset)
    "HELLO": (0, _hello_expect),
    "WELCOME": (1, _welcome_expect),
    "INITIATE": (2, _initiate_expect),
    "READY": (3, _ready_expect),
}


def _deliver_tampered(index: int, tamper: Callable[[bytes], bytes]) -> None:
    """Replay the deterministic handshake, altering transcript[index] before delivery."""
    client, server = make_pair(seed=3)
    sides = [(client, server), (server, client)]
    step = 0
    while True:
        src, dst = sides[step % 2]
        bodies = src.next_commands()
        if not bodies:
            break
        for body in bodies:
            dst.process_command(tamper(body) if step == index else body)
        step += 1
    assert client.ready and server.ready


@pytest.mark.parametrize("command", list(COMMANDS))
def test_flip_every_byte(command: str) -> None:
    index, expect = COMMANDS[command]
    length = len(pump(*make_pair(seed=3))[index])
    for offset in range(length):

        def flip(body: bytes, offset: int = offset) -> bytes:
            return body[:offset] + bytes((body[offset] ^ 0x01,)) + body[offset + 1 :]

        code = expect(offset)
        if code is None:
            _deliver_tampered(index, flip)
            continue
        with pytest.raises(ZmtpError) as info:
            _deliver_tampered(index, flip)
        assert info.value.value == code, (command, offset)


@pytest.mark.parametrize(
    ("command", "delta", "code"),
    [
        ("HELLO", -1, ProtocolError.ZMTP_MALFORMED_COMMAND_HELLO),
        ("HELLO", 1, ProtocolError.ZMTP_MALFORMED_COMMAND_HELLO),
        ("WELCOME", -1, ProtocolError.ZMTP_MALFORMED_COMMAND_WELCOME),
        ("WELCOME", 1, ProtocolError.ZMTP_MALFORMED_COMMAND_WELCOME),
        ("INITIATE", -1, CRYPTO),
        ("INITIATE", 1, CRYPTO),
        ("INITIATE", -1000, ProtocolError.ZMTP_MALFORMED_COMMAND_INITIATE),
        ("READY", -1, CRYPTO),
        ("READY", 1, CRYPTO),
        ("READY", -1000, ProtocolError.ZMTP_MALFORMED_COMMAND_READY),
    ],
)
def test_truncate_or_extend(command: str, delta: int, code: ProtocolError) -> None:
    index, _ = COMMANDS[command]
    prefix_len = {"HELLO": 6, "WELCOME": 8, "INITIATE": 9, "READY": 6}[command]

    def resize(body: bytes) -> bytes:
        if delta > 0:
            return body + b"\x00" * delta
        return body[: max(prefix_len, len(body) + delta)]

    with pytest.raises(ZmtpError) as info:
        _deliver_tampered(index, resize)
    assert info.value.value == code


def _message_expect(offset: int) -> ProtocolError:
    return UNEXPECTED if offset < 8 else CRYPTO


def test_flip_every_byte_of_message() -> None:
    client, server, _ = handshake()
    wire = client.encode_frame(1, b"payload")
    for offset in range(len(wire)):
        # XOR 0x80 on the nonce makes it larger, so the failure is the box, not the sequence.
        mask = 0x80 if 8 <= offset < 16 else 0x01
        tampered = wire[:offset] + bytes((wire[offset] ^ mask,)) + wire[offset + 1 :]
        with pytest.raises(ZmtpError) as info:
            server.decode_frame(tampered)
        assert info.value.value == _message_expect(offset), offset
    assert server.decode_frame(wire) == (1, b"payload")  # failures did not advance the nonce


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"", ProtocolError.ZMTP_MALFORMED_COMMAND_UNSPECIFIED),
        (b"\x07MESS", ProtocolError.ZMTP_MALFORMED_COMMAND_UNSPECIFIED),
        (b"\x07MESSAGE" + bytes(24), ProtocolError.ZMTP_MALFORMED_COMMAND_MESSAGE),
        (b"\x07MESSAGE" + b"\x00" * 7 + b"\x09" + bytes(18), CRYPTO),
        (b"\x05READY" + bytes(40), UNEXPECTED),
        (b"hello world, not a command at all", ProtocolError.ZMTP_MALFORMED_COMMAND_UNSPECIFIED),
        (b"\x04PING" + bytes(30), UNEXPECTED),
    ],
)
def test_malformed_message_frames(body: bytes, code: ProtocolError) -> None:
    _, server, _ = handshake()
    with pytest.raises(ZmtpError) as info:
        server.decode_frame(body)
    assert info.value.value == code


# -- the REFERENCE's libzmq cases (tests/test_security_curve.cpp) ----------------------------


def _server_after_hello(seed: int = 1) -> tuple[CurveMechanism, CurveMechanism]:
    client, server = make_pair(seed=seed)
    server.process_command(client.next_commands()[0])
    client.process_command(server.next_commands()[0])
    return client, server


@pytest.mark.parametrize(
    ("tamper", "code"),
    [
        (lambda h: h[:199], ProtocolError.ZMTP_MALFORMED_COMMAND_HELLO),
        (lambda h: h + b"\x00", ProtocolError.ZMTP_MALFORMED_COMMAND_HELLO),
        (lambda h: h[:5] + b"X" + h[6:], UNEXPECTED),
        (lambda h: h[:6] + b"\x02" + h[7:], ProtocolError.ZMTP_MALFORMED_COMMAND_HELLO),
    ],
    ids=["short", "long", "name-byte-5", "version-byte-6"],
)
def test_libzmq_hello_cases(tamper: Callable[[bytes], bytes], code: ProtocolError) -> None:
    client, server = make_pair()
    with pytest.raises(ZmtpError) as info:
        server.process_command(tamper(client.next_commands()[0]))
    assert info.value.value == code


@pytest.mark.parametrize(
    ("tamper", "code"),
    [
        (lambda i: b"\x08INITIATE", ProtocolError.ZMTP_MALFORMED_COMMAND_INITIATE),
        (lambda i: i[:5] + b"X" + i[6:], UNEXPECTED),
        (lambda i: i[:30] + bytes((i[30] ^ 0xFF,)) + i[31:], CRYPTO),
        (lambda i: i[:150] + bytes((i[150] ^ 0xFF,)) + i[151:], CRYPTO),
    ],
    ids=["wrong-length", "misspelled", "cookie-byte-30", "box-byte-150"],
)
def test_libzmq_initiate_cases(tamper: Callable[[bytes], bytes], code: ProtocolError) -> None:
    client, server = _server_after_hello()
    with pytest.raises(ZmtpError) as info:
        server.process_command(tamper(client.next_commands()[0]))
    assert info.value.value == code


def test_wrong_server_key_fails_on_server() -> None:
    other_pub, _ = crypto_box_keypair()
    client, server = make_pair(server_key=other_pub)
    with pytest.raises(ZmtpError) as info:
        server.process_command(client.next_commands()[0])
    assert info.value.value == CRYPTO


def test_cookie_from_another_connection_is_refused() -> None:
    client1, _ = _server_after_hello()
    _, server2 = _server_after_hello(seed=2)
    initiate1 = client1.next_commands()[0]
    with pytest.raises(ZmtpError) as info:
        server2.process_command(initiate1)
    assert info.value.value == CRYPTO


@pytest.mark.parametrize("which", ["server_key", "client_pub", "client_sec", "all"])
def test_all_zero_keys_fail_cleanly(which: str) -> None:
    zero = bytes(32)
    kwargs: dict[str, bytes] = {
        "server_key": zero if which in ("server_key", "all") else SERVER_PUB,
        "client_pub": zero if which in ("client_pub", "all") else CLIENT_PUB,
        "client_sec": zero if which in ("client_sec", "all") else CLIENT_SEC,
    }
    client, server = make_pair(**kwargs)  # type: ignore[arg-type]
    with pytest.raises(ZmtpError) as info:
        pump(client, server)
    assert info.value.value == CRYPTO
    assert not server.ready


def test_mismatched_client_keypair_fails_on_server() -> None:
    other_pub, _ = crypto_box_keypair()
    client, server = make_pair(client_pub=other_pub)
    with pytest.raises(ZmtpError) as info:
        pump(client, server)
    assert info.value.value == CRYPTO
    assert "vouch" in info.value.message


def test_vouch_for_another_server_is_refused() -> None:
    client, server = _server_after_hello()
    initiate = client.next_commands()[0]
    server._server_key = crypto_box_keypair()[0]  # the vouch names the real S: mismatch
    with pytest.raises(ZmtpError) as info:
        server.process_command(initiate)
    assert info.value.value == CRYPTO
    assert "vouch does not match server key" in info.value.message


# -- fuzzing: arbitrary bodies only ever raise ZmtpError -------------------------------------


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400), st.sampled_from(["hello", "initiate", "welcome", "ready", "msg"]))
def test_arbitrary_input_only_raises_zmtp_errors(data: bytes, stage: str) -> None:
    client, server = make_pair()
    if stage == "hello":
        target, feed = server, server.process_command
    elif stage == "welcome":
        client.next_commands()
        target, feed = client, client.process_command
    elif stage == "initiate":
        _, server = _server_after_hello()
        target, feed = server, server.process_command
    elif stage == "ready":
        client, _ = _server_after_hello()
        client.next_commands()
        target, feed = client, client.process_command
    else:
        _, server, _ = handshake()
        target = server

        def feed(body: bytes) -> None:
            server.decode_frame(body)

    for body in (
        data,
        b"\x05HELLO" + data,
        b"\x08INITIATE" + data,
        b"\x07MESSAGE" + data,
        b"\x05READY" + data,
        b"\x07WELCOME" + data,
    ):
        try:
            feed(body)
        except ZmtpError:
            pass
    assert not target.ready or stage == "msg"


# -- interop with libzmq (pyzmq) over loopback TCP, with a tiny blocking ZMTP driver ----------

try:
    import zmq
except ImportError:  # pragma: no cover - pyzmq is a test dependency
    zmq = None  # type: ignore[assignment]
needs_pyzmq = pytest.mark.skipif(zmq is None, reason="pyzmq (the libzmq peer) is not installed")


def _greeting(mechanism: bytes, as_server: bool) -> bytes:
    return (
        b"\xff"
        + bytes(8)
        + b"\x7f"
        + b"\x03\x01"
        + mechanism.ljust(20, b"\x00")
        + bytes((int(as_server),))
        + bytes(31)
    )


def _frame(body: bytes, *, command: bool = False, more: bool = False) -> bytes:
    flags = (0x04 if command else 0) | (0x01 if more else 0)
    if len(body) > 255:
        return bytes((flags | 0x02,)) + struct.pack(">Q", len(body)) + body
    return bytes((flags, len(body))) + body


def _read_exact(sock: socket.socket, size: int) -> bytes:
    buf = bytearray()
    while len(buf) < size:
        chunk = sock.recv(size - len(buf))
        if not chunk:
            raise EOFError("peer closed")
        buf += chunk
    return bytes(buf)


def _read_frame(sock: socket.socket) -> tuple[int, bytes]:
    flags = _read_exact(sock, 1)[0]
    if flags & 0x02:
        (size,) = struct.unpack(">Q", _read_exact(sock, 8))
    else:
        size = _read_exact(sock, 1)[0]
    if size > 1 << 24:
        raise ValueError("frame too large for this test")
    return flags, _read_exact(sock, size)


def _drive_handshake(sock: socket.socket, mech: CurveMechanism) -> None:
    sock.sendall(_greeting(b"CURVE", mech.as_server))
    peer = _read_exact(sock, 64)
    assert peer[0] == 0xFF and peer[10] == 3 and peer[12:17] == b"CURVE"
    while not mech.ready:
        for body in mech.next_commands():
            sock.sendall(_frame(body, command=True))
        if mech.ready:
            break
        flags, body = _read_frame(sock)
        assert flags & 0x04, "expected a command frame during the handshake"
        mech.process_command(body)
    for body in mech.next_commands():
        sock.sendall(_frame(body, command=True))


@pytest.fixture
def zctx():  # type: ignore[no-untyped-def]
    ctx = zmq.Context()
    yield ctx
    ctx.destroy(linger=0)


@needs_pyzmq
def test_interop_our_client_pyzmq_server(zctx) -> None:  # type: ignore[no-untyped-def]
    server_pub, server_sec = zmq.curve_keypair()
    pull = zctx.socket(zmq.PULL)
    pull.curve_server = True
    pull.curve_secretkey = server_sec
    pull.rcvtimeo = 5000
    port = pull.bind_to_random_port("tcp://127.0.0.1")
    mech = CurveMechanism(
        as_server=False,
        properties={"Socket-Type": b"PUSH"},
        public_key=CLIENT_PUB,
        secret_key=CLIENT_SEC,
        server_key=z85.decode(server_pub),
    )
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        _drive_handshake(sock, mech)
        assert mech.peer_properties.get("Socket-Type") == b"PULL"
        sock.sendall(_frame(mech.encode_frame(1, b"hello")))
        sock.sendall(_frame(mech.encode_frame(0, b"x" * 70000)))
        assert pull.recv_multipart() == [b"hello", b"x" * 70000]


@needs_pyzmq
def test_interop_pyzmq_client_our_server(zctx) -> None:  # type: ignore[no-untyped-def]
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(5)
    port = listener.getsockname()[1]
    client_pub, client_sec = zmq.curve_keypair()
    push = zctx.socket(zmq.PUSH)
    push.curve_serverkey = z85.encode(SERVER_PUB)
    push.curve_publickey = client_pub
    push.curve_secretkey = client_sec
    push.connect(f"tcp://127.0.0.1:{port}")
    push.send_multipart([b"from", b"libzmq"])
    mech = CurveMechanism(
        as_server=True,
        properties={"Socket-Type": b"PULL"},
        public_key=SERVER_PUB,
        secret_key=SERVER_SEC,
    )
    conn, _ = listener.accept()
    with conn, listener:
        conn.settimeout(5)
        _drive_handshake(conn, mech)
        assert mech.user_id is None  # no ZAP, no User-Id
        assert mech.client_key == z85.decode(client_pub)
        frames = []
        while True:
            flags, body = _read_frame(conn)
            assert not flags & 0x04  # MESSAGE travels as a data frame
            more, payload = mech.decode_frame(body)
            frames.append(payload)
            if not more & 1:
                break
        assert frames == [b"from", b"libzmq"]
        # And back: a boxed message our server sends is accepted (no error, no disconnect).
        conn.sendall(_frame(mech.encode_frame(0, b"ping")))


@needs_pyzmq
def test_interop_pyzmq_rejects_tampered_hello(zctx) -> None:  # type: ignore[no-untyped-def]
    _, server_sec = zmq.curve_keypair()
    pull = zctx.socket(zmq.PULL)
    pull.curve_server = True
    pull.curve_secretkey = server_sec
    port = pull.bind_to_random_port("tcp://127.0.0.1")
    mech = CurveMechanism(
        as_server=False,
        properties={"Socket-Type": b"PUSH"},
        public_key=CLIENT_PUB,
        secret_key=CLIENT_SEC,
        server_key=SERVER_PUB,
    )  # not pull's key
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(_greeting(b"CURVE", False))
        _read_exact(sock, 64)
        sock.sendall(_frame(mech.next_commands()[0], command=True))
        with pytest.raises((EOFError, ConnectionResetError)):
            _read_frame(sock)  # libzmq closes the connection instead of sending WELCOME


# -- through ZmtpConnection (the colleague's sans-IO connection) ------------------------------


def _curve_connections(
    zap: ZapSettings | None = None,
) -> tuple[ZmtpConnection, ZmtpConnection]:
    client = ZmtpConnection(
        socket_type=SocketType.DEALER,
        mechanism=CurveMechanism(
            as_server=False,
            properties=ZmtpConnection.local_properties(SocketType.DEALER, b"cid"),
            public_key=CLIENT_PUB,
            secret_key=CLIENT_SEC,
            server_key=SERVER_PUB,
        ),
    )
    server = ZmtpConnection(
        socket_type=SocketType.ROUTER,
        mechanism=CurveMechanism(
            as_server=True,
            properties=ZmtpConnection.local_properties(SocketType.ROUTER, b""),
            zap=zap,
            public_key=SERVER_PUB,
            secret_key=SERVER_SEC,
        ),
    )
    return client, server


def _messages(events: list[ConnEvent]) -> list[list[bytes]]:
    return [m for e in of_type(MessagesReceived, events) for m in e.messages]


def test_connection_handshake_and_traffic(byte_at_a_time: bool) -> None:
    client, server = _curve_connections()
    events_c, events_s = conn_pump(client, server, byte_at_a_time=byte_at_a_time)
    (done_s,) = of_type(HandshakeComplete, events_s)
    assert of_type(HandshakeComplete, events_c)
    assert done_s.user_id is None
    assert done_s.peer_properties["Identity"] == b"cid"
    client.send_message([b"", b"a" * 300, b"z"])
    server.send_message([b"back"])
    events_c, events_s = conn_pump(client, server, byte_at_a_time=byte_at_a_time)
    assert _messages(events_s) == [[b"", b"a" * 300, b"z"]]
    assert _messages(events_c) == [[b"back"]]


def test_connection_large_message() -> None:
    client, server = _curve_connections()
    conn_pump(client, server)
    payload = bytes(range(256)) * 4096  # 1 MiB
    client.send_message([payload])
    _, events_s = conn_pump(client, server)
    assert _messages(events_s) == [[payload]]


def test_connection_zap_flow() -> None:
    client, server = _curve_connections(ZapSettings(handler_present=True, domain=b"d"))
    events_c, events_s = conn_pump(client, server)
    (request,) = of_type(ZapRequestNeeded, events_s)
    assert request.mechanism == b"CURVE" and request.credentials == [CLIENT_PUB]
    assert not of_type(HandshakeComplete, events_c + events_s)
    events_s = server.zap_reply(ZapReplyData(b"500", b"", b"", {}))
    (failed_s,) = of_type(ConnectionFailed, events_s)
    assert failed_s.error.value == 500
    events_c, _ = conn_pump(client, server)
    (failed_c,) = of_type(ConnectionFailed, events_c)
    assert failed_c.error.value == 500 and failed_c.error.event == Event.HANDSHAKE_FAILED_AUTH


def test_connection_replayed_wire_message_fails() -> None:
    client, server = _curve_connections()
    conn_pump(client, server)
    client.send_message([b"once"])
    wire = b"".join(client.data_to_send())
    assert _messages(server.receive_data(wire)) == [[b"once"]]
    (failed,) = of_type(ConnectionFailed, server.receive_data(wire))
    assert failed.error.value == ProtocolError.ZMTP_INVALID_SEQUENCE
    assert not failed.during_handshake


def test_connection_all_zero_server_key_fails_cleanly() -> None:
    client = ZmtpConnection(
        socket_type=SocketType.DEALER,
        mechanism=CurveMechanism(
            as_server=False,
            properties=dict(DEALER),
            public_key=CLIENT_PUB,
            secret_key=CLIENT_SEC,
            server_key=bytes(32),
        ),
    )
    _, server = _curve_connections()
    events_c, _ = conn_pump(client, server)
    (failed,) = of_type(ConnectionFailed, events_c)
    assert failed.error.value == CRYPTO
