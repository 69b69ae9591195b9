"""ZMTP-CURVE (RFC 25) carrying CurveZMQ (RFC 26), both roles, sans-IO, byte-exact with libzmq 4.3.

How this works. Long-term keys: client C/c, server S/s; short-term (per connection) C'/c', S'/s'.

  client                                              server
  HELLO    v1.0, 72 zero bytes, C', n, Box[64 zeros](C'->S)            (200 bytes)
           WELCOME  16-byte nonce, Box[S' + cookie](S->C')            (168 bytes)
                    cookie = 16-byte nonce + SecretBox[C' + s'](cookie key)
  INITIATE cookie, n, Box[C + vouch nonce + Box[C' + S](C->S') + metadata](C'->S')
           READY    n, Box[metadata](S'->C')   -- only after ZAP says 200, where asked
  MESSAGE  n, Box[flags + payload](C'<->S')    -- both ways, after READY

``n`` is an 8-byte big-endian counter (ours starts at 1; the peer's must strictly increase). The
full 24-byte nonces are a 16-byte (short nonce) or 8-byte (long nonce) prefix plus that value.
The shared key C'/S' is precomputed once (``beforenm``) for INITIATE, READY and all traffic,
and so is C'/S for HELLO and WELCOME (one scalar multiplication fewer per side than libzmq,
which boxes and opens those two with the long-term key each time).
Every crypto failure (a box that does not open, a cookie or vouch that does not match, an
all-zero key) is ``ProtocolViolation(ZMTP_CRYPTOGRAPHIC)``; lengths and names are checked first
with the same codes as libzmq. Secrets never appear in messages.

Server key rotation (securemq; off unless the server is given several key pairs): a server may
hold several long-term key pairs (``server_keypairs``, e.g. the new one and the old one during
an overlap window). HELLO is boxed to one server public key, so the server tries every secret
key on the HELLO box -- all of them, whichever opens (no early exit, so the time taken does not
say which one matched) -- and continues with the pair that opened it: WELCOME is boxed with that
secret, and INITIATE's vouch must name that public key. Errors never say which key matched.

The client side of rotation lives above (io/mechanisms.py picks the server key for each new
connection); the mechanism reports what it learnt about its server key in
``server_key_status``: ``UNUSED`` (HELLO was never handed out: the connection ended before the
greeting was done), ``UNANSWERED`` (HELLO went out and no WELCOME opened -- what a server that
does not hold the key does: it hangs up, or stays silent), ``CONFIRMED`` (WELCOME opened: the
server holds the secret of this key).
"""

from __future__ import annotations

import errno
import hmac
import os
import struct
from collections.abc import Callable, Iterable, Sequence
from enum import Enum, auto
from typing import Any, ClassVar

from nacl.bindings import (
    crypto_box,
    crypto_box_beforenm,
    crypto_box_open,
    crypto_scalarmult_base,
    crypto_secretbox,
    crypto_secretbox_open,
)
from nacl.exceptions import CryptoError

from ... import z85
from ...constants import ProtocolError
from ...safetext import quoted
from ..commands import decode_command
from ..errors import NoDetailFailure, ProtocolViolation, UsageError, ZmtpError
from ..metadata import decode_metadata, encode_metadata
from ..zap import failure_for_error_command, failure_for_status
from .base import Mechanism, ZapReplyData, ZapRequestData, ZapSettings, check_peer_properties

try:  # libsodium's "easy" variants skip the 16/32 zero-byte padding copies
    from nacl.bindings import crypto_box_easy_afternm as _box_afternm
    from nacl.bindings import crypto_box_open_easy_afternm as _open_afternm
except ImportError:  # pragma: no cover - PyNaCl < 1.6
    from nacl.bindings import crypto_box_afternm as _box_afternm
    from nacl.bindings import crypto_box_open_afternm as _open_afternm

from ..frames import encode_frame
from .fastbox import FAST_BOX, BadMessage

# MESSAGE boxes (the per-message cost) go through libsodium directly when possible.
_FAST = FAST_BOX

RandomBytes = Callable[[int], bytes]

