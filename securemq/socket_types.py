"""Every per-socket-type fact in one table (libzmq 4.3.5 numbering and behaviour).

A leaf: every layer may read it. The sans-IO core takes names, peer compatibility, what a READY
announces and how subscriptions travel; ``io/`` takes fan-out and connect-time pipes; the socket
facade and the options table take the rest. Routing strategies are chosen by type in
``routing/__init__`` (a table too, kept there because it names classes of that layer).
"""

from __future__ import annotations

from dataclasses import dataclass

from .constants import SocketType

_T = SocketType


@dataclass(frozen=True, slots=True)
class SocketTypeInfo:
    """What libzmq does differently for one socket type."""

    type: SocketType
    # The Socket-Type property on the wire (READY / INITIATE metadata).
    name: bytes
    # The Socket-Type names a peer may announce (RFC 23 section 3.5 and libzmq's mechanism.cpp).
    peers: frozenset[bytes]
    # READY carries an Identity property (libzmq: REQ, DEALER, ROUTER).
    announces_identity: bool = False
    # Takes SUBSCRIBE/UNSUBSCRIBE; to a ZMTP 3.1 peer subscriptions go as commands.
    subscriber: bool = False
    # One send goes to every (matching) peer: a send wakes every connection.
    fan_out: bool = False
    # connect() creates the peer's pipe at once, before any connection exists (unless IMMEDIATE).
    pipe_at_connect: bool = True
    # LINGER's default when the socket is made.
    default_linger: int = -1
    # The socket gives each peer its own routing id (SERVER, PEER): what the peer announces is
    # never used as one.
    local_routing_ids: bool = False
    # Draft API types: thread-safe, single-part messages, no FD of their own in libzmq.
    draft: bool = False
    thread_safe: bool = False
    # udp:// (libzmq socket_base.cpp): who may bind, who may connect.
    udp_bind: bool = False
    udp_connect: bool = False
    # Raw byte streams (STREAM): no ZMTP, no mechanism, tcp and ipc only.
    raw: bool = False


def _peers(*names: str) -> frozenset[bytes]:
    return frozenset(name.encode("ascii") for name in names)


def _draft(kind: SocketType, peers: frozenset[bytes], **facts: bool) -> SocketTypeInfo:
    return SocketTypeInfo(kind, kind.name.encode("ascii"), peers, draft=True,
                          thread_safe=kind != _T.DGRAM, **facts)


_TABLE: list[SocketTypeInfo] = [
    SocketTypeInfo(_T.PAIR, b"PAIR", _peers("PAIR")),
    SocketTypeInfo(_T.PUB, b"PUB", _peers("SUB", "XSUB"), fan_out=True),
    SocketTypeInfo(_T.SUB, b"SUB", _peers("PUB", "XPUB"), subscriber=True, default_linger=0),
    SocketTypeInfo(_T.REQ, b"REQ", _peers("REP", "ROUTER"), announces_identity=True),
    SocketTypeInfo(_T.REP, b"REP", _peers("REQ", "DEALER")),
    SocketTypeInfo(_T.DEALER, b"DEALER", _peers("REP", "DEALER", "ROUTER"),
                   announces_identity=True),
    SocketTypeInfo(_T.ROUTER, b"ROUTER", _peers("REQ", "DEALER", "ROUTER"),
                   announces_identity=True, pipe_at_connect=False),
    SocketTypeInfo(_T.PULL, b"PULL", _peers("PUSH")),
    SocketTypeInfo(_T.PUSH, b"PUSH", _peers("PULL")),
    SocketTypeInfo(_T.XPUB, b"XPUB", _peers("SUB", "XSUB"), fan_out=True),
    SocketTypeInfo(_T.XSUB, b"XSUB", _peers("PUB", "XPUB"), subscriber=True, default_linger=0),
    SocketTypeInfo(_T.STREAM, b"STREAM", frozenset(), local_routing_ids=True, raw=True),
    _draft(_T.SERVER, _peers("CLIENT"), local_routing_ids=True),
    _draft(_T.CLIENT, _peers("SERVER")),
    _draft(_T.RADIO, _peers("DISH"), fan_out=True, udp_connect=True),
    _draft(_T.DISH, _peers("RADIO"), udp_bind=True),
    _draft(_T.GATHER, _peers("SCATTER")),
    _draft(_T.SCATTER, _peers("GATHER")),
    _draft(_T.DGRAM, _peers("DGRAM"), udp_bind=True),
    _draft(_T.PEER, _peers("PEER"), local_routing_ids=True),
    _draft(_T.CHANNEL, _peers("CHANNEL")),
]

SOCKET_TYPES: dict[int, SocketTypeInfo] = {int(info.type): info for info in _TABLE}
SOCKET_TYPE_NAMES: dict[int, bytes] = {number: info.name for number, info in SOCKET_TYPES.items()}
_BY_NAME: dict[bytes, SocketTypeInfo] = {info.name: info for info in _TABLE}


def info(socket_type: int) -> SocketTypeInfo:
    """The facts of one socket type; KeyError for a number libzmq does not define."""
    return SOCKET_TYPES[int(socket_type)]


def compatible(ours: bytes, theirs: bytes) -> bool:
    """True when a socket announcing ``ours`` accepts a peer announcing ``theirs`` (names are
    compared exactly, as libzmq does)."""
    mine = _BY_NAME.get(ours)
    return mine is not None and theirs in mine.peers


def of_kind(**facts: bool) -> frozenset[int]:
    """The socket types whose facts match, e.g. ``of_kind(subscriber=True)``."""
    return frozenset(
        number for number, entry in SOCKET_TYPES.items()
        if all(getattr(entry, name) == value for name, value in facts.items())
    )
