"""Fair-queueing: take one whole message at a time from each peer that has one, round-robin."""

from __future__ import annotations

from collections import deque

from ..pipe import Message, Peer

# Most messages recv_batched takes from a sole peer's pipe at once.
RECV_BATCH = 256


class FairQueue:
    __slots__ = ("_batch", "_next", "peers")

    def __init__(self) -> None:
        self.peers: list[Peer] = []
        self._next = 0
        # Messages already taken from a sole peer's pipe, in order (recv_batched).
        self._batch: deque[tuple[Message, Peer]] = deque()

    def attach(self, peer: Peer) -> None:
        self.peers.append(peer)

    def detach(self, peer: Peer) -> None:
        try:
            index = self.peers.index(peer)
        except ValueError:
            return
        del self.peers[index]
        if self._batch and self._batch[0][1] is peer:
            self._batch.clear()  # all taken from this peer
        if index < self._next:
            self._next -= 1
        if self._next >= len(self.peers):
            self._next = 0

    def has_in(self) -> bool:
        return bool(self._batch) or any(peer.inbound.readable() for peer in self.peers)

    @property
    def batch(self) -> deque[tuple[Message, Peer]]:
        """What recv_batched took and has not handed out yet (its owner may pop from it)."""
        return self._batch

    def holds(self, peer: Peer) -> bool:
        """True while messages taken from ``peer``'s pipe wait here (it is not drained yet)."""
        return bool(self._batch) and self._batch[0][1] is peer

    def recv_batched(self) -> tuple[Message, Peer] | None:
        """``recv``, but with a sole peer take up to RECV_BATCH messages from its pipe at once
        (for receive-only sockets: it saves the per-message pipe and queue calls)."""
        batch = self._batch
        if batch:
            return batch.popleft()
        peers = self.peers
        if len(peers) != 1:
            return self.recv()
        peer = peers[0]
        msgs = peer.inbound.read_many(RECV_BATCH)
        if len(msgs) > 1:
            batch.extend([(msg, peer) for msg in msgs])
            return batch.popleft()
        return (msgs[0], peer) if msgs else None

    def recv(self) -> tuple[Message, Peer] | None:
        if self._batch:
            return self._batch.popleft()
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
