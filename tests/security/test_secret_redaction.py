"""Secrets never appear in a repr, an error message or a log line.

Every object that holds a secret key or a PLAIN password is rendered with ``repr`` and ``str``
and searched for the secret in each form it could leak in (Z85 text, raw bytes, hex, the
password text); bad key input must not be echoed in errors; a whole PLAIN and CURVE session with
a ZAP handler, logged at DEBUG, never writes a password or a secret key.
"""

from __future__ import annotations

import io
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from securemq.auth import CURVE_ALLOW_ANY, ThreadAuthenticator, ZapRequest

import securemq as zmq
from securemq import z85
from securemq.certs import create_certificates, load_certificate, read_certificate
from securemq.zmtp import zap as zap_codec
from securemq.zmtp.mechanisms.base import ZapRequestData

PASSWORD = b"pw-Zebra-7429-secret"


def forms(secret_z85: bytes) -> list[str]:
    raw = z85.decode(secret_z85)
    return [secret_z85.decode(), repr(raw), raw.hex(), secret_z85.decode()[:20]]


def assert_hidden(obj: Any, secrets: list[str]) -> None:
    for text in (repr(obj), str(obj)):
        for secret in secrets:
            assert secret not in text, f"secret leaked in {text!r}"


@pytest.fixture
def ctx() -> Iterator[zmq.Context]:
    context = zmq.Context()
    yield context
    context.destroy(linger=0)


def test_certificate_repr_redacts_the_secret(tmp_path: os.PathLike[str]) -> None:
    _, secret_file = create_certificates(tmp_path, "server")
    cert = read_certificate(secret_file)
    assert cert.secret_key is not None
    assert_hidden(cert, forms(cert.secret_key))
    assert cert.public_key.decode() in repr(cert) and "<redacted>" in repr(cert)
    assert_hidden([cert], forms(cert.secret_key))  # inside containers too


def test_zap_requests_redact_passwords() -> None:
    frames = [b"1.0", b"1", b"global", b"10.0.0.1", b"id", b"PLAIN", b"alice", PASSWORD]
    request = ZapRequest.from_frames(frames)
    assert request.password == PASSWORD  # still available to policies
    assert_hidden(request, [PASSWORD.decode(), PASSWORD.hex()])
    assert "alice" in repr(request) and "<redacted>" in repr(request)
    decoded = zap_codec.decode_request(frames)
    assert_hidden(decoded, [PASSWORD.decode(), PASSWORD.hex()])
    assert_hidden(ZapRequestData(b"PLAIN", [b"alice", PASSWORD]), [PASSWORD.decode()])


def test_bad_key_input_is_not_echoed_in_errors(ctx: zmq.Context) -> None:
    _, secret = zmq.curve_keypair()
    sock = ctx.socket(zmq.DEALER)
    try:
        bad_char = secret[:20] + b"~" + secret[21:]  # "~" is not Z85
        for value in (secret[:39], secret + b"x", bad_char):
            with pytest.raises(zmq.ZMQError) as info:
                sock.setsockopt(zmq.CURVE_SECRETKEY, value)
            assert info.value.errno == zmq.EINVAL
            for secret_form in forms(secret):
                assert secret_form not in str(info.value)
            assert secret[20:30].decode() not in str(info.value)
    finally:
        sock.close(0)


def test_corrupt_secret_file_errors_do_not_show_the_secret(tmp_path: os.PathLike[str]) -> None:
    _, secret_file = create_certificates(tmp_path, "c")
    _, secret = load_certificate(secret_file)
    assert secret is not None
    text = Path(secret_file).read_text()
    broken = text.replace(secret.decode(), secret.decode()[:-1] + "~")
    with open(secret_file, "w") as handle:
        handle.write(broken)
    with pytest.raises(ValueError) as info:
        load_certificate(secret_file)
    for secret_form in forms(secret):
        assert secret_form not in str(info.value)
    assert secret.decode()[:-1] not in str(info.value)


def test_sessions_never_log_secrets(ctx: zmq.Context) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    old = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    server_public, server_secret = zmq.curve_keypair()
    client_public, client_secret = zmq.curve_keypair()
    try:
        auth = ThreadAuthenticator(ctx)
        auth.configure_plain(domain="*", passwords={"alice": PASSWORD.decode()})
        auth.configure_curve(domain="curve", location=CURVE_ALLOW_ANY)
        auth.start()
        for mechanism in ("PLAIN", "CURVE"):
            pull = ctx.socket(zmq.PULL)
            pull.linger = 0
            pull.rcvtimeo = 5000
            push = ctx.socket(zmq.PUSH)
            push.linger = 0
            if mechanism == "PLAIN":
                pull.plain_server = True
                push.plain_username, push.plain_password = b"alice", PASSWORD
            else:
                pull.zap_domain = b"curve"
                pull.curve_secretkey, pull.curve_publickey = server_secret, server_public
                pull.curve_server = True
                push.curve_serverkey = server_public
                push.curve_publickey, push.curve_secretkey = client_public, client_secret
            port = pull.bind_to_random_port("tcp://127.0.0.1")
            push.connect(f"tcp://127.0.0.1:{port}")
            push.send(b"x")
            assert pull.recv() == b"x"
            # A refused attempt is logged too (wrong password).
            if mechanism == "PLAIN":
                bad = ctx.socket(zmq.PUSH)
                bad.linger = 0
                bad.plain_username, bad.plain_password = b"alice", PASSWORD + b"-typo"
                bad.connect(f"tcp://127.0.0.1:{port}")
                deadline = time.monotonic() + 5
                while "ZAP refused" not in stream.getvalue():
                    assert time.monotonic() < deadline, "the refusal was never logged"
                    time.sleep(0.01)
    finally:
        root.removeHandler(handler)
        root.setLevel(old)
    text = stream.getvalue()
    assert "ZAP accepted" in text  # the logs were captured at all
    assert PASSWORD.decode() not in text
    for secret_form in forms(server_secret) + forms(client_secret):
        assert secret_form not in text
