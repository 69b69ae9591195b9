"""``receive_traffic``: the driver's hot path gets the same messages and events as
``receive_data``, without an event object per chunk, and only once the connection is READY."""

from __future__ import annotations

from securemq.constants import SocketType
from securemq.zmtp.connection import ConnectionState, ZmtpConnection
from securemq.zmtp.errors import PeerClosed
from securemq.zmtp.events import (
    ConnectionFailed,
    Event,
    HandshakeComplete,
    MessagesReceived,
    PingReceived,
    messages_first,
)
from securemq.zmtp.frames import encode_message
from securemq.zmtp.raw import RawConnection
from tests.zmtp.pump import command_frame, null_connection, peer_greeting, ready_frame

ST = SocketType
Messages = list[list[bytes]]


def ready_dealer() -> ZmtpConnection:
    conn = null_connection(ST.DEALER)
    conn.data_to_send()
    assert isinstance(conn.receive_data(peer_greeting() + ready_frame(b"ROUTER"))[0],
                      HandshakeComplete)
    conn.data_to_send()
    return conn


def by_traffic(conn: ZmtpConnection, data: bytes, byte_at_a_time: bool) -> tuple[Messages,
                                                                                 list[Event]]:
    chunks = [data[i : i + 1] for i in range(len(data))] if byte_at_a_time else [data]
    out: Messages = []
    events: list[Event] = []
    for chunk in chunks:
        events.extend(conn.receive_traffic(chunk, out))
    return out, events


def by_data(conn: ZmtpConnection, data: bytes) -> tuple[Messages, list[Event]]:
    events = conn.receive_data(data)
    messages = [m for e in events if isinstance(e, MessagesReceived) for m in e.messages]
    return messages, [e for e in events if not isinstance(e, MessagesReceived)]


STREAM = (
    encode_message([b"one"])
    + encode_message([b"two", b"parts"])
    + command_frame(b"PING", b"\x00\x0aab")
    + encode_message([b"x" * 300])
    + encode_message([b""])
)


def test_messages_go_to_the_list_and_only_other_events_come_back(byte_at_a_time: bool) -> None:
    out, events = by_traffic(ready_dealer(), STREAM, byte_at_a_time)
    expected_out, expected_events = by_data(ready_dealer(), STREAM)
    assert out == expected_out == [[b"one"], [b"two", b"parts"], [b"x" * 300], [b""]]
    assert events == expected_events == [PingReceived(1000)]
    assert not any(isinstance(e, MessagesReceived) for e in events)


def test_a_pong_is_queued_as_by_receive_data() -> None:
    conn = ready_dealer()
    conn.receive_traffic(command_frame(b"PING", b"\x00\x00ctx"), [])
    assert b"".join(conn.data_to_send()) == command_frame(b"PONG", b"ctx")


def test_what_came_before_a_bad_frame_is_kept_and_the_failure_follows(
    byte_at_a_time: bool,
) -> None:
    data = encode_message([b"before"]) + command_frame(b"ERROR", b"\x04oops") + b"ignored"
    out, events = by_traffic(ready_dealer(), data, byte_at_a_time)
    assert out == [[b"before"]]
    (failed,) = events
    assert isinstance(failed, ConnectionFailed) and "oops" in failed.error.message
    assert not failed.during_handshake


def test_the_end_of_the_stream_fails_the_connection() -> None:
    conn = ready_dealer()
    out: Messages = []
    (failed,) = conn.receive_traffic(b"", out)
    assert isinstance(failed, ConnectionFailed) and isinstance(failed.error, PeerClosed)
    assert conn.state is ConnectionState.CLOSED
    assert conn.receive_traffic(encode_message([b"late"]), out) == [] and out == []


def test_before_ready_it_is_receive_data_and_the_list_stays_untouched() -> None:
    """A handshake that completes in the same chunk as messages: the messages stay after
    HandshakeComplete, in the events (the driver has no peer to give them to before)."""
    conn = null_connection(ST.DEALER)
    conn.data_to_send()
    out: Messages = []
    events = conn.receive_traffic(
        peer_greeting() + ready_frame(b"ROUTER") + encode_message([b"first"]), out
    )
    assert out == []
    assert isinstance(events[0], HandshakeComplete)
    assert events[1:] == [MessagesReceived([[b"first"]])]


def test_messages_first_moves_messages_only_when_nothing_else_came() -> None:
    done = HandshakeComplete(peer_properties={}, peer_version=(3, 1))
    out: Messages = []
    only = [MessagesReceived([[b"a"]]), MessagesReceived([[b"b"], [b"c"]])]
    assert messages_first(only, out) == [] and out == [[b"a"], [b"b"], [b"c"]]
    out = []
    mixed: list[Event] = [done, MessagesReceived([[b"a"]])]
    assert messages_first(mixed, out) == [done, MessagesReceived([[b"a"]])] and out == []


def test_an_adapter_connection_offers_the_same_verb() -> None:
    conn = RawConnection(notify=False)
    conn.start()
    out: Messages = []
    assert conn.receive_traffic(b"raw bytes", out) == [] and out == [[b"raw bytes"]]
    (failed,) = conn.receive_traffic(b"", out)
    assert isinstance(failed, ConnectionFailed)
