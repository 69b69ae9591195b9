"""Distribution: one message to many peers; a peer whose pipe is full misses it (dropped)."""

from __future__ import annotations

from collections.abc import Iterable

from ..pipe import Message, Peer, write_to_all


def all_writable(peers: Iterable[Peer]) -> bool:
    """True when every live peer has room (XPUB_NODROP's check before sending); a peer whose
    pipe is closed is going away and must not hold the sender up."""
    return all(peer.outbound.closed or peer.outbound.writable() for peer in peers)


def distribute(peers: Iterable[Peer], msg: Message) -> int:
    """Write ``msg`` to each peer that has room; how many took it.

    The peers share the one frame list: nothing downstream mutates a queued message.
    """
    pipes = [peer.outbound for peer in peers]
    return len(pipes) - write_to_all(pipes, msg)


def force_to_all(peers: Iterable[Peer], msg: Message) -> None:
    """Queue ``msg`` to every peer past its HWM (subscriptions must never be lost)."""
    for peer in peers:
        peer.outbound.force_write(list(msg))
