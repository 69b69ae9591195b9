"""The mechanism seam: what ZmtpConnection asks of NULL, PLAIN and CURVE.

A mechanism sees only command bodies (``encode_command`` form: name length, name, data) after the
greeting, and, once ready, the traffic frames it may transform (CURVE boxes them). It never
touches I/O. The connection drives it:

1. ``next_commands()`` after construction and after every ``process_command`` / ``zap_reply``:
   command bodies to send now, in order.
2. ``process_command(body)`` for every command frame received while handshaking; raises a
   ``ZmtpError`` (the connection turns that into ``ConnectionFailed``).
3. When ``zap_request`` becomes non-None the connection emits ``ZapRequestNeeded`` once; the
   driver later calls ``zap_reply`` with a validated reply. (A broken or missing handler is the
   connection's business: ``ZmtpConnection.zap_failed``; the mechanism never hears of it.)
4. ``ready`` turns True when the handshake is done; then ``peer_properties``, ``user_id`` and
   ``zap_properties`` are final, and ``encode_frame`` / ``decode_frame`` carry the traffic.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ...constants import ProtocolError
from ...safetext import quoted
from ...socket_types import compatible
from ..errors import ProtocolViolation
from ..frames import encode_frame
from ..metadata import lookup


@dataclass(slots=True)
class ZapSettings:
    """What a server mechanism needs to know about ZAP, fixed when the connection starts.

    ``handler_present``: something is bound at inproc://zeromq.zap.01 in this context.
    ``domain``: the socket's ZAP_DOMAIN. ``enforce``: ZAP_ENFORCE_DOMAIN (draft, default False).
    """

    handler_present: bool = False
    domain: bytes = b""
    enforce: bool = False


@dataclass(slots=True, repr=False)
class ZapRequestData:
    """The mechanism-specific part of a ZAP request (the driver adds domain, address, ...)."""

    mechanism: bytes
    credentials: list[bytes] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"ZapRequestData({self.mechanism!r}, <{len(self.credentials)} credentials redacted>)"


@dataclass(slots=True)
class ZapReplyData:
    """A ZAP reply that already passed the codec's validation (version, id, status, metadata)."""

    status_code: bytes  # b"200" | b"300" | b"400" | b"500"
    status_text: bytes
    user_id: bytes | None
    metadata: dict[str, bytes]


class Mechanism(ABC):
    """A security mechanism in one role (client or server) for one connection."""

    name: ClassVar[bytes]
    # True when traffic frames are transformed (CURVE); NULL/PLAIN pass frames through untouched.
    transforms_traffic: ClassVar[bool] = False

    def __init__(self, *, as_server: bool, properties: dict[str, bytes], zap: ZapSettings) -> None:
        self.as_server = as_server
        # Our own READY/INITIATE metadata (Socket-Type, Identity, ...).
        self.local_properties = properties
        self.zap = zap
        self.ready = False
        self.peer_properties: dict[str, bytes] = {}
        # Set only by a ZAP reply that said 200 (possibly empty); None: ZAP did not decide.
        self.user_id: bytes | None = None
        self.zap_properties: dict[str, bytes] = {}
        self.zap_request: ZapRequestData | None = None

    @abstractmethod
    def next_commands(self) -> list[bytes]:
        """Command bodies to send now (possibly none)."""

    @abstractmethod
    def process_command(self, body: bytes) -> None:
        """Consume one handshake command body; raise ZmtpError on any failure."""

    def zap_reply(self, reply: ZapReplyData) -> None:
        """Accept the ZAP decision for ``zap_request``; raise ZmtpError when it refuses."""
        raise NotImplementedError(f"{self.name.decode()}: no ZAP request was made")

    def encode_frame(self, flags: int, body: bytes) -> bytes:
        """Traffic frame out (flags: 1 MORE, 2 COMMAND): the wire body; identity by default."""
        return body

    def box_frames(self, frames: Iterable[tuple[int, bytes]], out: list[Any]) -> None:
        """Each (flags, body) as a whole wire frame (ZMTP header included) carrying
        ``encode_frame``'s body, appended to ``out`` as objects ``socket.sendmsg`` takes."""
        for flags, body in frames:
            out.append(encode_frame(0, self.encode_frame(flags, body)))

    def decode_frame(self, body: bytes) -> tuple[int, bytes]:
        """Traffic frame in: (flags, body) after unboxing; only CURVE overrides this."""
        raise NotImplementedError

    def decode_frames(
        self, frames: Iterable[tuple[int, bytes]], out: list[tuple[int, bytes]]
    ) -> None:
        """``decode_frame`` for each (wire flags, body), into ``out`` in order."""
        for _wire_flags, body in frames:
            out.append(self.decode_frame(body))


def check_peer_properties(
    local_properties: dict[str, bytes], peer_properties: dict[str, bytes]
) -> None:
    """Check the peer's READY/INITIATE metadata: Socket-Type present and compatible with ours.

    Raises ProtocolViolation(ZMTP_INVALID_METADATA) otherwise; every mechanism calls this once
    it has decoded the peer's properties.
    """
    ours = lookup(local_properties, "Socket-Type") or b""
    theirs = lookup(peer_properties, "Socket-Type")
    if theirs is None:
        raise ProtocolViolation(
            "ZMTP: peer metadata has no Socket-Type", ProtocolError.ZMTP_INVALID_METADATA
        )
    if not compatible(ours, theirs):
        raise ProtocolViolation(
            f"ZMTP: socket type {quoted(theirs, 32)} cannot talk to {quoted(ours, 32)}",
            ProtocolError.ZMTP_INVALID_METADATA,
            error_reason=b"Invalid socket type",
        )
