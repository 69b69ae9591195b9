"""Z85 (RFC 32) and CURVE key helpers, cross-checked against pyzmq."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from securemq import z85

VECTOR_RAW = bytes.fromhex("864FD26FB559F75B")
VECTOR_TEXT = b"HelloWorld"


def test_rfc32_vector() -> None:
    assert z85.encode(VECTOR_RAW) == VECTOR_TEXT
    assert z85.decode(VECTOR_TEXT) == VECTOR_RAW
    assert z85.decode(VECTOR_TEXT.decode()) == VECTOR_RAW


def test_empty() -> None:
    assert z85.encode(b"") == b"" and z85.decode(b"") == b""


def test_extremes() -> None:
    assert z85.decode(z85.encode(b"\xff" * 4)) == b"\xff" * 4
    assert z85.encode(b"\x00" * 4) == b"00000"


@given(st.binary(max_size=256).map(lambda b: b[: len(b) - len(b) % 4]))
def test_round_trip(data: bytes) -> None:
    assert z85.decode(z85.encode(data)) == data


@pytest.mark.parametrize("raw", [b"x", b"abc", b"abcde"])
def test_encode_bad_length(raw: bytes) -> None:
    with pytest.raises(ValueError):
        z85.encode(raw)


@pytest.mark.parametrize(
    "text",
    [
        b"Hell",
        b"HelloWorl",
        b"Hello\x00orld",
        b"Hello orld",
        "Hellö",
        b"Hello~orld",
        b"Hello_orld",  # (~ _ ; ` | are base85's RFC 1924 digits, not Z85's)
        b"Hello;orld",
        b"%%%%%",
    ],  # %%%%% is 85**5-1 > 2**32-1
)
def test_decode_invalid(text: bytes | str) -> None:
    with pytest.raises(ValueError):
        z85.decode(text)


def test_decode_errors_name_the_offset_not_the_character() -> None:
    with pytest.raises(ValueError, match=r"invalid character at offset 7$"):
        z85.decode(b"HelloWo|ld")
    with pytest.raises(ValueError, match="block at offset 5 exceeds 32 bits"):
        z85.decode(b"00000%%%%%")


def test_keypair_and_public_are_consistent() -> None:
    public, secret = z85.curve_keypair()
    assert len(public) == len(secret) == 40
    assert z85.curve_public(secret) == public
    assert z85.curve_public(z85.decode(secret)) == public
    with pytest.raises(ValueError):
        z85.curve_public(b"short")


try:
    import zmq
except ImportError:  # pragma: no cover - pyzmq is a test dependency
    zmq = None  # type: ignore[assignment]
needs_pyzmq = pytest.mark.skipif(zmq is None, reason="pyzmq (the libzmq peer) is not installed")


@needs_pyzmq
@needs_pyzmq
@given(st.binary(min_size=0, max_size=128).map(lambda b: b[: len(b) - len(b) % 4]))
def test_matches_pyzmq(data: bytes) -> None:
    from zmq.utils import z85 as pyzmq_z85

    assert z85.encode(data) == pyzmq_z85.encode(data)
    assert z85.decode(pyzmq_z85.encode(data)) == data


@needs_pyzmq
def test_curve_keys_match_pyzmq() -> None:
    public, secret = zmq.curve_keypair()
    assert z85.curve_public(secret) == public
    ours_public, ours_secret = z85.curve_keypair()
    assert zmq.curve_public(ours_secret) == ours_public
