"""Authentication across implementations, both directions.

- a securemq server guarded by securemq's ThreadAuthenticator, with pyzmq (libzmq) clients;
- a pyzmq server guarded by pyzmq's own zmq.auth.thread.ThreadAuthenticator, with securemq
  clients.

Each case shows one accepted and one denied client under NULL + allow/deny (zap_domain set),
PLAIN and CURVE (certificate directory); tcp, and ipc for one case. Every socket has LINGER 0,
waits are bounded by poll deadlines and monitor events.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import zmq
import zmq.auth
import zmq.auth.thread
from securemq.auth import ThreadAuthenticator as SmqAuthenticator
from securemq.auth import create_certificates, load_certificate
from zmq.utils.monitor import recv_monitor_message as pz_recv_monitor

import securemq
from securemq.utils.monitor import recv_monitor_message as smq_recv_monitor

TIMEOUT_MS = 5000
QUIET_MS = 250

Configure = Callable[[Any], None]


@pytest.fixture
def smq_ctx() -> Iterator[securemq.Context]:
    ctx = securemq.Context()
    yield ctx
    ctx.destroy(linger=0)


@pytest.fixture
def pz_ctx() -> Iterator[zmq.Context[zmq.Socket[bytes]]]:
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    yield ctx
    ctx.destroy(linger=0)


@pytest.fixture
def certs(tmp_path: Path) -> dict[str, Any]:
    keys = tmp_path / "keys"
    trusted = tmp_path / "trusted"
    keys.mkdir()
    trusted.mkdir()
    for name in ("server", "client", "stranger"):
        create_certificates(keys, name)
    shutil.copy(keys / "client.key", trusted / "client.key")
    return {
        name: load_certificate(keys / f"{name}.key_secret")
        for name in ("server", "client", "stranger")
    } | {"trusted": str(trusted)}


def wait_auth_failure(monitor: Any, recv: Any) -> int | None:
    """The value of the first HANDSHAKE_FAILED_AUTH event, or None by the deadline."""
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while (left := deadline - time.monotonic()) > 0:
        if not monitor.poll(int(left * 1000) + 1):
            return None
        event = recv(monitor)
        if int(event["event"]) == int(zmq.EVENT_HANDSHAKE_FAILED_AUTH):
            return int(event["value"])
    return None


def attempt(server: Any, monitor: Any, recv: Any,
            client_ctx: Any, endpoint: str, configure: Configure, accepted: bool) -> None:
    client = client_ctx.socket(zmq.DEALER)
    client.linger = 0
    client.rcvtimeo = client.sndtimeo = TIMEOUT_MS
    configure(client)
    client.connect(endpoint)
    try:
        try:
            client.send(b"knock")
        except (zmq.Again, securemq.Again):
            # Denied before the send (a slow caller): as libzmq, a connection that failed
            # its handshake is not retried and takes its pipe with it, so a DEALER has no
            # peer to queue to. Only a refused client may meet that.
            if accepted:
                raise
        if accepted:
            assert server.poll(TIMEOUT_MS), f"{endpoint}: an authorized client was not delivered"
            assert server.recv() == b"knock"
        else:
            assert wait_auth_failure(monitor, recv) == 400
            assert not server.poll(QUIET_MS), f"{endpoint}: a denied client was delivered"
    finally:
        client.close(linger=0)


def plain(password: bytes) -> Configure:
    def configure(sock: Any) -> None:
        sock.plain_username = b"admin"
        sock.plain_password = password

    return configure


def curve(certs: dict[str, Any], who: str) -> Configure:
    def configure(sock: Any) -> None:
        sock.curve_serverkey = certs["server"][0]
        sock.curve_publickey, sock.curve_secretkey = certs[who]

    return configure


def nothing(sock: Any) -> None:
    pass


def make_server(
    ctx: Any, mechanism: str, certs: dict[str, Any], endpoint: str
) -> tuple[Any, Any, str]:
    server = ctx.socket(zmq.DEALER)
    server.linger = 0
    if mechanism == "NULL":
        server.zap_domain = b"global"
    elif mechanism == "PLAIN":
        server.plain_server = True
    else:
        server.curve_server = True
        server.curve_publickey, server.curve_secretkey = certs["server"]
    monitor = server.get_monitor_socket()
    if endpoint.startswith("tcp"):
        port = server.bind_to_random_port(endpoint)
        return server, monitor, f"{endpoint}:{port}"
    server.bind(endpoint)
    return server, monitor, endpoint


def configure_auth(auth: Any, mechanism: str, certs: dict[str, Any], deny: bool) -> None:
    if mechanism == "NULL":
        if deny:
            auth.deny("127.0.0.1")
        else:
            auth.allow("127.0.0.1")
    elif mechanism == "PLAIN":
        auth.configure_plain(domain="*", passwords={"admin": "secret"})
    else:
        auth.configure_curve(domain="*", location=certs["trusted"])


def client_cases(mechanism: str, certs: dict[str, Any]) -> list[tuple[Configure, bool]]:
    if mechanism == "PLAIN":
        return [(plain(b"secret"), True), (plain(b"wrong"), False)]
    if mechanism == "CURVE":
        return [(curve(certs, "client"), True), (curve(certs, "stranger"), False)]
    return [(nothing, True)]


def run_direction(server_lib: Any, auth_cls: Any, recv: Any,
                  client_ctx: Any, mechanism: str, certs: dict[str, Any], endpoint: str) -> None:
    """Serve from a fresh ``server_lib.Context`` per run (allow, then deny for NULL)."""
    runs = [False, True] if mechanism == "NULL" else [False]
    for deny in runs:
        server_ctx = server_lib.Context()
        try:
            _one_run(server_ctx, auth_cls, recv, client_ctx, mechanism, certs, endpoint, deny)
        finally:
            server_ctx.destroy(linger=0)


def _one_run(server_ctx: Any, auth_cls: Any, recv: Any,
             client_ctx: Any, mechanism: str, certs: dict[str, Any], endpoint: str,
             deny: bool) -> None:
    auth = auth_cls(server_ctx)
    auth.start()
    try:
        configure_auth(auth, mechanism, certs, deny)
        server, monitor, bound = make_server(server_ctx, mechanism, certs, endpoint)
        try:
            for configure, accepted in client_cases(mechanism, certs):
                attempt(server, monitor, recv, client_ctx, bound, configure, accepted and not deny)
        finally:
            monitor.close(linger=0)
            server.close(linger=0)
    finally:
        auth.stop()


@pytest.mark.parametrize("mechanism", ["NULL", "PLAIN", "CURVE"])
def test_securemq_server_authenticates_pyzmq_clients(
    smq_ctx: securemq.Context, pz_ctx: Any, certs: dict[str, Any], mechanism: str
) -> None:
    run_direction(securemq, SmqAuthenticator, smq_recv_monitor, pz_ctx, mechanism, certs,
                  "tcp://127.0.0.1")


@pytest.mark.parametrize("mechanism", ["NULL", "PLAIN", "CURVE"])
def test_pyzmq_server_authenticates_securemq_clients(
    smq_ctx: securemq.Context, pz_ctx: Any, certs: dict[str, Any], mechanism: str
) -> None:
    run_direction(zmq, zmq.auth.thread.ThreadAuthenticator, pz_recv_monitor, smq_ctx,
                  mechanism, certs, "tcp://127.0.0.1")


@pytest.mark.parametrize("direction", ["securemq-server", "pyzmq-server"])
def test_plain_over_ipc_both_directions(
    smq_ctx: securemq.Context, pz_ctx: Any, certs: dict[str, Any], direction: str,
) -> None:
    import tempfile

    short = Path(tempfile.mkdtemp(prefix="smq-auth-"))
    try:
        endpoint = f"ipc://{short}/auth.sock"
        if direction == "securemq-server":
            run_direction(securemq, SmqAuthenticator, smq_recv_monitor, pz_ctx, "PLAIN", certs,
                          endpoint)
        else:
            run_direction(zmq, zmq.auth.thread.ThreadAuthenticator, pz_recv_monitor, smq_ctx,
                          "PLAIN", certs, endpoint)
    finally:
        shutil.rmtree(short, ignore_errors=True)
