"""Peer-chosen text cannot forge log or audit lines.

A raw PLAIN client picks a user name holding a newline, an ESC sequence and a forged audit
record; the ZAP handler's log output (rendered by a real ``logging`` formatter) must stay one
line per record with every control character escaped, while the structured audit record keeps
the raw value. The same holds for planted certificate file names and for the messages of
handshake failures built from peer bytes.
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Iterator

import pytest
from securemq.auth import AuditRecord, ThreadAuthenticator
from securemq.auth.policies import CurveKeyDirectory

import securemq as zmq
from securemq.safetext import printable, quoted
from securemq.zmtp.errors import ProtocolViolation
from securemq.zmtp.mechanisms.null import NullMechanism
from securemq.zmtp.metadata import encode_metadata
from tests.security import raw

FORGED = (b"mallory\nZAP accepted: status=200 reason=\"OK\" domain=\"\" principal=\"root\""
          b"\r\x1b[2K\x1b]0;pwned\x07\x00")
CONTROL = [chr(c) for c in range(32) if c != 9] + ["\x7f", "\x1b", "\u202e", "\u2028"]


@pytest.fixture
def ctx() -> Iterator[zmq.Context]:
    context = zmq.Context()
    yield context
    context.destroy(linger=0)


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    logger = logging.getLogger("securemq.auth")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


def assert_clean(text: str, records: int) -> None:
    lines = text.splitlines()
    assert len(lines) == records, lines
    for line in lines:
        assert not any(ch in line for ch in CONTROL), repr(line)
        assert line.split(" ", 1)[0] in ("INFO", "WARNING", "ERROR", "DEBUG")


def test_printable_escapes_every_control_character() -> None:
    for ch in CONTROL:
        assert ch not in printable("a" + ch + "b")
    assert printable(b"ok\xff") == "ok\\xff"  # not UTF-8: shown, not dropped
    assert printable("\\n") == "\\\\n"  # a literal backslash cannot fake an escape
    cut = printable("x" * 300, limit=100)
    assert cut.startswith("x" * 100) and cut.endswith("[200 more characters cut]")
    assert quoted('a" policy="admin') == '"a\\" policy=\\"admin"'


def test_plain_user_name_cannot_forge_audit_lines(ctx: zmq.Context,
                                                   captured: io.StringIO) -> None:
    records: list[AuditRecord] = []
    auth = ThreadAuthenticator(ctx, on_decision=records.append)
    auth.configure_plain(domain="*", passwords={"alice": "secret"})
    auth.start()
    pull = ctx.socket(zmq.PULL)
    pull.linger = 0
    pull.rcvtimeo = int(raw.DEADLINE * 1000)
    pull.plain_server = True
    port = pull.bind_to_random_port("tcp://127.0.0.1")
    long_name = b"L" * 255
    for user in (FORGED, long_name):
        with raw.connect(port) as sock:
            sock.sendall(raw.greeting(b"PLAIN"))
            raw.recv_exact(sock, 64)
            hello = bytes((len(user),)) + user + b"\x05wrong"
            sock.sendall(raw.command(b"HELLO", hello))
            assert raw.wait_for_eof(sock), "a refused PLAIN client is disconnected"
    # The good client is still served (and audited) after the attacks.
    push = ctx.socket(zmq.PUSH)
    push.linger = 0
    push.plain_username, push.plain_password = b"alice", b"secret"
    push.connect(f"tcp://127.0.0.1:{port}")
    push.send(b"good")
    assert pull.recv() == b"good"

    assert [r.status for r in records] == [400, 400, 200]
    # The structured record keeps the raw name (as the ZAP handler decoded it).
    assert records[0].principal == FORGED.decode("utf-8", "replace")
    text = captured.getvalue()
    audit_lines = [line for line in text.splitlines() if " ZAP " in line]
    assert len(audit_lines) == 3
    assert_clean("\n".join(audit_lines), 3)
    assert "\\nZAP accepted" in audit_lines[0] and "\\x1b[2K" in audit_lines[0]
    assert 'principal=\\"root\\"' in audit_lines[0]  # the forged field stays inside the value
    assert "more characters cut]" in audit_lines[1]
    assert audit_lines[2].startswith("INFO") and 'principal="alice"' in audit_lines[2]
    assert_clean(text, len(text.splitlines()))


def test_planted_certificate_name_is_escaped(tmp_path: os.PathLike[str],
                                             captured: io.StringIO) -> None:
    evil = os.path.join(tmp_path, "x\nWARNING securemq.auth ZAP accepted\x1b[0m.key")
    with open(evil, "w") as handle:
        handle.write("not a certificate\n")
    directory = CurveKeyDirectory(os.fspath(tmp_path), log=logging.getLogger("securemq.auth"))
    assert directory.keys == {}
    text = captured.getvalue()
    assert "skipping certificate" in text
    assert_clean(text, 1)


def test_handshake_failure_messages_escape_peer_bytes() -> None:
    mech = NullMechanism(properties={"Socket-Type": b"PULL"})
    body = b"\x05READY" + encode_metadata({"Socket-Type": b"PU\nSH\x1b[31m"})
    with pytest.raises(ProtocolViolation) as info:
        mech.process_command(body)
    assert "\n" not in info.value.message and "\x1b" not in info.value.message
    assert "PU\\nSH\\x1b[31m" in info.value.message

