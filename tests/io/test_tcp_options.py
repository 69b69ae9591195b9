"""The options that reach the OS and the dialer: TCP keepalives, TOS, PRIORITY, TCP_MAXRT,
BINDTODEVICE, CONNECT_TIMEOUT, IPV6 and SOCKS_PROXY.

Most tests run on libzmq (pyzmq) and on securemq with the same code (``impl``): the OS sockets
are reached through the descriptors the monitor events carry (LISTENING, ACCEPTED, CONNECTED),
duplicated and read back with getsockopt -- what the kernel was really told, for both. Where the
stock pyzmq wheel was built without a feature (SO_PRIORITY, SO_BINDTODEVICE: its libzmq says
ENOTSUP), the test says so and checks securemq against libzmq's Linux code path instead.
"""

from __future__ import annotations

import errno
import os
import select
import socket
import struct
import threading
import time
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
import zmq as pyzmq

import securemq
from tests.draft_libzmq import skip_without_draft_libzmq

pytestmark = pytest.mark.timeout(30)

Impl = tuple[ModuleType, Any]
TIMEOUT_MS = 5000


@pytest.fixture(params=[pyzmq, securemq], ids=["libzmq", "securemq"])
def impl(request: pytest.FixtureRequest) -> Iterator[Impl]:
    module: ModuleType = request.param
    ctx = module.Context()
    yield module, ctx
    ctx.destroy(linger=0)


def make(impl: Impl, socket_type: int, **options: Any) -> Any:
    module, ctx = impl
    sock = ctx.socket(socket_type)
    sock.setsockopt(module.LINGER, 0)
    sock.setsockopt(module.RCVTIMEO, TIMEOUT_MS)
    sock.setsockopt(module.SNDTIMEO, TIMEOUT_MS)
    for name, value in options.items():
        sock.setsockopt(getattr(module, name.upper()), value)
    return sock


