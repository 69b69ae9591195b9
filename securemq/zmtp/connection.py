"""ZmtpConnection: one ZMTP 3.x connection as a sans-IO state machine (model: h11 / wsproto).

How this works:

* Bytes in (``receive_data``) give events out; bytes to send pile up in ``_out`` and the driver
  drains them with ``data_to_send``. Nothing here does I/O, reads a clock or draws randomness.
* GREETING: our greeting is queued at construction. The peer's is parsed byte-exactly (a bad
  byte fails at once); then mechanism names must match and the mechanism gets its first turn.
* HANDSHAKE: frames are decoded one at a time under a 1 MiB cap (a peer not yet authenticated
  cannot make us buffer more), so the limit switches to MAXMSGSIZE at the exact frame where the
  handshake ends. Every command goes to the mechanism except ERROR, which ends the connection.
  After each step (``_advance``) the mechanism's commands are sent, ZapRequestNeeded is raised
  once, and readiness is checked.
* READY: frames are decoded in bulk; whole messages of one chunk go out in ONE
  MessagesReceived -- or, through ``receive_traffic`` (the driver's hot path), straight into
  the driver's list, with no event at all. PING/PONG/SUBSCRIBE/CANCEL/ERROR are handled
  here; CURVE-style mechanisms (``transforms_traffic``) unbox every wire frame first and box
  every frame we send.
* Any ZmtpError becomes ConnectionFailed (an ERROR command is queued first when the error
  carries a reason); the state is then CLOSED and further input is ignored. Only UsageError
  (local misuse) escapes ``receive_data``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from enum import StrEnum

from .. import socket_types
from ..constants import ProtocolError
from ..safetext import quoted
from .commands import command_name, decode_command, encode_command
from .errors import (
    AuthenticationFailure,
    PeerClosed,
    ProtocolViolation,
    UsageError,
    ZmtpError,
)
from .events import (
    ConnectionFailed,
    Event,
    HandshakeComplete,
    MessagesReceived,
    PingReceived,
    ZapRequestNeeded,
)
from .frames import (
    COMMAND,
    MORE,
    SHORT_LAST,
    SHORT_MORE,
    FrameDecoder,
    encode_frame,
    encode_message,
    frame_header,
)
from .greeting import Greeting, GreetingParser, encode_greeting
from .mechanisms.base import Mechanism, ZapReplyData

# Command frames during the handshake never exceed this, whatever MAXMSGSIZE says.
HANDSHAKE_FRAME_LIMIT = 1 << 20
# No frame is ever larger than this, MAXMSGSIZE or not: a peer declaring 2**62 bytes is
# dropped at once instead of holding the connection open for bytes that can never arrive. The
# driver passes what the machine can hold (``frame_size_cap``); this default exceeds any.
FRAME_SIZE_CAP = 1 << 47
# Bodies at least this large are handed to the driver as they are, never copied into a join.
LARGE_FRAME = 1 << 16
# Flags of a frame inside a mechanism's box (mechanisms/base.py): 1 MORE, 2 COMMAND. The wire
# COMMAND bit (4) is accepted from decode_frame too.
BOX_COMMAND = 0x02
_BOX_COMMAND_BITS = BOX_COMMAND | COMMAND
PING_CONTEXT_MAX = 16
SIGNATURE_SIZE = 10
GREETING_SIZE = 64



class ConnectionState(StrEnum):
    GREETING = "greeting"
    HANDSHAKE = "handshake"
    READY = "ready"
    CLOSED = "closed"


# libzmq 4.3 (src/plain_common.hpp) spells PLAIN's ERROR name "\x05ERROR" in C, which reads as
# the one byte 0x5E then "RROR": its PLAIN server sends b"^RROR" + reason, and its PLAIN client
# recognises only that form (a correct ERROR makes it report UNEXPECTED_COMMAND instead of the
# ZAP status). Checked against libzmq 4.3.5 in pyzmq 27.3. We send that form under PLAIN and
# accept both forms from any peer.
_ERROR_NAME_BY_MECHANISM = {b"PLAIN": b"^RROR"}
_LIBZMQ_PLAIN_ERROR = b"^RROR"


def _traffic_frames(msgs: Iterable[Sequence[bytes]]) -> Iterator[tuple[int, bytes]]:
    """(flags, body) for every frame of every message: MORE on all but each message's last."""
    for msg in msgs:
        if len(msg) == 1:
            body = msg[0]
            yield 0, body if type(body) is bytes else bytes(body)
            continue
        if not msg:
            raise UsageError("ZMTP: cannot send a message of zero frames")
        final = len(msg) - 1
        for index, body in enumerate(msg):
            yield (MORE if index < final else 0), body if type(body) is bytes else bytes(body)


