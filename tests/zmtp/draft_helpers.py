"""Shared pieces of the DRAFT-type sans-IO tests: mechanism factories."""

from __future__ import annotations

from nacl.bindings import crypto_box_keypair

from securemq.zmtp.connection import ZmtpConnection
from securemq.zmtp.mechanisms.base import Mechanism, ZapSettings
from securemq.zmtp.mechanisms.curve import CurveMechanism
from securemq.zmtp.mechanisms.null import NullMechanism
from securemq.zmtp.mechanisms.plain import PlainMechanism

SERVER_PUB, SERVER_SEC = crypto_box_keypair()
CLIENT_PUB, CLIENT_SEC = crypto_box_keypair()
MECHANISMS = ("NULL", "PLAIN", "CURVE")


def mechanism(name: str, socket_type: int, *, server: bool, routing_id: bytes = b"") -> Mechanism:
    """A mechanism in one role with libzmq's READY properties (PLAIN servers need a ZAP reply:
    their ZapSettings say a handler is bound)."""
    properties = ZmtpConnection.local_properties(socket_type, routing_id)
    if name == "NULL":
        return NullMechanism(as_server=server, properties=properties)
    if name == "PLAIN":
        if server:
            return PlainMechanism(
                as_server=True, properties=properties, zap=ZapSettings(handler_present=True)
            )
        return PlainMechanism(
            as_server=False, properties=properties, username=b"admin", password=b"secret"
        )
    if server:
        return CurveMechanism(
            as_server=True, properties=properties, public_key=SERVER_PUB, secret_key=SERVER_SEC
        )
    return CurveMechanism(
        as_server=False,
        properties=properties,
        public_key=CLIENT_PUB,
        secret_key=CLIENT_SEC,
        server_key=SERVER_PUB,
    )