def events(mon: Any, until: int | None = None, timeout: float = 5.0,
           quiet_ms: int = 200) -> list[tuple[int, int]]:
    """(event, value) pairs: until ``until`` is seen (bounded), or until quiet."""
    got: list[tuple[int, int]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        wait = quiet_ms if until is None else int((deadline - time.monotonic()) * 1000)
        if not mon.poll(max(wait, 1)):
            break
        event, value = struct.unpack("<HI", mon.recv_multipart()[0])
        got.append((event, value))
        if event == until:
            return got
    assert until is None, f"no monitor event {until:#x} within {timeout} s: {got}"
    return got


def first(evs: list[tuple[int, int]], event: int) -> int:
    return next(value for kind, value in evs if kind == event)


def read_options(fd: int, options: list[tuple[int, int]]) -> list[int]:
    """getsockopt on a duplicate of another library's live descriptor."""
    dup = socket.socket(fileno=os.dup(fd))
    try:
        return [dup.getsockopt(level, name) for level, name in options]
    finally:
        dup.close()


class Fds:
    """The descriptors of a connected pair, and the sockets (held: a socket nobody holds is
    closed, and its descriptors with it)."""

    def __init__(self, listening: int, accepted: int, connected: int, *socks: Any) -> None:
        self.listening, self.accepted, self.connected = listening, accepted, connected
        self.sockets = socks


def connected_pair(impl: Impl, **options: Any) -> Fds:
    """A PULL binding and a PUSH connecting over tcp, both with ``options``; a message goes
    through; returns the listener's, the accepted and the connected descriptors."""
    module, _ctx = impl
    server = make(impl, module.PULL, **options)
    client = make(impl, module.PUSH, **options)
    smon, cmon = server.get_monitor_socket(), client.get_monitor_socket()
    server.bind("tcp://127.0.0.1:*")
    client.connect(server.getsockopt(module.LAST_ENDPOINT).decode())
    client.send(b"through")
    assert server.recv() == b"through"
    sev = events(smon, module.EVENT_ACCEPTED)
    cev = events(cmon, module.EVENT_CONNECTED)
    return Fds(first(sev, module.EVENT_LISTENING), first(sev, module.EVENT_ACCEPTED),
               first(cev, module.EVENT_CONNECTED), server, client, smon, cmon)


KEEPALIVE = [(socket.SOL_SOCKET, socket.SO_KEEPALIVE), (socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
             (socket.IPPROTO_TCP, socket.TCP_KEEPCNT), (socket.IPPROTO_TCP, socket.TCP_KEEPINTVL)]


# -- TCP keepalives, TOS, TCP_MAXRT --------------------------------------------------------------
def test_keepalive_options_reach_both_ends(impl: Impl) -> None:
    fds = connected_pair(impl, tcp_keepalive=1, tcp_keepalive_idle=30, tcp_keepalive_cnt=4,
                         tcp_keepalive_intvl=7)
    for fd in (fds.accepted, fds.connected):
        assert read_options(fd, KEEPALIVE) == [1, 30, 4, 7]
    assert read_options(fds.listening, KEEPALIVE[:1]) == [0]  # connections only, as libzmq


def test_keepalive_details_need_tcp_keepalive_set(impl: Impl) -> None:
    """libzmq applies TCP_KEEPIDLE/CNT/INTVL only when TCP_KEEPALIVE is not -1."""
    with socket.socket() as fresh:
        defaults = read_options(fresh.fileno(), KEEPALIVE)
    fds = connected_pair(impl, tcp_keepalive_idle=30, tcp_keepalive_cnt=4)
    for fd in (fds.accepted, fds.connected):
        assert read_options(fd, KEEPALIVE) == defaults
    fds = connected_pair(impl, tcp_keepalive=0, tcp_keepalive_idle=30)
    for fd in (fds.accepted, fds.connected):
        assert read_options(fd, KEEPALIVE[:2]) == [0, 30]


def test_tos_and_maxrt_reach_listener_and_connections(impl: Impl) -> None:
    tos = [(socket.IPPROTO_IP, socket.IP_TOS)]
    maxrt = [(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT)]
    fds = connected_pair(impl, tos=0x28, tcp_maxrt=5000)
    for fd in (fds.listening, fds.accepted, fds.connected):
        assert read_options(fd, tos) == [0x28]
    for fd in (fds.accepted, fds.connected):
        assert read_options(fd, maxrt) == [5000]  # TCP_MAXRT is TCP_USER_TIMEOUT on Linux


def test_tos_on_ipv6_sets_the_traffic_class(impl: Impl) -> None:
    module, _ctx = impl
    server = make(impl, module.PULL, ipv6=1, tos=0x48)
    client = make(impl, module.PUSH, ipv6=1, tos=0x48)
    smon = server.get_monitor_socket()
    server.bind("tcp://[::1]:*")
    client.connect(server.getsockopt(module.LAST_ENDPOINT).decode())
    client.send(b"v6")
    assert server.recv() == b"v6"
    accepted = first(events(smon, module.EVENT_ACCEPTED), module.EVENT_ACCEPTED)
    assert read_options(accepted, [(socket.IPPROTO_IPV6, socket.IPV6_TCLASS)]) == [0x48]


def test_priority_reaches_listener_and_connections() -> None:
    """SO_PRIORITY (libzmq set_socket_priority; the pyzmq wheel's libzmq is built without it,
    so this is securemq against libzmq's code: listener and connecting socket at creation,
    accepted sockets after accept)."""
    impl: Impl = (securemq, securemq.Context())
    try:
        fds = connected_pair(impl, priority=5)
        for fd in (fds.listening, fds.accepted, fds.connected):
            assert read_options(fd, [(socket.SOL_SOCKET, socket.SO_PRIORITY)]) == [5]
    finally:
        impl[1].destroy(linger=0)


# -- CONNECT_TIMEOUT ------------------------------------------------------------------------------
class Blackhole:
    """A loopback listener whose accept queue is full: new SYNs are dropped, connects hang."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(0)
        self.endpoint = f"tcp://127.0.0.1:{self.listener.getsockname()[1]}"
        self.fillers: list[socket.socket] = []
        while True:  # fill the queue until a connect no longer completes
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(self.listener.getsockname())
            self.fillers.append(filler)
            _r, writable, _x = select.select([], [filler], [], 0.2)
            if not writable:
                break

    def close(self) -> None:
        for filler in self.fillers:
            filler.close()
        self.listener.close()


@pytest.fixture
def blackhole() -> Iterator[Blackhole]:
    hole = Blackhole()
    yield hole
    hole.close()


def test_connect_timeout_abandons_a_hanging_connect(impl: Impl, blackhole: Blackhole) -> None:
    module, _ctx = impl
    push = make(impl, module.PUSH, connect_timeout=100, reconnect_ivl=50)
    mon = push.get_monitor_socket()
    started = time.monotonic()
    push.connect(blackhole.endpoint)
    got = events(mon, module.EVENT_CONNECT_RETRIED)
    kinds = [kind for kind, _value in got]
    assert kinds == [module.EVENT_CONNECT_DELAYED, module.EVENT_CLOSED,
                     module.EVENT_CONNECT_RETRIED], got
    assert time.monotonic() - started < 2.0  # the kernel alone would wait far longer
    # And again: each dial gets its own timeout.
    assert module.EVENT_CLOSED in [k for k, _v in events(mon, module.EVENT_CONNECT_RETRIED)]


def test_without_connect_timeout_the_dial_hangs(impl: Impl, blackhole: Blackhole) -> None:
    module, _ctx = impl
    push = make(impl, module.PUSH, reconnect_ivl=50)
    mon = push.get_monitor_socket()
    push.connect(blackhole.endpoint)
    got = events(mon, quiet_ms=500)
    assert [kind for kind, _value in got] == [module.EVENT_CONNECT_DELAYED], got


# -- IPV6 ---------------------------------------------------------------------------------------
def test_ipv6_address_needs_ipv6(impl: Impl) -> None:
    module, _ctx = impl
    pull = make(impl, module.PULL)
    with pytest.raises(module.ZMQError) as info:
        pull.bind("tcp://[::1]:*")
    assert info.value.errno == errno.ENODEV
    server = make(impl, module.PULL, ipv6=1, rcvtimeo=300)
    server.bind("tcp://[::1]:*")
    endpoint = server.getsockopt(module.LAST_ENDPOINT).decode()
    off = make(impl, module.PUSH)
    off.connect(endpoint)  # accepted, but never resolves: retried, nothing delivered
    off.send(b"never")
    with pytest.raises(module.Again):
        server.recv()
    on = make(impl, module.PUSH, ipv6=1)
    on.connect(endpoint)
    on.send(b"over IPv6")
    server.setsockopt(module.RCVTIMEO, TIMEOUT_MS)
    assert server.recv() == b"over IPv6"


def test_ipv6_wildcard_bind_takes_both_families(impl: Impl) -> None:
    module, _ctx = impl
    server = make(impl, module.PULL, ipv6=1)
    server.bind("tcp://*:*")
    port = server.getsockopt(module.LAST_ENDPOINT).decode().rsplit(":", 1)[1]
    v4, v6 = make(impl, module.PUSH), make(impl, module.PUSH, ipv6=1)
    v4.connect(f"tcp://127.0.0.1:{port}")
    v6.connect(f"tcp://[::1]:{port}")
    v4.send(b"4")
    v6.send(b"6")
    assert sorted(server.recv() for _ in range(2)) == [b"4", b"6"]


def test_ipv4only_is_ipv6_inverted(impl: Impl) -> None:
    module, _ctx = impl
    sock = make(impl, module.PUSH)
    assert (sock.getsockopt(module.IPV6), sock.getsockopt(module.IPV4ONLY)) == (0, 1)
    sock.setsockopt(module.IPV4ONLY, 0)
    assert (sock.getsockopt(module.IPV6), sock.getsockopt(module.IPV4ONLY)) == (1, 0)
    sock.setsockopt(module.IPV6, 0)
    assert sock.getsockopt(module.IPV4ONLY) == 1


# -- BINDTODEVICE -------------------------------------------------------------------------------
def test_pyzmq_wheel_has_no_bindtodevice() -> None:
    """The reference: the stock wheel's libzmq was built without SO_BINDTODEVICE (ENOTSUP on
    bind, endless retries on connect). securemq follows libzmq's Linux code path instead."""
    skip_without_draft_libzmq()  # (observed on the oracle's libzmq; the stock one has it)
    with pyzmq.Context() as ctx:
        sock = ctx.socket(pyzmq.PULL)
        sock.linger = 0
        sock.setsockopt(pyzmq.BINDTODEVICE, b"lo")
        assert sock.getsockopt(pyzmq.BINDTODEVICE) == b"lo"
        with pytest.raises(pyzmq.ZMQError) as info:
            sock.bind("tcp://127.0.0.1:*")
        assert info.value.errno == errno.ENOTSUP
        sock.close()


@pytest.fixture
def smq() -> Iterator[securemq.Context]:
    ctx = securemq.Context()
    yield ctx
    ctx.destroy(linger=0)


def smq_socket(ctx: securemq.Context, socket_type: int, **options: Any) -> securemq.Socket:
    return make((securemq, ctx), socket_type, **options)


def test_bindtodevice_lo_binds_listener_and_connections(smq: securemq.Context) -> None:
    fds = connected_pair((securemq, smq), bindtodevice=b"lo")
    for fd in (fds.listening, fds.connected, fds.accepted):  # (accepted: inherited)
        dup = socket.socket(fileno=os.dup(fd))
        try:
            assert dup.getsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, 16).rstrip(
                b"\0") == b"lo"
        finally:
            dup.close()


