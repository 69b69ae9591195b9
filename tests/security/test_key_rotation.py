"""CURVE key rotation at the socket level, securemq on both sides: the two options
(CURVE_SECRETKEYS / CURVE_SERVERKEYS), a client list meeting a rotating server, and no secret
in any repr, error or log line along the way. (tests/interop/test_key_rotation_interop.py has
libzmq on the other side; tests/zmtp/test_curve_rotation.py the sans-IO handshakes.)"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

import securemq as zmq
from securemq.options import MAX_ROTATION_KEYS, SocketOptions

pytestmark = pytest.mark.timeout(60)

TIMEOUT_MS = 5000
NEW_PUBLIC, NEW_SECRET = zmq.curve_keypair()
OLD_PUBLIC, OLD_SECRET = zmq.curve_keypair()
CLIENT_PUBLIC, CLIENT_SECRET = zmq.curve_keypair()


@pytest.fixture
def ctx() -> Iterator[zmq.Context]:
    context = zmq.Context()
    yield context
    context.destroy(linger=0)


def bounded(sock: zmq.Socket) -> zmq.Socket:
    sock.linger = 0
    sock.rcvtimeo = TIMEOUT_MS
    sock.sndtimeo = TIMEOUT_MS
    return sock


# -- the options ------------------------------------------------------------------------------

def test_secret_keys_are_write_only_and_select_curve(ctx: zmq.Context) -> None:
    sock = bounded(ctx.socket(zmq.ROUTER))
    sock.curve_server = True
    sock.curve_secretkeys = [NEW_SECRET, OLD_SECRET]
    assert sock.mechanism == zmq.CURVE
    with pytest.raises(AttributeError):
        _ = sock.curve_secretkeys  # secrets are never read back
    with pytest.raises(zmq.ZMQError) as info:
        sock.getsockopt(zmq.CURVE_SECRETKEYS)
    assert info.value.errno == zmq.EINVAL and "CURVE_SECRETKEYS" in str(info.value)
    sock.setsockopt(zmq.CURVE_SECRETKEYS, [])  # rotation off: CURVE_SECRETKEY again
    sock.close()


def test_server_key_list_reads_back_as_z85(ctx: zmq.Context) -> None:
    sock = bounded(ctx.socket(zmq.DEALER))
    raw = zmq.z85.decode(NEW_PUBLIC)
    sock.curve_serverkeys = [raw, OLD_PUBLIC.decode()]
    assert sock.curve_serverkeys == [NEW_PUBLIC, OLD_PUBLIC]
    assert sock.getsockopt(zmq.CURVE_SERVERKEYS) == [NEW_PUBLIC, OLD_PUBLIC]
    assert sock.mechanism == zmq.CURVE and not sock.curve_server
    sock.curve_serverkeys = []
    assert sock.curve_serverkeys == []
    sock.close()


@pytest.mark.parametrize(("value", "error"), [
    (NEW_SECRET, TypeError),  # one key, not a list
    ("abc", TypeError),
    ([NEW_SECRET, 5], TypeError),
    ([b"x" * 31], zmq.ZMQError),
    ([NEW_SECRET[:-1] + b"\x00"], zmq.ZMQError),
    ([NEW_SECRET] * (MAX_ROTATION_KEYS + 1), zmq.ZMQError),
])
def test_bad_key_lists_are_refused_without_echoing_a_key(
    ctx: zmq.Context, value: object, error: type[Exception],
) -> None:
    sock = bounded(ctx.socket(zmq.ROUTER))
    with pytest.raises(error) as info:
        sock.setsockopt(zmq.CURVE_SECRETKEYS, value)
    if isinstance(info.value, zmq.ZMQError):
        assert info.value.errno == zmq.EINVAL
        assert "CURVE_SECRETKEYS" in str(info.value)
    assert NEW_SECRET.decode() not in str(info.value) + repr(info.value)
    sock.close()


def test_the_key_holders_never_show_a_secret() -> None:
    options = SocketOptions(zmq.ROUTER)
    options.set(zmq.CURVE_SECRETKEYS, [NEW_SECRET, OLD_SECRET])
    shown = repr(options.curve_server_keys)
    assert NEW_PUBLIC.decode() in shown and OLD_PUBLIC.decode() in shown
    assert NEW_SECRET.decode() not in shown and OLD_SECRET.decode() not in shown
    assert "redacted" in shown
    # A snapshot (what bind() keeps) shares the holder: a later set reaches it.
    bound = options.snapshot()
    options.set(zmq.CURVE_SECRETKEYS, [NEW_SECRET])
    assert bound.curve_server_keys.pairs == options.curve_server_keys.pairs
    assert len(bound.curve_server_keys.pairs) == 1


# -- securemq on both sides -------------------------------------------------------------------

def curve_client(ctx: zmq.Context, endpoint: str, *keys: bytes) -> zmq.Socket:
    sock = bounded(ctx.socket(zmq.DEALER))
    sock.curve_publickey = CLIENT_PUBLIC
    sock.curve_secretkey = CLIENT_SECRET
    if len(keys) == 1:
        sock.curve_serverkey = keys[0]
    else:
        sock.curve_serverkeys = list(keys)
    sock.connect(endpoint)
    return sock


def test_a_client_list_meets_a_server_that_rotated(ctx: zmq.Context) -> None:
    server = bounded(ctx.socket(zmq.ROUTER))
    server.curve_server = True
    server.curve_secretkey = OLD_SECRET  # bound with libzmq's single key...
    port = server.bind_to_random_port("tcp://127.0.0.1")
    endpoint = f"tcp://127.0.0.1:{port}"
    server.curve_secretkeys = [NEW_SECRET, OLD_SECRET]  # ...then the window opens, no rebind
    server.curve_secretkeys = [NEW_SECRET]  # and closes
    client = curve_client(ctx, endpoint, OLD_PUBLIC, NEW_PUBLIC)
    client.wait_ready(timeout=TIMEOUT_MS / 1000)
    client.send(b"found the new key")
    ident, body = server.recv_multipart()
    assert body == b"found the new key"
    server.send_multipart([ident, b"ok"])
    assert client.recv() == b"ok"


def test_no_secret_in_any_log_line_of_a_rotation(
    ctx: zmq.Context, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    server = bounded(ctx.socket(zmq.ROUTER))
    server.curve_server = True
    server.curve_secretkeys = [NEW_SECRET, OLD_SECRET]
    monitor = bounded(server.get_monitor_socket(zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL))
    port = server.bind_to_random_port("tcp://127.0.0.1")
    stranger_public, _ = zmq.curve_keypair()
    stranger = curve_client(ctx, f"tcp://127.0.0.1:{port}", stranger_public)
    assert monitor.poll(TIMEOUT_MS)
    good = curve_client(ctx, f"tcp://127.0.0.1:{port}", OLD_PUBLIC)
    good.send(b"x")
    assert server.recv_multipart()[1] == b"x"
    text = "\n".join(record.getMessage() for record in caplog.records)
    for secret in (NEW_SECRET, OLD_SECRET, CLIENT_SECRET):
        assert secret.decode() not in text
        assert zmq.z85.decode(secret).hex() not in text
    monitor.close()
    stranger.close()
