"""Events a ZmtpConnection hands to its driver (``io/``), returned by ``receive_data``."""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import ZmtpError


@dataclass(slots=True)
class HandshakeComplete:
    """READY exchanged (and ZAP said 200, where asked). Messages may flow now."""

    peer_properties: dict[str, bytes]
    peer_version: tuple[int, int]
    # From a ZAP reply that said 200 (possibly empty); None when ZAP did not decide.
    user_id: bytes | None = None
    # Metadata from the ZAP reply; it beats the peer's READY properties of the same name.
    zap_properties: dict[str, bytes] = field(default_factory=dict)
    # A raw stream (STREAM): nothing was negotiated, so no HANDSHAKE_SUCCEEDED, no heartbeats.
    raw: bool = False


@dataclass(slots=True)
class MessagesReceived:
    """Whole messages (each a list of frames), in arrival order, decoded from this chunk."""

    messages: list[list[bytes]]


@dataclass(slots=True)
class ZapRequestNeeded:
    """The server mechanism needs a ZAP decision; answer with ``zap_reply`` or ``zap_failed``."""

    mechanism: bytes
    credentials: list[bytes]


@dataclass(slots=True)
class PingReceived:
    """A PING arrived (the PONG is already queued). ``ttl_ms`` is the peer's TTL, 0 for none."""

    ttl_ms: int


@dataclass(slots=True)
class ConnectionFailed:
    """The connection is finished; flush ``data_to_send()`` (it may hold an ERROR) and close."""

    error: ZmtpError
    during_handshake: bool
    # A traffic frame failed the mechanism's checks after the handshake (CURVE: tampered box,
    # replayed nonce, malformed MESSAGE): libzmq reports it as a handshake-failed event too.
    traffic: bool = False


Event = HandshakeComplete | MessagesReceived | ZapRequestNeeded | PingReceived | ConnectionFailed


def messages_first(events: list[Event], out: list[list[bytes]]) -> list[Event]:
    """``receive_traffic`` for a connection whose primitive is ``receive_data``: when nothing
    but messages came, they go to ``out`` and no event is left; otherwise the events stay as
    they are, in order (a handshake that completes in the same chunk comes first)."""
    for event in events:
        if type(event) is not MessagesReceived:
            return events
    for event in events:
        out.extend(event.messages)  # type: ignore[union-attr]
    return []
