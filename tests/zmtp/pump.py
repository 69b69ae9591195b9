"""In-memory plumbing for sans-IO tests: move bytes between two ZmtpConnections until quiet."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from securemq.zmtp.commands import encode_command
from securemq.zmtp.connection import ZmtpConnection
from securemq.zmtp.events import Event
from securemq.zmtp.frames import COMMAND, encode_frame
from securemq.zmtp.mechanisms.base import Mechanism, ZapReplyData, ZapRequestData, ZapSettings
from securemq.zmtp.mechanisms.null import NullMechanism
from securemq.zmtp.metadata import encode_metadata

MAX_ROUNDS = 1000

T = TypeVar("T")


def deliver(conn: ZmtpConnection, data: bytes, *, byte_at_a_time: bool = False) -> list[Event]:
    """Feed ``data`` to ``conn`` whole or one byte at a time; return every event it produced."""
    if not byte_at_a_time:
        return conn.receive_data(data)
    events: list[Event] = []
    for index in range(len(data)):
        events.extend(conn.receive_data(data[index : index + 1]))
    return events


def pump(
    a: ZmtpConnection, b: ZmtpConnection, *, byte_at_a_time: bool = False
) -> tuple[list[Event], list[Event]]:
    """Move pending output both ways until neither side has any; events seen by (a, b)."""
    events_a: list[Event] = []
    events_b: list[Event] = []
    for _ in range(MAX_ROUNDS):
        moved = False
        for src, dst, sink in ((a, b, events_b), (b, a, events_a)):
            data = b"".join(src.data_to_send())
            if data:
                moved = True
                sink.extend(deliver(dst, data, byte_at_a_time=byte_at_a_time))
        if not moved:
            return events_a, events_b
    raise AssertionError(f"pump: still moving data after {MAX_ROUNDS} rounds")


def of_type(kind: type[T], events: list[Event]) -> list[T]:
    """The events of one kind, in order."""
    return [event for event in events if isinstance(event, kind)]


def null_connection(
    socket_type: int,
    *,
    as_server: bool = False,
    routing_id: bytes = b"",
    zap: ZapSettings | None = None,
    max_message_size: int = -1,
) -> ZmtpConnection:
    """A ZmtpConnection with the NULL mechanism and libzmq's READY properties."""
    properties = ZmtpConnection.local_properties(socket_type, routing_id)
    mechanism = NullMechanism(as_server=as_server, properties=properties, zap=zap)
    return ZmtpConnection(
        socket_type=socket_type, mechanism=mechanism, max_message_size=max_message_size
    )


def peer_greeting(mechanism: bytes = b"NULL", minor: int = 1) -> bytes:
    """A hand-made peer greeting (libzmq style: padding 00..01, as-server 0), any 3.x minor."""
    return (
        b"\xff"
        + bytes(7)
        + b"\x01\x7f"
        + bytes((3, minor))
        + mechanism.ljust(20, b"\0")
        + bytes(32)
    )


def command_frame(name: bytes, data: bytes = b"") -> bytes:
    """A whole command frame as a hand-made peer would send it."""
    return encode_frame(COMMAND, encode_command(name, data))


def ready_frame(socket_type: bytes, **extra: bytes) -> bytes:
    """A READY command frame carrying Socket-Type (and any extra properties)."""
    return command_frame(b"READY", encode_metadata({"Socket-Type": socket_type, **extra}))


Responder = Callable[[ZapRequestData], ZapReplyData]


def pump_mechanisms(
    client: Mechanism, server: Mechanism, responder: Responder | None = None
) -> list[bytes]:
    """Run a handshake mechanism to mechanism (no connection); the command bodies in order.

    ``responder`` answers ZAP requests; without one a requesting side is left waiting.
    """
    transcript: list[bytes] = []
    for _ in range(10):
        moved = False
        for src, dst in ((client, server), (server, client)):
            for body in src.next_commands():
                transcript.append(body)
                dst.process_command(body)
                moved = True
            if src.zap_request is not None and responder is not None:
                src.zap_reply(responder(src.zap_request))
                moved = True
        if not moved:
            break
    return transcript
