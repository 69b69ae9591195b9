"""Fair-queueing: take one whole message at a time from each peer that has one, round-robin.

How this works
--------------
The order is the one a scan would give: peers in attach order, and each ``recv`` takes the
first peer *at or after* the one following the last peer served (wrapping round) whose inbound
pipe holds a message. It is found without looking at idle peers:

* Every attached peer gets a sequence number, increasing in attach order and never reused
  (``peers`` is in the same order). ``attach`` gives the peer's inbound pipe a ``ready_hook``
  that appends that number to ``_incoming``, a deque, and the pipe calls it on the writer's
  thread (the reactor, an inproc peer, or a caller reading under a read lease) each time the
  pipe goes from empty to non-empty, *before* it wakes the socket. ``deque.append`` and
  ``popleft`` are atomic in CPython, so the writer and the socket's thread share ``_incoming``
  without a lock; everything else here belongs to the socket's thread alone.
* The socket's thread moves ``_incoming`` into its own *ready set*: the numbers are ``_marked``
  (each number at most once) and kept in two heaps, ``_now`` (numbers >= ``_next_seq``, the
  rest of this round) and ``_later`` (numbers < ``_next_seq``, the next round). The peer served
  next is the smallest of ``_now``, or, when ``_now`` is empty, of ``_later`` (the round wraps).
  A served peer whose pipe still holds messages stays ready, in ``_later``; one whose pipe is
  empty is unmarked. Serving the last attached peer ends the round (``_next_seq`` = 0), exactly
  as the scan's index wrapped to 0.

The invariant: *a peer whose inbound pipe is not empty is marked, or its number is in
``_incoming``, or its writer is between appending the message and calling the hook* (and then
wakes the socket after the hook). The socket's thread unmarks a peer only after seeing its pipe
empty; a message written after that look makes the pipe go from empty to non-empty, so the
writer calls the hook. A message written before the look is seen by it. Anything may empty a
pipe behind the ready set's back (``Pipe.clear``, a read that drops heads): a marked peer whose
pipe turns out empty is unmarked when it comes up; numbers of detached peers are skipped. So a
ready-set entry can be stale, never missing: the cost of a ``recv`` depends on the peers that
have messages, not on how many peers are attached.

With a sole peer (the common case) its pipe is read directly and the ready set is rebuilt when
a second peer attaches.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import deque
from functools import partial
from heapq import heapify, heappop, heappush
from itertools import repeat

from ..pipe import Message, Peer

# Most messages recv_batched takes from a sole peer's pipe at once.
RECV_BATCH = 256


class FairQueue:
    __slots__ = (
        "_batch", "_counter", "_incoming", "_later", "_marked", "_next_seq", "_now", "_peer_of",
        "_seq_of", "_seqs", "peers",
    )

    def __init__(self) -> None:
        # Attached peers in attach order, and their sequence numbers (same order, increasing).
        self.peers: list[Peer] = []
        self._seqs: list[int] = []
        self._seq_of: dict[Peer, int] = {}
        self._peer_of: dict[int, Peer] = {}
        self._counter = 0
        # Written by the pipes' writers (ready_hook), drained by the socket's thread.
        self._incoming: deque[int] = deque()
        # The ready set (socket's thread only): see the module comment.
        self._marked: set[int] = set()
        self._now: list[int] = []
        self._later: list[int] = []
        self._next_seq = 0
        # Messages already taken from a sole peer's pipe, in order (recv_batched).
        self._batch: deque[tuple[Message, Peer]] = deque()

    def __contains__(self, peer: object) -> bool:
        return peer in self._seq_of

    def attach(self, peer: Peer) -> None:
        seq = self._counter
        self._counter = seq + 1
        self.peers.append(peer)
        self._seqs.append(seq)
        self._seq_of[peer] = seq
        self._peer_of[seq] = peer
        inbound = peer.inbound
        # Hook first, then look: a message written before the hook is seen by the look below
        # (or by the rebuild), one written after it calls the hook.
        inbound.ready_hook = partial(self._incoming.append, seq)
        if len(self.peers) == 2:
            self._rebuild()  # leaving the sole-peer mode: the ready set was not kept
        elif len(self.peers) > 2 and inbound.queue:
            self._mark(seq)

    def detach(self, peer: Peer) -> None:
        seq = self._seq_of.pop(peer, None)
        if seq is None:
            return
        del self._peer_of[seq]
        peer.inbound.ready_hook = None
        index = bisect_left(self._seqs, seq)
        del self._seqs[index]
        del self.peers[index]
        self._marked.discard(seq)  # (its heap entries are skipped: the number is unknown now)
        if self._batch and self._batch[0][1] is peer:
            self._batch.clear()  # all taken from this peer
        seqs = self._seqs
        if not seqs or self._next_seq > seqs[-1]:
            # The scan's index ran past the end: it wraps to the first peer.
            self._next_seq = 0
            if self._later:
                self._now.extend(self._later)
                self._later.clear()
                heapify(self._now)

    # -- the ready set (socket's thread) --------------------------------------------------------
    def _mark(self, seq: int) -> None:
        self._marked.add(seq)
        heappush(self._now if seq >= self._next_seq else self._later, seq)

    def _rebuild(self) -> None:
        """Mark exactly the attached peers whose pipes hold messages (from scratch)."""
        self._incoming.clear()  # (cleared before the look: a later write calls the hook)
        self._marked.clear()
        self._now.clear()
        self._later.clear()
        for seq, peer in zip(self._seqs, self.peers, strict=True):
            if peer.inbound.queue:
                self._mark(seq)

    def _absorb(self) -> None:
        """Move what the writers reported into the ready set."""
        incoming = self._incoming
        marked = self._marked
        peer_of = self._peer_of
        while incoming:
            seq = incoming.popleft()
            if seq not in marked and seq in peer_of:
                self._mark(seq)

    def _pick(self) -> tuple[Message, Peer] | None:
        """The next message in round-robin order (two or more peers)."""
        if self._incoming:
            self._absorb()
        peer_of = self._peer_of
        while True:
            now = self._now
            if not now:
                later = self._later
                if not later:
                    return None
                self._now, self._later = later, now  # the round wraps
                continue
            seq = now[0]
            peer = peer_of.get(seq)
            if peer is None:  # detached since it was marked
                heappop(now)
                continue
            inbound = peer.inbound
            msg = inbound.read()
            if msg is None:  # emptied elsewhere: not ready any more
                heappop(now)
                self._marked.discard(seq)
                continue
            if seq == self._seqs[-1]:
                # The last attached peer: the round ends (what is left in _now is detached).
                self._next_seq = 0
                now = self._now = self._later
                self._later = []
                if inbound.queue:
                    heappush(now, seq)
                else:
                    self._marked.discard(seq)
            else:
                self._next_seq = seq + 1
                if inbound.queue:
                    heappush(self._later, heappop(now))
                else:
                    heappop(now)
                    self._marked.discard(seq)
            return msg, peer

    def _any_ready(self) -> bool:
        if self._incoming:
            self._absorb()
        peer_of = self._peer_of
        for heap in (self._now, self._later):
            while heap:
                seq = heap[0]
                peer = peer_of.get(seq)
                if peer is not None:
                    if peer.inbound.queue:
                        return True
                    self._marked.discard(seq)
                heappop(heap)
        return False

    # -- the socket's interface ---------------------------------------------------------------
    def has_in(self) -> bool:
        if self._batch:
            return True
        peers = self.peers
        if len(peers) <= 1:
            return bool(peers) and peers[0].inbound.readable()
        return self._any_ready()

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
            return self._pick() if peers else None
        peer = peers[0]
        if self._incoming:
            self._incoming.clear()  # (a sole peer is read directly)
        msgs = peer.inbound.read_many(RECV_BATCH)
        if len(msgs) > 1:
            batch.extend(zip(msgs, repeat(peer)))  # (the pairs made in C, not in a loop)
            return batch.popleft()
        return (msgs[0], peer) if msgs else None

    def recv(self) -> tuple[Message, Peer] | None:
        if self._batch:
            return self._batch.popleft()
        peers = self.peers
        if len(peers) == 1:  # the common case, without the ready set
            peer = peers[0]
            if self._incoming:
                self._incoming.clear()
            msg = peer.inbound.read()
            return None if msg is None else (msg, peer)
        return self._pick() if peers else None
