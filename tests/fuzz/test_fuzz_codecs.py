"""Property-based fuzzing of the stateless and incremental codecs.

Frame decoder, greeting parser, command and metadata codecs, the ZAP codec, Z85 and certificate
files. The only allowed outcomes are a result or the documented error (ZmtpError family for
the ZMTP codecs, ValueError for ZAP requests, Z85 and certificates). Incremental parsers are fed
whole and in hypothesis-drawn chunkings and must agree with themselves; buffered input stays
proportional to what was fed; a declared size is never allocated.
"""

from __future__ import annotations

import struct
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from securemq import certs, z85
from securemq.constants import ProtocolError
from securemq.zmtp.commands import command_name, decode_command, encode_command
from securemq.zmtp.errors import ProtocolViolation, ZmtpError
from securemq.zmtp.frames import FrameDecoder, encode_message
from securemq.zmtp.greeting import GreetingParser, encode_greeting
from securemq.zmtp.metadata import decode_metadata, encode_metadata
from securemq.zmtp.zap import (
    decode_reply,
    decode_request,
    encode_reply,
    encode_request,
)
from tests.fuzz.fuzz_profile import fuzz_settings
from tests.fuzz.strategies import INTERESTING_U64, chunkings, mutated_segments

Outcome = tuple[str, Any]

# -- frames -----------------------------------------------------------------------------------

frame_headers = st.one_of(
    st.tuples(st.integers(0, 255), st.integers(0, 255)).map(bytes),
    st.tuples(st.integers(0, 255), st.sampled_from(INTERESTING_U64)).map(
        lambda fs: bytes((fs[0] | 0x02,)) + struct.pack(">Q", fs[1])
    ),
)
frame_streams = st.lists(
    st.one_of(st.binary(max_size=300), frame_headers), max_size=12
).map(b"".join)


def _decode_frames(chunks: list[bytes], limit: int) -> tuple[Outcome, int]:
    """Feed every chunk; (outcome, max bytes buffered minus bytes fed so far)."""
    decoder = FrameDecoder(limit)
    frames: list[tuple[int, bytes]] = []
    fed = 0
    worst = 0
    try:
        for chunk in chunks:
            fed += len(chunk)
            frames += decoder.feed(chunk)
            held = len(decoder._head) + sum(len(p) for p in decoder._parts or ())
            worst = max(worst, held - fed)
    except ProtocolViolation as exc:
        return ("error", exc.code), worst
    return ("frames", (frames, decoder.pending)), worst


@fuzz_settings(300)
@given(data=st.data(), stream=frame_streams, limit=st.sampled_from([-1, 0, 255, 1000, 1 << 20]))
def test_frame_decoder_any_bytes_any_chunking(
    data: st.DataObject, stream: bytes, limit: int
) -> None:
    whole, _ = _decode_frames([stream], limit)
    chunked, worst = _decode_frames(data.draw(chunkings(stream)), limit)
    assert chunked == whole
    assert worst <= 0, "the decoder buffered more than it was fed"


@fuzz_settings(200)
@given(
    data=st.data(),
    frames=st.lists(st.binary(max_size=700), min_size=1, max_size=6),
    commands=st.lists(st.binary(min_size=1, max_size=40), max_size=3),
)
def test_frame_messages_round_trip_any_chunking(
    data: st.DataObject, frames: list[bytes], commands: list[bytes]
) -> None:
    command_frames = b"".join(b"\x04" + bytes((len(c),)) + c for c in commands)
    stream = command_frames + encode_message(frames) + encode_message([b"tail"])
    decoder = FrameDecoder(-1)
    out: list[list[bytes]] = []
    seen: list[bytes] = []

    def on_command(body: bytes, _out: list[list[bytes]]) -> None:
        seen.append(body)

    for chunk in data.draw(chunkings(stream)):
        decoder.feed_messages(chunk, out, on_command)
    assert out == [frames, [b"tail"]]
    assert seen == commands
    assert not decoder.pending


@pytest.mark.parametrize("declared", [1 << 31, 1 << 40, 1 << 60, (1 << 64) - 1])
def test_declared_huge_frame_is_never_allocated(declared: int) -> None:
    header = b"\x02" + struct.pack(">Q", declared)
    body_part = b"z" * 4096
    tracemalloc.start()
    try:
        decoder = FrameDecoder(-1)
        for index in range(len(header)):  # one byte at a time, then some body
            assert decoder.feed(header[index : index + 1]) == []
        for _ in range(16):
            assert decoder.feed(body_part) == []
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert decoder.pending
    assert peak < 1 << 20, f"decoding a {declared}-byte declaration allocated {peak} bytes"
    limited = FrameDecoder(1 << 20)
    with pytest.raises(ProtocolViolation, match="exceeds"):
        limited.feed(header)


# -- greeting ---------------------------------------------------------------------------------

GOOD_GREETING = encode_greeting(b"CURVE", False)


