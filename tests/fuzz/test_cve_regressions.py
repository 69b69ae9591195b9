"""Explicit regressions for the libzmq CVE classes (REFERENCE.md 4.9-4.10), against live servers.

* CVE-2019-13132: oversized / malformed CURVE handshake commands and INITIATE metadata.
* CVE-2020-15166: half-open raw clients must not starve a good client.
* mtrie advisory (4.3.3): a 1 MB topic subscribe/unsubscribe must not recurse.
* v1-decoder overflow (4.3.3): ZMTP/1.0-looking long frames must not corrupt anything.
* MAXMSGSIZE: a frame declared over the limit is dropped before anything is allocated.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import pytest

import securemq
from securemq.zmtp.metadata import encode_metadata
from tests.fuzz.curve_client import RawCurveClient, frame, long_frame_header, metadata_property
from tests.fuzz.live import (
    LiveServer,
    closed_by_server,
    greeting,
    live_server,
    raw_connect,
    read_frame,
    recv_exact,
    round_trip,
    send_quietly,
)
from tests.zmtp.pump import ready_frame

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def curve_server() -> Iterator[LiveServer]:
    with live_server("CURVE") as server:
        yield server


def _curve_until_welcome(server: LiveServer) -> tuple[socket.socket, RawCurveClient, bytes]:
    """A raw CURVE client that has sent greeting + HELLO and read the server's WELCOME."""
    client = RawCurveClient(securemq.z85.decode(server.server_public))
    raw = raw_connect(server.port)
    raw.sendall(greeting("CURVE") + frame(client.hello()))
    theirs = recv_exact(raw, 64)
    assert theirs[0] == 0xFF and theirs[12:17] == b"CURVE"
    flags, welcome = read_frame(raw)
    assert flags & 0x04 and welcome.startswith(b"\x07WELCOME")
    return raw, client, welcome


# -- CVE-2019-13132 class ---------------------------------------------------------------------


def test_raw_curve_client_completes_a_handshake(curve_server: LiveServer) -> None:
    """Positive control for the hand-made CURVE client used below."""
    raw, client, welcome = _curve_until_welcome(curve_server)
    with raw:
        raw.sendall(frame(client.initiate(welcome, encode_metadata({"Socket-Type": b"DEALER"}))))
        _, ready = read_frame(raw)
        assert b"ROUTER" in client.open_ready(ready)
        raw.sendall(securemq.zmtp.frames.encode_frame(0, client.message(b"hand-made")))
        assert curve_server.sock.poll(5000)
        assert curve_server.sock.recv_multipart()[1] == b"hand-made"


def test_hello_declaring_10mb_with_300_bytes_sent(curve_server: LiveServer) -> None:
    with raw_connect(curve_server.port) as raw:
        hello_start = b"\x05HELLO" + bytes(294)  # 300 of the declared 10 MB
        send_quietly(raw, [greeting("CURVE"), long_frame_header(10 << 20), hello_start])
        assert closed_by_server(raw), "a 10 MB HELLO declaration must cost the connection"
    round_trip(curve_server)


@pytest.mark.parametrize("size", [199, 201, 300, 4096])
def test_hello_of_wrong_size(curve_server: LiveServer, size: int) -> None:
    with raw_connect(curve_server.port) as raw:
        body = b"\x05HELLO\x01\x00" + bytes(size - 8)
        send_quietly(raw, [greeting("CURVE"), frame(body)])
        assert closed_by_server(raw)
    round_trip(curve_server)


def test_initiate_declaring_huge_size(curve_server: LiveServer) -> None:
    raw, _client, _welcome = _curve_until_welcome(curve_server)
    with raw:
        send_quietly(raw, [long_frame_header(1 << 62), b"\x08INITIATE" + bytes(400)])
        assert closed_by_server(raw)
    round_trip(curve_server)


def test_initiate_with_metadata_over_the_handshake_limit(curve_server: LiveServer) -> None:
    raw, client, welcome = _curve_until_welcome(curve_server)
    with raw:
        metadata = metadata_property(b"Socket-Type", b"DEALER") + metadata_property(
            b"Big", b"m" * (2 << 20)
        )
        send_quietly(raw, [frame(client.initiate(welcome, metadata))])
        assert closed_by_server(raw)
    round_trip(curve_server)


