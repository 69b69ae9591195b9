"""The mechanism registry: what each ``SecurityMechanism`` builds from a socket's options.

One entry per mechanism, keyed by name (the options say which mechanism and role the last
security option chose); the sans-IO classes come from ``zmtp/mechanisms``. Every connection gets
a fresh mechanism, built from the options snapshot taken at bind/connect time.
"""

from __future__ import annotations

from collections.abc import Callable

from ..constants import SEQUENCE_PROPERTY, SEQUENCE_VERSION, Errno, SecurityMechanism
from ..error import ZMQError
from ..options import SocketOptions
from ..zmtp.connection import ZmtpConnection
from ..zmtp.mechanisms.base import Mechanism, ZapSettings
from ..zmtp.mechanisms.curve import CurveMechanism
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


def _curve(options: SocketOptions, props: dict[str, bytes], zap: ZapSettings) -> Mechanism:
    if options.as_server:
        public_key = options.curve_publickey
        if not public_key and options.curve_secretkey:
            # securemq derives the server's public key when only the secret was set.
            from nacl.bindings import crypto_scalarmult_base

            public_key = crypto_scalarmult_base(options.curve_secretkey)
        return CurveMechanism(
            as_server=True, properties=props, zap=zap,
            public_key=public_key or bytes(32), secret_key=options.curve_secretkey or bytes(32),
        )
    return CurveMechanism(
        as_server=False, properties=props, zap=zap,
        public_key=options.curve_publickey or bytes(32),
        secret_key=options.curve_secretkey or bytes(32),
        server_key=options.curve_serverkey or bytes(32),
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
