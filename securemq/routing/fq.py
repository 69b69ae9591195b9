"""Fair-queueing: take one whole message at a time from each peer that has one, round-robin."""

from __future__ import annotations

from ..pipe import Message, Peer


class FairQueue:
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

    def has_in(self) -> bool:
        return any(peer.inbound.readable() for peer in self.peers)

    def recv(self) -> tuple[Message, Peer] | None:
        peers = self.peers
        count = len(peers)
        if count == 1:  # the common case, without the round-robin arithmetic
            peer = peers[0]
            msg = peer.inbound.read()
            return None if msg is None else (msg, peer)
        start = self._next
        for step in range(count):
            index = (start + step) % count
            peer = peers[index]
            msg = peer.inbound.read()
            if msg is not None:
                self._next = (index + 1) % count
                return msg, peer
        return None