@pytest.mark.parametrize(
    "metadata",
    [
        metadata_property(b"Socket-Type", b"DEALER", declared=0xFFFFFFFF),
        metadata_property(b"Socket-Type", b"DEALER") + metadata_property(b"X", b"1", declared=2),
        metadata_property(b"Socket-Type", b"DEALER") + b"\xff" + b"Name",  # name past the end
        metadata_property(b"Socket-Type", b"DEALER") + b"\x00",  # empty name
        metadata_property(b"Socket-Type", b"DEALER") + b"\x03abc\x00\x00",  # truncated size
        metadata_property(b"Socket Type", b"DEALER"),  # invalid name character
        b"",  # no Socket-Type at all
        metadata_property(b"Socket-Type", b"SUB"),  # incompatible type
    ],
    ids=["value-past-end", "second-value-past-end", "name-past-end", "empty-name",
         "truncated-size", "bad-name", "empty", "incompatible"],
)
def test_initiate_with_malformed_metadata(curve_server: LiveServer, metadata: bytes) -> None:
    raw, client, welcome = _curve_until_welcome(curve_server)
    with raw:
        send_quietly(raw, [frame(client.initiate(welcome, metadata))])
        assert closed_by_server(raw), "malformed INITIATE metadata must cost the connection"
    round_trip(curve_server)
    assert not curve_server.sock.poll(20)


def test_initiate_with_large_valid_metadata_is_served(curve_server: LiveServer) -> None:
    """Large but well-formed metadata under the handshake limit is fine, and costs nothing else."""
    raw, client, welcome = _curve_until_welcome(curve_server)
    with raw:
        many = {f"X-{i}": b"v" * 1000 for i in range(500)}
        metadata = encode_metadata({"Socket-Type": b"DEALER", **many})
        raw.sendall(frame(client.initiate(welcome, metadata)))
        _, ready = read_frame(raw)
        assert b"ROUTER" in client.open_ready(ready)
    round_trip(curve_server)


# -- CVE-2020-15166 class ---------------------------------------------------------------------

HALF_OPEN = 200  # "hundreds" of half-open connections


@pytest.mark.parametrize("mechanism", ["NULL", "CURVE"])
@pytest.mark.parametrize("stall_after", ["partial-greeting", "hello"])
def test_half_open_clients_do_not_starve_others(mechanism: str, stall_after: str) -> None:
    with live_server(mechanism) as server:
        raws: list[socket.socket] = []
        try:
            for _ in range(HALF_OPEN):
                raw = raw_connect(server.port)
                raws.append(raw)
                if stall_after == "partial-greeting":
                    raw.sendall(greeting(mechanism)[:11])
                elif mechanism == "CURVE":
                    hello = RawCurveClient(securemq.z85.decode(server.server_public)).hello()
                    raw.sendall(greeting(mechanism) + frame(hello))
                else:
                    raw.sendall(greeting(mechanism))
            for index in range(3):
                elapsed = round_trip(server, b"while-stalled-%d" % index)
                assert elapsed < 2.0, (
                    f"a good client took {elapsed:.2f}s behind {HALF_OPEN} stalled peers"
                )
        finally:
            for raw in raws:
                raw.close()


# -- mtrie advisory: long topics --------------------------------------------------------------

LONG_TOPIC_SCRIPT = textwrap.dedent(
    """
    import sys, threading
    failures = []
    threading.excepthook = lambda args: failures.append(repr(args.exc_value))
    import securemq as zmq
    ctx = zmq.Context()
    xpub = ctx.socket(zmq.XPUB); xpub.linger = 0; xpub.rcvtimeo = 5000
    xpub.setsockopt(zmq.XPUB_VERBOSE, 1)
    port = xpub.bind_to_random_port("tcp://127.0.0.1")
    sub = ctx.socket(zmq.SUB); sub.linger = 0; sub.rcvtimeo = 5000
    sub.connect(f"tcp://127.0.0.1:{port}")
    sys.setrecursionlimit(LIMIT)  # deep recursion anywhere from here on fails loudly
    topic = b"t" * (1 << 20)
    sub.subscribe(topic)
    assert xpub.recv() == b"\\x01" + topic
    sub.unsubscribe(topic)
    assert xpub.recv() == b"\\x00" + topic
    # A chain of nested prefixes: a deep trie path for any per-node algorithm.
    nested = [b"n" * k for k in range(1, 401)]
    for t in nested:
        sub.subscribe(t)
    for t in nested:
        assert xpub.recv() == b"\\x01" + t
    for t in reversed(nested):
        sub.unsubscribe(t)
    for t in reversed(nested):
        assert xpub.recv() == b"\\x00" + t
    sub.subscribe(b"A")
    assert xpub.recv() == b"\\x01A"
    for _ in range(100):  # the subscription may still be in flight to the trie
        xpub.send(b"A-after")
        if sub.poll(50):
            break
    assert sub.recv() == b"A-after"
    assert not failures, failures
    ctx.destroy(linger=0)
    print("OK")
    """
)


