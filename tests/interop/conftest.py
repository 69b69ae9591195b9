"""Fixtures for the interop tests: securemq on one side, pyzmq (libzmq 4.3.5) on the other.

Every socket gets LINGER 0 and 5 s send/receive timeouts so that a broken peer fails the test
instead of hanging it; both contexts are destroyed with linger 0 after each test.
"""

from __future__ import annotations

import shutil
import struct
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import zmq

import securemq
from tests.tlsmaterial import tls_material

TIMEOUT_MS = 5000
# AF_UNIX paths are limited to 107 bytes; long pytest tmp paths fall back to a short temp dir.
_IPC_PATH_BUDGET = 90


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
def ipc_dir(tmp_path: Path) -> Iterator[Path]:
    if len(str(tmp_path)) <= _IPC_PATH_BUDGET - 20:
        yield tmp_path
        return
    short = Path(tempfile.mkdtemp(prefix="smq-"))
    try:
        yield short
    finally:
        shutil.rmtree(short, ignore_errors=True)


def configure(sock: Any, timeout_ms: int = TIMEOUT_MS) -> Any:
    """LINGER 0 and bounded send/recv on a securemq or pyzmq socket; returns it."""
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.RCVTIMEO, timeout_ms)
    sock.setsockopt(zmq.SNDTIMEO, timeout_ms)
    return sock


class Endpoints:
    """Makes bind addresses for one transport; ipc ones are unique files in the test's dir."""

    def __init__(self, transport: str, ipc_dir: Path) -> None:
        self.transport = transport
        self._dir = ipc_dir
        self._count = 0

    def bind_addr(self) -> str:
        if self.transport != "ipc":
            return f"{self.transport}://127.0.0.1:*"
        self._count += 1
        return f"ipc://{self._dir}/s{self._count}.ipc"

    def bind(self, sock: Any) -> str:
        """Bind ``sock`` to a fresh address and return the resolved endpoint (LAST_ENDPOINT);
        on wss the binder gets the test CA's server certificate first."""
        self.bind_to(sock, self.bind_addr())
        endpoint = sock.getsockopt(zmq.LAST_ENDPOINT)
        return endpoint.decode() if isinstance(endpoint, bytes) else str(endpoint)

    def bind_to(self, sock: Any, endpoint: str) -> None:
        """Bind ``sock`` to ``endpoint`` (libzmq aborts on a wss bind without a certificate)."""
        if self.transport == "wss":
            tls = tls_material()
            sock.setsockopt(zmq.WSS_CERT_PEM, tls.cert_pem)
            sock.setsockopt(zmq.WSS_KEY_PEM, tls.key_pem)
        sock.bind(endpoint)

    def handshake_reports(self, sock: Any) -> int:
        """How many HANDSHAKE_SUCCEEDED events one connection of ``sock`` reports: libzmq
        reports the WebSocket upgrade and the ZMTP handshake (test_interop_ws shows it)."""
        libzmq = not isinstance(sock, securemq.Socket)
        return 2 if libzmq and self.transport in ("ws", "wss") else 1

    def connect(self, sock: Any, endpoint: str) -> None:
        """Connect ``sock``; on wss it trusts the test CA and checks the name "localhost"."""
        if self.transport == "wss":
            sock.setsockopt(zmq.WSS_TRUST_PEM, tls_material().ca_pem)
            sock.setsockopt(zmq.WSS_HOSTNAME, b"localhost")
        sock.connect(endpoint)


# ws:// and wss:// need a libzmq built with them (the oracle wheel; stock pyzmq has neither).
_NO_WS = "pyzmq here has no ws:// (install the oracle wheel from ../shared/oracle)"
WS_TRANSPORTS = [
    pytest.param(name, marks=pytest.mark.skipif(not zmq.has(name.upper()), reason=_NO_WS))
    for name in ("ws", "wss")
]


@pytest.fixture(params=["tcp", "ipc", *WS_TRANSPORTS])
def endpoints(request: pytest.FixtureRequest, ipc_dir: Path) -> Endpoints:
    return Endpoints(str(request.param), ipc_dir)


