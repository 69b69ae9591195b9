"""Raw-socket fuzzing against live securemq servers (the libzmq *_fuzzer.cpp equivalent).

For NULL, PLAIN (ThreadAuthenticator with a password) and CURVE (server keys, ZAP allowing any
key) a ROUTER listens on loopback. Seeded raw TCP peers send protocol-shaped input: a valid
greeting for the mechanism, then handshake-sized chunks (CURVE: 64, 202, 301 bytes as libzmq's
fuzzers do), then random bytes; real command names with random bodies; mutated greetings;
huge declared frames. After each input, with the raw peers of the run still connected, a fresh
well-behaved securemq client completes a full round trip through the server (the
CVE-2020-15166 class), and nothing a raw peer sent reaches the application. The default run
uses a fixed seed and ``raw_inputs_per_mechanism()`` inputs; ``SECUREMQ_FUZZ_PROFILE=nightly``
runs many more.
"""

from __future__ import annotations

import random
import struct

import pytest

from securemq.zmtp.frames import COMMAND, encode_frame
from tests.fuzz.fuzz_profile import base_seed, live_timeout, raw_inputs_per_mechanism
from tests.fuzz.live import (
    drain,
    greeting,
    live_server,
    raw_connect,
    round_trip,
    send_quietly,
)

MECHANISMS = ("NULL", "PLAIN", "CURVE")
# Chunk sizes after the greeting, per mechanism (CURVE: HELLO frame 202, INITIATE-ish 301).
HANDSHAKE_SIZES = {"NULL": (40, 120), "PLAIN": (30, 60), "CURVE": (202, 301)}
NAMES = {
    "NULL": (b"READY", b"ERROR", b"PING"),
    "PLAIN": (b"HELLO", b"INITIATE", b"ERROR"),
    "CURVE": (b"HELLO", b"INITIATE", b"MESSAGE"),
}


def _command(rng: random.Random, name: bytes, size: int) -> bytes:
    return encode_frame(COMMAND, bytes((len(name),)) + name + rng.randbytes(size))


def protocol_shaped(mechanism: str, rng: random.Random) -> list[bytes]:
    """One fuzz input as the chunks to send, chosen by ``rng``."""
    kind = rng.randrange(6)
    good = greeting(mechanism)
    sizes = HANDSHAKE_SIZES[mechanism]
    if kind == 0:  # pure noise
        return [rng.randbytes(rng.randint(1, 600)) for _ in range(rng.randint(1, 3))]
    if kind == 1:  # libzmq-fuzzer shape: greeting, handshake-sized random chunks, the rest
        return [good, *(rng.randbytes(n) for n in sizes), rng.randbytes(rng.randint(0, 400))]
    if kind == 2:  # greeting then real command names carrying random bodies of plausible sizes
        names = NAMES[mechanism]
        return [good, *(_command(rng, rng.choice(names), n - 2 - 9) for n in sizes)]
    if kind == 3:  # a mutated greeting, then noise
        broken = bytearray(good)
        for _ in range(rng.randint(1, 4)):
            broken[rng.randrange(64)] = rng.randrange(256)
        return [bytes(broken), rng.randbytes(rng.randint(0, 300))]
    if kind == 4:  # a huge declared frame, partly sent
        declared = rng.choice([1 << 20, (1 << 20) + 1, 10 << 20, 1 << 40, 1 << 60, (1 << 64) - 1])
        flags = rng.choice([COMMAND | 0x02, 0x02, 0x03])
        return [good, bytes((flags,)) + struct.pack(">Q", declared), rng.randbytes(300)]
    # kind 5: the greeting trickled in pieces, then a truncated command
    cut = rng.randint(1, 63)
    return [good[:cut], good[cut:], _command(rng, NAMES[mechanism][0], sizes[0])[: sizes[0] // 2]]


@pytest.mark.timeout(live_timeout())
@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_raw_fuzz_then_good_client_round_trips(mechanism: str) -> None:
    rng = random.Random(f"{base_seed()}-{mechanism}")
    count = raw_inputs_per_mechanism()
    with live_server(mechanism) as server:
        assert round_trip(server, b"before") < 5.0  # positive control
        raws = []
        try:
            for index in range(count):
                raw = raw_connect(server.port)
                raws.append(raw)
                send_quietly(raw, protocol_shaped(mechanism, rng))
                round_trip(server, b"good-%d" % index)
                drain(raw)
                if len(raws) > 10:  # keep up to 10 raw peers hanging around at once
                    raws.pop(0).close()
        finally:
            for raw in raws:
                raw.close()
        round_trip(server, b"after")
        assert not server.sock.poll(50), "a raw peer's bytes reached the application"


def test_raw_fuzz_curve_then_pyzmq_client_round_trips() -> None:
    rng = random.Random(f"{base_seed()}-pyzmq")
    with live_server("CURVE") as server:
        raws = [raw_connect(server.port) for _ in range(10)]
        try:
            for raw in raws:
                send_quietly(raw, protocol_shaped("CURVE", rng))
            round_trip(server, b"libzmq peer", use_pyzmq=True)
        finally:
            for raw in raws:
                raw.close()
        round_trip(server, b"libzmq peer again", use_pyzmq=True)
