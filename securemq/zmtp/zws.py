"""ZWS 2.0 (RFC 45, ZMTP over WebSocket) as a sans-IO adapter around ``ZmtpConnection``.

What libzmq 4.3.5 does (src/ws_engine.cpp, ws_encoder.cpp, ws_decoder.cpp, ws_protocol.hpp),
which this follows:

- HTTP upgrade. The client offers ``Sec-WebSocket-Protocol: ZWS2.0/NULL,ZWS2.0`` under NULL,
  ``ZWS2.0/PLAIN`` under PLAIN and ``ZWS2.0/CURVE`` under CURVE. The server takes the first
  offered protocol that fits its own mechanism (NULL: ``ZWS2.0/NULL`` or bare ``ZWS2.0``; PLAIN:
  ``ZWS2.0/PLAIN``; CURVE: ``ZWS2.0/CURVE``; exact, case-sensitive) and answers
  ``101 Switching Protocols`` naming it; with no match it drops the connection. libzmq's client
  insists on the reason text "Switching Protocols" (wsproto < 1.3 sends none: fixed up below),
  and neither side looks at the path.
- No ZMTP greeting: the subprotocol names the mechanism, and the mechanism's handshake
  (READY, or HELLO/WELCOME/INITIATE/READY) starts right after the upgrade.
- Framing: every ZMTP frame is ONE binary WebSocket message, never fragmented (libzmq refuses
  non-final frames, text messages and empty binary messages): a flags byte (0x01 MORE, 0x02
  COMMAND, unlike ZMTP's 0x04) then the body. WebSocket ping/pong/close replace ZMTP's PING/PONG
  (libzmq answers a ping with an empty pong and echoes a close before hanging up).
- Subscriptions go as the legacy ``\\x01topic`` / ``\\x00topic`` data messages (libzmq's ws
  encoder; RFC 45 "Publish-Subscribe"). Under CURVE libzmq puts SUBSCRIBE commands in the box
  instead; securemq accepts both.
- Bare ``ZWS2.0`` (no mechanism, like ZMTP/2): each side's first message is its routing id, no
  metadata and no socket-type check; libzmq's NULL server picks it only when offered first.

How this adapter works: ``wsproto`` does the HTTP upgrade and the WebSocket framing. Once the
subprotocol is known, the ZmtpConnection is fed a made-up 64-byte peer greeting (ZMTP 3.0, so
that subscriptions take the legacy form; the mechanism named by the subprotocol), and its own
64 greeting bytes are dropped from its output. From then on each incoming binary message
(flags byte F, body B) is re-encoded as the ZMTP frame (MORE if F&1, COMMAND if F&2, B) and fed
to ``receive_data``; the connection's output is cut back into frames (``FrameDecoder``) and each
frame leaves as one binary message. A message is size-checked while it arrives (1 MiB during
the handshake, then MAXMSGSIZE), before it is joined. Nothing in connection.py changed; these
hooks in ZmtpConnection would make the emulation unnecessary:

1. start without a greeting: ``ZmtpConnection(..., greeting=False)`` goes straight to HANDSHAKE
   with its mechanism (first commands queued), nothing greeting-shaped sent or expected;
2. frame-level input: ``receive_frame(flags, body)`` (flags MORE/COMMAND), with the same limits,
   handshake rules and command handling as the frames ``receive_data`` decodes;
3. frame-level output: ``frames_to_send() -> list[tuple[int, bytes]]`` instead of bytes (CURVE's
   ``box_frames`` would hand out (flags, body) rather than encoded ZMTP frames);
4. the subscription form as its own switch (``legacy_subscriptions=True``), not derived from a
   peer version that ZWS does not have.

The public surface is ZmtpConnection's (``receive_data``, ``data_to_send``, ``wants_write``,
``send_message(s)``, ``send_ping``, ``zap_reply``, ``zap_failed``, ``state``, ``peer_version``),
plus ``close`` and ``subprotocol``. RADIO/DISH pass ``connection_class=RadioDishConnection``:
JOIN/LEAVE then travel as command messages (flags 0x02), a group message as two binary messages
(group with 0x01, then the body), exactly as libzmq's ws engine sends them. TLS (wss://) is the
driver's business, below this layer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from enum import Enum

from wsproto import ConnectionType, WSConnection
from wsproto.connection import ConnectionState as WsState
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    RejectConnection,
    Request,
    TextMessage,
)
from wsproto.events import Event as WsEvent
from wsproto.frame_protocol import CloseReason
from wsproto.utilities import LocalProtocolError, RemoteProtocolError

from ..constants import Event as MonitorEvent
from .connection import FRAME_SIZE_CAP, HANDSHAKE_FRAME_LIMIT, ConnectionState, ZmtpConnection
from .errors import PeerClosed, ProtocolViolation, UsageError, ZmtpError
from .events import (
    ConnectionFailed,
    Event,
    HandshakeComplete,
    MessagesReceived,
    PingReceived,
    messages_first,
)
from .frames import COMMAND, MORE, FrameDecoder, encode_frame
from .greeting import GREETING_SIZE, MECHANISM_SIZE
from .mechanisms.base import Mechanism, ZapReplyData

# ZWS flags byte (RFC 45 "Framing"; libzmq ws_protocol.hpp).
ZWS_MORE = 0x01
ZWS_COMMAND = 0x02
ZWS_VERSION = "ZWS2.0"
BARE = ZWS_VERSION  # the subprotocol without a mechanism
# libzmq's ZMQ_PROTOCOL_ERROR_WS_UNSPECIFIED (include/zmq.h), the monitor value of WS failures.
PROTOCOL_ERROR_WS_UNSPECIFIED = 0x30000000
PING_PAYLOAD_MAX = 125  # RFC 6455: control frames carry at most 125 bytes
# The version of the made-up peer greeting: 3.0 keeps subscriptions in the legacy form.
_PEER_VERSION = (3, 0)
_SWITCHING = b"HTTP/1.1 101 Switching Protocols\r\n"
_BARE_STATUS = b"HTTP/1.1 101 \r\n"


class WebSocketError(ZmtpError):
    """The WebSocket layer failed (bad upgrade, bad framing): HANDSHAKE_FAILED_PROTOCOL with
    libzmq's WS_UNSPECIFIED code. ``close_code`` is what we tell the peer, if anything."""

    def __init__(self, message: str, close_code: int | None = CloseReason.PROTOCOL_ERROR) -> None:
        super().__init__(
            message,
            event=MonitorEvent.HANDSHAKE_FAILED_PROTOCOL,
            value=PROTOCOL_ERROR_WS_UNSPECIFIED,
        )
        self.close_code = close_code


