"""Load-balancing: each whole message goes to the next peer, round-robin, whose outbound pipe
has room; a full peer is skipped until it drains."""

from __future__ import annotations

from collections.abc import Callable

from ..pipe import Message, Peer


class LoadBalancer:
    __slots__ = ("_next", "peers")

    def __init__(self) -> None:
        self.peers: list[Peer] = []
        self._next = 0

    def attach(self, peer: Peer) -> None:
        self.peers.append(peer)

    def detach(self, peer: Peer) -> None:
        try:
            index = self.peers.index(peer)
        except ValueError:
            return
        del self.peers[index]
        if index < self._next:
            self._next -= 1
        if self._next >= len(self.peers):
            self._next = 0

    def has_out(self) -> bool:
        return any(peer.outbound.writable() for peer in self.peers)

    def sender(self) -> Callable[[Message], bool]:
        """The fastest ``send_ok`` for the peers attached now: with a sole peer, its outbound
        pipe's ``write`` itself (one Python call per message fewer). A routing that binds it as
        its ``send`` binds it again after every attach and detach."""
        peers = self.peers
        return peers[0].outbound.write if len(peers) == 1 else self.send_ok

    def send_ok(self, msg: Message) -> bool:
        """``send`` for callers that need only whether it was taken (bound as a routing's
        ``send``: one Python call fewer per message)."""
        peers = self.peers
        if len(peers) == 1:
            return peers[0].outbound.write(msg)
        return self.send(msg) is not None

    def send(self, msg: Message) -> Peer | None:
        """Write ``msg`` whole to the next peer with room; the peer, or None if all are full."""
        peers = self.peers
        count = len(peers)
        if count == 1:  # the common case, without the round-robin arithmetic
            peer = peers[0]
            return peer if peer.outbound.write(msg) else None
        start = self._next
        for step in range(count):
            index = (start + step) % count
            peer = peers[index]
            if peer.outbound.write(msg):
                self._next = (index + 1) % count
                return peer
        return None
