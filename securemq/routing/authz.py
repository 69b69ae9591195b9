"""Authorization rules from the ZAP decision, enforced where each pattern lives (securemq).

How this works
--------------
A ZAP handler may answer 200 with metadata under names securemq reserves
(``constants.RESERVED_PROPERTY_PREFIX``, compared case-insensitively): only a ZAP reply can set
them -- ``zmtp/metadata.py message_properties`` drops the same names from a peer's own READY /
INITIATE metadata -- so they reach ``Peer.properties`` only from the server's own handler.
Every rule is off unless its property is there; a libzmq peer notices nothing.

``Securemq-Subscribe`` (a list of topic prefixes)
    A PUB/XPUB registers a SUBSCRIBE from this peer only when the topic starts with one of the
    prefixes (an empty list: no subscription at all). Others are dropped -- not registered, not
    passed up to an XPUB's application -- and reported. With INVERT_MATCHING (where a
    subscription excludes) such a peer gets nothing.
``Securemq-Read-Only`` (``1``/``true``/``yes``; ``0``/``false``/``no`` turn it off; any other
value counts as on)
    The socket drops every message this peer sends (a PUB/XPUB still takes its single-frame
    subscriptions, which ``Securemq-Subscribe`` governs), and reports the drops; sending to it
    is unaffected.
``Securemq-Routing-Ids`` (a list of routing ids)
    A ROUTER addresses this peer only by one of the listed ids: the id the peer announced if it
    is listed, else the first one (an empty list: the peer cannot be addressed and its messages
    are dropped). So a peer cannot be reached under an id that was not given to its user, and
    a peer that announces someone else's id gets its own. A peer holding a listed id without
    being entitled to it (no such rule, or not that id) is cut off when the entitled peer
    arrives, as ROUTER_HANDOVER would; a peer not entitled to an id an entitled peer holds is
    not routed (ROUTER_HANDOVER or not); between two entitled peers the usual rules apply.
    Give every user the rule and no peer can be reached under another user's id.

Lists are comma-separated; an item's bytes outside printable ASCII, and ``,``, ``%`` and space,
are written as ``%XX`` (``AccessRules.to_metadata`` does it); empty items are ignored.

Enforcement: the socket calls ``admit`` when a peer attaches (and again when it reconnects) and
``forget`` when it goes; ``admit`` parses the peer's rules once and keeps them in the routing's
``AuthzLedger``, which the strategies consult (``XPub._process``, ``Router._identify``). A
read-only peer's inbound pipe gets a subclass whose *reading* methods (the socket's thread is
the only reader) drop what the peer may not send; the writer's side is untouched. Every refusal
is counted (``AuthzLedger.counts``, ``Socket.authz_counts``) and handed to ``AuthzLedger.report``
per peer and kind at the 1st, 10th, 100th, ... occurrence (a flooding peer cannot flood the
log); the socket logs those (``securemq/audit.py``, logger ``securemq.authz``, peer-chosen text
escaped), as the routing layer does no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from ..constants import PROPERTY_READ_ONLY, PROPERTY_ROUTING_IDS, PROPERTY_SUBSCRIBE
from ..pipe import Message, Peer, Pipe

__all__ = ["AccessRules", "AuthzLedger", "decode_list", "encode_list"]

# Counter names (AuthzLedger.counts).
READ_ONLY_DROPPED = "read_only_dropped"
SUBSCRIBE_REFUSED = "subscribe_refused"
ROUTING_ID_REPLACED = "routing_id_replaced"
ROUTING_ID_REFUSED = "routing_id_refused"
ROUTING_ID_EVICTED = "routing_id_evicted"

_SAFE = frozenset(range(0x21, 0x7F)) - frozenset(b",%")
_OFF = frozenset({b"0", b"false", b"no", b"off"})
_ON = frozenset({b"1", b"true", b"yes", b"on"})


def encode_list(items: Iterable[bytes | str]) -> bytes:
    """A rule's list as a property value: items joined by commas, unsafe bytes as ``%XX``."""
    out: list[bytes] = []
    for item in items:
        raw = item.encode("utf-8") if isinstance(item, str) else bytes(item)
        if not raw:
            raise ValueError("authz: an empty item cannot be listed (it would match everything)")
        out.append(b"".join(bytes((b,)) if b in _SAFE else b"%%%02X" % b for b in raw))
    return b",".join(out)


def _unescape(item: bytes) -> bytes:
    out = bytearray()
    index = 0
    while index < len(item):
        byte = item[index]
        if byte == 0x25 and _is_hex(item[index + 1: index + 3]):
            out.append(int(item[index + 1: index + 3], 16))
            index += 3
            continue
        out.append(byte)  # (a stray "%" stands for itself)
        index += 1
    return bytes(out)


