"""The raw connection of a STREAM socket, sans-IO: ready at once, chunks in as messages,
messages out as bytes, and STREAM_NOTIFY's empty messages at the start and at EOF."""

from __future__ import annotations

import pytest

from securemq.zmtp.errors import PeerClosed
from securemq.zmtp.events import ConnectionFailed, HandshakeComplete, MessagesReceived
from securemq.zmtp.raw import RawConnection


@pytest.mark.parametrize("notify", [True, False])
def test_ready_at_once(notify: bool) -> None:
    events = RawConnection(notify=notify).start()
    assert isinstance(events[0], HandshakeComplete) and events[0].raw
    assert events[1:] == ([MessagesReceived([[b""]])] if notify else [])


def test_each_chunk_is_one_message_as_it_came() -> None:
    conn = RawConnection(notify=True)
    conn.start()
    data = b"GET / HTTP/1.1\r\n\r\n"
    whole = conn.receive_data(data)
    assert whole == [MessagesReceived([[data]])]
    for byte in data:  # one byte at a time: one message each, nothing held back
        assert conn.receive_data(bytes((byte,))) == [MessagesReceived([[bytes((byte,))]])]


@pytest.mark.parametrize("notify", [True, False])
def test_eof_ends_it_once(notify: bool) -> None:
    conn = RawConnection(notify=notify)
    events = conn.receive_data(b"")
    if notify:
        assert events[0] == MessagesReceived([[b""]])
    failed = events[-1]
    assert isinstance(failed, ConnectionFailed) and isinstance(failed.error, PeerClosed)
    assert not failed.during_handshake
    assert conn.receive_data(b"late") == []


def test_messages_go_out_as_their_bytes() -> None:
    conn = RawConnection(notify=False)
    assert not conn.wants_write()
    conn.send_messages([[b"HTTP/1.1 200 OK\r\n"], [b"", b"body"]])
    assert conn.wants_write()
    assert b"".join(conn.data_to_send()) == b"HTTP/1.1 200 OK\r\nbody"
    assert not conn.wants_write()
    conn.send_ping(1000)  # no ZMTP: nothing to send
    assert conn.data_to_send() == []
