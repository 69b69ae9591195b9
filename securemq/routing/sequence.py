"""Seeing loss instead of suffering it: sequence stamps on PUB/SUB (securemq, opt-in).

How this works: a PUB or XPUB with the SEQUENCE option announces ``X-Securemq-Sequence`` in its
READY, and so does a SUB or XSUB with it; only when both ends announced it does anything change
on the wire. The publisher then appends one 8-byte frame to every message it means for that
subscriber: a big-endian counter of the messages meant for that subscriber (those matching its
subscriptions), counted whether the message fits in the pipe or is dropped at the HWM -- so a
drop shows as a gap. The subscriber takes the frame off again and compares it with the counter
it expects: a jump is ``lost`` messages, reported once per gap. A libzmq peer never announces
it, so it neither gets nor is expected to send stamps.

Counters are per connection: a subscriber that reconnects starts a new count (what was
published while it was away is not known to this connection; the recovery recipe is to ask for
a snapshot, see examples/clone_recovery.py).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

from ..constants import SEQUENCE_PROPERTY, SEQUENCE_VERSION
from ..pipe import Message, Peer

_STAMP = struct.Struct(">Q")


def announced(peer: Peer) -> bool:
    """Whether the peer announced sequence stamps (property names are case-insensitive)."""
    wanted = SEQUENCE_PROPERTY.lower()
    return any(name.lower() == wanted and value == SEQUENCE_VERSION
               for name, value in peer.properties.items())


class Stamper:
    """The publisher's side: the next stamp for each subscriber that takes them."""

    __slots__ = ("_next",)

    def __init__(self) -> None:
        self._next: dict[Peer, int] = {}

    def forget(self, peer: Peer) -> None:
        self._next.pop(peer, None)

    def stamped(self, peer: Peer, msg: Message) -> Message:
        """``msg`` as this peer must get it (with its stamp, or as it is)."""
        count = self._next.get(peer)
        if count is None:
            if not announced(peer):
                return msg
            count = 1
        self._next[peer] = count + 1
        return [*msg, _STAMP.pack(count)]


@dataclass
class PublisherCount:
    """What one publisher connection delivered and lost."""

    endpoint: str
    received: int = 0
    lost: int = 0
    expected: int = 1


LossReport = Callable[[Peer, int, int], None]  # (peer, lost now, lost in all)


class Checker:
    """The subscriber's side: strips the stamps of publishers that send them, counts gaps."""

    __slots__ = ("_counts", "gone")

    def __init__(self) -> None:
        self._counts: dict[Peer, PublisherCount] = {}
        self.gone: list[PublisherCount] = []  # publishers no longer connected (for stats)

    def counts(self) -> list[PublisherCount]:
        return [*self.gone, *self._counts.values()]

    def restart(self, peer: Peer) -> None:
        """A new connection for this peer (reconnect): a new count starts."""
        count = self._counts.get(peer)
        if count is not None:
            count.expected = 1

    def forget(self, peer: Peer) -> None:
        count = self._counts.pop(peer, None)
        if count is not None:
            self.gone.append(count)
            del self.gone[:-64]

    def check(self, msg: Message, peer: Peer, report: LossReport) -> Message | None:
        """The message without its stamp (None: a malformed one, dropped); a gap is passed to
        ``report`` once."""
        count = self._counts.get(peer)
        if count is None:
            if not announced(peer):
                return msg
            count = self._counts[peer] = PublisherCount(peer.endpoint)
        if len(msg) < 2 or len(msg[-1]) != _STAMP.size:
            return None  # a stamping publisher sent something without a stamp
        (stamp,) = _STAMP.unpack(msg[-1])
        if stamp > count.expected:
            missed = stamp - count.expected
            count.lost += missed
            report(peer, missed, count.lost)
        count.expected = stamp + 1
        count.received += 1
        return msg[:-1]