def _error_command(mechanism: bytes, reason: bytes) -> bytes:
    reason = reason[:255]
    data = bytes((len(reason),)) + reason
    quirk = _ERROR_NAME_BY_MECHANISM.get(mechanism)
    body = quirk + data if quirk is not None else encode_command(b"ERROR", data)
    return encode_frame(COMMAND, body)


def _error_data(body: bytes) -> bytes | None:
    """The data of an ERROR command in either spelling (see above), else None."""
    if command_name(body) == b"ERROR":
        return body[6:]
    if body[:5] == _LIBZMQ_PLAIN_ERROR and len(body) < 1 + body[0]:
        return body[5:]
    return None


def failure_for_peer_error(data: bytes) -> ZmtpError:
    """The failure an ERROR command (its data: reason size, reason) from the peer means."""
    if not data or data[0] > len(data) - 1:
        return ProtocolViolation(
            "ZMTP: malformed ERROR command (reason size exceeds the frame)",
            ProtocolError.ZMTP_MALFORMED_COMMAND_ERROR,
        )
    reason = bytes(data[1 : 1 + data[0]])
    # libzmq (mechanism_base_t::handle_error_reason): "300", "400" or "500" is a ZAP status.
    if len(reason) == 3 and reason[0] in b"345" and reason[1:] == b"00":
        return AuthenticationFailure(
            f"ZMTP: peer sent ERROR {reason.decode('ascii')} (authentication refused)",
            int(reason),
            reconnect=False,
        )
    return ProtocolViolation(
        f"ZMTP: peer sent ERROR {quoted(reason, 64)}", ProtocolError.ZMTP_UNSPECIFIED
    )


