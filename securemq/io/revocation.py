"""Closing the live connections whose authentication was revoked (securemq).

How this works: libzmq asks ZAP once, during the handshake; a connection stays up whatever the
handler decides later. ``Context.close_connections`` (the public entry point; ``securemq.auth``
calls it when a key or user it had accepted is removed, with ``revoke_live``) builds a
``Revocation`` and hands it to ``IOHub.close_connections``, which runs ``close_revoked`` on the
reactor thread over every socket session of the context. A connection is closed when ZAP
decided it (it has a ``User-Id``) and it matches every criterion given: the ZAP User-Id, the
CURVE client's long-term public key, the PLAIN user name, the ZAP domain. Each one closed is
logged (WARNING, logger ``securemq.io``, peer-chosen text escaped) and reported to the socket's
monitor as ``DISCONNECTED``, as any connection that ends; the client then reconnects, and ZAP
refuses it. Messages the peer sent before are still delivered.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from ..safetext import printable, quoted
from ..zmtp.mechanisms.base import Mechanism
from ..zmtp.mechanisms.curve import CurveMechanism
from ..zmtp.mechanisms.plain import PlainMechanism
from ..zmtp.metadata import lookup

log = logging.getLogger("securemq.io")


class _Options(Protocol):
    zap_domain: bytes


class _Engine(Protocol):
    """What this module reads of a ``StreamEngine`` (io/engine.py)."""

    ready: bool
    closed: bool
    endpoint: str
    peer_address: str
    properties: dict[str, bytes]
    mechanism: Mechanism

    @property
    def options(self) -> _Options: ...

    def close(self) -> None: ...


class _Session(Protocol):
    @property
    def ready_engines(self) -> Sequence[_Engine]: ...


@dataclass(frozen=True)
class Revocation:
    """Which connections to close: every criterion that is not None must match."""

    user_id: bytes | None = None
    curve_key: bytes | None = None  # 32 raw bytes
    plain_username: bytes | None = None
    zap_domain: bytes | None = None
    reason: str = "revoked"

    def __post_init__(self) -> None:
        if self.user_id is None and self.curve_key is None and self.plain_username is None:
            raise ValueError("close_connections: name a user_id, a curve_key or a "
                             "plain_username (refusing to close every connection)")

    def matches(self, engine: _Engine) -> bool:
        if not engine.ready or engine.closed:
            return False
        user_id = lookup(engine.properties, "User-Id")
        if user_id is None:
            return False  # ZAP did not decide this connection: nothing to revoke
        if self.user_id is not None and user_id != self.user_id:
            return False
        mechanism = engine.mechanism
        if self.curve_key is not None and not (
            isinstance(mechanism, CurveMechanism) and mechanism.as_server
            and mechanism.client_key == self.curve_key
        ):
            return False
        if self.plain_username is not None and not (
            isinstance(mechanism, PlainMechanism) and mechanism.as_server
            and mechanism.username == self.plain_username
        ):
            return False
        return self.zap_domain is None or engine.options.zap_domain == self.zap_domain


def close_revoked(sessions: Iterable[_Session], revocation: Revocation) -> int:
    """Close the matching connections of ``sessions`` (reactor thread); how many."""
    closed = 0
    for session in list(sessions):
        for engine in list(session.ready_engines):
            if not revocation.matches(engine):
                continue
            log.warning(
                "revocation: closing connection on %s from %s (mechanism %s, user_id %s): %s",
                quoted(engine.endpoint), quoted(engine.peer_address),
                engine.mechanism.name.decode("ascii"),
                quoted(lookup(engine.properties, "User-Id")), printable(revocation.reason),
            )
            engine.close()
            closed += 1
    return closed
