"""What a transport driver needs from a sans-IO connection: ``ZmtpConnection`` has it, and so
do the adapters that carry ZMTP inside another protocol (ZWS over WebSocket, TLS around that)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from .errors import ZmtpError
from .events import Event
from .mechanisms.base import Mechanism, ZapReplyData


class WireConnection(Protocol):
    @property
    def peer_version(self) -> tuple[int, int]:
        """The peer's ZMTP version once its greeting (or what stands for it) came; (0, 0)
        before."""
        ...

    def start(self) -> list[Event]: ...
    def receive_data(self, data: bytes) -> list[Event]: ...
    def receive_traffic(self, data: bytes, out: list[list[bytes]]) -> list[Event]:
        """``receive_data`` for the hot path: whole messages go to ``out`` (no event object per
        chunk); the events returned come after them. Messages that arrive after some other
        event (a handshake completing in the same chunk) stay in the events, in order."""
        ...

    def data_to_send(self) -> list[bytes]: ...
    def wants_write(self) -> bool: ...
    def send_messages(self, msgs: Iterable[Sequence[bytes]]) -> None: ...
    def send_ping(self, ttl_ms: int, context: bytes = b"") -> None: ...
    def zap_reply(self, reply: ZapReplyData) -> list[Event]: ...
    def zap_failed(self, error: ZmtpError) -> list[Event]: ...


class ConnectionFactory(Protocol):
    """Makes the connection for one accepted (server) or dialed (client) stream."""

    def __call__(
        self,
        *,
        socket_type: int,
        mechanism: Mechanism,
        max_message_size: int,
        accepted: bool,
        frame_size_cap: int,
    ) -> WireConnection: ...
