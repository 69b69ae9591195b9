"""Which socket types may talk to which (RFC 23 section 3.5 and libzmq), as a table."""

from __future__ import annotations

from ..constants import SocketType

SOCKET_TYPE_NAMES: dict[int, bytes] = {t.value: t.name.encode("ascii") for t in SocketType}

_PEERS: dict[bytes, frozenset[bytes]] = {
    b"PAIR": frozenset({b"PAIR"}),
    b"PUB": frozenset({b"SUB", b"XSUB"}),
    b"SUB": frozenset({b"PUB", b"XPUB"}),
    b"XPUB": frozenset({b"SUB", b"XSUB"}),
    b"XSUB": frozenset({b"PUB", b"XPUB"}),
    b"REQ": frozenset({b"REP", b"ROUTER"}),
    b"REP": frozenset({b"REQ", b"DEALER"}),
    b"DEALER": frozenset({b"REP", b"DEALER", b"ROUTER"}),
    b"ROUTER": frozenset({b"REQ", b"DEALER", b"ROUTER"}),
    b"PUSH": frozenset({b"PULL"}),
    b"PULL": frozenset({b"PUSH"}),
}


def compatible(ours: bytes, theirs: bytes) -> bool:
    """True when a socket of type ``ours`` accepts a peer announcing ``theirs`` (exact case)."""
    return theirs in _PEERS.get(ours, frozenset())