def test_bindtodevice_unknown_device_fails_bind_and_retries_connect(
        smq: securemq.Context) -> None:
    bad = b"nosuchdev0"
    pull = smq_socket(smq, securemq.PULL, bindtodevice=bad)
    with pytest.raises(securemq.ZMQError) as info:
        pull.bind("tcp://127.0.0.1:*")
    assert info.value.errno == errno.ENODEV and "bind(" in str(info.value)
    server = smq_socket(smq, securemq.PULL, rcvtimeo=300)
    server.bind("tcp://127.0.0.1:*")
    push = smq_socket(smq, securemq.PUSH, bindtodevice=bad, reconnect_ivl=20)
    mon = push.get_monitor_socket()
    push.connect(server.last_endpoint.decode())
    push.send(b"never")
    got = events(mon, securemq.EVENT_CONNECT_RETRIED)
    # The socket could not be made: no dial (CONNECT_DELAYED), just a retry -- as libzmq.
    assert [kind for kind, _v in got] == [securemq.EVENT_CONNECT_RETRIED]
    with pytest.raises(securemq.Again):
        server.recv()


def test_bindtodevice_permission_denied(smq: securemq.Context,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Unprivileged on an old kernel, SO_BINDTODEVICE says EPERM: bind fails with it, connect
    keeps retrying. (The tests run as root: the kernel's refusal is simulated.)"""
    real = socket.socket.setsockopt

    def refuse(self: socket.socket, level: int, name: int, *value: Any) -> None:
        if level == socket.SOL_SOCKET and name == socket.SO_BINDTODEVICE:
            raise PermissionError(errno.EPERM, "Operation not permitted")
        real(self, level, name, *value)

    monkeypatch.setattr(socket.socket, "setsockopt", refuse)
    pull = smq_socket(smq, securemq.PULL, bindtodevice=b"lo")
    mon = pull.get_monitor_socket()
    with pytest.raises(securemq.ZMQError) as info:
        pull.bind("tcp://127.0.0.1:*")
    assert info.value.errno == errno.EPERM
    assert (securemq.EVENT_BIND_FAILED, errno.EPERM) in events(mon)
    server = smq_socket(smq, securemq.PULL, rcvtimeo=300)
    server.bind("tcp://127.0.0.1:*")
    push = smq_socket(smq, securemq.PUSH, bindtodevice=b"lo", reconnect_ivl=20)
    push.connect(server.last_endpoint.decode())
    push.send(b"never")
    with pytest.raises(securemq.Again):
        server.recv()


# -- SOCKS5 -------------------------------------------------------------------------------------
class Socks5Proxy:
    """A tiny SOCKS5 proxy (RFC 1928 CONNECT, RFC 1929 username/password) on loopback that
    records what each client said during the negotiation."""

    def __init__(self, credentials: tuple[bytes, bytes] | None = None) -> None:
        self.credentials = credentials
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.address = f"127.0.0.1:{self.listener.getsockname()[1]}"
        self.negotiations: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._sockets: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for sock in self._sockets:
            try:
                sock.close()
            except OSError:
                pass
        for thread in self._threads:
            thread.join(5)
        self.listener.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                client, _addr = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._sockets.append(client)
            thread = threading.Thread(target=self._handle, args=(client,), daemon=True)
            self._threads.append(thread)
            thread.start()

    @staticmethod
    def _exact(sock: socket.socket, count: int) -> bytes:
        data = b""
        while len(data) < count:
            chunk = sock.recv(count - len(data))
            if not chunk:
                raise ConnectionError("client went away")
            data += chunk
        return data

    def _handle(self, client: socket.socket) -> None:
        record: dict[str, Any] = {}
        self.negotiations.append(record)
        client.settimeout(5)
        try:
            head = self._exact(client, 2)
            record["greeting"] = head + self._exact(client, head[1])
            wanted = 0x02 if self.credentials else 0x00
            if wanted not in record["greeting"][2:]:
                client.sendall(b"\x05\xff")
                return
            client.sendall(bytes([0x05, wanted]))
            if self.credentials:
                version, ulen = self._exact(client, 2)
                user = self._exact(client, ulen)
                plen = self._exact(client, 1)[0]
                password = self._exact(client, plen)
                record["auth"] = (version, user, password)
                if (user, password) != self.credentials:
                    client.sendall(b"\x01\x01")
                    return
                client.sendall(b"\x01\x00")
            request = self._exact(client, 4)
            if request[3] == 0x01:
                host = socket.inet_ntoa(self._exact(client, 4))
            elif request[3] == 0x04:
                host = socket.inet_ntop(socket.AF_INET6, self._exact(client, 16))
            else:
                host = self._exact(client, self._exact(client, 1)[0]).decode()
            port = int.from_bytes(self._exact(client, 2), "big")
            record["request"] = (request[:4], host, port)
            upstream = socket.create_connection((host, port), timeout=5)
            self._sockets.append(upstream)
            client.sendall(b"\x05\x00\x00\x01" + socket.inet_aton("127.0.0.1") + b"\x00\x00")
            record["tunnel"] = True
            self._pipe(client, upstream)
        except OSError:
            return

    def _pipe(self, a: socket.socket, b: socket.socket) -> None:
        def one_way(src: socket.socket, dst: socket.socket) -> None:
            try:
                while not self._stop.is_set():
                    data = src.recv(65536)
                    if not data:
                        break
                    dst.sendall(data)
            except OSError:
                pass
            finally:
                for sock in (src, dst):
                    try:
                        sock.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass

        back = threading.Thread(target=one_way, args=(b, a), daemon=True)
        self._threads.append(back)
        back.start()
        a.settimeout(None)
        b.settimeout(None)
        one_way(a, b)


@pytest.fixture
def proxy() -> Iterator[Socks5Proxy]:
    server = Socks5Proxy()
    yield server
    server.close()


@pytest.fixture
def auth_proxy() -> Iterator[Socks5Proxy]:
    server = Socks5Proxy(credentials=(b"alice", b"s3cret"))
    yield server
    server.close()


def through_proxy(impl: Impl, proxy: Socks5Proxy, host: str, **options: Any) -> tuple[Any, Any]:
    """A DEALER that connects to a ROUTER of the same implementation through ``proxy``; both
    are returned (a socket nobody holds is closed)."""
    router, dealer, _port = through_proxy_to_port(impl, proxy, host, **options)
    return router, dealer


def through_proxy_to_port(impl: Impl, proxy: Socks5Proxy, host: str,
                          **options: Any) -> tuple[Any, Any, int]:
    """``through_proxy``, and the ROUTER's port: what the DEALER asks the proxy for."""
    module, _ctx = impl
    router = make(impl, module.ROUTER)
    router.bind("tcp://127.0.0.1:*")
    port = router.getsockopt(module.LAST_ENDPOINT).decode().rsplit(":", 1)[1]
    dealer = make(impl, module.DEALER, routing_id=b"via-proxy", **options)
    dealer.setsockopt(module.SOCKS_PROXY, proxy.address.encode())
    dealer.connect(f"tcp://{host}:{port}")
    dealer.send(b"hello through SOCKS")
    return router, dealer, int(port)


def negotiations_for(proxy: Socks5Proxy, port: int) -> list[dict[str, Any]]:
    """The negotiations that asked for ``port``. (The proxy's port is a fresh one, which a socket
    of an earlier test may still be redialing: what such a stranger says is not ours to check.)"""
    return [record for record in proxy.negotiations
            if record.get("request", (b"", "", 0))[2] == port]


def the_negotiation(proxy: Socks5Proxy, port: int) -> dict[str, Any]:
    """What our socket said to the proxy: one negotiation, or several identical ones. (About one
    run in twenty on the 2-core CI machine, securemq's first ZMTP handshake through the tunnel
    failed with EPIPE -- the proxy's side had closed -- and the dial was retried, with the same
    negotiation; what closes that first tunnel is not known yet. A retry must say the same.)"""
    records = negotiations_for(proxy, port)
    assert records, "the socket never asked the proxy for its endpoint"
    first = records[0]
    for record in records[1:]:
        assert {k: v for k, v in record.items() if k != "tunnel"} == {
            k: v for k, v in first.items() if k != "tunnel"}, "a retry said something else"
    return first


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_socks5_proxy_without_auth(impl: Impl, proxy: Socks5Proxy, host: str) -> None:
    router, _dealer, port = through_proxy_to_port(impl, proxy, host)
    assert router.recv_multipart() == [b"via-proxy", b"hello through SOCKS"]
    record = the_negotiation(proxy, port)
    assert record["greeting"] == b"\x05\x01\x00"  # one method: no authentication
    # A numeric address goes as IPv4 (ATYP 1), a name as a domain (ATYP 3) the proxy resolves.
    atyp = 1 if host == "127.0.0.1" else 3
    assert record["request"][0] == bytes([5, 1, 0, atyp]) and record["request"][1] == host


def test_socks5_proxy_with_username_and_password(impl: Impl, auth_proxy: Socks5Proxy) -> None:
    router, _dealer, port = through_proxy_to_port(impl, auth_proxy, "127.0.0.1",
                                                  socks_username=b"alice",
                                                  socks_password=b"s3cret")
    assert router.recv_multipart() == [b"via-proxy", b"hello through SOCKS"]
    record = the_negotiation(auth_proxy, port)
    assert record["greeting"] == b"\x05\x01\x02"  # one method: username/password
    assert record["auth"] == (1, b"alice", b"s3cret")


def test_socks5_proxy_refusing_the_password(smq: securemq.Context,
                                            auth_proxy: Socks5Proxy) -> None:
    """Refused: no tunnel, the socket closed, the dial retried. (securemq only: libzmq 4.3.5
    aborts here -- socks_connecter_t::error() drops the poller handle without clearing it, so
    closing the socket while it waits to retry removes it twice: "Bad file descriptor
    (epoll.cpp:86)". Still so in libzmq's master.)"""
    impl: Impl = (securemq, smq)
    module = securemq
    router, _dealer = through_proxy(impl, auth_proxy, "127.0.0.1", socks_username=b"alice",
                                    socks_password=b"wrong", reconnect_ivl=50)
    router.setsockopt(module.RCVTIMEO, 300)
    with pytest.raises(module.Again):
        router.recv_multipart()
    deadline = time.monotonic() + 5

    def ours() -> list[dict[str, Any]]:  # (not a stranger redialing this port)
        return [r for r in auth_proxy.negotiations if r.get("auth") == (1, b"alice", b"wrong")]

    while len(ours()) < 2:  # refused, then retried
        assert time.monotonic() < deadline, "no retry after the refusal"
        time.sleep(0.02)
    assert all("tunnel" not in r and "request" not in r for r in ours())


def test_socks_option_values(impl: Impl) -> None:
    module, _ctx = impl
    sock = make(impl, module.DEALER)
    with pytest.raises(module.ZMQError):
        sock.setsockopt(module.SOCKS_PROXY, b"")  # libzmq: a non-NULL empty value is EINVAL
    sock.setsockopt(module.SOCKS_PROXY, b"127.0.0.1:1080")
    assert sock.getsockopt(module.SOCKS_PROXY) == b"127.0.0.1:1080"
    sock.setsockopt(module.SOCKS_USERNAME, b"")  # empty clears
    assert sock.getsockopt(module.SOCKS_USERNAME) == b""
    with pytest.raises(module.ZMQError):
        sock.setsockopt(module.SOCKS_PASSWORD, b"p" * 256)


# -- udp:// multicast (RADIO) -----------------------------------------------------------------
def test_multicast_options_reach_the_udp_socket(smq: securemq.Context) -> None:
    radio = smq_socket(smq, securemq.RADIO, multicast_hops=3, multicast_loop=0)
    radio.connect("udp://239.255.0.1:5556")
    session = radio._session
    assert session is not None
    (sender,) = [d for d in vars(session).get("_datagrams", {}).values()]
    assert sender.sock.getsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL) == 3
    assert sender.sock.getsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP) == 0
    with pytest.raises(securemq.ZMQError) as info:
        smq_socket(smq, securemq.PUB).setsockopt(securemq.MULTICAST_HOPS, 3)
    assert info.value.errno == errno.EINVAL and "MULTICAST_HOPS" in str(info.value)


# -- RECONNECT_IVL 0 ----------------------------------------------------------------------------
def test_reconnect_ivl_zero_dials_once(impl: Impl) -> None:
    """libzmq retries only with RECONNECT_IVL > 0 (stream_connecter_base add_reconnect_timer)."""
    module, _ctx = impl
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))  # bound, never listening: refused
    try:
        push = make(impl, module.PUSH, reconnect_ivl=0)
        mon = push.get_monitor_socket()
        push.connect(f"tcp://127.0.0.1:{holder.getsockname()[1]}")
        got = events(mon, quiet_ms=300)
        assert [kind for kind, _v in got] == [module.EVENT_CONNECT_DELAYED, module.EVENT_CLOSED]
    finally:
        holder.close()