def _parse_greeting(chunks: list[bytes]) -> Outcome:
    parser = GreetingParser()
    rest: bytes | None = None
    try:
        for chunk in chunks:
            got = parser.feed(chunk)
            rest = got if rest is None else rest + (got or b"")
            assert len(parser._buf) <= 64
    except ProtocolViolation as exc:
        return ("error", exc.code)
    return ("done", (parser.greeting, rest))


@fuzz_settings(300)
@given(
    data=st.data(),
    stream=st.one_of(
        st.binary(max_size=200),
        mutated_segments([GOOD_GREETING + b"after"]).map(b"".join),
    ),
)
@example(data=None, stream=b"\x01\x00" + b"\xff" * 100)  # ZMTP/1.0-looking start
def test_greeting_parser_any_bytes_any_chunking(data: st.DataObject | None, stream: bytes) -> None:
    whole = _parse_greeting([stream])
    if data is None:
        assert whole[0] == "error"
        return
    assert _parse_greeting(data.draw(chunkings(stream))) == whole
    if whole[0] == "done" and whole[1][0] is not None:
        assert len(stream) >= 64 and whole[1][1] == stream[64:]


# -- commands and metadata --------------------------------------------------------------------


@fuzz_settings(300)
@given(body=st.binary(max_size=300))
def test_command_codec_any_bytes(body: bytes) -> None:
    try:
        name, data = decode_command(body)
    except ProtocolViolation:
        assert command_name(body) is None
        return
    assert command_name(body) == name
    assert encode_command(name, data) == body


metadata_items = st.tuples(
    st.binary(min_size=0, max_size=12),  # name (may be empty or invalid)
    st.one_of(st.none(), st.sampled_from([0, 1, 0x7FFFFFFF, 0xFFFFFFFF]), st.integers(0, 64)),
    st.binary(max_size=40),  # actual value bytes
)


def _raw_metadata(items: list[tuple[bytes, int | None, bytes]]) -> bytes:
    """Properties whose name length and value length may lie (None: tell the truth)."""
    parts = []
    for name, declared, value in items:
        size = len(value) if declared is None else declared
        parts.append(bytes((len(name),)) + name + struct.pack(">I", size) + value)
    return b"".join(parts)


@fuzz_settings(300)
@given(
    raw=st.one_of(
        st.binary(max_size=200),
        st.lists(metadata_items, max_size=5).map(_raw_metadata),
        st.lists(metadata_items, min_size=1, max_size=5)
        .map(_raw_metadata)
        .flatmap(lambda b: mutated_segments([b]).map(b"".join)),
    )
)
def test_metadata_decoder_any_bytes(raw: bytes) -> None:
    try:
        props = decode_metadata(raw)
    except ProtocolViolation as exc:
        assert exc.code == ProtocolError.ZMTP_INVALID_METADATA
        return
    assert sum(len(k) + len(v) for k, v in props.items()) <= len(raw)
    # What decodes re-encodes to a stream that decodes to the same properties.
    assert decode_metadata(encode_metadata(props)) == props


# -- ZAP codec --------------------------------------------------------------------------------

zap_frames = st.lists(
    st.one_of(
        st.sampled_from([b"", b"1.0", b"1", b"200", b"300", b"400", b"500", b"OK", b"x" * 300]),
        st.binary(max_size=40),
        st.lists(metadata_items, max_size=3).map(_raw_metadata),
    ),
    max_size=9,
)


@fuzz_settings(300)
@given(frames=zap_frames)
def test_zap_decode_reply_any_frames(frames: list[bytes]) -> None:
    try:
        reply = decode_reply(frames)
    except ProtocolViolation as exc:
        assert ProtocolError.ZAP_UNSPECIFIED <= exc.code <= ProtocolError.ZAP_INVALID_METADATA
        return
    assert len(frames) == 6 and reply.status_code in (b"200", b"300", b"400", b"500")
    again = encode_reply(
        request_id=frames[1],
        status_code=reply.status_code,
        status_text=reply.status_text,
        user_id=reply.user_id,
        metadata=reply.metadata,
    )
    assert decode_reply(again, frames[1]) == reply


@fuzz_settings(300)
@given(frames=zap_frames)
def test_zap_decode_request_any_frames(frames: list[bytes]) -> None:
    try:
        request = decode_request(frames)
    except ValueError:
        return
    rebuilt = encode_request(
        domain=request.domain,
        address=request.address,
        routing_id=request.routing_id,
        mechanism=request.mechanism,
        credentials=request.credentials,
        request_id=request.request_id,
    )
    assert rebuilt == list(frames)


# -- Z85 --------------------------------------------------------------------------------------

Z85_CHARS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#"


@fuzz_settings(300)
@given(
    text=st.one_of(
        st.binary(max_size=60),
        st.text(max_size=60),
        st.text(alphabet=Z85_CHARS, max_size=60),
        st.text(alphabet=Z85_CHARS, max_size=12).map(lambda s: s * 5),
    )
)
def test_z85_decode_any_input(text: bytes | str) -> None:
    try:
        raw = z85.decode(text)
    except ValueError:
        return
    encoded = text.encode("ascii") if isinstance(text, str) else text
    assert len(raw) * 5 == len(encoded) * 4
    assert z85.encode(raw) == encoded