class ZmtpConnection:
    """One ZMTP connection: ``receive_data`` in, events out, ``data_to_send`` to the wire."""

    def __init__(
        self,
        *,
        socket_type: int,
        mechanism: Mechanism,
        max_message_size: int = -1,
        accepted: bool = False,
        frame_size_cap: int = FRAME_SIZE_CAP,
    ) -> None:
        self.socket_type = socket_type
        # The accepting side holds back its mechanism name until the peer's whole greeting is
        # in (see _receive_greeting); the connecting side never waits for that, so two peers
        # never wait for each other.
        self._hold_mechanism = accepted
        self.mechanism = mechanism
        self.max_message_size = max_message_size
        self.frame_size_cap = frame_size_cap
        self.state = ConnectionState.GREETING
        self.peer_greeting: Greeting | None = None
        self.peer_version: tuple[int, int] = (0, 0)
        self._greeting = GreetingParser()
        limit = HANDSHAKE_FRAME_LIMIT
        if 0 <= max_message_size < limit:
            limit = max_message_size
        self._decoder = FrameDecoder(limit, limit_name="the handshake frame limit")
        # RFC 23: as-server is 0 for NULL; libzmq never sets it for any mechanism.
        as_server = mechanism.as_server and mechanism.name != b"NULL"
        greeting = encode_greeting(mechanism.name, as_server)
        # As libzmq: the 10-byte signature first, then the major version, then the rest, each
        # once the peer got that far; an accepting side sends its mechanism only after the
        # peer's, so it always learns the peer's mechanism (and reports MECHANISM_MISMATCH)
        # even from a libzmq client that hangs up as soon as it sees ours.
        self._out: list[bytes] = [greeting[:SIGNATURE_SIZE]]
        self._greeting_rest = greeting[SIGNATURE_SIZE:]
        self._greeting_seen = 0
        self._events: list[Event] = []
        self._zap_requested = False
        # SUB/XSUB to a ZMTP 3.1 peer: subscriptions go as SUBSCRIBE/CANCEL commands.
        self._subscription_commands = False
        self._partial: list[bytes] = []  # unfinished message (transforming mechanisms only)
        self._traffic_failure = False

    # ----------------------------------------------------------------- public API

    @staticmethod
    def local_properties(socket_type: int, routing_id: bytes) -> dict[str, bytes]:
        """Our READY metadata: Socket-Type always; Identity for REQ, DEALER, ROUTER (as libzmq)."""
        try:
            facts = socket_types.info(socket_type)
        except KeyError:
            raise UsageError(f"ZMTP: unknown socket type {socket_type}") from None
        properties = {"Socket-Type": facts.name}
        if facts.announces_identity:
            properties["Identity"] = bytes(routing_id)
        return properties

    def start(self) -> list[Event]:
        """Nothing happens before the peer speaks (the greeting is already queued)."""
        return []

    def receive_data(self, data: bytes) -> list[Event]:
        """Feed bytes from the peer (``b""`` means EOF); returns the events they caused."""
        if self.state is ConnectionState.CLOSED:
            return []
        events: list[Event] = []
        self._events = events
        if not data:
            self._fail(PeerClosed())
            return events
        try:
            rest: bytes | None = data
            if self.state is ConnectionState.GREETING:
                rest = self._receive_greeting(data)
            if rest is not None and self.state is ConnectionState.HANDSHAKE:
                self._receive_handshake(rest)
                rest = b""
            if rest is not None and self.state is ConnectionState.READY:
                out: list[list[bytes]] = []
                try:
                    self._receive_ready(rest, out)
                finally:
                    if out:
                        events.append(MessagesReceived(out))
        except UsageError:
            raise
        except ZmtpError as exc:
            self._fail(exc)
        except Exception as exc:  # a bug must not let peer bytes crash the driver
            self._fail_internally(exc)
        return events

    def receive_traffic(self, data: bytes, out: list[list[bytes]]) -> list[Event]:
        """``receive_data`` once READY, for the hot path: whole messages go to ``out`` (no
        event object per chunk), and the events returned (PingReceived, ConnectionFailed) come
        after them. Before READY this is ``receive_data`` (``out`` stays untouched)."""
        if self.state is not ConnectionState.READY or not data:
            return self.receive_data(data)
        events: list[Event] = []
        self._events = events
        try:
            if self.mechanism.transforms_traffic:
                self._receive_boxed(data, out)
            else:  # (_receive_ready, inlined: once a read)
                self._decoder.feed_messages(data, out, self._ready_command)
        except UsageError:
            raise
        except ZmtpError as exc:
            self._fail(exc)
        except Exception as exc:  # (as receive_data)
            self._fail_internally(exc)
        return events

    def _fail_internally(self, exc: Exception) -> None:
        self._fail(
            ProtocolViolation(
                f"ZMTP: internal error while processing peer input ({type(exc).__name__})"
            )
        )

    def data_to_send(self) -> list[bytes]:
        """Drain the pending output: small pieces joined, large bodies passed as they are."""
        out = self._out
        if len(out) <= 1:
            self._out = []
            return out
        self._out = []
        result: list[bytes] = []
        small: list[bytes] = []
        for buf in out:
            if len(buf) >= LARGE_FRAME:
                if small:
                    result.append(b"".join(small))
                    small = []
                result.append(buf)
            else:
                small.append(buf)
        if small:
            result.append(b"".join(small))
        return result

    def wants_write(self) -> bool:
        return bool(self._out)

    def send_message(self, frames: Sequence[bytes]) -> None:
        """Queue one whole message (a list of frames)."""
        self.send_messages((frames,))

    def send_messages(self, msgs: Iterable[Sequence[bytes]]) -> None:
        """Queue many whole messages at once (the hot path)."""
        if self.state is not ConnectionState.READY:
            raise UsageError(f"ZMTP: cannot send messages in state {self.state.value}")
        if self.mechanism.transforms_traffic:
            if self._subscription_commands:
                for msg in msgs:
                    self._send_boxed(msg)
            else:
                self.mechanism.box_frames(_traffic_frames(msgs), self._out)
        elif self._subscription_commands:
            for msg in msgs:
                self._send_subscriber(msg)
        else:
            self._send_plain(msgs)

    def send_ping(self, ttl_ms: int, context: bytes = b"") -> None:
        """Queue a PING (ZMTP 3.1): TTL in deciseconds, up to 16 bytes of context."""
        if self.state is not ConnectionState.READY:
            raise UsageError(f"ZMTP: cannot send PING in state {self.state.value}")
        if len(context) > PING_CONTEXT_MAX:
            raise UsageError(f"ZMTP: PING context of {len(context)} bytes exceeds 16")
        ttl = min(max(ttl_ms, 0) // 100, 0xFFFF)
        self._queue_command(encode_command(b"PING", ttl.to_bytes(2, "big") + bytes(context)))

    def zap_reply(self, reply: ZapReplyData) -> list[Event]:
        """Hand the ZAP decision to the mechanism; returns the events that follow."""
        if self.state is ConnectionState.CLOSED:
            return []
        if self.state is not ConnectionState.HANDSHAKE or not self._zap_requested:
            raise UsageError("ZMTP: zap_reply without a pending ZAP request")
        events: list[Event] = []
        self._events = events
        try:
            self.mechanism.zap_reply(reply)
            self._advance()
        except UsageError:
            raise
        except ZmtpError as exc:
            self._fail(exc)
        return events

    def zap_failed(self, error: ZmtpError) -> list[Event]:
        """ZAP could not answer (no handler, handler gone, ...): the connection fails."""
        if self.state is ConnectionState.CLOSED:
            return []
        events: list[Event] = []
        self._events = events
        self._fail(error)
        return events

    # ----------------------------------------------------------------- receiving

    def _receive_greeting(self, data: bytes) -> bytes | None:
        parser = self._greeting
        rest = parser.feed(data)
        if self._greeting_rest:
            # libzmq's stages: our major version once the peer's signature is in, the rest
            # once the peer's major version is in.
            before = self._greeting_seen
            self._greeting_seen = seen = before + len(data)
            if before < SIGNATURE_SIZE <= seen:
                self._out.append(self._greeting_rest[:1])
            if seen >= (GREETING_SIZE if self._hold_mechanism else SIGNATURE_SIZE + 1):
                self._out.append(self._greeting_rest[1:])
                self._greeting_rest = b""
        greeting = parser.greeting
        if rest is None or greeting is None:
            return None
        self.peer_greeting = greeting
        self.peer_version = greeting.version
        ours = self.mechanism.name
        if greeting.mechanism != ours:
            raise ProtocolViolation(
                f"ZMTP: peer mechanism {quoted(greeting.mechanism, 20)} does not match ours "
                f"{quoted(ours)}",
                ProtocolError.ZMTP_MECHANISM_MISMATCH,
            )
        self.state = ConnectionState.HANDSHAKE
        self._advance()
        return rest

    def _receive_handshake(self, data: bytes) -> None:
        decoder = self._decoder
        mechanism = self.mechanism
        frames = decoder.feed(data, 1)
        while frames:
            flags, body = frames[0]
            if not flags & COMMAND:
                raise ProtocolViolation(
                    "ZMTP: data frame received during the handshake",
                    ProtocolError.ZMTP_UNEXPECTED_COMMAND,
                )
            error_data = _error_data(body)
            if error_data is not None:
                raise failure_for_peer_error(error_data)
            mechanism.process_command(body)
            self._advance()
            if self.state is not ConnectionState.HANDSHAKE:
                return
            frames = decoder.feed(b"", 1)

    def _advance(self) -> None:
        """After every handshake step: send the mechanism's commands, ask ZAP, check readiness."""
        mechanism = self.mechanism
        for body in mechanism.next_commands():
            self._out.append(encode_frame(COMMAND, body))
        request = mechanism.zap_request
        if request is not None and not self._zap_requested:
            self._zap_requested = True
            self._events.append(ZapRequestNeeded(request.mechanism, list(request.credentials)))
        if mechanism.ready and self.state is ConnectionState.HANDSHAKE:
            self.state = ConnectionState.READY
            decoder = self._decoder
            cap = self.frame_size_cap
            if 0 <= self.max_message_size <= cap:
                decoder.max_frame_size = self.max_message_size
                decoder.limit_name = "MAXMSGSIZE"
            else:
                decoder.max_frame_size = cap
                decoder.limit_name = "what this machine can hold"
            self._subscription_commands = (
                socket_types.info(self.socket_type).subscriber and self.peer_version >= (3, 1)
            )
            self._events.append(
                HandshakeComplete(
                    peer_properties=dict(mechanism.peer_properties),
                    peer_version=self.peer_version,
                    user_id=mechanism.user_id,
                    zap_properties=dict(mechanism.zap_properties),
                )
            )

    def _receive_ready(self, data: bytes, out: list[list[bytes]]) -> None:
        """Decode traffic into ``out``; what a bad frame ends is still there, in order."""
        if self.mechanism.transforms_traffic:
            self._receive_boxed(data, out)
        else:
            self._decoder.feed_messages(data, out, self._ready_command)

    def _receive_boxed(self, data: bytes, out: list[list[bytes]]) -> None:
        decoded: list[tuple[int, bytes]] = []
        try:
            frames = self._decoder.feed(data)
            try:
                self.mechanism.decode_frames(frames, decoded)
            except ZmtpError:
                self._traffic_failure = True
                raise
        finally:
            # What opened before a bad frame is still delivered, in order.
            on_command = self._ready_command
            partial = self._partial
            try:
                for flags, body in decoded:
                    if flags & _BOX_COMMAND_BITS:
                        on_command(body, out)
                    elif flags & MORE:
                        partial.append(body)
                    else:
                        partial.append(body)
                        out.append(partial)
                        partial = []
            finally:
                self._partial = partial

    def _ready_command(self, body: bytes, out: list[list[bytes]]) -> None:
        """A command once ready (ZMTP 3.1); unknown commands are ignored, as libzmq does."""
        name, data = decode_command(body)
        if name == b"PING":
            if len(data) < 2:
                raise ProtocolViolation(
                    "ZMTP: PING command shorter than its 2-byte TTL",
                    ProtocolError.ZMTP_MALFORMED_COMMAND_UNSPECIFIED,
                )
            self._queue_command(encode_command(b"PONG", data[2 : 2 + PING_CONTEXT_MAX]))
            self._events.append(PingReceived(int.from_bytes(data[:2], "big") * 100))
        elif name == b"SUBSCRIBE":
            out.append([b"\x01" + data])
        elif name == b"CANCEL":
            out.append([b"\x00" + data])
        elif name == b"ERROR":
            raise failure_for_peer_error(data)

    # ----------------------------------------------------------------- sending

    def _queue_command(self, body: bytes) -> None:
        """A command once ready: a command frame, or boxed into a data frame by the mechanism."""
        if self.mechanism.transforms_traffic:
            self.mechanism.box_frames(((BOX_COMMAND, body),), self._out)
        else:
            self._out.append(encode_frame(COMMAND, body))

    def _send_plain(self, msgs: Iterable[Sequence[bytes]]) -> None:
        out = self._out
        parts: list[bytes] = []
        append = parts.append
        last = SHORT_LAST
        more = SHORT_MORE
        try:
            for msg in msgs:
                if len(msg) == 1:
                    body = msg[0]
                    size = len(body)
                    if size < 256:
                        append(last[size])
                        append(body)
                        continue
                elif not msg:
                    raise UsageError("ZMTP: cannot send a message of zero frames")
                final = len(msg) - 1
                for index, body in enumerate(msg):
                    size = len(body)
                    if size < 256:
                        append(more[size] if index < final else last[size])
                        append(body)
                        continue
                    append(frame_header(MORE if index < final else 0, size))
                    if size < LARGE_FRAME:
                        append(body)
                    else:
                        out.append(b"".join(parts))
                        parts.clear()
                        out.append(body)
        finally:
            if parts:
                out.append(b"".join(parts))

    def _send_subscriber(self, msg: Sequence[bytes]) -> None:
        if len(msg) == 1:
            body = msg[0]
            first = body[:1]
            if first == b"\x01":
                self._queue_command(encode_command(b"SUBSCRIBE", bytes(body[1:])))
                return
            if first == b"\x00":
                self._queue_command(encode_command(b"CANCEL", bytes(body[1:])))
                return
        if not msg:
            raise UsageError("ZMTP: cannot send a message of zero frames")
        self._out.append(encode_message(msg))

    def _send_boxed(self, msg: Sequence[bytes]) -> None:
        """One message to a subscriber's peer over a boxing mechanism (subscriptions become
        SUBSCRIBE/CANCEL commands)."""
        if self._subscription_commands and len(msg) == 1:
            first = msg[0][:1]
            if first in (b"\x01", b"\x00"):
                self._send_subscriber(msg)
                return
        self.mechanism.box_frames(_traffic_frames((msg,)), self._out)

    # ----------------------------------------------------------------- failure

    def _fail(self, error: ZmtpError) -> None:
        during_handshake = self.state is not ConnectionState.READY
        self.state = ConnectionState.CLOSED
        if error.error_reason is not None:
            self._out.append(_error_command(self.mechanism.name, error.error_reason))
        self._events.append(
            ConnectionFailed(
                error, during_handshake=during_handshake, traffic=self._traffic_failure
            )
        )
