"""Property-based fuzzing of ZmtpConnection and the NULL / PLAIN / CURVE mechanisms, both roles.

Inputs: random bytes after a valid greeting, mutated versions of recorded valid transcripts
(replayed into a same-seeded connection, so unmutated replays complete: see harness.py), random
traffic after a completed handshake, and command bodies handed straight to a mechanism in each
reachable state. Chunkings are drawn by hypothesis. Allowed: events, or ConnectionFailed
carrying a ZmtpError that is not the connection's "internal error" catch-all (that one means a
foreign exception escaped a parser); mechanisms may raise only ZmtpError.
"""

from __future__ import annotations

import struct
from functools import cache

import pytest
from hypothesis import given
from hypothesis import strategies as st

from securemq.constants import ProtocolError
from securemq.zmtp.connection import ConnectionState
from securemq.zmtp.errors import ProtocolViolation, ZmtpError
from securemq.zmtp.events import ConnectionFailed, HandshakeComplete, ZapRequestNeeded
from securemq.zmtp.frames import COMMAND, encode_frame
from securemq.zmtp.greeting import encode_greeting
from securemq.zmtp.mechanisms.base import Mechanism
from securemq.zmtp.metadata import encode_metadata
from tests.fuzz.curve_client import RawCurveClient, frame, metadata_property
from tests.fuzz.fuzz_profile import fuzz_settings
from tests.fuzz.harness import (
    MECHANISMS,
    OK_REPLY,
    ROLES,
    SERVER_PUBLIC,
    Driver,
    InvariantBroken,
    Transcript,
    command_bodies,
    expected_message,
    make_connection,
    make_mechanism,
    peer_of,
    record,
)
from tests.fuzz.strategies import INTERESTING_U64, chunkings, mutated_segments

CASES = [(m, r) for m in MECHANISMS for r in ROLES]
CASE_IDS = [f"{m}-{r}" for m, r in CASES]


@cache
def transcript(mechanism: str) -> Transcript:
    return record(mechanism, seed=7)


def _greeting_for(mechanism: str, role: str) -> bytes:
    # What the *peer* of ``role`` sends first.
    return encode_greeting(mechanism.encode(), peer_of(role) == "server")


command_names = st.sampled_from(
    [b"READY", b"HELLO", b"WELCOME", b"INITIATE", b"ERROR", b"MESSAGE", b"PING", b"SUBSCRIBE",
     b"^RROR"]
)


@st.composite
def command_shaped(draw: st.DrawFn) -> bytes:
    """Frames that look like handshake commands: real names, random (often right-sized) data."""
    name = draw(command_names)
    sizes = [0, 1, 2, 30, 200 - 6, 168 - 8, 257 - 9, 300]  # HELLO, WELCOME, INITIATE data
    size = draw(st.sampled_from(sizes) | st.integers(0, 400))
    data = draw(st.binary(min_size=size, max_size=size))
    body = name if name == b"^RROR" else bytes((len(name),)) + name
    flags = draw(st.sampled_from([COMMAND, COMMAND, 0, COMMAND | 1]))
    return encode_frame(flags, body + data)


frames_or_noise = st.lists(
    st.one_of(
        command_shaped(),
        st.binary(max_size=64),
        st.sampled_from(INTERESTING_U64).map(lambda n: b"\x06" + struct.pack(">Q", n)),
    ),
    max_size=6,
).map(b"".join)


# -- random input after a valid greeting ------------------------------------------------------


@pytest.mark.parametrize(("mechanism", "role"), CASES, ids=CASE_IDS)
@fuzz_settings(100)
@given(data=st.data(), tail=frames_or_noise)
def test_random_input_after_greeting(
    mechanism: str, role: str, data: st.DataObject, tail: bytes
) -> None:
    driver = Driver(make_connection(mechanism, role, seed=7))
    driver.feed_all(data.draw(chunkings(_greeting_for(mechanism, role) + tail)))
    driver.feed(b"")  # EOF: always ends the connection cleanly
    assert driver.conn.state is ConnectionState.CLOSED
    assert driver.failure is not None


# -- mutated valid transcripts ----------------------------------------------------------------


@pytest.mark.parametrize(("mechanism", "role"), CASES, ids=CASE_IDS)
def test_unmutated_replay_completes(mechanism: str, role: str) -> None:
    """Positive control: the recorded peer side, replayed whole and bytewise, gets through."""
    segments = transcript(mechanism).sent_by[peer_of(role)]
    for bytewise in (False, True):
        driver = Driver(make_connection(mechanism, role, seed=7))
        for segment in segments:
            if bytewise:
                driver.feed_all([segment[i : i + 1] for i in range(len(segment))])
            else:
                driver.feed(segment)
        assert driver.failure is None and driver.handshake_done()
        assert driver.messages() == [expected_message(role)]


@pytest.mark.parametrize(("mechanism", "role"), CASES, ids=CASE_IDS)
@fuzz_settings(150)
@given(data=st.data())
def test_mutated_transcript(mechanism: str, role: str, data: st.DataObject) -> None:
    segments = data.draw(mutated_segments(transcript(mechanism).sent_by[peer_of(role)]))
    driver = Driver(make_connection(mechanism, role, seed=7))
    for segment in segments:
        driver.feed_all(data.draw(chunkings(segment)))


@pytest.mark.parametrize(("mechanism", "role"), CASES, ids=CASE_IDS)
@fuzz_settings(50)
@given(data=st.data(), tail=frames_or_noise)
def test_random_traffic_after_handshake(
    mechanism: str, role: str, data: st.DataObject, tail: bytes
) -> None:
    driver = Driver(make_connection(mechanism, role, seed=7))
    driver.feed_all(transcript(mechanism).sent_by[peer_of(role)])
    assert driver.handshake_done()
    driver.feed_all(data.draw(chunkings(tail)))


