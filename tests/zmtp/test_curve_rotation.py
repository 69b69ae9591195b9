"""CURVE server key rotation, sans-IO: a server holding several key pairs tries each on HELLO
and goes on with the one that opened it; a client reports what it learnt of its server key.
Connections are pumped into each other in memory (mechanism to mechanism, and whole
ZmtpConnections, whole and one byte at a time)."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest
from nacl.bindings import crypto_box_keypair

from securemq import z85
from securemq.constants import ProtocolError, SocketType
from securemq.zmtp.connection import ZmtpConnection
from securemq.zmtp.errors import ProtocolViolation, UsageError
from securemq.zmtp.events import ConnectionFailed, HandshakeComplete, MessagesReceived
from securemq.zmtp.mechanisms import curve
from securemq.zmtp.mechanisms.base import ZapReplyData, ZapRequestData, ZapSettings
from securemq.zmtp.mechanisms.curve import CurveMechanism, ServerKeyStatus
from tests.zmtp.pump import of_type, pump, pump_mechanisms

NEW_PUB, NEW_SEC = crypto_box_keypair()
OLD_PUB, OLD_SEC = crypto_box_keypair()
OTHER_PUB, OTHER_SEC = crypto_box_keypair()
CLIENT_PUB, CLIENT_SEC = crypto_box_keypair()
DEALER = {"Socket-Type": b"DEALER"}
ROUTER = {"Socket-Type": b"ROUTER"}
CRYPTO = ProtocolError.ZMTP_CRYPTOGRAPHIC


def seeded(seed: int) -> Callable[[int], bytes]:
    return random.Random(seed).randbytes


def client(server_key: bytes, seed: int = 1) -> CurveMechanism:
    return CurveMechanism(as_server=False, properties=dict(DEALER), public_key=CLIENT_PUB,
                          secret_key=CLIENT_SEC, server_key=server_key,
                          random_bytes=seeded(seed))


def rotating_server(*pairs: tuple[bytes, bytes], zap: ZapSettings | None = None,
                    seed: int = 2) -> CurveMechanism:
    return CurveMechanism(as_server=True, properties=dict(ROUTER), zap=zap,
                          server_keypairs=list(pairs), random_bytes=seeded(seed))


@pytest.mark.parametrize("key", [NEW_PUB, OLD_PUB], ids=["new-key", "old-key"])
def test_both_keys_of_the_window_are_served(key: bytes) -> None:
    c = client(key)
    s = rotating_server((NEW_PUB, NEW_SEC), (OLD_PUB, OLD_SEC))
    transcript = pump_mechanisms(c, s)
    assert c.ready and s.ready
    assert [len(body) for body in transcript[:2]] == [200, 168]
    assert s.client_key == CLIENT_PUB
    assert c.server_key_status is ServerKeyStatus.CONFIRMED
    # Traffic both ways on the keys the handshake chose.
    wire = c.encode_frame(0, b"ping")
    assert s.decode_frame(wire) == (0, b"ping")
    assert c.decode_frame(s.encode_frame(1, b"pong")) == (1, b"pong")


def test_a_key_outside_the_set_is_refused_without_naming_any_key() -> None:
    c = client(OTHER_PUB)
    s = rotating_server((NEW_PUB, NEW_SEC), (OLD_PUB, OLD_SEC))
    with pytest.raises(ProtocolViolation) as info:
        pump_mechanisms(c, s)
    assert info.value.value == CRYPTO
    assert str(info.value) == "CURVE: HELLO box opens with no server key"
    text = repr(info.value) + str(info.value)
    for key in (NEW_PUB, NEW_SEC, OLD_PUB, OLD_SEC, OTHER_PUB):
        assert z85.encode(key).decode() not in text and key.hex() not in text
    assert not s.ready
    assert c.server_key_status is ServerKeyStatus.UNANSWERED


def test_every_key_is_tried_whichever_one_matches(monkeypatch: pytest.MonkeyPatch) -> None:
    """No early exit: the work on HELLO (one key agreement and one box open per key) does not
    say which key matched."""
    calls: list[int] = []
    real_open = curve._open_afternm

    def counting_open(box: bytes, nonce: bytes, key: bytes) -> bytes:
        if nonce.startswith(curve.NONCE_HELLO):
            calls.append(1)
        return real_open(box, nonce, key)

    monkeypatch.setattr(curve, "_open_afternm", counting_open)
    pairs = [(NEW_PUB, NEW_SEC), (OLD_PUB, OLD_SEC), (OTHER_PUB, OTHER_SEC)]
    for key in (NEW_PUB, OLD_PUB, OTHER_PUB):
        calls.clear()
        c, s = client(key), rotating_server(*pairs)
        pump_mechanisms(c, s)
        assert s.ready and len(calls) == 3, key


def test_welcome_is_boxed_with_the_matching_key() -> None:
    """The WELCOME of a server that opened HELLO with the old key opens only with the old
    public key (a client of the new key could not read it)."""
    c = client(OLD_PUB)
    s = rotating_server((NEW_PUB, NEW_SEC), (OLD_PUB, OLD_SEC))
    (hello,) = c.next_commands()
    s.process_command(hello)
    (welcome,) = s.next_commands()
    other = client(NEW_PUB, seed=1)  # same short-term keys (same seed), other server key
    other.next_commands()
    with pytest.raises(ProtocolViolation) as info:
        other.process_command(welcome)
    assert info.value.value == CRYPTO
    c.process_command(welcome)
    assert c.server_key_status is ServerKeyStatus.CONFIRMED


def test_initiate_must_vouch_for_the_key_hello_opened_with(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A client that says HELLO to the old key and then vouches for the new one is refused."""
    c = client(OLD_PUB)
    s = rotating_server((NEW_PUB, NEW_SEC), (OLD_PUB, OLD_SEC))
    real_open = curve._open_afternm

    def swap_after_welcome(box: bytes, nonce: bytes, key: bytes) -> bytes:
        plain = real_open(box, nonce, key)
        if nonce.startswith(curve.NONCE_WELCOME):
            c._server_key = NEW_PUB  # the vouch now names the new key
        return plain

    monkeypatch.setattr(curve, "_open_afternm", swap_after_welcome)
    with pytest.raises(ProtocolViolation) as info:
        pump_mechanisms(c, s)
    assert info.value.value == CRYPTO
    assert "vouch does not match server key" in str(info.value)