class _Mode(Enum):
    UPGRADING = "upgrading"
    ZMTP = "zmtp"  # a mechanism: the ZmtpConnection runs the show
    BARE = "bare"  # plain ZWS2.0: routing ids, then messages
    CLOSED = "closed"


def subprotocol_for(mechanism: bytes) -> str:
    """``ZWS2.0/<MECHANISM>``."""
    return f"{ZWS_VERSION}/{mechanism.decode('ascii')}"


def client_offer(mechanism: bytes) -> list[str]:
    """What a client offers, in libzmq's order."""
    if mechanism == b"NULL":
        return [subprotocol_for(mechanism), BARE]
    return [subprotocol_for(mechanism)]


def server_select(
    offered: Iterable[str], mechanism: bytes, *, allow_bare: bool = True
) -> str | None:
    """The first offered subprotocol a server with ``mechanism`` accepts (libzmq's
    ``select_protocol``), None when there is none."""
    accepted = {subprotocol_for(mechanism)}
    if mechanism == b"NULL" and allow_bare:
        accepted.add(BARE)
    for name in offered:
        if name in accepted:
            return name
    return None


def made_up_greeting(mechanism: bytes, version: tuple[int, int] = _PEER_VERSION) -> bytes:
    """The 64-byte ZMTP greeting a ZmtpConnection is fed in place of the peer's."""
    return b"".join(
        (b"\xff", bytes(8), b"\x7f", bytes(version), mechanism.ljust(MECHANISM_SIZE, b"\x00"),
         bytes(32))
    )


