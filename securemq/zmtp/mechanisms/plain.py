"""ZMTP-PLAIN (RFC 24), both roles, sans-IO.

How this works: a small state table. The client sends HELLO(username, password) at once, then
expects WELCOME, answers INITIATE(metadata) and expects READY(metadata). The server expects
HELLO, always asks ZAP (with no handler bound it fails NO_DETAIL/EFAULT, as libzmq), sends
WELCOME on status 200, expects INITIATE and answers READY. Credentials never appear in error
messages; they leave this module only inside the ZAP request.
"""

from __future__ import annotations

import errno
import struct
from enum import Enum, auto
from typing import ClassVar

from ...constants import ProtocolError
from ...safetext import quoted
from ..commands import decode_command, encode_command
from ..errors import NoDetailFailure, ProtocolViolation, UsageError
from ..metadata import decode_metadata, encode_metadata
from ..zap import LIBZMQ_PLAIN_ERROR_PREFIX, failure_for_error_command, failure_for_status
from .base import Mechanism, ZapReplyData, ZapRequestData, ZapSettings, check_peer_properties


class _State(Enum):
    EXPECT_HELLO = auto()
    WAIT_ZAP = auto()
    EXPECT_INITIATE = auto()
    EXPECT_WELCOME = auto()
    EXPECT_READY = auto()
    READY = auto()


# Which command each state accepts (anything else is UNEXPECTED_COMMAND).
_EXPECTED: dict[_State, frozenset[bytes]] = {
    _State.EXPECT_HELLO: frozenset({b"HELLO"}),
    _State.WAIT_ZAP: frozenset(),
    _State.EXPECT_INITIATE: frozenset({b"INITIATE"}),
    _State.EXPECT_WELCOME: frozenset({b"WELCOME", b"ERROR"}),
    _State.EXPECT_READY: frozenset({b"READY", b"ERROR"}),
    _State.READY: frozenset(),
}

_CLIENT_WAITING = frozenset({_State.EXPECT_WELCOME, _State.EXPECT_READY})


def encode_hello(username: bytes, password: bytes) -> bytes:
    """HELLO command body: username and password, each with a 1-byte length."""
    return encode_command(
        b"HELLO",
        struct.pack("B", len(username)) + username + struct.pack("B", len(password)) + password,
    )


def decode_hello(data: bytes) -> tuple[bytes, bytes]:
    """HELLO data -> (username, password); MALFORMED_COMMAND_HELLO when the sizes do not fit."""
    fields: list[bytes] = []
    pos = 0
    for what in ("username", "password"):
        if pos >= len(data) or pos + 1 + data[pos] > len(data):
            raise ProtocolViolation(
                f"PLAIN: HELLO {what} is truncated", ProtocolError.ZMTP_MALFORMED_COMMAND_HELLO
            )
        size = data[pos]
        fields.append(bytes(data[pos + 1 : pos + 1 + size]))
        pos += 1 + size
    if pos != len(data):
        raise ProtocolViolation(
            "PLAIN: HELLO has extra data after the password",
            ProtocolError.ZMTP_MALFORMED_COMMAND_HELLO,
        )
    return fields[0], fields[1]


class PlainMechanism(Mechanism):
    """PLAIN in one role. Client: ``username``/``password`` (0..255 bytes each)."""

    name = b"PLAIN"
    # How libzmq 4.3 spells the ERROR command under PLAIN (for the connection, when it sends one
    # to a libzmq PLAIN client: a correct "\x05ERROR" is UNEXPECTED_COMMAND there).
    error_command_prefix: ClassVar[bytes] = LIBZMQ_PLAIN_ERROR_PREFIX

    def __init__(
        self,
        *,
        as_server: bool,
        properties: dict[str, bytes],
        zap: ZapSettings | None = None,
        username: bytes = b"",
        password: bytes = b"",
    ) -> None:
        super().__init__(as_server=as_server, properties=properties, zap=zap or ZapSettings())
        self._outbox: list[bytes] = []
        # Server role: the user name the client gave (kept to find its connections when that
        # user is revoked; the password is never kept).
        self.username: bytes | None = None
        if as_server:
            self._state = _State.EXPECT_HELLO
            return
        if len(username) > 255 or len(password) > 255:
            raise UsageError("PLAIN: username and password must be at most 255 bytes")
        self._outbox.append(encode_hello(bytes(username), bytes(password)))
        self._state = _State.EXPECT_WELCOME

    # -- the seam ----------------------------------------------------------------------------

    def next_commands(self) -> list[bytes]:
        out, self._outbox = self._outbox, []
        return out

    def process_command(self, body: bytes) -> None:
        if body[:5] == LIBZMQ_PLAIN_ERROR_PREFIX and self._state in _CLIENT_WAITING:
            # libzmq's PLAIN server spells ERROR as "^RROR" (see zap.LIBZMQ_PLAIN_ERROR_PREFIX).
            raise failure_for_error_command("PLAIN", body[5:])
        name, data = decode_command(body)
        if name not in _EXPECTED[self._state]:
            raise ProtocolViolation(
                f"PLAIN: unexpected {quoted(name, 32)} command "
                f"in state {self._state.name}",
                ProtocolError.ZMTP_UNEXPECTED_COMMAND,
            )
        if name == b"ERROR":
            raise failure_for_error_command("PLAIN", data)
        handler = {
            b"HELLO": self._on_hello,
            b"INITIATE": self._on_initiate,
            b"WELCOME": self._on_welcome,
            b"READY": self._on_ready,
        }[name]
        handler(data)

    def zap_reply(self, reply: ZapReplyData) -> None:
        if self._state is not _State.WAIT_ZAP:
            raise UsageError("PLAIN: ZAP reply given while no ZAP request is pending")
        self.zap_request = None  # drop the credentials
        failure = failure_for_status("PLAIN", reply)
        if failure is not None:
            raise failure
        self.user_id = reply.user_id
        self.zap_properties = dict(reply.metadata)
        self._outbox.append(encode_command(b"WELCOME"))
        self._state = _State.EXPECT_INITIATE

    # -- server steps ------------------------------------------------------------------------

    def _on_hello(self, data: bytes) -> None:
        username, password = decode_hello(data)
        # PLAIN always needs a ZAP decision; without a handler libzmq fails with EFAULT.
        if not self.zap.handler_present:
            raise NoDetailFailure("PLAIN: HELLO received but no ZAP handler is bound", errno.EFAULT)
        self.zap_request = ZapRequestData(b"PLAIN", [username, password])
        self.username = username
        self._state = _State.WAIT_ZAP

    def _on_initiate(self, data: bytes) -> None:
        self._take_peer_metadata(data)
        self._outbox.append(encode_command(b"READY", encode_metadata(self.local_properties)))
        self._state = _State.READY
        self.ready = True

    # -- client steps ------------------------------------------------------------------------

    def _on_welcome(self, data: bytes) -> None:
        if data:
            raise ProtocolViolation(
                "PLAIN: WELCOME must carry no data", ProtocolError.ZMTP_MALFORMED_COMMAND_WELCOME
            )
        self._outbox.append(encode_command(b"INITIATE", encode_metadata(self.local_properties)))
        self._state = _State.EXPECT_READY

    def _on_ready(self, data: bytes) -> None:
        self._take_peer_metadata(data)
        self._state = _State.READY
        self.ready = True

    def _take_peer_metadata(self, data: bytes) -> None:
        properties = decode_metadata(data)
        check_peer_properties(self.local_properties, properties)
        self.peer_properties = properties
