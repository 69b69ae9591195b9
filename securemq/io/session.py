"""Per-connection set-up: the mechanism a socket's options ask for, and the READY metadata."""

from __future__ import annotations

from ..options import SocketOptions
from ..zmtp.connection import ZmtpConnection
from ..zmtp.mechanisms.base import Mechanism, ZapSettings


def local_properties(options: SocketOptions) -> dict[str, bytes]:
    return ZmtpConnection.local_properties(options.socket_type, options.routing_id)


def make_mechanism(options: SocketOptions, zap: ZapSettings) -> Mechanism:
    props = local_properties(options)
    if options.mechanism == 1:
        from ..zmtp.mechanisms.plain import PlainMechanism

        if options.as_server:
            return PlainMechanism(as_server=True, properties=props, zap=zap)
        return PlainMechanism(
            as_server=False,
            properties=props,
            zap=zap,
            username=options.plain_username,
            password=options.plain_password,
        )
    if options.mechanism == 2:
        from ..zmtp.mechanisms.curve import CurveMechanism

        if options.as_server:
            public_key = options.curve_publickey
            if not public_key and options.curve_secretkey:
                # securemq derives the server's public key when only the secret was set.
                from nacl.bindings import crypto_scalarmult_base

                public_key = crypto_scalarmult_base(options.curve_secretkey)
            return CurveMechanism(
                as_server=True,
                properties=props,
                zap=zap,
                public_key=public_key or bytes(32),
                secret_key=options.curve_secretkey or bytes(32),
            )
        return CurveMechanism(
            as_server=False,
            properties=props,
            zap=zap,
            public_key=options.curve_publickey or bytes(32),
            secret_key=options.curve_secretkey or bytes(32),
            server_key=options.curve_serverkey or bytes(32),
        )
    from ..zmtp.mechanisms.null import NullMechanism

    # libzmq's NULL asks ZAP on whichever side has a ZAP domain (in practice the server).
    return NullMechanism(
        as_server=options.as_server or bool(options.zap_domain), properties=props, zap=zap
    )
