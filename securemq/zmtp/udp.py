"""RADIO/DISH (and DGRAM) over udp://: one message per datagram, as libzmq 4.3.5 frames it.

Read in libzmq 4.3.5 src/udp_engine.cpp (``out_event``, ``in_event``, ``sockaddr_to_msg``,
``resolve_raw_address``) and src/udp_engine.hpp, and checked against it (pyzmq 27.3, drafts):

RADIO/DISH datagram::

    +------------+----------------------+-------------------------+
    | group size |  group (size bytes)  |  body (the rest)        |
    |  1 byte    |  0..255 bytes        |  0.. bytes              |
    +------------+----------------------+-------------------------+

- No ZMTP at all: no greeting, no handshake, no security, no MORE flags, no JOIN/LEAVE (a DISH's
  udp engine drops its pipe's JOINs; the RADIO sends every group, the DISH filters).
- libzmq's buffers are ``MAX_UDP_MSG`` = 8192 bytes both ways. Sending more overruns its send
  buffer ("TODO: check if larger than maximum size"); receiving, ``recvfrom`` truncates the
  datagram to 8192 bytes and the cut body is delivered. So a datagram is at most 8192 bytes
  here: ``encode_datagram`` refuses more, ``decode_datagram`` refuses more (read with a buffer
  of ``MAX_DATAGRAM + 1`` bytes, or MSG_TRUNC, to notice).
- A datagram shorter than 1 + its group size is ignored by libzmq ("This doesn't fit, just
  ignore"); so is an empty one. ``decode_datagram`` raises ``MalformedDatagram`` for both: the
  driver drops that datagram and carries on (there is no connection to fail).
- libzmq reads the size byte as a plain (signed, on x86-64) ``char``: a group size of 128..255
  makes a libzmq 4.3.5 receiver ABORT ("Cannot allocate memory", udp_engine.cpp:547; seen with
  the oracle). libzmq's own RADIO still sends such groups. ``encode_datagram`` sends them too by
  default (wire-faithful); pass ``group_limit=LIBZMQ_SAFE_GROUP_MAX`` to refuse them.

DGRAM (raw) datagram: the body alone; the address travels as the message's first frame:
received as ``b"a.b.c.d:port\\0"`` (``sockaddr_to_msg``: dotted IPv4, a colon, the decimal port
and a terminating NUL), and on send libzmq takes the last ``:`` of the frame, the port with
``atoi`` (0 is refused) and the host with ``inet_addr`` (IPv4 only); an invalid address makes it
discard the message silently.
"""

from __future__ import annotations

import errno
import ipaddress

from ..constants import Event, ProtocolError
from .errors import ProtocolViolation, UsageError, ZmtpError

MAX_DATAGRAM = 8192  # libzmq's MAX_UDP_MSG (src/udp_engine.hpp)
GROUP_MAX_LENGTH = 255  # ZMQ_GROUP_MAX_LENGTH, and the most a size byte can say
LIBZMQ_SAFE_GROUP_MAX = 127  # larger groups abort a libzmq 4.3.5 DISH (signed char)
MAX_PORT = 65535


class MalformedDatagram(ProtocolViolation):
    """A datagram libzmq would never produce; the driver drops it and keeps the socket."""

    def __init__(self, message: str) -> None:
        super().__init__(message, ProtocolError.ZMTP_UNSPECIFIED)


class DatagramTooLarge(ZmtpError):
    """A message that does not fit one libzmq datagram (local misuse: EMSGSIZE)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, event=Event.HANDSHAKE_FAILED_NO_DETAIL, value=errno.EMSGSIZE)


def encode_datagram(
    group: bytes,
    body: bytes,
    *,
    group_limit: int = GROUP_MAX_LENGTH,
    max_size: int = MAX_DATAGRAM,
) -> bytes:
    """One RADIO message as a datagram: size byte, group, body."""
    if len(group) > min(group_limit, GROUP_MAX_LENGTH):
        raise UsageError(
            f"UDP: group of {len(group)} bytes exceeds {min(group_limit, GROUP_MAX_LENGTH)}"
        )
    size = 1 + len(group) + len(body)
    if size > max_size:
        raise DatagramTooLarge(f"UDP: a datagram of {size} bytes exceeds {max_size}")
    return bytes((len(group),)) + bytes(group) + bytes(body)


def decode_datagram(datagram: bytes, *, max_size: int = MAX_DATAGRAM) -> tuple[bytes, bytes]:
    """(group, body) of a RADIO datagram; ``MalformedDatagram`` when it cannot be one."""
    size = len(datagram)
    if size == 0:
        raise MalformedDatagram("UDP: empty datagram (no group size byte)")
    if size > max_size:
        raise MalformedDatagram(f"UDP: datagram of {size} bytes exceeds {max_size}")
    group_size = datagram[0]
    if size - 1 < group_size:
        raise MalformedDatagram(
            f"UDP: group size {group_size} exceeds the {size - 1} bytes that follow it"
        )
    data = bytes(datagram)
    return data[1 : 1 + group_size], data[1 + group_size :]


def encode_message(msg: list[bytes], *, group_limit: int = GROUP_MAX_LENGTH) -> bytes:
    """The datagram for a RADIO pipe message ``[group, body]`` (see routing/draft.py)."""
    if len(msg) != 2:
        raise UsageError(f"UDP: a RADIO message is [group, body], got {len(msg)} frames")
    return encode_datagram(msg[0], msg[1], group_limit=group_limit)


def decode_message(datagram: bytes) -> list[bytes]:
    """The DISH pipe message ``[group, body]`` for a datagram."""
    group, body = decode_datagram(datagram)
    return [group, body]


# -- DGRAM ---------------------------------------------------------------------------------------


def dgram_address_frame(host: str, port: int) -> bytes:
    """The address frame libzmq puts before a received DGRAM body (NUL-terminated)."""
    return f"{ipaddress.IPv4Address(host)}:{int(port)}".encode("ascii") + b"\x00"


def parse_dgram_address(frame: bytes) -> tuple[str, int] | None:
    """(IPv4 host, port) a DGRAM send frame names, None where libzmq discards the message.

    Stricter than libzmq's ``atoi`` / ``inet_addr`` (which take ``"127.1"`` or ``"80abc"``):
    dotted IPv4 and a decimal port 1..65535; a trailing NUL (as received) is allowed.
    """
    text = bytes(frame)
    if text.endswith(b"\x00"):
        text = text[:-1]
    host, colon, port = text.rpartition(b":")
    if not colon or not port.isdigit() or not host:
        return None
    number = int(port)
    if not 0 < number <= MAX_PORT:
        return None
    try:
        address = ipaddress.IPv4Address(host.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        return None
    if int(address) == 0xFFFFFFFF:  # INADDR_NONE: inet_addr's error value, refused by libzmq
        return None
    return str(address), number