@fuzz_settings(200)
@given(raw=st.binary(max_size=64), key=st.one_of(st.binary(max_size=48), st.text(max_size=48)))
def test_z85_encode_round_trip_and_key_bytes(raw: bytes, key: bytes | str) -> None:
    whole = raw[: len(raw) // 4 * 4]
    assert z85.decode(z85.encode(whole)) == whole
    try:
        assert len(z85.key_bytes(key)) == 32
    except ValueError:
        pass


# -- certificate files ------------------------------------------------------------------------

PASSPHRASE = b"fuzz passphrase"


@pytest.fixture(scope="module")
def cert_texts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    directory = tmp_path_factory.mktemp("fuzz-certs")
    public, secret = certs.create_certificates(directory, "plain", {"name": "fuzz"})
    _, sealed = certs.create_certificates(directory, "sealed", passphrase=PASSPHRASE, kdf_cost=10)
    return {
        "public": Path(public).read_bytes(),
        "secret": Path(secret).read_bytes(),
        "sealed": Path(sealed).read_bytes(),
    }


@pytest.fixture
def bounded_kdf(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int, int]]:
    """Run the real scrypt only at the cost the fixture files use; a mutated file asking for
    more gets a wrong key (its parameters are recorded so a test can check the bound)."""
    real = certs._derive
    asked: list[tuple[int, int, int]] = []

    def derive(passphrase: bytes, salt: bytes, cost: int, r: int, p: int) -> bytes:
        asked.append((cost, r, p))
        if (cost, r, p) == (10, 8, 1):
            return real(passphrase, salt, cost, r, p)
        return bytes(32)

    monkeypatch.setattr(certs, "_derive", derive)
    return asked


def test_certificate_fixtures_load(
    cert_texts: dict[str, bytes], tmp_path: Path, bounded_kdf: list[tuple[int, int, int]]
) -> None:
    """Positive control: the unmutated files load (with the passphrase for the sealed one)."""
    for kind, text in cert_texts.items():
        path = tmp_path / f"c.{kind}"
        path.write_bytes(text)
        public, secret = certs.load_certificate(path, PASSPHRASE)
        assert len(public) == 40 and (secret is None) == (kind == "public")
    assert bounded_kdf == [(10, 8, 1)]


@fuzz_settings(150)
@given(data=st.data())
def test_load_certificate_any_contents(
    data: st.DataObject,
    cert_texts: dict[str, bytes],
    tmp_path_factory: pytest.TempPathFactory,
    bounded_kdf: list[tuple[int, int, int]],
) -> None:
    kind = data.draw(st.sampled_from(["random", "public", "secret", "sealed"]))
    if kind == "random":
        text = data.draw(st.binary(max_size=400) | st.text(max_size=200).map(str.encode))
    else:
        text = b"".join(data.draw(mutated_segments([cert_texts[kind]])))
    path = tmp_path_factory.getbasetemp() / "fuzzed.key_secret"
    path.write_bytes(text)
    try:
        public, secret = certs.load_certificate(path, PASSPHRASE)
    except ValueError:
        return
    assert len(z85.decode(public)) == 32
    if secret is not None:
        assert z85.curve_public(secret) == public


def test_sealed_certificate_kdf_cost_is_bounded(
    cert_texts: dict[str, bytes], tmp_path: Path, bounded_kdf: list[tuple[int, int, int]]
) -> None:
    """A file may not make us run scrypt with more than 256 MiB of memory or work: scrypt needs
    128 * r * N bytes per pass and makes p passes, so the worst accepted file stays under it."""
    text = cert_texts["sealed"].decode()
    text = text.replace('kdf-log2-n = "10"', f'kdf-log2-n = "{certs.MAX_KDF_COST}"')
    text = text.replace('kdf-r = "8"', f'kdf-r = "{certs._MAX_R}"')
    path = tmp_path / "greedy.key_secret"
    path.write_text(text)
    with pytest.raises(ValueError):
        certs.load_certificate(path, PASSPHRASE)
    for cost, r, p in bounded_kdf:
        memory = 128 * r * (2**cost)
        assert memory <= 256 << 20 and memory * p <= 256 << 20, (
            f"certs: a file made us run scrypt N=2**{cost} r={r} p={p} ({memory >> 20} MiB)"
        )


def test_certificate_too_large_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "huge.key"
    path.write_bytes(b"curve\n    public-key = \"" + b"0" * (1 << 20) + b"\"\n")
    with pytest.raises(ValueError, match="larger than"):
        certs.load_certificate(path)


def test_zmtp_error_family_is_what_codecs_raise() -> None:
    """Sanity: the error the codec tests accept belongs to the project's own family."""
    assert issubclass(ProtocolViolation, ZmtpError)