def test_long_topic_subscribe_unsubscribe_does_not_recurse() -> None:
    # The limit leaves room for normal call depth (checked: the script needs well under it)
    # but not for recursion proportional to a topic's length or a trie's depth.
    script = LONG_TOPIC_SCRIPT.replace("LIMIT", "100")
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=50,
    )
    assert result.returncode == 0 and result.stdout.strip() == "OK", result.stderr[-3000:]


# -- ZMTP/1.0-looking input with long frames --------------------------------------------------


def test_zmtp_1_0_long_frames_do_not_corrupt_anything() -> None:
    ctx = securemq.Context()
    try:
        rep = ctx.socket(securemq.REP)
        rep.linger = 0
        rep.rcvtimeo = 5000
        port = rep.bind_to_random_port("tcp://127.0.0.1")
        req = ctx.socket(securemq.REQ)
        req.linger = 0
        req.rcvtimeo = 5000
        req.connect(f"tcp://127.0.0.1:{port}")
        raws = []
        for size in (8193, 20000, 70000):
            raw = raw_connect(port)
            raws.append(raw)
            # ZMTP/1.0: identity frame (length 1, flags 0), then 0xFF + 8-byte length + flags.
            v1_frame = b"\xff" + (size + 1).to_bytes(8, "big") + b"\x00" + b"E" * size
            send_quietly(raw, [b"\x01\x00", v1_frame, v1_frame])
        for index in range(3):
            req.send(b"request-%d" % index)
            assert rep.recv() == b"request-%d" % index
            rep.send(b"reply-%d" % index)
            assert req.recv() == b"reply-%d" % index
        for raw in raws:
            assert closed_by_server(raw), "a ZMTP/1.0 peer must be dropped"
            raw.close()
        assert not rep.poll(20)
    finally:
        ctx.destroy(linger=0)


# -- MAXMSGSIZE -------------------------------------------------------------------------------


def test_frame_over_maxmsgsize_is_dropped_before_allocation() -> None:
    ctx = securemq.Context()
    try:
        pull = ctx.socket(securemq.PULL)
        pull.linger = 0
        pull.rcvtimeo = 5000
        pull.maxmsgsize = 1000
        port = pull.bind_to_random_port("tcp://127.0.0.1")
        raw = raw_connect(port)
        raw.sendall(greeting("NULL") + ready_frame(b"PUSH"))
        assert recv_exact(raw, 64)[0] == 0xFF
        flags, body = read_frame(raw)
        assert flags & 0x04 and body.startswith(b"\x05READY")
        body_part = b"B" * (8 << 20)  # made before tracing starts
        tracemalloc.start()
        try:
            send_quietly(raw, [long_frame_header(1 << 30, flags=0), body_part])
            assert closed_by_server(raw), "a frame over MAXMSGSIZE must cost the connection"
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
            raw.close()
        assert peak < 2 << 20, f"declaring 1 GiB (8 MiB sent) made us allocate {peak} bytes"
        push = ctx.socket(securemq.PUSH)
        push.linger = 0
        push.connect(f"tcp://127.0.0.1:{port}")
        push.send(b"x" * 1000)
        assert pull.recv() == b"x" * 1000
        assert not pull.poll(20)
    finally:
        ctx.destroy(linger=0)


def test_handshake_frame_declared_huge_is_dropped_at_once() -> None:
    with live_server("NULL") as server:
        with raw_connect(server.port) as raw:
            start = time.monotonic()
            send_quietly(raw, [greeting("NULL"), long_frame_header(1 << 60)])
            assert closed_by_server(raw)
            assert time.monotonic() - start < 2.0
        round_trip(server)
        with suppress(OSError):
            raw.close()
