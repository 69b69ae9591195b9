"""The ZAP (RFC 27) request/reply codec, sans-IO, plus the status-to-failure rules.

Frame lists here never include the leading empty delimiter frame: the driver (``io/``) adds it
when it sends a request and strips (and checks) it when a reply arrives. So a request is
``[b"1.0", request_id, domain, address, routing_id, mechanism, *credentials]`` and a reply is
``[b"1.0", request_id, status_code, status_text, user_id, metadata]`` (exactly 6 frames).

``decode_reply`` raises ``ProtocolViolation`` with libzmq's ZAP_* codes; ``decode_request`` (for
handlers) raises ``MalformedZapRequest``, a ``ValueError``. This is the one ZAP codec: the engine
(``io/``) sends requests and reads replies with it, the handler in ``securemq.auth`` reads requests
and writes replies with it. ``failure_for_status`` turns a non-200 reply into the
``AuthenticationFailure`` a server mechanism raises; ``failure_for_error_command`` turns an ERROR
command received by a client into the failure libzmq reports for it.
"""

from __future__ import annotations

import errno
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..constants import Event, ProtocolError
from ..safetext import quoted
from .errors import AuthenticationFailure, ProtocolViolation, ZmtpError
from .mechanisms.base import ZapReplyData
from .metadata import decode_metadata, encode_metadata

__all__ = [
    "DEFAULT_REQUEST_ID", "STATUS_CODES", "ZAP_VERSION", "MalformedZapRequest", "ZapRequest",
    "decode_reply", "decode_reply_message", "decode_request", "encode_metadata", "encode_reply",
    "encode_request", "failure_for_error_command", "failure_for_status",
]

ZAP_VERSION = b"1.0"
# libzmq always uses this request id (src/zap_client.cpp).
DEFAULT_REQUEST_ID = b"1"
STATUS_CODES = frozenset({b"200", b"300", b"400", b"500"})
# libzmq 4.3's PLAIN server and client write and match the ERROR command as the C literal
# "\x05ERROR", which C parses as the single byte 0x5E ("^") followed by "RROR": on the wire
# a PLAIN ERROR is b"^RROR" + reason size + reason (no name-size byte). Checked against
# pyzmq 27.3 / libzmq 4.3.5: its PLAIN client reports HANDSHAKE_FAILED_AUTH(400) only for this
# spelling and UNEXPECTED_COMMAND for a correct "\x05ERROR". CURVE and NULL use "\x05ERROR".
LIBZMQ_PLAIN_ERROR_PREFIX = b"^RROR"
_REPLY_FRAMES = 6
_REQUEST_MIN_FRAMES = 6


@dataclass(slots=True, repr=False)
class ZapRequest:
    """A decoded ZAP request (frames after the delimiter); its repr hides the credentials."""

    version: bytes
    request_id: bytes
    domain: bytes
    address: bytes
    routing_id: bytes
    mechanism: bytes
    credentials: list[bytes] = field(default_factory=list)

    def __repr__(self) -> str:
        return (
            f"ZapRequest(domain={quoted(self.domain)}, address={quoted(self.address)}, "
            f"mechanism={quoted(self.mechanism)}, credentials=<{len(self.credentials)} redacted>)"
        )


def encode_request(
    *,
    domain: bytes,
    address: bytes,
    routing_id: bytes,
    mechanism: bytes,
    credentials: Sequence[bytes] = (),
    request_id: bytes = DEFAULT_REQUEST_ID,
) -> list[bytes]:
    """The request frames after the empty delimiter, in libzmq's order."""
    return [
        ZAP_VERSION,
        bytes(request_id),
        bytes(domain),
        bytes(address),
        bytes(routing_id),
        bytes(mechanism),
        *(bytes(c) for c in credentials),
    ]


class MalformedZapRequest(ValueError):
    """A ZAP request that breaks RFC 27; ``request_id`` is set when a reply is still possible."""

    def __init__(self, message: str, request_id: bytes | None = None) -> None:
        super().__init__(message)
        self.request_id = request_id


def decode_request(frames: Sequence[bytes]) -> ZapRequest:
    """Parse request frames (after the delimiter); malformed input -> MalformedZapRequest
    (a ValueError), carrying the request id when the frames got that far."""
    parts = [bytes(frame) for frame in frames]
    if len(parts) < _REQUEST_MIN_FRAMES:
        request_id = parts[1] if len(parts) >= 2 else None
        raise MalformedZapRequest(
            f"ZAP request: {len(parts)} frames, at least {_REQUEST_MIN_FRAMES} expected",
            request_id,
        )
    version, request_id, domain, address, routing_id, mechanism, *credentials = parts
    if version != ZAP_VERSION:
        raise MalformedZapRequest(f"ZAP request: bad version {quoted(version, 16)}", request_id)
    if not mechanism.isascii():
        raise MalformedZapRequest("ZAP request: mechanism is not ASCII", request_id)
    return ZapRequest(version, request_id, domain, address, routing_id, mechanism, credentials)


