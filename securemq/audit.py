"""Log lines for what the authorization rules refused (securemq; routing/authz.py).

The routing layer counts refusals and reports some of them (per peer and kind, the 1st, 10th,
100th, ...); a socket hands them here, to the ``securemq.authz`` logger at WARNING. Everything a
peer chose (topics, routing ids, its User-Id and endpoint) is escaped with ``safetext``, one
record per line.
"""

from __future__ import annotations

import logging

from .pipe import Peer
from .routing.authz import (
    READ_ONLY_DROPPED,
    ROUTING_ID_EVICTED,
    ROUTING_ID_REFUSED,
    ROUTING_ID_REPLACED,
    SUBSCRIBE_REFUSED,
)
from .safetext import quoted

log = logging.getLogger("securemq.authz")

_WHAT = {
    READ_ONLY_DROPPED: "dropped a message from a read-only peer",
    SUBSCRIBE_REFUSED: "refused a subscription to {subject}",
    ROUTING_ID_REPLACED: "named a peer that announced routing id {subject} by its authorized "
                         "routing id {routing_id}",
    ROUTING_ID_REFUSED: "ignored a peer that may not hold the routing id it announced "
                        "({subject})",
    ROUTING_ID_EVICTED: "cut off a peer holding routing id {subject} it is not entitled to",
}


def _lookup(properties: dict[str, bytes], name: str) -> bytes | None:
    folded = name.lower()
    for key, value in properties.items():
        if key.lower() == folded:
            return value
    return None


def log_refusal(socket_name: str, kind: str, peer: Peer, subject: bytes | None,
                count: int) -> None:
    """``AuthzLedger.report`` for a socket: one escaped WARNING line."""
    if not log.isEnabledFor(logging.WARNING):
        return
    what = _WHAT.get(kind, kind).format(subject=quoted(subject, 64),
                                        routing_id=quoted(peer.routing_id, 64))
    user_id = _lookup(peer.properties, "User-Id")
    log.warning(
        "authz: %s %s: peer %s on %s user_id=%s (%s, %d so far from this peer)",
        socket_name or "socket", what, quoted(_lookup(peer.properties, "Peer-Address")),
        quoted(peer.endpoint or "inproc"),
        quoted(user_id) if user_id is not None else "(none)", kind, count,
        extra={"authz_refusal": {"kind": kind, "user_id": user_id, "subject": subject,
                                 "count": count}},
    )