def _is_hex(pair: bytes) -> bool:
    return len(pair) == 2 and all(b in b"0123456789abcdefABCDEF" for b in pair)


def decode_list(value: bytes) -> tuple[bytes, ...]:
    """The items of a list property value (empty items ignored)."""
    return tuple(_unescape(item) for item in bytes(value).split(b",") if item)


def _lookup(properties: Mapping[str, bytes], name: str) -> bytes | None:
    folded = name.lower()
    found = None
    for key, value in properties.items():
        if key.lower() == folded:
            found = value
    return found


def _items(value: Iterable[bytes | str] | None, what: str) -> tuple[bytes, ...] | None:
    if value is None:
        return None
    if isinstance(value, bytes | bytearray | str):
        raise TypeError(f"AccessRules: {what} is a list of items, not one "
                        f"{type(value).__name__}")
    items = tuple(item.encode("utf-8") if isinstance(item, str) else bytes(item)
                  for item in value)
    if not all(items):
        raise ValueError(f"AccessRules: an empty item in {what} would match everything; "
                         "leave the rule out instead")
    return items


@dataclass(frozen=True)
class AccessRules:
    """What one authenticated peer may do (None / False: no rule). See the module comment.

    ``subscribe``: topic prefixes a PUB/XPUB lets this peer subscribe to (``[]``: none);
    ``read_only``: the socket drops what this peer sends; ``routing_ids``: the ids a ROUTER
    may address this peer by (``[]``: none). Items are bytes or str (UTF-8); a ZAP handler
    sends ``to_metadata()`` as (part of) its reply's metadata.
    """

    subscribe: tuple[bytes, ...] | None = None
    read_only: bool = False
    routing_ids: tuple[bytes, ...] | None = None

    def __init__(self, subscribe: Iterable[bytes | str] | None = None, read_only: bool = False,
                 routing_ids: Iterable[bytes | str] | None = None) -> None:
        object.__setattr__(self, "subscribe", _items(subscribe, "subscribe"))
        object.__setattr__(self, "read_only", bool(read_only))
        object.__setattr__(self, "routing_ids", _items(routing_ids, "routing_ids"))

    @property
    def restricts(self) -> bool:
        return self.subscribe is not None or self.read_only or self.routing_ids is not None

    def may_subscribe(self, topic: bytes) -> bool:
        prefixes = self.subscribe
        return prefixes is None or any(topic.startswith(prefix) for prefix in prefixes)

    def to_metadata(self) -> dict[str, bytes]:
        """The ZAP metadata that carries these rules (reserved names)."""
        metadata: dict[str, bytes] = {}
        if self.subscribe is not None:
            metadata[PROPERTY_SUBSCRIBE] = encode_list(self.subscribe)
        if self.read_only:
            metadata[PROPERTY_READ_ONLY] = b"1"
        if self.routing_ids is not None:
            metadata[PROPERTY_ROUTING_IDS] = encode_list(self.routing_ids)
        return metadata

    @classmethod
    def from_properties(cls, properties: Mapping[str, bytes]) -> AccessRules | None:
        """The rules in a peer's message properties; None when there are none."""
        subscribe = _lookup(properties, PROPERTY_SUBSCRIBE)
        read_only = _lookup(properties, PROPERTY_READ_ONLY)
        routing_ids = _lookup(properties, PROPERTY_ROUTING_IDS)
        if subscribe is None and read_only is None and routing_ids is None:
            return None
        rules = cls(
            subscribe=None if subscribe is None else decode_list(subscribe),
            # Fail closed: only an explicit "off" value turns it off.
            read_only=read_only is not None and read_only.strip().lower() not in _OFF,
            routing_ids=None if routing_ids is None else decode_list(routing_ids),
        )
        return rules if rules.restricts else None


# What a ledger reports: (socket type name, kind, peer, the bytes the refusal is about, how
# many of this kind from this peer so far).
Report = Callable[[str, str, Peer, bytes | None, int], None]


def _no_report(name: str, kind: str, peer: Peer, subject: bytes | None, count: int) -> None:
    return None