# -- mechanisms fed command bodies directly, in every reachable state -------------------------


def _reach(mechanism: str, role: str, steps: int) -> tuple[Mechanism, list[bytes]]:
    """A fresh mechanism after ``steps`` recorded peer commands; also the peer's bodies."""
    bodies = command_bodies(transcript(mechanism).sent_by[peer_of(role)])
    mech = make_mechanism(mechanism, role, seed=7)
    mech.next_commands()
    for body in bodies[:steps]:
        mech.process_command(body)
        if mech.zap_request is not None and not mech.ready:
            mech.zap_reply(OK_REPLY)
        mech.next_commands()
    return mech, bodies


@cache
def _handshake_steps(mechanism: str, role: str) -> int:
    """How many peer commands the mechanism in ``role`` takes to become ready."""
    for steps in range(1, 6):
        if _reach(mechanism, role, steps)[0].ready:
            return steps
    raise AssertionError(f"{mechanism} {role}: recorded handshake never completes")


@pytest.mark.parametrize(("mechanism", "role"), CASES, ids=CASE_IDS)
@fuzz_settings(150)
@given(data=st.data())
def test_mechanism_process_command_raises_only_zmtp_errors(
    mechanism: str, role: str, data: st.DataObject
) -> None:
    steps = data.draw(st.integers(0, _handshake_steps(mechanism, role) - 1))
    mech, bodies = _reach(mechanism, role, steps)
    assert not mech.ready
    base = bodies[steps] if steps < len(bodies) else b"\x05READY"
    body = data.draw(
        st.one_of(
            mutated_segments([base]).map(b"".join),
            command_shaped().map(lambda f: f[2:] if not f[0] & 0x02 else f[9:]),
            st.binary(max_size=300),
        )
    )
    try:
        mech.process_command(body)
    except ZmtpError:
        return


# -- CURVE INITIATE with correctly boxed, malformed metadata (CVE-2019-13132 class) -----------

metadata_blobs = st.one_of(
    st.binary(max_size=300),
    st.lists(
        st.tuples(
            st.sampled_from([b"Socket-Type", b"Identity", b"X", b"", b"bad name", b"\xff" * 3]),
            st.sampled_from([b"DEALER", b"PUSH", b"", b"v" * 100]),
            st.one_of(st.none(), st.sampled_from([0, 7, 0x7FFFFFFF, 0xFFFFFFFF])),
        ),
        max_size=4,
    ).map(lambda items: b"".join(metadata_property(n, v, d) for n, v, d in items)),
)


def _curve_server_until_welcome() -> tuple[Driver, RawCurveClient, bytes]:
    driver = Driver(make_connection("CURVE", "server", seed=3))
    client = RawCurveClient(SERVER_PUBLIC)
    driver.feed(encode_greeting(b"CURVE", False) + frame(client.hello()))
    out = b"".join(driver.conn.data_to_send())[64:]
    assert out[0] & COMMAND
    return driver, client, out[2:]


def test_raw_curve_client_positive_control() -> None:
    driver, client, welcome = _curve_server_until_welcome()
    metadata = encode_metadata({"Socket-Type": b"DEALER"})
    driver.feed(frame(client.initiate(welcome, metadata)))
    assert driver.handshake_done() and driver.failure is None
    ready = b"".join(driver.conn.data_to_send())
    assert b"ROUTER" in client.open_ready(ready[2:])
    driver.feed(encode_frame(0, client.message(b"boxed hello")))
    assert driver.messages() == [[b"boxed hello"]]


@fuzz_settings(150)
@given(metadata=metadata_blobs)
def test_curve_initiate_with_malformed_metadata(metadata: bytes) -> None:
    driver, client, welcome = _curve_server_until_welcome()
    driver.feed(frame(client.initiate(welcome, metadata)))
    failure = driver.failure
    if failure is None:
        assert driver.handshake_done()
        return
    assert isinstance(failure.error, ProtocolViolation)
    assert failure.error.code == ProtocolError.ZMTP_INVALID_METADATA


def test_curve_initiate_metadata_pointing_past_the_end() -> None:
    driver, client, welcome = _curve_server_until_welcome()
    lying = metadata_property(b"Socket-Type", b"DEALER") + metadata_property(
        b"X", b"short", declared=0xFFFFFFF0
    )
    driver.feed(frame(client.initiate(welcome, lying)))
    failure = driver.failure
    assert isinstance(failure, ConnectionFailed) and failure.during_handshake
    assert failure.error.value == ProtocolError.ZMTP_INVALID_METADATA
    assert not any(isinstance(e, (HandshakeComplete, ZapRequestNeeded)) for e in driver.events)


# -- the harness itself can fail ---------------------------------------------------------------


def test_harness_flags_a_foreign_exception(monkeypatch: pytest.MonkeyPatch) -> None:
    """If a parser raised e.g. IndexError, the connection would hide it as "internal error";
    the driver must refuse that outcome (else every property above would pass vacuously)."""
    import securemq.zmtp.mechanisms.null as null_module

    def broken(data: bytes, code: ProtocolError = ProtocolError.ZMTP_INVALID_METADATA) -> None:
        raise IndexError("simulated parser bug")

    monkeypatch.setattr(null_module, "decode_metadata", broken)
    driver = Driver(make_connection("NULL", "server", seed=7))
    with pytest.raises(InvariantBroken, match="non-ZmtpError"):
        driver.feed_all(transcript("NULL").sent_by["client"])