class ZwsConnection:
    """One ZWS 2.0 connection (client or server role) carrying one ZmtpConnection."""

    def __init__(
        self,
        *,
        client: bool,
        socket_type: int,
        mechanism: Mechanism,
        host: str = "localhost",
        path: str = "/",
        routing_id: bytes = b"",
        max_message_size: int = -1,
        frame_size_cap: int = FRAME_SIZE_CAP,
        allow_bare: bool = True,
        connection_class: type[ZmtpConnection] = ZmtpConnection,
    ) -> None:
        self.client = client
        self.socket_type = socket_type
        self.mechanism = mechanism
        self.routing_id = bytes(routing_id)
        self.max_message_size = max_message_size
        self.frame_size_cap = frame_size_cap
        self.allow_bare = allow_bare
        self.subprotocol: str | None = None
        self.peer_version: tuple[int, int] = (0, 0)
        self._mode = _Mode.UPGRADING
        self._ws = WSConnection(ConnectionType.CLIENT if client else ConnectionType.SERVER)
        # RADIO/DISH pass radio_dish_connection.RadioDishConnection (JOIN/LEAVE plumbing).
        self._zmtp = connection_class(
            socket_type=socket_type,
            mechanism=mechanism,
            max_message_size=max_message_size,
            accepted=not client,
            frame_size_cap=frame_size_cap,
        )
        self._out: list[bytes] = []
        self._events: list[Event] = []
        # The connection's own greeting is dropped from its output, then frames are cut out.
        self._greeting_left = GREETING_SIZE
        self._frames_out = FrameDecoder()
        # A binary message still arriving: its pieces and their total size.
        self._pieces: list[bytes] = []
        self._size = 0
        # Bare ZWS2.0: the peer's routing id has not come yet / a multipart message in progress.
        self._bare_identity_pending = True
        self._bare_msg: list[bytes] = []
        self._bare_ready = False
        if client:
            offer = client_offer(mechanism.name)
            if not allow_bare and BARE in offer:
                offer.remove(BARE)
            self._out.append(self._ws.send(Request(host=host, target=path, subprotocols=offer)))

    # ----------------------------------------------------------------- public API

    @property
    def state(self) -> ConnectionState:
        """GREETING while the HTTP upgrade runs, then the ZMTP state (bare: HANDSHAKE until the
        peer's routing id came, then READY), CLOSED once failed or closed."""
        if self._mode is _Mode.CLOSED:
            return ConnectionState.CLOSED
        if self._mode is _Mode.UPGRADING:
            return ConnectionState.GREETING
        if self._mode is _Mode.BARE:
            return ConnectionState.READY if self._bare_ready else ConnectionState.HANDSHAKE
        return self._zmtp.state

    def _is_closed(self) -> bool:
        return self._mode is _Mode.CLOSED

    @property
    def zmtp(self) -> ZmtpConnection:
        """The ZMTP connection this adapter drives (for inspection; do not feed it)."""
        return self._zmtp

    def start(self) -> list[Event]:
        """Nothing happens before the peer speaks (a client's upgrade request is queued)."""
        return []

    def receive_data(self, data: bytes) -> list[Event]:
        """Bytes from the peer (``b""``: EOF); the events they caused."""
        if self._mode is _Mode.CLOSED:
            return []
        events: list[Event] = []
        self._events = events
        if not data:
            self._fail(PeerClosed(), send_close=False)
            return events
        try:
            self._ws.receive_data(bytes(data))
            for ws_event in self._ws.events():
                self._on_ws_event(ws_event)
                if self._is_closed():
                    break
        except RemoteProtocolError as exc:
            self._reject_upgrade(exc)
            self._fail(WebSocketError(f"ZWS: {exc}", close_code=None), send_close=False)
        except UsageError:
            raise
        except ZmtpError as exc:
            self._fail(exc)
        except Exception as exc:  # a bug must not let peer bytes crash the driver
            self._fail(
                ProtocolViolation(
                    f"ZWS: internal error while processing peer input ({type(exc).__name__})"
                )
            )
        return events

    def receive_traffic(self, data: bytes, out: list[list[bytes]]) -> list[Event]:
        return messages_first(self.receive_data(data), out)

    def data_to_send(self) -> list[bytes]:
        out, self._out = self._out, []
        return out

    def wants_write(self) -> bool:
        return bool(self._out)

    def send_message(self, frames: Sequence[bytes]) -> None:
        self.send_messages((frames,))

    def send_messages(self, msgs: Iterable[Sequence[bytes]]) -> None:
        """Queue whole messages (each a list of frames); only once READY."""
        if self._mode is _Mode.BARE and self._bare_ready:
            for msg in msgs:
                if not msg:
                    raise UsageError("ZWS: cannot send a message of zero frames")
                final = len(msg) - 1
                for index, body in enumerate(msg):
                    self._send_ws_frame(ZWS_MORE if index < final else 0, bytes(body))
            return
        if self._mode is not _Mode.ZMTP:
            raise UsageError(f"ZWS: cannot send messages in state {self.state.value}")
        self._zmtp.send_messages(msgs)
        self._pump_zmtp()

    def send_ping(self, ttl_ms: int = 0, context: bytes = b"") -> None:
        """A WebSocket ping (ZWS's heartbeat; the TTL has no WebSocket form and is dropped)."""
        if self.state is not ConnectionState.READY:
            raise UsageError(f"ZWS: cannot send a ping in state {self.state.value}")
        if len(context) > PING_PAYLOAD_MAX:
            raise UsageError(f"ZWS: ping payload of {len(context)} bytes exceeds 125")
        self._out.append(self._ws.send(Ping(payload=bytes(context))))

    def zap_reply(self, reply: ZapReplyData) -> list[Event]:
        """Hand the ZAP decision to the mechanism; the events that follow."""
        if self._mode is _Mode.CLOSED:
            return []
        if self._mode is not _Mode.ZMTP:
            raise UsageError("ZWS: zap_reply without a pending ZAP request")
        events: list[Event] = []
        self._events = events
        self._zmtp_step(lambda: self._zmtp.zap_reply(reply))
        return events

    def zap_failed(self, error: ZmtpError) -> list[Event]:
        """ZAP could not answer: the connection fails."""
        if self._mode is _Mode.CLOSED:
            return []
        events: list[Event] = []
        self._events = events
        if self._mode is _Mode.ZMTP:
            self._zmtp_step(lambda: self._zmtp.zap_failed(error))
        else:
            self._fail(error)
        return events

    def close(self, code: int = CloseReason.NORMAL_CLOSURE, reason: str = "") -> None:
        """Start a clean WebSocket close; the connection takes no more messages."""
        if self._mode is _Mode.CLOSED:
            return
        self._mode = _Mode.CLOSED
        self._send_close(code, reason)

    # ----------------------------------------------------------------- WebSocket events

    def _on_ws_event(self, event: WsEvent) -> None:
        if isinstance(event, BytesMessage):
            self._on_bytes(bytes(event.data), event.message_finished)
        elif isinstance(event, Ping):
            self._out.append(self._ws.send(event.response()))
            if self._mode is not _Mode.UPGRADING:
                self._events.append(PingReceived(0))
        elif isinstance(event, CloseConnection):
            if self._ws.state is WsState.REMOTE_CLOSING:
                self._out.append(self._ws.send(event.response()))  # echo it, as libzmq does
                self._fail(PeerClosed(f"ZWS: peer closed the WebSocket ({event.code})"), False)
            else:  # wsproto reports a framing error as a close it did not send yet
                self._fail(
                    WebSocketError(f"ZWS: bad WebSocket frame ({event.reason})", event.code)
                )
        elif isinstance(event, TextMessage):
            self._fail(
                WebSocketError("ZWS: text message (ZWS uses binary messages only)",
                               CloseReason.UNSUPPORTED_DATA)
            )
        elif isinstance(event, Request):
            self._on_request(event)
        elif isinstance(event, AcceptConnection):
            self._on_accepted(event.subprotocol)
        elif isinstance(event, RejectConnection):
            self._fail(
                WebSocketError(f"ZWS: upgrade refused (HTTP {event.status_code})", None), False
            )
        # Pong: any traffic is traffic; the driver counts bytes, nothing to report here.

    def _on_request(self, request: Request) -> None:
        chosen = server_select(request.subprotocols, self.mechanism.name,
                               allow_bare=self.allow_bare)
        if chosen is None:
            self._out.append(self._ws.send(RejectConnection(status_code=400)))
            self._fail(
                WebSocketError(
                    "ZWS: client offers no subprotocol for "
                    f"{self.mechanism.name.decode('ascii')} ({', '.join(request.subprotocols)})",
                    None,
                ),
                send_close=False,
            )
            return
        data = self._ws.send(AcceptConnection(subprotocol=chosen))
        if data.startswith(_BARE_STATUS):  # wsproto < 1.3: libzmq's client needs the reason
            data = _SWITCHING + data[len(_BARE_STATUS) :]
        self._out.append(data)
        self._start(chosen)

    def _on_accepted(self, subprotocol: str | None) -> None:
        offered = client_offer(self.mechanism.name)
        if subprotocol is None or subprotocol not in offered:
            self._fail(WebSocketError(f"ZWS: server chose subprotocol {subprotocol!r}"))
            return
        self._start(subprotocol)

    def _start(self, subprotocol: str) -> None:
        self.subprotocol = subprotocol
        if subprotocol == BARE:
            self._mode = _Mode.BARE
            self.peer_version = _PEER_VERSION
            self._send_ws_frame(0, self.routing_id)
            return
        self._mode = _Mode.ZMTP
        self.peer_version = _PEER_VERSION
        self._zmtp_step(lambda: self._zmtp.receive_data(made_up_greeting(self.mechanism.name)))

    # ----------------------------------------------------------------- messages

    def _limit(self) -> int:
        """The largest frame body (after the flags byte) accepted now: 1 MiB (or less, with
        MAXMSGSIZE) during the handshake, then MAXMSGSIZE, never more than the memory cap."""
        if self._mode is _Mode.ZMTP and self._zmtp.state is not ConnectionState.READY:
            limit = HANDSHAKE_FRAME_LIMIT
            if 0 <= self.max_message_size < limit:
                limit = self.max_message_size
            return limit
        if 0 <= self.max_message_size <= self.frame_size_cap:
            return self.max_message_size
        return self.frame_size_cap

    def _on_bytes(self, data: bytes, finished: bool) -> None:
        if self._mode is _Mode.UPGRADING:
            raise WebSocketError("ZWS: message before the upgrade completed")
        if data:
            self._size += len(data)
            limit = self._limit()
            if self._size - 1 > limit:
                raise WebSocketError(
                    f"ZWS: message of more than {limit} bytes (the limit now)",
                    CloseReason.MESSAGE_TOO_BIG,
                )
            self._pieces.append(data)
        if not finished:
            return
        message = self._pieces[0] if len(self._pieces) == 1 else b"".join(self._pieces)
        self._pieces = []
        self._size = 0
        if not message:
            raise WebSocketError("ZWS: empty binary message (no flags byte)")
        flags = message[0]
        body = message[1:]
        if self._mode is _Mode.ZMTP:
            zflags = (MORE if flags & ZWS_MORE else 0) | (COMMAND if flags & ZWS_COMMAND else 0)
            self._zmtp_step(lambda: self._zmtp.receive_data(encode_frame(zflags, body)))
        elif self._mode is _Mode.BARE:
            self._on_bare_frame(flags, body)

    def _on_bare_frame(self, flags: int, body: bytes) -> None:
        if flags & ZWS_COMMAND:
            return  # no commands without a mechanism (libzmq passes them to nobody)
        if self._bare_identity_pending:
            self._bare_identity_pending = False
            self._bare_ready = True
            properties = {"Identity": body} if body else {}
            self._events.append(
                HandshakeComplete(peer_properties=properties, peer_version=self.peer_version)
            )
            return
        self._bare_msg.append(body)
        if flags & ZWS_MORE:
            return
        msg, self._bare_msg = self._bare_msg, []
        last = self._events[-1] if self._events else None
        if isinstance(last, MessagesReceived):
            last.messages.append(msg)
        else:
            self._events.append(MessagesReceived([msg]))

    # ----------------------------------------------------------------- the ZMTP side

    def _zmtp_step(self, step: Callable[[], list[Event]]) -> None:
        """Run one ZmtpConnection call, pass its events on and translate its output."""
        inner = step()
        self._events.extend(inner)
        self._pump_zmtp()
        for event in inner:
            if isinstance(event, ConnectionFailed):
                self._mode = _Mode.CLOSED
                if not isinstance(event.error, PeerClosed):
                    self._send_close(CloseReason.PROTOCOL_ERROR, "")

    def _pump_zmtp(self) -> None:
        for chunk in self._zmtp.data_to_send():
            if self._greeting_left:
                skip = min(self._greeting_left, len(chunk))
                self._greeting_left -= skip
                chunk = chunk[skip:]
                if not chunk:
                    continue
            for flags, body in self._frames_out.feed(chunk):
                zflags = (ZWS_MORE if flags & MORE else 0) | (
                    ZWS_COMMAND if flags & COMMAND else 0
                )
                self._send_ws_frame(zflags, body)

    def _send_ws_frame(self, flags: int, body: bytes) -> None:
        if self._ws.state is not WsState.OPEN:
            return  # closing: nothing more goes out
        self._out.append(self._ws.send(BytesMessage(data=bytes((flags,)) + body)))

    # ----------------------------------------------------------------- failure

    def _send_close(self, code: int, reason: str) -> None:
        if self._ws.state in (WsState.OPEN, WsState.REMOTE_CLOSING):
            try:
                self._out.append(self._ws.send(CloseConnection(code=code, reason=reason)))
            except LocalProtocolError:
                pass

    def _reject_upgrade(self, exc: RemoteProtocolError) -> None:
        """A server refusing a bad HTTP request answers 400 (libzmq just hangs up)."""
        hint = exc.event_hint
        if self.client or not isinstance(hint, RejectConnection):
            return
        try:
            self._out.append(self._ws.send(hint))
        except LocalProtocolError:
            pass

    def _fail(self, error: ZmtpError, send_close: bool = True) -> None:
        was_ready = self.state is ConnectionState.READY
        self._mode = _Mode.CLOSED
        if send_close:
            code = getattr(error, "close_code", CloseReason.PROTOCOL_ERROR)
            if code is not None:
                self._send_close(int(code), "")
        self._events.append(ConnectionFailed(error, during_handshake=not was_ready))
