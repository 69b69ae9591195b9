"""RadioDishConnection: a PROTOTYPE of the JOIN/LEAVE plumbing ZmtpConnection lacks.

``ZmtpConnection`` ignores unknown commands once ready and sends every pipe message as data
frames, so RADIO/DISH cannot work over it unchanged. This subclass shows what is needed, using
two private methods of connection.py (``_ready_command``, ``_queue_command``) and its failure
path (``_fail``); the hooks to add to ZmtpConnection instead are listed in the report:

1. a per-socket-type command hook once READY (here: RADIO turns JOIN/LEAVE commands into the
   one-frame pipe messages ``[b"\\x04JOIN" + group]`` / ``[b"\\x05LEAVE" + group]``; DISH, like
   libzmq's dish session, fails on any such command);
2. a way to send a pipe message as a COMMAND frame (DISH: those one-frame JOIN/LEAVE messages),
   boxed by CURVE like any command;
3. a per-socket-type check of received messages that may fail the connection (DISH: exactly a
   group frame of at most 255 bytes and a body frame, ``groups.check_group_message``).

Everything else (greeting, mechanisms, heartbeats, CURVE) is ZmtpConnection's own.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..constants import ProtocolError, SocketType
from .commands import command_name
from .connection import ConnectionState, ZmtpConnection
from .errors import ProtocolViolation, UsageError, ZmtpError
from .events import Event, MessagesReceived, messages_first
from .groups import (
    GROUP_MAX_LENGTH,
    JOIN_PREFIX,
    LEAVE_PREFIX,
    check_group_message,
    parse_group_command,
)
from .mechanisms.base import Mechanism

_GROUP_TYPES = frozenset({SocketType.RADIO, SocketType.DISH})


def _is_group_command(msg: Sequence[bytes]) -> bool:
    if len(msg) != 1:
        return False
    body = msg[0]
    return body[:5] == JOIN_PREFIX or body[:6] == LEAVE_PREFIX


class RadioDishConnection(ZmtpConnection):
    """ZmtpConnection for a RADIO or DISH socket (see the module docstring)."""

    def __init__(
        self,
        *,
        socket_type: int,
        mechanism: Mechanism,
        max_message_size: int = -1,
        accepted: bool = False,
        **kwargs: int,
    ) -> None:
        if socket_type not in _GROUP_TYPES:
            raise UsageError(f"RadioDishConnection: socket type {socket_type} is not RADIO/DISH")
        super().__init__(
            socket_type=socket_type,
            mechanism=mechanism,
            max_message_size=max_message_size,
            accepted=accepted,
            **kwargs,
        )
        self._is_dish = socket_type == SocketType.DISH

    # -- receiving ---------------------------------------------------------------------------
    def _ready_command(self, body: bytes, out: list[list[bytes]]) -> None:
        name = command_name(body)
        if name in (b"JOIN", b"LEAVE"):
            if self._is_dish:
                raise ProtocolViolation(
                    f"ZMTP: a DISH received a {name.decode()} command",
                    ProtocolError.ZMTP_UNEXPECTED_COMMAND,
                )
            parse_group_command(body)  # raises on a group over 255 bytes
            out.append([bytes(body)])
            return
        super()._ready_command(body, out)

    def receive_data(self, data: bytes) -> list[Event]:
        events = super().receive_data(data)
        if not self._is_dish:
            return events
        for index, event in enumerate(events):
            if not isinstance(event, MessagesReceived):
                continue
            for count, msg in enumerate(event.messages):
                try:
                    check_group_message(msg)
                except ZmtpError as exc:
                    # What came before the bad message is still delivered, in order; the
                    # failure ends the connection as libzmq's EFAULT does.
                    del event.messages[count:]
                    del events[index + 1 :]
                    if not event.messages:
                        del events[index]
                    self._events = events
                    self._fail(exc)
                    return events
        return events

    def receive_traffic(self, data: bytes, out: list[list[bytes]]) -> list[Event]:
        return messages_first(self.receive_data(data), out)  # (every message is checked)

    # -- sending -----------------------------------------------------------------------------
    def send_messages(self, msgs: Iterable[Sequence[bytes]]) -> None:
        if not self._is_dish:
            super().send_messages(msgs)
            return
        batch: list[Sequence[bytes]] = []
        for msg in msgs:
            if _is_group_command(msg):
                if batch:
                    super().send_messages(batch)
                    batch = []
                self._send_group_command(bytes(msg[0]))
            else:
                batch.append(msg)
        if batch:
            super().send_messages(batch)

    def _send_group_command(self, body: bytes) -> None:
        if self.state is not ConnectionState.READY:
            raise UsageError(f"ZMTP: cannot send messages in state {self.state.value}")
        prefix = JOIN_PREFIX if body[:5] == JOIN_PREFIX else LEAVE_PREFIX
        group_size = len(body) - len(prefix)
        if group_size > GROUP_MAX_LENGTH:  # libzmq's RADIO would abort on it
            raise UsageError(f"RADIO/DISH: group of {group_size} bytes exceeds {GROUP_MAX_LENGTH}")
        self._queue_command(body)