def encode_reply(
    *,
    request_id: bytes,
    status_code: bytes,
    status_text: bytes = b"",
    user_id: bytes = b"",
    metadata: Mapping[str, bytes] | None = None,
) -> list[bytes]:
    """The reply frames after the empty delimiter (for handlers); metadata names must be valid
    ZMTP property names (ValueError otherwise)."""
    if bytes(status_code) not in STATUS_CODES:
        raise ValueError(f"ZAP reply: status code must be 200/300/400/500, got {status_code!r}")
    return [
        ZAP_VERSION,
        bytes(request_id),
        bytes(status_code),
        bytes(status_text),
        bytes(user_id),
        encode_metadata(metadata or {}),
    ]


def decode_reply_message(
    message: Sequence[bytes], request_id: bytes = DEFAULT_REQUEST_ID
) -> ZapReplyData:
    """``decode_reply`` for a whole message as a REQ-like client receives it: the empty
    delimiter frame first (checked here), then the six reply frames."""
    if not message or bytes(message[0]) != b"":
        raise ProtocolViolation(
            "ZAP: reply has no empty delimiter frame", ProtocolError.ZAP_MALFORMED_REPLY
        )
    return decode_reply(message[1:], request_id)


def decode_reply(frames: Sequence[bytes], request_id: bytes = DEFAULT_REQUEST_ID) -> ZapReplyData:
    """Validate a reply (frames after the delimiter) as libzmq does; errors are ZAP_* codes."""
    if len(frames) != _REPLY_FRAMES:
        raise ProtocolViolation(
            f"ZAP: reply has {len(frames)} frames after the delimiter, expected 6",
            ProtocolError.ZAP_MALFORMED_REPLY,
        )
    version, rid, status, text, user_id, raw_metadata = (bytes(f) for f in frames)
    if version != ZAP_VERSION:
        raise ProtocolViolation(
            "ZAP: reply has a bad version (expected 1.0)", ProtocolError.ZAP_BAD_VERSION
        )
    if rid != request_id:
        raise ProtocolViolation(
            "ZAP: reply request id does not match the request", ProtocolError.ZAP_BAD_REQUEST_ID
        )
    if status not in STATUS_CODES:
        raise ProtocolViolation(
            "ZAP: reply status code is not 200, 300, 400 or 500",
            ProtocolError.ZAP_INVALID_STATUS_CODE,
        )
    metadata = decode_metadata(raw_metadata, ProtocolError.ZAP_INVALID_METADATA)
    return ZapReplyData(status_code=status, status_text=text, user_id=user_id, metadata=metadata)


def failure_for_status(mechanism: str, reply: ZapReplyData) -> AuthenticationFailure | None:
    """None for 200; else the failure to raise: 300 sends no ERROR, 400/500 send the code."""
    status = reply.status_code
    if status == b"200":
        return None
    code = int(status) if status in STATUS_CODES else 500
    reason = None if code == 300 else str(code).encode("ascii")
    return AuthenticationFailure(
        f"{mechanism}: ZAP handler refused the peer with status {code}", code, error_reason=reason
    )


def failure_for_error_command(mechanism: str, data: bytes) -> ZmtpError:
    """The failure for an ERROR command (its data: reason size, reason) received by a client.

    A 3-digit ZAP status reason (3xx/4xx/5xx with "00" tail, as libzmq checks) is an
    authentication failure; anything else a handshake failure without detail. Either way the
    client does not reconnect, as libzmq. A malformed ERROR -> MALFORMED_COMMAND_ERROR.
    """
    if not data or data[0] > len(data) - 1:
        return ProtocolViolation(
            f"{mechanism}: ERROR command is malformed", ProtocolError.ZMTP_MALFORMED_COMMAND_ERROR
        )
    reason = bytes(data[1 : 1 + data[0]])
    if len(reason) == 3 and reason[0] in b"345" and reason[1:] == b"00":
        return AuthenticationFailure(
            f"{mechanism}: peer sent ERROR {reason.decode('ascii')}",
            int(reason),
            reconnect=False,
        )
    shown = quoted(reason, 64)
    failure = ZmtpError(
        f"{mechanism}: peer sent ERROR {shown}",
        event=Event.HANDSHAKE_FAILED_NO_DETAIL,
        value=errno.EPROTO,
        reconnect=False,
    )
    return failure
