"""A raw byte stream (the STREAM socket's connections): no greeting, no handshake, no framing.

As libzmq's raw engine: the connection is ready at once; every chunk read is one message; what
the socket sends is written as it is. With STREAM_NOTIFY the socket hears of the connection
(an empty message when it starts) and of its end (an empty message at EOF).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .errors import PeerClosed, ZmtpError
from .events import ConnectionFailed, Event, HandshakeComplete, MessagesReceived, messages_first
from .mechanisms.base import Mechanism, ZapReplyData

_NOTIFICATION: list[bytes] = [b""]


class RawConnection:
    def __init__(
        self,
        *,
        notify: bool,
        socket_type: int = 0,
        mechanism: Mechanism | None = None,
        max_message_size: int = -1,
        accepted: bool = False,
        frame_size_cap: int = 0,
    ) -> None:
        # (the other arguments are the ConnectionFactory's; a raw stream has no use for them)
        self.notify = notify
        self.peer_version = (0, 0)  # (no ZMTP at all)
        self._out: list[bytes] = []
        self._ended = False

    def start(self) -> list[Event]:
        events: list[Event] = [HandshakeComplete(peer_properties={}, peer_version=(0, 0),
                                                 raw=True)]
        if self.notify:
            events.append(MessagesReceived([list(_NOTIFICATION)]))
        return events

    def receive_data(self, data: bytes) -> list[Event]:
        if self._ended:
            return []
        if data:
            return [MessagesReceived([[bytes(data)]])]
        self._ended = True
        events: list[Event] = []
        if self.notify:
            events.append(MessagesReceived([list(_NOTIFICATION)]))
        events.append(ConnectionFailed(PeerClosed("STREAM: peer closed the connection"),
                                       during_handshake=False))
        return events

    def receive_traffic(self, data: bytes, out: list[list[bytes]]) -> list[Event]:
        return messages_first(self.receive_data(data), out)

    def data_to_send(self) -> list[bytes]:
        out, self._out = self._out, []
        return out

    def wants_write(self) -> bool:
        return bool(self._out)

    def send_messages(self, msgs: Iterable[Sequence[bytes]]) -> None:
        for msg in msgs:
            self._out.extend(bytes(frame) for frame in msg if frame)

    def send_ping(self, ttl_ms: int, context: bytes = b"") -> None:
        return None  # nothing to ping with: a raw peer speaks no ZMTP

    def zap_reply(self, reply: ZapReplyData) -> list[Event]:
        return []

    def zap_failed(self, error: ZmtpError) -> list[Event]:
        return []