# Command prefixes (name-size byte + name) and sizes, as libzmq.
HELLO_PREFIX = b"\x05HELLO"
WELCOME_PREFIX = b"\x07WELCOME"
INITIATE_PREFIX = b"\x08INITIATE"
READY_PREFIX = b"\x05READY"
MESSAGE_PREFIX = b"\x07MESSAGE"
HELLO_SIZE = 200
WELCOME_SIZE = 168
INITIATE_MIN_SIZE = 257  # 9 + 96 cookie + 8 nonce + 16 MAC + 128 (C + vouch nonce + vouch)
READY_MIN_SIZE = 30  # 6 + 8 nonce + 16 MAC
MESSAGE_MIN_SIZE = 33  # 8 + 8 nonce + 16 MAC + 1 flags byte
HELLO_VERSION = b"\x01\x00"
HELLO_PADDING = 72

# Nonce prefixes (RFC 26).
NONCE_HELLO = b"CurveZMQHELLO---"
NONCE_WELCOME = b"WELCOME-"
NONCE_COOKIE = b"COOKIE--"
NONCE_INITIATE = b"CurveZMQINITIATE"
NONCE_VOUCH = b"VOUCH---"
NONCE_READY = b"CurveZMQREADY---"
NONCE_MESSAGE_CLIENT = b"CurveZMQMESSAGEC"
NONCE_MESSAGE_SERVER = b"CurveZMQMESSAGES"

FLAG_MORE = 0x01
FLAG_COMMAND = 0x02
_FLAG_MASK = FLAG_MORE | FLAG_COMMAND
# libzmq reports a replayed or reordered MESSAGE nonce with this code (curve_mechanism_base.cpp).
REPLAY_CODE = ProtocolError.ZMTP_INVALID_SEQUENCE

_pack_nonce = struct.Struct(">Q").pack
_unpack_nonce_at = struct.Struct(">Q").unpack_from
_CRYPTO = ProtocolError.ZMTP_CRYPTOGRAPHIC


class ServerKeyStatus(Enum):
    """What a CURVE client learnt about its server key on one connection (see the module doc)."""

    UNUSED = auto()
    UNANSWERED = auto()
    CONFIRMED = auto()


class _State(Enum):
    EXPECT_HELLO = auto()
    EXPECT_INITIATE = auto()
    WAIT_ZAP = auto()
    EXPECT_WELCOME = auto()
    EXPECT_READY = auto()
    READY = auto()


# The command each state accepts; anything else is UNEXPECTED_COMMAND.
_EXPECTED: dict[_State, frozenset[bytes]] = {
    _State.EXPECT_HELLO: frozenset({b"HELLO"}),
    _State.EXPECT_INITIATE: frozenset({b"INITIATE"}),
    _State.WAIT_ZAP: frozenset(),
    _State.EXPECT_WELCOME: frozenset({b"WELCOME", b"ERROR"}),
    _State.EXPECT_READY: frozenset({b"READY", b"ERROR"}),
    _State.READY: frozenset(),
}


def _key(key: bytes | str | None, what: str) -> bytes:
    if key is None:
        raise UsageError(f"CURVE: {what} is required")
    try:
        return z85.key_bytes(key, what)
    except ValueError:
        raise UsageError(f"CURVE: {what} must be 32 raw bytes or 40 Z85 characters") from None


def _malformed_message(body: bytes) -> ProtocolViolation:
    """The error for a traffic frame that is not a well-formed MESSAGE, checked as libzmq."""
    size = len(body)
    if size <= 1 or size <= body[0]:
        return ProtocolViolation(
            "CURVE: traffic frame is not a command",
            ProtocolError.ZMTP_MALFORMED_COMMAND_UNSPECIFIED,
        )
    if body[:8] != MESSAGE_PREFIX:
        return ProtocolViolation(
            "CURVE: traffic frame is not a MESSAGE", ProtocolError.ZMTP_UNEXPECTED_COMMAND
        )
    return ProtocolViolation(
        f"CURVE: MESSAGE of {size} bytes is shorter than {MESSAGE_MIN_SIZE}",
        ProtocolError.ZMTP_MALFORMED_COMMAND_MESSAGE,
    )


