"""Monitor event sequences: the same scenario run with pyzmq (libzmq 4.3.5) on both ends, and
with securemq on one end (both ways); the canonical sequences must match.

Canonical form: (event name, value) with file descriptors and reconnect intervals replaced by
placeholders (fd numbers differ, libzmq randomises the retry delay), read up to a fixed marker
event, then with immediately repeated blocks collapsed (how many CONNECT_RETRIED /
CONNECT_DELAYED / CLOSED cycles fit in a window depends on timing).
"""

from __future__ import annotations

import socket as pysocket
import struct
import threading
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
import zmq as pyzmq
from zmq.utils.monitor import parse_monitor_message as pz_parse
from zmq.utils.monitor import recv_monitor_message as pz_recv_monitor_message

import securemq
from securemq.utils.monitor import parse_monitor_message as smq_parse

Canon = tuple[str, object]
_FD_EVENTS = {pyzmq.EVENT_LISTENING, pyzmq.EVENT_ACCEPTED, pyzmq.EVENT_CONNECTED,
              pyzmq.EVENT_CLOSED, pyzmq.EVENT_DISCONNECTED}

# Who is securemq in a run: the binding side, the connecting side, or nobody (reference).
ROLES = ["smq_server", "smq_client"]


def lib_for(role: str, side: str) -> ModuleType:
    return securemq if role == f"smq_{side}" else pyzmq


class Run:
    """Contexts, sockets and monitors of one scenario run; everything closed at the end."""

    def __init__(self, role: str) -> None:
        self.role = role
        self.server_lib = lib_for(role, "server")
        self.client_lib = lib_for(role, "client")
        self.server_ctx: Any = self.server_lib.Context()
        self.client_ctx: Any = self.client_lib.Context()
        self._threads: list[tuple[threading.Thread, threading.Event]] = []
        self.zap_requests: list[list[bytes]] = []

    def socket(self, side: str, kind: str = "DEALER", **options: Any) -> Any:
        lib = self.server_lib if side == "server" else self.client_lib
        ctx = self.server_ctx if side == "server" else self.client_ctx
        sock = ctx.socket(getattr(lib, kind))
        sock.setsockopt(lib.LINGER, 0)
        sock.setsockopt(lib.RCVTIMEO, 5000)
        sock.setsockopt(lib.SNDTIMEO, 5000)
        for name, value in options.items():
            sock.setsockopt(getattr(lib, name.upper()), value)
        return sock

    def zap(self, status: bytes) -> None:
        """A ZAP handler in the server's context answering ``status`` to every request."""
        handler = self.socket("server", "REP")
        handler.bind("inproc://zeromq.zap.01")
        stop = threading.Event()

        def serve() -> None:
            try:
                while not stop.is_set():
                    if handler.poll(20):
                        request = handler.recv_multipart()
                        self.zap_requests.append(request)
                        handler.send_multipart([request[0], request[1], status, b"NO", b"",
                                                b""])
            finally:
                handler.close()

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        self._threads.append((thread, stop))

    def close(self) -> None:
        for thread, stop in self._threads:
            stop.set()
            thread.join(5)
        self.server_ctx.destroy(linger=0)
        self.client_ctx.destroy(linger=0)


def watch(sock: Any) -> Any:
    mon = sock.get_monitor_socket()
    mon.setsockopt(pyzmq.LINGER, 0)
    return mon


def next_event(mon: Any, timeout_ms: int) -> tuple[int, int, bytes] | None:
    if not mon.poll(max(timeout_ms, 0)):
        return None
    head, endpoint = mon.recv_multipart()
    event, value = struct.unpack("<HI", head)
    return int(event), int(value), bytes(endpoint)


def read_until(mon: Any, event: int, count: int = 1,
               timeout: float = 5.0) -> list[tuple[int, int, bytes]]:
    deadline = time.monotonic() + timeout
    seen: list[tuple[int, int, bytes]] = []
    hits = 0
    while hits < count:
        got = next_event(mon, int((deadline - time.monotonic()) * 1000))
        if got is None:
            break  # the comparison shows what was (not) seen
        seen.append(got)
        hits += got[0] == event
    return seen


