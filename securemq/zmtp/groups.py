"""RADIO/DISH over ZMTP (tcp://, ipc://, ws://): what libzmq 4.3 puts on the wire.

Read in libzmq 4.3.5 (tag v4.3.5) and checked against it (pyzmq 27.3 with drafts):

- src/radio.cpp ``radio_session_t::pull_msg``: a message goes out as TWO data frames, the group
  first (MORE set, 0..255 bytes: ``strlen`` of the message's group), then the body (MORE clear).
  The ZMTP greeting, mechanisms and READY are the usual ones (Socket-Type ``RADIO`` / ``DISH``).
- src/dish.cpp ``dish_session_t::pull_msg``: JOIN and LEAVE are COMMAND frames whose body is
  ``b"\\x04JOIN" + group`` / ``b"\\x05LEAVE" + group``: the ZMTP command name, then the group as
  the rest of the body (no length byte of its own). A DISH sends a JOIN for every joined group
  when a peer attaches or reconnects (``send_subscriptions``), and at each ``zmq_join`` /
  ``zmq_leave``. RADIO/DISH never use SUBSCRIBE/CANCEL.
- src/radio.cpp ``radio_session_t::push_msg``: a command whose body starts with those 5 / 6
  bytes becomes a join/leave for the RADIO; the RADIO drops every other message from a DISH.
  A JOIN/LEAVE naming more than 255 bytes makes ``set_group`` fail and libzmq 4.3.5 ABORTS the
  whole process (``errno_assert``, radio.cpp:216; seen with the oracle): never send one.
- src/dish.cpp ``dish_session_t::push_msg``: the DISH fails the connection (EFAULT) on a first
  frame without MORE, a group over 255 bytes, a body frame with MORE, and any command that
  reaches the session (a JOIN sent to a DISH, say); PING/PONG are the engine's and pass.
- Over CURVE the same frames travel boxed (flags MORE / COMMAND inside the box).

Inside securemq these map onto the routing seam (``securemq/routing/draft.py``): the pipe
message ``[group, body]`` is the two frames; ``[b"\\x04JOIN" + group]`` is the command body.
"""

from __future__ import annotations

from enum import StrEnum

from ..constants import ProtocolError
from .commands import encode_command
from .errors import ProtocolViolation, UsageError
from .frames import COMMAND, MORE, encode_frame, frame_header

GROUP_MAX_LENGTH = 255  # libzmq's ZMQ_GROUP_MAX_LENGTH (include/zmq.h)
JOIN = b"JOIN"
LEAVE = b"LEAVE"
JOIN_PREFIX = b"\x04JOIN"
LEAVE_PREFIX = b"\x05LEAVE"


class GroupCommand(StrEnum):
    JOIN = "JOIN"
    LEAVE = "LEAVE"


def _checked_group(group: bytes) -> bytes:
    if len(group) > GROUP_MAX_LENGTH:
        raise UsageError(f"RADIO/DISH: group of {len(group)} bytes exceeds {GROUP_MAX_LENGTH}")
    return bytes(group)


def encode_join(group: bytes) -> bytes:
    """The body of a JOIN command frame (``b"\\x04JOIN" + group``)."""
    return encode_command(JOIN, _checked_group(group))


def encode_leave(group: bytes) -> bytes:
    """The body of a LEAVE command frame (``b"\\x05LEAVE" + group``)."""
    return encode_command(LEAVE, _checked_group(group))


def join_frame(group: bytes) -> bytes:
    """A whole JOIN command frame as it goes on the wire (NULL/PLAIN; CURVE boxes it)."""
    return encode_frame(COMMAND, encode_join(group))


def leave_frame(group: bytes) -> bytes:
    """A whole LEAVE command frame as it goes on the wire (NULL/PLAIN; CURVE boxes it)."""
    return encode_frame(COMMAND, encode_leave(group))


def encode_group_message(group: bytes, body: bytes) -> bytes:
    """A RADIO message as its two wire frames: the group with MORE, then the body."""
    group = _checked_group(group)
    return frame_header(MORE, len(group)) + group + frame_header(0, len(body)) + bytes(body)


def parse_group_command(body: bytes) -> tuple[GroupCommand, bytes] | None:
    """(JOIN or LEAVE, group) for a JOIN/LEAVE command body, None for any other command.

    A group over 255 bytes is a ProtocolViolation (libzmq's RADIO aborts on one; we drop the
    connection instead).
    """
    if body.startswith(JOIN_PREFIX):
        kind, group = GroupCommand.JOIN, bytes(body[len(JOIN_PREFIX) :])
    elif body.startswith(LEAVE_PREFIX):
        kind, group = GroupCommand.LEAVE, bytes(body[len(LEAVE_PREFIX) :])
    else:
        return None
    if len(group) > GROUP_MAX_LENGTH:
        raise ProtocolViolation(
            f"ZMTP: {kind.value} names a group of {len(group)} bytes (at most "
            f"{GROUP_MAX_LENGTH})",
            ProtocolError.ZMTP_MALFORMED_COMMAND_UNSPECIFIED,
        )
    return kind, group


def check_group_message(frames: list[bytes]) -> tuple[bytes, bytes]:
    """(group, body) of a whole message received by a DISH; ProtocolViolation where libzmq's
    dish session refuses it (a lone frame, a group over 255 bytes, more than two frames)."""
    if len(frames) != 2:
        raise ProtocolViolation(
            f"ZMTP: a RADIO message is a group frame and a body frame, got {len(frames)} "
            "frame(s)",
            ProtocolError.ZMTP_UNSPECIFIED,
        )
    group, body = frames
    if len(group) > GROUP_MAX_LENGTH:
        raise ProtocolViolation(
            f"ZMTP: group frame of {len(group)} bytes (at most {GROUP_MAX_LENGTH})",
            ProtocolError.ZMTP_UNSPECIFIED,
        )
    return group, body
