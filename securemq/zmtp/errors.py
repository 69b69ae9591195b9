"""The one error family of the sans-IO core.

Every failure carries what ``io/`` needs to report it: the monitor event (``event``) and its value
(``value``: a ProtocolError code, a ZAP status, or an errno), and whether an ERROR command goes to
the peer first (``error_reason``). Messages name the layer and the step.
"""

from __future__ import annotations

import errno as _errno

from ..constants import Event, ProtocolError


class ZmtpError(Exception):
    """Base of the sans-IO errors."""

    def __init__(
        self,
        message: str,
        *,
        event: Event = Event.HANDSHAKE_FAILED_PROTOCOL,
        value: int = ProtocolError.ZMTP_UNSPECIFIED,
        error_reason: bytes | None = None,
        reconnect: bool = True,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.event = event
        self.value = int(value)
        # When not None, an ERROR command with this reason is sent before closing.
        self.error_reason = error_reason
        # False when the failure is final for a connecting peer (ZAP 400/500 as libzmq).
        self.reconnect = reconnect


class ProtocolViolation(ZmtpError):
    """The peer broke the specification (malformed or unexpected input)."""

    def __init__(
        self,
        message: str,
        code: ProtocolError = ProtocolError.ZMTP_UNSPECIFIED,
        *,
        error_reason: bytes | None = None,
    ) -> None:
        super().__init__(
            message,
            event=Event.HANDSHAKE_FAILED_PROTOCOL,
            value=code,
            error_reason=error_reason,
        )
        self.code = code


class AuthenticationFailure(ZmtpError):
    """ZAP (or the peer's ERROR) refused the handshake; ``value`` is the 3-digit status."""

    def __init__(
        self,
        message: str,
        status: int,
        *,
        error_reason: bytes | None = None,
        reconnect: bool = True,
    ) -> None:
        super().__init__(
            message,
            event=Event.HANDSHAKE_FAILED_AUTH,
            value=status,
            error_reason=error_reason,
            reconnect=reconnect,
        )
        self.status = status


class NoDetailFailure(ZmtpError):
    """A handshake failure libzmq reports as HANDSHAKE_FAILED_NO_DETAIL with an errno."""

    def __init__(self, message: str, errno: int = _errno.EPROTO) -> None:
        super().__init__(message, event=Event.HANDSHAKE_FAILED_NO_DETAIL, value=errno)


class PeerClosed(ZmtpError):
    """The peer closed the stream (EOF); a DISCONNECTED event, not a handshake failure."""

    def __init__(self, message: str = "ZMTP: peer closed the connection") -> None:
        super().__init__(message, event=Event.DISCONNECTED, value=0)


class UsageError(ZmtpError):
    """Local misuse of the sans-IO API (a bug in the caller, not the peer's fault)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, event=Event.HANDSHAKE_FAILED_NO_DETAIL, value=_errno.EINVAL)