def read_quiet(mon: Any, quiet_ms: int = 150) -> list[tuple[int, int, bytes]]:
    out: list[tuple[int, int, bytes]] = []
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        got = next_event(mon, quiet_ms)
        if got is None:
            break
        out.append(got)
    return out


def canon(events: list[tuple[int, int, bytes]], with_endpoint: bool = False) -> list[Canon]:
    out: list[Canon] = []
    for event, value, endpoint in events:
        name = str(pyzmq.Event(event).name)
        shown: object = value
        if event in _FD_EVENTS:
            shown = "fd"
        elif event == pyzmq.EVENT_CONNECT_RETRIED:
            shown = "ivl"
        elif value > 0xFFFF:
            shown = hex(value)
        out.append((f"{name}@{endpoint.decode()}", shown) if with_endpoint else (name, shown))
    return collapse(out)


def collapse(seq: list[Canon]) -> list[Canon]:
    items = list(seq)
    changed = True
    while changed:
        changed = False
        for size in range(1, len(items) // 2 + 1):
            for i in range(len(items) - 2 * size + 1):
                if items[i:i + size] == items[i + size:i + 2 * size]:
                    del items[i + size:i + 2 * size]
                    changed = True
                    break
            if changed:
                break
    return items


def endpoint_of(sock: Any) -> str:
    last = sock.getsockopt(pyzmq.LAST_ENDPOINT)
    return last.decode() if isinstance(last, bytes) else str(last)


# -- scenarios: each returns {"server": canon, "client": canon} --------------------------------
Result = dict[str, list[Canon]]


def sc_handshake_and_close(run: Run) -> Result:
    server, client = run.socket("server"), run.socket("client")
    smon, cmon = watch(server), watch(client)
    server.bind("tcp://127.0.0.1:*")
    client.connect(endpoint_of(server))
    s = read_until(smon, pyzmq.EVENT_HANDSHAKE_SUCCEEDED)
    c = read_until(cmon, pyzmq.EVENT_HANDSHAKE_SUCCEEDED)
    client.close()
    c += read_until(cmon, pyzmq.EVENT_MONITOR_STOPPED)
    s += read_until(smon, pyzmq.EVENT_DISCONNECTED)
    server.close()
    s += read_until(smon, pyzmq.EVENT_MONITOR_STOPPED)
    return {"server": canon(s), "client": canon(c)}


def sc_peer_restart(run: Run) -> Result:
    server, client = run.socket("server"), run.socket("client")
    cmon = watch(client)
    server.bind("tcp://127.0.0.1:*")
    endpoint = endpoint_of(server)
    client.connect(endpoint)
    read_until(cmon, pyzmq.EVENT_HANDSHAKE_SUCCEEDED)
    server.close()
    c = read_until(cmon, pyzmq.EVENT_CLOSED)  # a refused attempt: the server is gone
    restarted = run.socket("server")
    smon = watch(restarted)
    restarted.bind(endpoint)
    c += read_until(cmon, pyzmq.EVENT_HANDSHAKE_SUCCEEDED)
    s = read_until(smon, pyzmq.EVENT_HANDSHAKE_SUCCEEDED)
    return {"server": canon(s), "client": canon(c)}


def sc_wrong_curve_key(run: Run) -> Result:
    _, server_secret = pyzmq.curve_keypair()
    client_public, client_secret = pyzmq.curve_keypair()
    wrong, _ = pyzmq.curve_keypair()
    server = run.socket("server", curve_server=True, curve_secretkey=server_secret)
    client = run.socket("client", curve_serverkey=wrong, curve_publickey=client_public,
                        curve_secretkey=client_secret)
    smon, cmon = watch(server), watch(client)
    server.bind("tcp://127.0.0.1:*")
    client.connect(endpoint_of(server))
    s = read_until(smon, pyzmq.EVENT_ACCEPTED, count=3)
    c = read_until(cmon, pyzmq.EVENT_CONNECT_RETRIED, count=2)
    return {"server": canon(s), "client": canon(c)}


def _zap_scenario(run: Run, status: bytes) -> Result:
    run.zap(status)
    server = run.socket("server", plain_server=True)
    client = run.socket("client", plain_username=b"user", plain_password=b"pass")
    smon, cmon = watch(server), watch(client)
    server.bind("tcp://127.0.0.1:*")
    client.connect(endpoint_of(server))
    s = read_until(smon, pyzmq.EVENT_HANDSHAKE_FAILED_AUTH) + read_quiet(smon)
    c = read_until(cmon, pyzmq.EVENT_CONNECTED) + read_quiet(cmon)
    return {"server": canon(s), "client": canon(c),
            "zap_requests": [("count", len(run.zap_requests))]}


def sc_zap_400(run: Run) -> Result:
    return _zap_scenario(run, b"400")


def sc_zap_500(run: Run) -> Result:
    return _zap_scenario(run, b"500")


SCENARIOS: dict[str, Callable[[Run], Result]] = {
    "handshake_and_close": sc_handshake_and_close,
    "peer_restart": sc_peer_restart,
    "wrong_curve_key": sc_wrong_curve_key,
    "zap_400": sc_zap_400,
    "zap_500": sc_zap_500,
}

_reference: dict[str, Result] = {}


def run_scenario(name: str, role: str) -> Result:
    run = Run(role)
    try:
        return SCENARIOS[name](run)
    finally:
        run.close()


def reference(name: str) -> Result:
    """The pyzmq-on-both-ends result (computed once per scenario)."""
    if name not in _reference:
        _reference[name] = run_scenario(name, "pyzmq_only")
    return _reference[name]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_sequences_match_libzmq(scenario: str, role: str) -> None:
    expected = reference(scenario)
    got = run_scenario(scenario, role)
    assert got == expected, f"{scenario} with {role}: securemq differs from libzmq"


def test_reference_is_what_the_api_tests_expect() -> None:
    """Pins the libzmq reference itself, so a pyzmq upgrade that changes it is noticed."""
    # Retry cycles are collapsed: one cycle stands for "repeats".
    assert reference("wrong_curve_key")["client"] == [
        ("CONNECT_DELAYED", 115), ("CONNECTED", "fd"), ("HANDSHAKE_FAILED_NO_DETAIL", 32),
        ("DISCONNECTED", "fd"), ("CONNECT_RETRIED", "ivl")]
    assert reference("zap_400")["server"] == [
        ("LISTENING", "fd"), ("ACCEPTED", "fd"), ("HANDSHAKE_FAILED_AUTH", 400),
        ("DISCONNECTED", "fd")]


# -- malformed HELLO from a raw socket (server side only) -----------------------------------
def _raw_hello(lib: ModuleType, payload: bytes) -> list[Canon]:
    ctx: Any = lib.Context()
    try:
        _, secret = pyzmq.curve_keypair()
        server = ctx.socket(lib.DEALER)
        server.setsockopt(lib.LINGER, 0)
        server.setsockopt(lib.CURVE_SERVER, 1)
        server.setsockopt(lib.CURVE_SECRETKEY, secret)
        mon = watch(server)
        server.bind("tcp://127.0.0.1:*")
        port = int(endpoint_of(server).rsplit(":", 1)[1])
        with pysocket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            raw.sendall(b"\xff" + b"\x00" * 8 + b"\x7f\x03\x00" + b"CURVE".ljust(20, b"\x00")
                        + b"\x00" * 32)
            got = b""
            while len(got) < 64:
                chunk = raw.recv(64 - len(got))
                assert chunk
                got += chunk
            raw.sendall(payload)
            events = read_until(mon, pyzmq.EVENT_HANDSHAKE_FAILED_PROTOCOL) + read_quiet(mon)
            tail = raw.recv(1024)
        return [*canon(events), ("raw peer received", tail)]
    finally:
        ctx.destroy(linger=0)


_HELLO = b"\x05HELLO\x01\x00" + b"\x00" * 72 + b"\x11" * 32 + b"\x00" * 8 + b"\x22" * 80
HELLOS = {
    "short": b"\x04\xc7" + _HELLO[:-1],
    "misspelled": b"\x04\xc8\x05HELLP" + _HELLO[6:],
    "version2": b"\x04\xc8" + _HELLO[:6] + b"\x02" + _HELLO[7:],
}


@pytest.mark.parametrize("case", sorted(HELLOS))
def test_malformed_hello_matches_libzmq(case: str) -> None:
    assert _raw_hello(securemq, HELLOS[case]) == _raw_hello(pyzmq, HELLOS[case])


# -- bind failures (one library at a time) -------------------------------------------------
def _bind_failure(lib: ModuleType, addr_of: Callable[[str], str]) -> list[Canon]:
    ctx: Any = lib.Context()
    try:
        holder = ctx.socket(lib.DEALER)
        holder.bind("tcp://127.0.0.1:*")
        sock = ctx.socket(lib.DEALER)
        mon = watch(sock)
        with pytest.raises(lib.ZMQError):
            sock.bind(addr_of(endpoint_of(holder)))
        return canon(read_quiet(mon), with_endpoint=True)
    finally:
        ctx.destroy(linger=0)


BIND_FAILURES: dict[str, Callable[[str], str]] = {
    "in_use": lambda taken: taken,
    "no_such_interface": lambda taken: "tcp://nosuchif0:5555",
    "bad_port": lambda taken: "tcp://127.0.0.1:abc",
    "not_local": lambda taken: "tcp://10.255.255.1:5555",
}


@pytest.mark.parametrize("case", sorted(BIND_FAILURES))
def test_bind_failure_events_match_libzmq(case: str) -> None:
    """libzmq: BIND_FAILED(errno, address without "tcp://"), preceded by CLOSED(fd, "") when
    it had already created the OS socket (in_use, not_local)."""
    # "in_use" binds to a port taken in its own context: the endpoint differs per run.
    def strip_port(seq: list[Canon]) -> list[Canon]:
        return [(name.rsplit(":", 1)[0] if case == "in_use" else name, v) for name, v in seq]

    got = strip_port(_bind_failure(securemq, BIND_FAILURES[case]))
    assert got == strip_port(_bind_failure(pyzmq, BIND_FAILURES[case]))


# -- parsing across libraries -----------------------------------------------------------------
def test_pyzmq_parses_securemq_monitor_messages(smq_ctx: securemq.Context) -> None:
    sock = smq_ctx.socket(securemq.DEALER)
    sock.linger = 0
    mon = sock.get_monitor_socket()
    sock.bind("tcp://127.0.0.1:*")
    endpoint = endpoint_of(sock)
    assert mon.poll(5000)
    reader: Any = mon
    parsed = pz_recv_monitor_message(reader)  # pyzmq's parser reading a securemq socket
    assert parsed["event"] == pyzmq.EVENT_LISTENING
    assert parsed["endpoint"] == endpoint.encode() and parsed["value"] > 0
    sock.unbind(endpoint)
    assert mon.poll(5000)
    frames = mon.recv_multipart()
    assert pz_parse(frames) == smq_parse(frames)
    assert smq_parse(frames)["event"] == pyzmq.EVENT_CLOSED


def test_securemq_parses_pyzmq_monitor_messages(pz_ctx: pyzmq.Context[Any]) -> None:
    sock = pz_ctx.socket(pyzmq.DEALER)
    sock.linger = 0
    mon = sock.get_monitor_socket()
    sock.bind("tcp://127.0.0.1:*")
    assert mon.poll(5000)
    frames = mon.recv_multipart()
    assert smq_parse(frames) == pz_parse(frames)
    mon.close()
    sock.close()


@pytest.mark.parametrize("role", ROLES)
def test_mask_handshake_succeeded_only(role: str) -> None:
    run = Run(role)
    try:
        server, client = run.socket("server"), run.socket("client")
        smon = server.get_monitor_socket(pyzmq.EVENT_HANDSHAKE_SUCCEEDED)
        cmon = client.get_monitor_socket(pyzmq.EVENT_HANDSHAKE_SUCCEEDED)
        server.bind("tcp://127.0.0.1:*")
        client.connect(endpoint_of(server))
        s = read_until(smon, pyzmq.EVENT_HANDSHAKE_SUCCEEDED) + read_quiet(smon)
        c = read_until(cmon, pyzmq.EVENT_HANDSHAKE_SUCCEEDED) + read_quiet(cmon)
        assert canon(s) == canon(c) == [("HANDSHAKE_SUCCEEDED", 0)]
    finally:
        run.close()