class AuthzLedger:
    """One socket's authorization state: each restricted peer's rules, and the refusals."""

    __slots__ = ("_seen", "counts", "name", "report", "rules", "subscriptions_pass")

    def __init__(self, name: str = "") -> None:
        self.name = name
        self.rules: dict[Peer, AccessRules] = {}
        self.counts: dict[str, int] = {}
        self._seen: dict[tuple[Peer, str], int] = {}
        # Where refusals are reported (the socket logs them); by default nowhere.
        self.report: Report = _no_report
        # A read-only peer of a publisher still subscribes (single-frame subscriptions pass).
        self.subscriptions_pass = name in ("PUB", "XPUB")

    def refused(self, peer: Peer, kind: str, subject: bytes | None = None) -> None:
        """Count a refusal; report it at the 1st, 10th, 100th, ... of its kind for this peer."""
        self.counts[kind] = self.counts.get(kind, 0) + 1
        key = (peer, kind)
        seen = self._seen.get(key, 0) + 1
        self._seen[key] = seen
        if _power_of_ten(seen):
            self.report(self.name, kind, peer, subject, seen)

    def admit(self, peer: Peer) -> None:
        """A peer attaches (or reconnects with new properties): take in its rules, if any."""
        rules = AccessRules.from_properties(peer.properties) if peer.properties else None
        if rules is None:
            if self.rules.pop(peer, None) is not None:
                _unguard(peer)
            return
        self.rules[peer] = rules
        if rules.read_only:
            _guard_read_only(self, peer, self.subscriptions_pass)
        else:
            _unguard(peer)

    def forget(self, peer: Peer) -> None:
        """The peer is gone for good."""
        self.rules.pop(peer, None)
        if self._seen:
            for key in [key for key in self._seen if key[0] is peer]:
                del self._seen[key]

    def routing_ids_of(self, peer: Peer) -> tuple[bytes, ...] | None:
        rules = self.rules.get(peer)
        return None if rules is None else rules.routing_ids

    def entitled(self, peer: Peer, routing_id: bytes) -> bool:
        """Whether ``peer``'s rules list ``routing_id``."""
        allowed = self.routing_ids_of(peer)
        return allowed is not None and routing_id in allowed


def _power_of_ten(count: int) -> bool:
    while count % 10 == 0:
        count //= 10
    return count == 1


# -- read-only peers: their inbound pipe drops what they send, on the reading side -------------

def _is_subscription(msg: Message) -> bool:
    return len(msg) == 1 and msg[0][:1] in (b"\x00", b"\x01")


def _never(msg: Message) -> bool:
    return False


class _ReadOnlyInbound(Pipe):
    """A read-only peer's inbound pipe (made per peer by ``_read_only_class``): the reading
    methods drop every message ``_keep`` refuses, reporting each through ``_dropped``. Only the
    socket's thread reads, so only it runs these; the writer's methods are Pipe's own."""

    __slots__ = ()
    _keep: ClassVar[Callable[[Message], bool]]
    _dropped: ClassVar[Callable[[Message], None]]

    def _purge(self) -> None:
        queue = self._queue
        keep = type(self)._keep
        while queue and not keep(queue[0]):
            msg = super().read()
            if msg is not None:
                type(self)._dropped(msg)

    def read(self) -> Message | None:
        keep = type(self)._keep
        while True:
            msg = super().read()
            if msg is None or keep(msg):
                return msg
            type(self)._dropped(msg)

    def read_many(self, limit: int = 1 << 30) -> list[Message]:
        keep = type(self)._keep
        while True:
            got = super().read_many(limit)
            if not got:
                return got
            kept = [msg for msg in got if keep(msg)]
            if len(kept) < len(got):
                for msg in got:
                    if not keep(msg):
                        type(self)._dropped(msg)
            if kept:
                return kept

    def peek(self) -> Message | None:
        self._purge()
        return super().peek()

    def readable(self) -> bool:
        self._purge()
        return super().readable()

    @property  # (over Pipe's plain attribute: the fair queue's look purges first)
    def queue(self) -> Any:  # type: ignore[override]
        self._purge()
        return self._queue


def _guard_read_only(ledger: AuthzLedger, peer: Peer, subscriptions_pass: bool) -> None:
    inbound = peer.inbound
    if isinstance(inbound, _ReadOnlyInbound):
        return
    base = type(inbound)

    def dropped(msg: Message) -> None:
        ledger.refused(peer, READ_ONLY_DROPPED)

    bases: tuple[type, ...] = (_ReadOnlyInbound,) if base is Pipe else (_ReadOnlyInbound, base)
    guarded = type("ReadOnly" + base.__name__, bases, {
        "__slots__": (),
        "_keep": staticmethod(_is_subscription if subscriptions_pass else _never),
        "_dropped": staticmethod(dropped),
    })
    _retype(inbound, guarded)


def _unguard(peer: Peer) -> None:
    inbound = peer.inbound
    if isinstance(inbound, _ReadOnlyInbound):
        # The first base after the guard is what the pipe was before.
        _retype(inbound, next(
            cls for cls in type(inbound).__mro__[1:]
            if issubclass(cls, Pipe) and cls is not _ReadOnlyInbound
        ))


def _retype(pipe: Pipe, cls: type[Pipe]) -> None:
    """Same slots, other methods (as socket.py makes an inproc pipe a ConflatePipe)."""
    pipe.__class__ = cls