def _crypto_failure(step: str) -> ProtocolViolation:
    return ProtocolViolation(f"CURVE: {step}", _CRYPTO)


def _replayed() -> ProtocolViolation:
    return ProtocolViolation(
        "CURVE: MESSAGE nonce did not increase (replayed or reordered)", REPLAY_CODE
    )


def _bad_message(bad: BadMessage) -> ProtocolViolation:
    if bad.reason == BadMessage.MALFORMED:
        return _malformed_message(bad.body)
    if bad.reason == BadMessage.REPLAYED:
        return _replayed()
    return _crypto_failure("MESSAGE box does not open")


class CurveMechanism(Mechanism):
    """CURVE in one role. Keys are 32 raw bytes (40 Z85 characters are accepted too)."""

    name = b"CURVE"
    transforms_traffic = True
    # libzmq's CURVE peers spell ERROR correctly (compare PlainMechanism.error_command_prefix).
    error_command_prefix: ClassVar[bytes] = b"\x05ERROR"

    def __init__(
        self,
        *,
        as_server: bool,
        properties: dict[str, bytes],
        zap: ZapSettings | None = None,
        public_key: bytes | str | None = None,
        secret_key: bytes | str | None = None,
        server_key: bytes | str | None = None,
        server_keypairs: Sequence[tuple[bytes | str, bytes | str]] | None = None,
        random_bytes: RandomBytes = os.urandom,
    ) -> None:
        super().__init__(as_server=as_server, properties=properties, zap=zap or ZapSettings())
        if server_keypairs:
            # Rotation: every (public, secret) pair is tried on HELLO (server role only).
            if not as_server:
                raise UsageError("CURVE: only a server holds several key pairs")
            self._keypairs = tuple(
                (_key(public, "public key"), _key(secret, "secret key"))
                for public, secret in server_keypairs
            )
            self._public, self._secret = self._keypairs[0]
        else:
            self._public = _key(public_key, "public key")
            self._secret = _key(secret_key, "secret key")
            self._keypairs = ((self._public, self._secret),)
        # Client role: what this connection learnt about the server key (see the module doc).
        self.server_key_status = ServerKeyStatus.UNUSED
        self._random = random_bytes
        self._outbox: list[bytes] = []
        self._pending_failure: ZmtpError | None = None
        self._nonce = 1  # our short-nonce counter
        self._peer_nonce = 0  # highest short nonce seen from the peer
        self._precom = b""  # beforenm(peer short-term public, our short-term secret)
        self._hello_key = b""  # beforenm of C' and S (HELLO and WELCOME)
        # Reusable buffers C writes boxes into: one to open, one to seal (each used under the
        # connection's lock, but reading and sending must not share one).
        self._scratch = _FAST.new_scratch() if _FAST is not None else None
        self._seal_scratch = _FAST.new_scratch() if _FAST is not None else None
        # Short-term keys: ours (generated per connection) and the peer's.
        self._short_secret = b""
        self._short_public = b""
        self._peer_short = b""
        self._cookie_key = b""
        self.client_key = b""  # server role: the client's long-term public key, once verified
        if as_server:
            self._server_key = self._public
            self._send_prefix, self._recv_prefix = NONCE_MESSAGE_SERVER, NONCE_MESSAGE_CLIENT
            self._state = _State.EXPECT_HELLO
        else:
            self._server_key = _key(server_key, "server key")
            self._send_prefix, self._recv_prefix = NONCE_MESSAGE_CLIENT, NONCE_MESSAGE_SERVER
            self._state = _State.EXPECT_WELCOME
            try:
                self._new_short_keys()
                self._outbox.append(self._hello())
            except CryptoError:
                # Raised from next_commands(), where the connection handles ZmtpErrors.
                self._pending_failure = _crypto_failure("cannot box HELLO (bad server key?)")

    # -- the seam ----------------------------------------------------------------------------

    def next_commands(self) -> list[bytes]:
        if self._pending_failure is not None:
            failure, self._pending_failure = self._pending_failure, None
            raise failure
        out, self._outbox = self._outbox, []
        if out and not self.as_server and self.server_key_status is ServerKeyStatus.UNUSED:
            self.server_key_status = ServerKeyStatus.UNANSWERED  # HELLO is on its way
        return out

    def process_command(self, body: bytes) -> None:
        name, data = decode_command(body)
        if name not in _EXPECTED[self._state]:
            raise ProtocolViolation(
                f"CURVE: unexpected {quoted(name, 32)} command "
                f"in state {self._state.name}",
                ProtocolError.ZMTP_UNEXPECTED_COMMAND,
            )
        if name == b"ERROR":
            raise failure_for_error_command("CURVE", data)
        handler = {
            b"HELLO": self._on_hello,
            b"INITIATE": self._on_initiate,
            b"WELCOME": self._on_welcome,
            b"READY": self._on_ready,
        }[name]
        try:
            handler(bytes(body))
        except CryptoError:
            # A key libsodium refuses (all-zero or low-order point) or a failed box.
            raise _crypto_failure(f"{quoted(name, 32)} failed a cryptographic step") from None

    def zap_reply(self, reply: ZapReplyData) -> None:
        if self._state is not _State.WAIT_ZAP:
            raise UsageError("CURVE: ZAP reply given while no ZAP request is pending")
        self.zap_request = None
        failure = failure_for_status("CURVE", reply)
        if failure is not None:
            raise failure
        self.user_id = reply.user_id
        self.zap_properties = dict(reply.metadata)
        self._send_ready()

    def encode_frame(self, flags: int, body: bytes) -> bytes:
        if not self.ready:
            raise UsageError("CURVE: cannot send traffic before the handshake is done")
        short = _pack_nonce(self._nonce)
        self._nonce += 1
        plaintext = bytes((flags & _FLAG_MASK,)) + body
        return MESSAGE_PREFIX + short + _box_afternm(plaintext, self._send_prefix + short,
                                                     self._precom)

    def box_frames(self, frames: Iterable[tuple[int, bytes]], out: list[Any]) -> None:
        """Whole wire frames, one MESSAGE per (flags, body), appended to ``out`` (hot path)."""
        if not self.ready:
            raise UsageError("CURVE: cannot send traffic before the handshake is done")
        scratch = self._seal_scratch
        if _FAST is None or scratch is None:
            for flags, body in frames:
                out.append(encode_frame(0, self.encode_frame(flags, body)))
            return
        try:
            self._nonce = _FAST.seal_frames(
                frames, self._nonce, self._send_prefix, self._precom, out, scratch
            )
        except BaseException:
            # Nonces of the frames sealed so far are spent: never send on this key again.
            self.ready = False
            raise

    def decode_frame(self, body: bytes) -> tuple[int, bytes]:
        out: list[tuple[int, bytes]] = []
        self.decode_frames(((0, body),), out)
        return out[0]

    def decode_frames(
        self, frames: Iterable[tuple[int, bytes]], out: list[tuple[int, bytes]]
    ) -> None:
        """Open each MESSAGE (wire flags, command body) into ``out`` as (flags, body), in order;
        raises at the first bad one, with the frames before it already in ``out``."""
        if not self.ready:
            raise UsageError("CURVE: cannot read traffic before the handshake is done")
        if _FAST is not None and self._scratch is not None:
            try:
                self._peer_nonce = _FAST.open_frames(
                    frames, self._recv_prefix, self._precom, self._peer_nonce, self._scratch,
                    out, _FLAG_MASK,
                )
            except BadMessage as bad:
                self._peer_nonce = bad.peer_nonce
                raise _bad_message(bad) from None
            return
        prefix = self._recv_prefix
        key = self._precom
        peer_nonce = self._peer_nonce
        append = out.append
        try:
            for _wire_flags, body in frames:
                if len(body) < MESSAGE_MIN_SIZE or body[:8] != MESSAGE_PREFIX:
                    raise _malformed_message(body)
                nonce = _unpack_nonce_at(body, 8)[0]
                if nonce <= peer_nonce:
                    raise _replayed()
                short = bytes(body[8:16])
                try:
                    plaintext = _open_afternm(bytes(body[16:]), prefix + short, key)
                except CryptoError:
                    raise _crypto_failure("MESSAGE box does not open") from None
                peer_nonce = nonce
                append((plaintext[0] & _FLAG_MASK, plaintext[1:]))
        finally:
            self._peer_nonce = peer_nonce

    # -- helpers -----------------------------------------------------------------------------

    def _new_short_keys(self) -> None:
        self._short_secret = bytes(self._random(32))
        self._short_public = crypto_scalarmult_base(self._short_secret)

    def _next_short_nonce(self) -> bytes:
        short = _pack_nonce(self._nonce)
        self._nonce += 1
        return short

    # -- client steps ------------------------------------------------------------------------

    def _hello(self) -> bytes:
        short = self._next_short_nonce()
        self._hello_key = crypto_box_beforenm(self._server_key, self._short_secret)
        box = _box_afternm(bytes(64), NONCE_HELLO + short, self._hello_key)
        return (
            HELLO_PREFIX + HELLO_VERSION + bytes(HELLO_PADDING) + self._short_public + short + box
        )

    def _on_welcome(self, body: bytes) -> None:
        if len(body) != WELCOME_SIZE:
            raise ProtocolViolation(
                f"CURVE: WELCOME is {len(body)} bytes, expected {WELCOME_SIZE}",
                ProtocolError.ZMTP_MALFORMED_COMMAND_WELCOME,
            )
        try:
            plaintext = _open_afternm(body[24:], NONCE_WELCOME + body[8:24], self._hello_key)
        except CryptoError:
            raise _crypto_failure("WELCOME box does not open (wrong server key?)") from None
        self.server_key_status = ServerKeyStatus.CONFIRMED
        self._hello_key = b""  # (done with: HELLO and WELCOME are behind us)
        self._peer_short, cookie = plaintext[:32], plaintext[32:128]
        self._precom = crypto_box_beforenm(self._peer_short, self._short_secret)
        vouch_nonce = bytes(self._random(16))
        vouch = crypto_box(
            self._short_public + self._server_key,
            NONCE_VOUCH + vouch_nonce,
            self._peer_short,
            self._secret,
        )
        inner = self._public + vouch_nonce + vouch + encode_metadata(self.local_properties)
        short = self._next_short_nonce()
        box = _box_afternm(inner, NONCE_INITIATE + short, self._precom)
        self._outbox.append(INITIATE_PREFIX + cookie + short + box)
        self._state = _State.EXPECT_READY

    def _on_ready(self, body: bytes) -> None:
        if len(body) < READY_MIN_SIZE:
            raise ProtocolViolation(
                f"CURVE: READY of {len(body)} bytes is shorter than {READY_MIN_SIZE}",
                ProtocolError.ZMTP_MALFORMED_COMMAND_READY,
            )
        short = body[6:14]
        try:
            metadata = _open_afternm(body[14:], NONCE_READY + short, self._precom)
        except CryptoError:
            raise _crypto_failure("READY box does not open") from None
        self._take_peer_metadata(metadata)
        self._peer_nonce = int.from_bytes(short, "big")
        self._state = _State.READY
        self.ready = True

    # -- server steps ------------------------------------------------------------------------

    def _on_hello(self, body: bytes) -> None:
        if len(body) != HELLO_SIZE:
            raise ProtocolViolation(
                f"CURVE: HELLO is {len(body)} bytes, expected {HELLO_SIZE}",
                ProtocolError.ZMTP_MALFORMED_COMMAND_HELLO,
            )
        if body[6:8] != HELLO_VERSION:
            raise ProtocolViolation(
                f"CURVE: HELLO has version {body[6]}.{body[7]}, expected 1.0",
                ProtocolError.ZMTP_MALFORMED_COMMAND_HELLO,
            )
        # libzmq does not check that the 72 padding bytes are zero; neither do we.
        client_short = body[80:112]
        box, nonce = body[120:200], NONCE_HELLO + body[112:120]
        # Every key is tried, whichever opens the box: the work done does not depend on which
        # one matched (each try is one scalar multiplication and one MAC check), and no error
        # or log line says which one it was.
        matched: tuple[bytes, bytes] | None = None
        for pair in self._keypairs:
            try:
                shared = crypto_box_beforenm(client_short, pair[1])
                _open_afternm(box, nonce, shared)
            except CryptoError:
                continue
            if matched is None:
                matched, self._hello_key = pair, shared
        if matched is None:
            if len(self._keypairs) == 1:
                raise _crypto_failure("HELLO box does not open (wrong server key?)")
            raise _crypto_failure("HELLO box opens with no server key")
        self._public, self._secret = matched
        self._server_key = self._public
        self._peer_short = client_short
        self._peer_nonce = int.from_bytes(body[112:120], "big")
        self._outbox.append(self._welcome())
        self._state = _State.EXPECT_INITIATE

    def _welcome(self) -> bytes:
        self._new_short_keys()
        # A fresh cookie key per connection: only this server connection can open the cookie.
        self._cookie_key = bytes(self._random(32))
        cookie_nonce = bytes(self._random(16))
        cookie = cookie_nonce + crypto_secretbox(
            self._peer_short + self._short_secret, NONCE_COOKIE + cookie_nonce, self._cookie_key
        )
        welcome_nonce = bytes(self._random(16))
        box = _box_afternm(
            self._short_public + cookie, NONCE_WELCOME + welcome_nonce, self._hello_key
        )
        self._hello_key = b""  # (done with: HELLO and WELCOME are behind us)
        return WELCOME_PREFIX + welcome_nonce + box

    def _on_initiate(self, body: bytes) -> None:
        if len(body) < INITIATE_MIN_SIZE:
            raise ProtocolViolation(
                f"CURVE: INITIATE of {len(body)} bytes is shorter than {INITIATE_MIN_SIZE}",
                ProtocolError.ZMTP_MALFORMED_COMMAND_INITIATE,
            )
        try:
            cookie = crypto_secretbox_open(
                body[25:105], NONCE_COOKIE + body[9:25], self._cookie_key
            )
        except CryptoError:
            raise _crypto_failure("INITIATE cookie does not open") from None
        expected = self._peer_short + self._short_secret
        if not hmac.compare_digest(cookie, expected):
            raise _crypto_failure("INITIATE cookie does not match this connection")
        self._precom = crypto_box_beforenm(self._peer_short, self._short_secret)
        short = body[105:113]
        try:
            inner = _open_afternm(body[113:], NONCE_INITIATE + short, self._precom)
        except CryptoError:
            raise _crypto_failure("INITIATE box does not open") from None
        client_key = inner[:32]
        try:
            vouch = crypto_box_open(
                inner[48:128], NONCE_VOUCH + inner[32:48], client_key, self._short_secret
            )
        except CryptoError:
            raise _crypto_failure("INITIATE vouch does not open") from None
        if not hmac.compare_digest(vouch[:32], self._peer_short):
            raise _crypto_failure("INITIATE vouch does not match client key")
        if not hmac.compare_digest(vouch[32:64], self._server_key):
            raise _crypto_failure("INITIATE vouch does not match server key")
        self._take_peer_metadata(inner[128:])
        self._peer_nonce = int.from_bytes(short, "big")
        self.client_key = client_key
        self._decide()

    def _decide(self) -> None:
        """ZAP per libzmq: asked when required and a handler is bound; else Stonehouse."""
        required = bool(self.zap.domain) or not self.zap.enforce
        if required and self.zap.handler_present:
            self.zap_request = ZapRequestData(b"CURVE", [self.client_key])
            self._state = _State.WAIT_ZAP
            return
        if required and self.zap.enforce:
            raise NoDetailFailure(
                "CURVE: ZAP domain enforced but no ZAP handler is bound", errno.EFAULT
            )
        self._send_ready()

    def _send_ready(self) -> None:
        short = self._next_short_nonce()
        box = _box_afternm(
            encode_metadata(self.local_properties), NONCE_READY + short, self._precom
        )
        self._outbox.append(READY_PREFIX + short + box)
        self._state = _State.READY
        self.ready = True

    def _take_peer_metadata(self, data: bytes) -> None:
        properties = decode_metadata(data)
        check_peer_properties(self.local_properties, properties)
        self.peer_properties = properties
