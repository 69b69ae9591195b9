"""The mechanism registry: what each ``SecurityMechanism`` builds from a socket's options.

One entry per mechanism, keyed by name (the options say which mechanism and role the last
security option chose); the sans-IO classes come from ``zmtp/mechanisms``. Every connection gets
a fresh mechanism, built from the options snapshot taken at bind/connect time.

CURVE key rotation (securemq; see docs/SECURITY.md): a server whose CURVE_SECRETKEYS holder is
not empty gets all its key pairs (read when the connection starts, so a new set applies to the
next connection without an unbind); a client with CURVE_SERVERKEYS picks one server key per
connection attempt. Each connect() (one options snapshot, kept by its connecter for every
reconnect) has a ``_ServerKeyChoice``: it looks at what the previous connection's mechanism
learnt -- HELLO went out and no WELCOME opened: move on to the next key (wrapping round);
WELCOME opened: keep the key; HELLO never went out: keep it too -- and starts again from the
first key when the application sets a new list.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable

from ..constants import SEQUENCE_PROPERTY, SEQUENCE_VERSION, Errno, SecurityMechanism
from ..error import ZMQError
from ..options import SocketOptions
from ..zmtp.connection import ZmtpConnection
from ..zmtp.mechanisms.base import Mechanism, ZapSettings
from ..zmtp.mechanisms.curve import CurveMechanism, ServerKeyStatus
from ..zmtp.mechanisms.null import NullMechanism
from ..zmtp.mechanisms.plain import PlainMechanism

Builder = Callable[[SocketOptions, dict[str, bytes], ZapSettings], Mechanism]


def _null(options: SocketOptions, props: dict[str, bytes], zap: ZapSettings) -> Mechanism:
    # libzmq's NULL asks ZAP on whichever side has a ZAP domain (in practice the server).
    return NullMechanism(
        as_server=options.as_server or bool(options.zap_domain), properties=props, zap=zap
    )


def _plain(options: SocketOptions, props: dict[str, bytes], zap: ZapSettings) -> Mechanism:
    if options.as_server:
        return PlainMechanism(as_server=True, properties=props, zap=zap)
    return PlainMechanism(
        as_server=False, properties=props, zap=zap,
        username=options.plain_username, password=options.plain_password,
    )


class _ServerKeyChoice:
    """Which of a client's CURVE_SERVERKEYS the next connection of one connect() uses."""

    __slots__ = ("index", "last", "unanswered", "version")

    def __init__(self) -> None:
        self.index = 0
        self.version = -1
        self.last: CurveMechanism | None = None
        # Connections in a row whose HELLO went unanswered (before ``last``).
        self.unanswered = 0

    def pick(self, keys: tuple[bytes, ...], version: int) -> bytes:
        last = self.last
        if version != self.version:
            self.version, self.index, self.last, self.unanswered = version, 0, None, 0
        elif last is not None and last.server_key_status is ServerKeyStatus.UNANSWERED:
            self.index = (self.index + 1) % len(keys)
            self.unanswered += 1
        elif last is not None and last.server_key_status is ServerKeyStatus.CONFIRMED:
            self.unanswered = 0
        return keys[self.index % len(keys)]


def server_keys_exhausted(options: SocketOptions, mechanism: Mechanism) -> bool:
    """For a CURVE client whose connection just ended with its HELLO unanswered: whether no
    other server key is left to try (always True without CURVE_SERVERKEYS; with it, once every
    listed key has gone unanswered in a row)."""
    keys = options.curve_serverkey_list.keys
    choice = _CHOICES.get(options)
    if not keys or choice is None or choice.last is not mechanism:
        return True
    return choice.unanswered + 1 >= len(keys)


# One choice per options snapshot (one connect(): its connecter reconnects with that snapshot).
# Only the reactor thread builds mechanisms.
_CHOICES: weakref.WeakKeyDictionary[SocketOptions, _ServerKeyChoice] = (
    weakref.WeakKeyDictionary()
)


def _curve_client(options: SocketOptions, props: dict[str, bytes],
                  zap: ZapSettings) -> CurveMechanism:
    server_key = options.curve_serverkey or bytes(32)
    listed = options.curve_serverkey_list
    keys = listed.keys
    choice: _ServerKeyChoice | None = None
    if keys:
        choice = _CHOICES.get(options)
        if choice is None:
            choice = _CHOICES[options] = _ServerKeyChoice()
        server_key = choice.pick(keys, listed.version)
    mechanism = CurveMechanism(
        as_server=False, properties=props, zap=zap,
        public_key=options.curve_publickey or bytes(32),
        secret_key=options.curve_secretkey or bytes(32),
        server_key=server_key,
    )
    if choice is not None:
        choice.last = mechanism
    return mechanism


def _curve(options: SocketOptions, props: dict[str, bytes], zap: ZapSettings) -> Mechanism:
    if not options.as_server:
        return _curve_client(options, props, zap)
    pairs = options.curve_server_keys.pairs
    if pairs:
        return CurveMechanism(as_server=True, properties=props, zap=zap, server_keypairs=pairs)
    public_key = options.curve_publickey
    if not public_key and options.curve_secretkey:
        # securemq derives the server's public key when only the secret was set.
        from nacl.bindings import crypto_scalarmult_base

        public_key = crypto_scalarmult_base(options.curve_secretkey)
    return CurveMechanism(
        as_server=True, properties=props, zap=zap,
        public_key=public_key or bytes(32), secret_key=options.curve_secretkey or bytes(32),
    )


MECHANISMS: dict[SecurityMechanism, Builder] = {
    SecurityMechanism.NULL: _null,
    SecurityMechanism.PLAIN: _plain,
    SecurityMechanism.CURVE: _curve,
}


def local_properties(options: SocketOptions) -> dict[str, bytes]:
    """Our READY / INITIATE metadata."""
    properties = ZmtpConnection.local_properties(options.socket_type, options.routing_id)
    if options.sequence:  # SEQUENCE: both ends announce it (routing/sequence.py)
        properties[SEQUENCE_PROPERTY] = SEQUENCE_VERSION
    return properties


def make_mechanism(options: SocketOptions, zap: ZapSettings) -> Mechanism:
    """A fresh mechanism for one connection of a socket with these options."""
    builder = MECHANISMS.get(options.mechanism)
    if builder is None:
        raise ZMQError(Errno.EINVAL, f"mechanism {options.mechanism.name}: not supported")
    return builder(options, local_properties(options), zap)