class Pair:
    """Connects a securemq socket to a pyzmq socket; who binds is a parameter."""

    def __init__(self, smq_ctx: securemq.Context, pz_ctx: zmq.Context[zmq.Socket[bytes]],
                 endpoints: Endpoints) -> None:
        self.smq_ctx = smq_ctx
        self.pz_ctx = pz_ctx
        self.endpoints = endpoints

    def smq(self, socket_type: int, **options: Any) -> securemq.Socket:
        sock: securemq.Socket = configure(self.smq_ctx.socket(socket_type))
        for name, value in options.items():
            sock.setsockopt(getattr(securemq, name.upper()), value)
        return sock

    def pz(self, socket_type: int, **options: Any) -> zmq.Socket[bytes]:
        sock: zmq.Socket[bytes] = configure(self.pz_ctx.socket(socket_type))
        for name, value in options.items():
            sock.setsockopt(getattr(zmq, name.upper()), value)
        return sock

    def link(self, binder: Any, *connecters: Any) -> str:
        endpoint = self.endpoints.bind(binder)
        for sock in connecters:
            self.endpoints.connect(sock, endpoint)
        return endpoint

    def make(self, smq_type: int, pz_type: int, smq_binds: bool,
             smq_opts: dict[str, Any] | None = None,
             pz_opts: dict[str, Any] | None = None,
             handshake: bool = False) -> tuple[Any, Any]:
        """A linked pair; with ``handshake`` it returns once the binder finished the handshake
        (for patterns where the binder has no pipe, hence drops, before that: XSUB, PUB).
        Returns (securemq socket, pyzmq socket), typed Any as tests swap pattern roles."""
        s = self.smq(smq_type, **(smq_opts or {}))
        p = self.pz(pz_type, **(pz_opts or {}))
        binder, connecter = (s, p) if smq_binds else (p, s)
        monitor = watch(binder, zmq.EVENT_HANDSHAKE_SUCCEEDED) if handshake else None
        self.link(binder, connecter)
        if monitor is not None:
            for _ in range(self.endpoints.handshake_reports(binder)):
                wait_event(monitor, zmq.EVENT_HANDSHAKE_SUCCEEDED)
            unwatch(binder, monitor)
        return s, p


@pytest.fixture
def pair(smq_ctx: securemq.Context, pz_ctx: zmq.Context[zmq.Socket[bytes]],
         endpoints: Endpoints) -> Pair:
    return Pair(smq_ctx, pz_ctx, endpoints)


@pytest.fixture(params=[True, False], ids=["smq_binds", "pyzmq_binds"])
def smq_binds(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


def until(predicate: Callable[[], bool], timeout: float = 5.0, what: str = "condition") -> None:
    """Poll ``predicate`` (which should itself block briefly) until true or fail at the deadline."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")


def publish_until_received(pub: Any, sub: Any, message: list[bytes],
                           timeout: float = 5.0) -> list[bytes]:
    """Subscriptions propagate asynchronously: publish until the subscriber gets one message."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pub.send_multipart(message)
        if sub.poll(20):
            got: list[bytes] = sub.recv_multipart()
            return got
    pytest.fail(f"subscriber got nothing within {timeout}s (message {message!r})")


def drain(sock: Any, quiet_ms: int = 100) -> list[list[bytes]]:
    """Receive everything that arrives until ``quiet_ms`` passes without a message."""
    out: list[list[bytes]] = []
    while sock.poll(quiet_ms):
        out.append(sock.recv_multipart())
    return out


def watch(sock: Any, events: int = zmq.EVENT_ALL) -> Any:
    """Start a monitor on a securemq or pyzmq socket; returns the (bounded) PAIR reading it."""
    monitor = sock.get_monitor_socket(events)
    configure(monitor)
    return monitor


def unwatch(sock: Any, monitor: Any) -> None:
    sock.disable_monitor()
    monitor.close()


def next_event(monitor: Any, timeout_ms: int) -> tuple[int, int, bytes] | None:
    """(event, value, endpoint) from a v1 two-frame monitor message, or None on timeout."""
    if not monitor.poll(timeout_ms):
        return None
    head, endpoint = monitor.recv_multipart()
    event, value = struct.unpack("<HI", head)
    return int(event), int(value), bytes(endpoint)


def wait_event(monitor: Any, event: int, timeout: float = 5.0) -> list[int]:
    """Read monitor events until ``event``; returns the events seen before it."""
    deadline = time.monotonic() + timeout
    seen: list[int] = []
    while True:
        remaining = int((deadline - time.monotonic()) * 1000)
        got = next_event(monitor, max(remaining, 0))
        if got is None:
            pytest.fail(f"monitor: no event {event:#x} within {timeout}s (saw {seen})")
        if got[0] == event:
            return seen
        seen.append(got[0])