def test_zap_sees_the_client_key_whatever_server_key_matched() -> None:
    asked: list[ZapRequestData] = []

    def respond(request: ZapRequestData) -> ZapReplyData:
        asked.append(request)
        return ZapReplyData(b"200", b"OK", b"alice", {})

    c = client(OLD_PUB)
    s = rotating_server((NEW_PUB, NEW_SEC), (OLD_PUB, OLD_SEC),
                        zap=ZapSettings(handler_present=True))
    pump_mechanisms(c, s, respond)
    assert c.ready and s.ready and s.user_id == b"alice"
    assert asked[0].credentials == [CLIENT_PUB]


def test_one_pair_behaves_as_a_single_key_server() -> None:
    single = CurveMechanism(as_server=True, properties=dict(ROUTER), public_key=NEW_PUB,
                            secret_key=NEW_SEC, random_bytes=seeded(2))
    listed = rotating_server((NEW_PUB, NEW_SEC))
    transcripts = [pump_mechanisms(client(NEW_PUB), server) for server in (single, listed)]
    assert transcripts[0] == transcripts[1]
    with pytest.raises(ProtocolViolation) as info:
        pump_mechanisms(client(OLD_PUB), rotating_server((NEW_PUB, NEW_SEC)))
    assert "HELLO box does not open" in str(info.value)


def test_only_a_server_holds_several_pairs() -> None:
    with pytest.raises(UsageError):
        CurveMechanism(as_server=False, properties=dict(DEALER), public_key=CLIENT_PUB,
                       secret_key=CLIENT_SEC, server_key=NEW_PUB,
                       server_keypairs=[(NEW_PUB, NEW_SEC)])
    with pytest.raises(UsageError):
        rotating_server((b"short", NEW_SEC))


def test_client_status_follows_the_handshake() -> None:
    c = client(NEW_PUB)
    assert c.server_key_status is ServerKeyStatus.UNUSED  # HELLO made, not handed out
    s = rotating_server((NEW_PUB, NEW_SEC))
    (hello,) = c.next_commands()
    assert c.server_key_status is ServerKeyStatus.UNANSWERED
    s.process_command(hello)
    for body in s.next_commands():
        c.process_command(body)
    assert c.server_key_status is ServerKeyStatus.CONFIRMED


# -- whole connections, whole and one byte at a time --------------------------------------------

def connection(mechanism: CurveMechanism, socket_type: int, accepted: bool) -> ZmtpConnection:
    return ZmtpConnection(socket_type=socket_type, mechanism=mechanism, accepted=accepted)


@pytest.mark.parametrize("key", [NEW_PUB, OLD_PUB], ids=["new-key", "old-key"])
def test_connections_rotate(key: bytes, byte_at_a_time: bool) -> None:
    a = connection(client(key), SocketType.DEALER, False)
    b = connection(rotating_server((NEW_PUB, NEW_SEC), (OLD_PUB, OLD_SEC)),
                   SocketType.ROUTER, True)
    events_a, events_b = pump(a, b, byte_at_a_time=byte_at_a_time)
    assert of_type(HandshakeComplete, events_a) and of_type(HandshakeComplete, events_b)
    a.send_message([b"hello", b"world"])
    _, events_b = pump(a, b, byte_at_a_time=byte_at_a_time)
    (received,) = of_type(MessagesReceived, events_b)
    assert received.messages == [[b"hello", b"world"]]


def test_connection_with_a_retired_key_fails(byte_at_a_time: bool) -> None:
    mechanism = client(OLD_PUB)
    a = connection(mechanism, SocketType.DEALER, False)
    b = connection(rotating_server((NEW_PUB, NEW_SEC), (OTHER_PUB, OTHER_SEC)),
                   SocketType.ROUTER, True)
    events_a, events_b = pump(a, b, byte_at_a_time=byte_at_a_time)
    (failed,) = of_type(ConnectionFailed, events_b)
    assert failed.error.value == CRYPTO and failed.during_handshake
    assert not of_type(HandshakeComplete, events_a)
    # What the client can tell: its HELLO went out and nothing it could open came back.
    assert mechanism.server_key_status is ServerKeyStatus.UNANSWERED


def test_mechanism_repr_shows_no_secret() -> None:
    s = rotating_server((NEW_PUB, NEW_SEC), (OLD_PUB, OLD_SEC))
    shown = repr(s)
    for secret in (NEW_SEC, OLD_SEC):
        assert z85.encode(secret).decode() not in shown and secret.hex() not in shown
