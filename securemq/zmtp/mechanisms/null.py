"""ZMTP NULL (RFC 23 section 3.3.2): each side sends READY with its metadata and waits for the
peer's READY. A server with a ZAP domain consults ZAP first (see REFERENCE: when and how)."""

from __future__ import annotations

import errno

from ...constants import ProtocolError
from ...safetext import quoted
from ..commands import decode_command, encode_command
from ..errors import NoDetailFailure, ProtocolViolation, UsageError
from ..metadata import decode_metadata, encode_metadata
from ..zap import failure_for_status
from .base import Mechanism, ZapReplyData, ZapRequestData, ZapSettings, check_peer_properties


class NullMechanism(Mechanism):
    """NULL security in either role; only the server role ever talks to ZAP."""

    name = b"NULL"

    def __init__(
        self,
        *,
        as_server: bool = False,
        properties: dict[str, bytes],
        zap: ZapSettings | None = None,
    ) -> None:
        super().__init__(as_server=as_server, properties=properties, zap=zap or ZapSettings())
        self._ready_sent = False
        self._ready_received = False
        self._zap_done = False

    def _zap_wanted(self) -> bool:
        """True while a ZAP decision must come before our READY (raises when it cannot)."""
        zap = self.zap
        if not self.as_server or not zap.domain or self._zap_done:
            return False
        if zap.handler_present:
            return True
        if zap.enforce:
            raise NoDetailFailure(
                "NULL: ZAP domain is set and enforced but no ZAP handler is bound", errno.EFAULT
            )
        return False  # libzmq's legacy behaviour: a domain without a handler accepts

    def next_commands(self) -> list[bytes]:
        if self._ready_sent:
            return []
        if self._zap_wanted():
            if self.zap_request is None:
                self.zap_request = ZapRequestData(self.name, [])
            return []
        self._ready_sent = True
        self.ready = self._ready_received
        return [encode_command(b"READY", encode_metadata(self.local_properties))]

    def process_command(self, body: bytes) -> None:
        name, data = decode_command(body)
        if name != b"READY" or self._ready_received:
            shown = quoted(name, 32)
            raise ProtocolViolation(
                f"NULL: unexpected {shown} command while waiting for READY",
                ProtocolError.ZMTP_UNEXPECTED_COMMAND,
            )
        try:
            properties = decode_metadata(data, ProtocolError.ZMTP_INVALID_METADATA)
            check_peer_properties(self.local_properties, properties)
        except ProtocolViolation as exc:
            raise ProtocolViolation(
                f"NULL: READY: {exc.message}", exc.code, error_reason=exc.error_reason
            ) from None
        self.peer_properties = properties
        self._ready_received = True
        self.ready = self._ready_sent

    def zap_reply(self, reply: ZapReplyData) -> None:
        if self.zap_request is None or self._zap_done:
            raise UsageError("NULL: ZAP reply without a pending ZAP request")
        self._zap_done = True
        failure = failure_for_status("NULL", reply)
        if failure is not None:
            raise failure
        self.user_id = reply.user_id
        self.zap_properties = dict(reply.metadata)
