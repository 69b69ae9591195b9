"""Sans-IO fuzz harness: deterministic connections, recorded handshakes, and the invariants.

How this works: every mechanism/role pair is built with a seeded ``random_bytes`` (CURVE) and
fixed long-term keys, so a fresh connection built with the same seed behaves byte for byte like
the one that was recorded. ``record`` pumps a client and a server to READY, exchanges one
message each way, and keeps what each side sent as *segments* (one per turn). Replaying the
client's segments into a fresh same-seeded server therefore completes the handshake (the
recorded INITIATE still matches the regenerated cookie), which makes mutated transcripts reach
deep states instead of dying at the first box.

``Driver`` feeds a connection chunk by chunk, answers ZAP requests with 200 at once, and checks
the invariants after every call: only the project's own errors (``ConnectionFailed`` whose
error is not the connection's catch-all "internal error"), nothing after a failure, and
buffered input never larger than what was fed.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from nacl.bindings import crypto_scalarmult_base

from securemq.constants import SocketType
from securemq.zmtp.connection import ConnectionState, ZmtpConnection
from securemq.zmtp.events import (
    ConnectionFailed,
    Event,
    HandshakeComplete,
    MessagesReceived,
    ZapRequestNeeded,
)
from securemq.zmtp.frames import FrameDecoder
from securemq.zmtp.greeting import GREETING_SIZE
from securemq.zmtp.mechanisms.base import Mechanism, ZapReplyData, ZapSettings
from securemq.zmtp.mechanisms.curve import CurveMechanism
from securemq.zmtp.mechanisms.null import NullMechanism
from securemq.zmtp.mechanisms.plain import PlainMechanism

MECHANISMS = ("NULL", "PLAIN", "CURVE")
ROLES = ("client", "server")
CLIENT_TYPE = SocketType.DEALER
SERVER_TYPE = SocketType.ROUTER
USERNAME, PASSWORD = b"admin", b"s3cret"
# The connection's catch-all for a non-ZmtpError raised while parsing peer input: seeing it
# means a parser let a foreign exception escape (a bug, even though the driver survives it).
INTERNAL_ERROR_MARK = "internal error"


def _secret(label: bytes) -> bytes:
    return hashlib.sha256(b"securemq-fuzz-" + label).digest()


SERVER_SECRET = _secret(b"server")
SERVER_PUBLIC = crypto_scalarmult_base(SERVER_SECRET)
CLIENT_SECRET = _secret(b"client")
CLIENT_PUBLIC = crypto_scalarmult_base(CLIENT_SECRET)
OK_REPLY = ZapReplyData(status_code=b"200", status_text=b"OK", user_id=b"fuzz", metadata={})


def seeded(seed: int) -> Callable[[int], bytes]:
    """A deterministic ``random_bytes`` for CURVE."""
    return random.Random(seed).randbytes


def make_mechanism(mechanism: str, role: str, seed: int = 1) -> Mechanism:
    """A mechanism in one role; servers have a ZAP handler (and NULL a domain) so ZAP is asked."""
    server = role == "server"
    props = ZmtpConnection.local_properties(
        SERVER_TYPE if server else CLIENT_TYPE, b"" if server else b"client-id"
    )
    if mechanism == "NULL":
        zap = ZapSettings(handler_present=True, domain=b"global") if server else None
        return NullMechanism(as_server=server, properties=props, zap=zap)
    if mechanism == "PLAIN":
        if server:
            return PlainMechanism(
                as_server=True, properties=props, zap=ZapSettings(handler_present=True)
            )
        return PlainMechanism(
            as_server=False, properties=props, username=USERNAME, password=PASSWORD
        )
    if mechanism == "CURVE":
        if server:
            return CurveMechanism(
                as_server=True,
                properties=props,
                zap=ZapSettings(handler_present=True),
                public_key=SERVER_PUBLIC,
                secret_key=SERVER_SECRET,
                random_bytes=seeded(seed),
            )
        return CurveMechanism(
            as_server=False,
            properties=props,
            public_key=CLIENT_PUBLIC,
            secret_key=CLIENT_SECRET,
            server_key=SERVER_PUBLIC,
            random_bytes=seeded(seed + 1000),
        )
    raise ValueError(f"unknown mechanism {mechanism}")


def make_connection(
    mechanism: str, role: str, *, seed: int = 1, max_message_size: int = -1
) -> ZmtpConnection:
    socket_type = SERVER_TYPE if role == "server" else CLIENT_TYPE
    return ZmtpConnection(
        socket_type=socket_type,
        mechanism=make_mechanism(mechanism, role, seed),
        max_message_size=max_message_size,
    )


def buffered_bytes(conn: ZmtpConnection) -> int:
    """Peer bytes a connection holds that are not yet handed out (greeting + decoder)."""
    decoder: FrameDecoder = conn._decoder
    held = len(conn._greeting._buf) if conn._greeting.greeting is None else 0
    held += len(decoder._head) + sum(len(p) for p in decoder._parts or ())
    held += sum(len(f) for f in decoder._msg) + sum(len(f) for f in conn._partial)
    return held


class InvariantBroken(AssertionError):
    """A fuzz invariant failed (the message says which and why)."""


@dataclass
class Driver:
    """Feeds one connection and checks the invariants after every call."""

    conn: ZmtpConnection
    events: list[Event] = field(default_factory=list)
    fed: int = 0
    max_calls: int = 100_000

    @property
    def failure(self) -> ConnectionFailed | None:
        for event in self.events:
            if isinstance(event, ConnectionFailed):
                return event
        return None

    def feed(self, chunk: bytes) -> list[Event]:
        if self.max_calls <= 0:
            raise InvariantBroken("fuzz: driver call budget exhausted (a loop that never ends?)")
        self.max_calls -= 1
        was_closed = self.conn.state is ConnectionState.CLOSED
        self.fed += len(chunk)
        new = self.conn.receive_data(chunk)
        new += self._answer_zap(new)
        self._check(new, was_closed)
        self.events += new
        return new

    def feed_all(self, chunks: list[bytes]) -> None:
        for chunk in chunks:
            if chunk:
                self.feed(chunk)

    def _answer_zap(self, events: list[Event]) -> list[Event]:
        more: list[Event] = []
        for event in events:
            if isinstance(event, ZapRequestNeeded):
                more += self.conn.zap_reply(OK_REPLY)
        return more

    def _check(self, new: list[Event], was_closed: bool) -> None:
        if was_closed and new:
            raise InvariantBroken(f"fuzz: events after the connection closed: {new!r}")
        failures = [e for e in new if isinstance(e, ConnectionFailed)]
        if len(failures) > 1 or (failures and self.failure is not None):
            raise InvariantBroken("fuzz: more than one ConnectionFailed")
        for failure in failures:
            if INTERNAL_ERROR_MARK in failure.error.message:
                raise InvariantBroken(
                    f"fuzz: a non-ZmtpError escaped a parser: {failure.error.message}"
                )
            if self.conn.state is not ConnectionState.CLOSED:
                raise InvariantBroken("fuzz: ConnectionFailed but the state is not CLOSED")
        held = buffered_bytes(self.conn)
        if held > self.fed:
            raise InvariantBroken(f"fuzz: {held} bytes buffered after only {self.fed} fed")

    def handshake_done(self) -> bool:
        return any(isinstance(e, HandshakeComplete) for e in self.events)

    def messages(self) -> list[list[bytes]]:
        out: list[list[bytes]] = []
        for event in self.events:
            if isinstance(event, MessagesReceived):
                out += event.messages
        return out


@dataclass
class Transcript:
    """What each side sent, one segment per turn, for one mechanism and seed."""

    mechanism: str
    seed: int
    sent_by: dict[str, list[bytes]]


CLIENT_MESSAGE = [b"from-client", b"x" * 300]
SERVER_MESSAGE = [b"client-id", b"from-server"]


def record(mechanism: str, seed: int = 1) -> Transcript:
    """Pump a same-seeded client and server to READY and one message each way; keep the bytes."""
    conns = {role: make_connection(mechanism, role, seed=seed) for role in ROLES}
    drivers = {role: Driver(conns[role]) for role in ROLES}
    sent: dict[str, list[bytes]] = {role: [] for role in ROLES}
    sent_messages = dict.fromkeys(ROLES, False)
    for _ in range(50):
        moved = False
        for src, dst in (("client", "server"), ("server", "client")):
            if conns[src].state is ConnectionState.READY and not sent_messages[src]:
                sent_messages[src] = True
                conns[src].send_message(CLIENT_MESSAGE if src == "client" else [SERVER_MESSAGE[1]])
            data = b"".join(conns[src].data_to_send())
            if data:
                moved = True
                sent[src].append(data)
                drivers[dst].feed(data)
        if not moved:
            break
    for role in ROLES:
        if drivers[role].failure is not None or not drivers[role].handshake_done():
            raise AssertionError(f"fuzz: recording {mechanism} failed on the {role} side")
    return Transcript(mechanism, seed, sent)


def peer_of(role: str) -> str:
    return "client" if role == "server" else "server"


def command_bodies(segments: list[bytes]) -> list[bytes]:
    """The frame bodies of a recorded side (greeting stripped), in order."""
    stream = b"".join(segments)[GREETING_SIZE:]
    return [body for _flags, body in FrameDecoder().feed(stream)]


def expected_message(role: str) -> list[bytes]:
    """What the connection in ``role`` receives from the recorded peer's message."""
    return CLIENT_MESSAGE if role == "server" else [SERVER_MESSAGE[1]]
