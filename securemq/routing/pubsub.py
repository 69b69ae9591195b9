"""PUB, XPUB, SUB and XSUB (RFC 29, libzmq 4.3 xpub.cpp / xsub.cpp semantics).

How this works:
- Publishers keep a ``MultiTrie`` of which peer subscribed to which topic. Peers' inbound pipes
  carry subscriptions as ``\\x01topic`` / ``\\x00topic`` frames (the connection turns ZMTP 3.1
  SUBSCRIBE/CANCEL commands into these). They are drained before every send (and, for XPUB,
  before every recv), so a message goes to the subscribers known at that moment. A message goes
  whole to every matching peer with room; a full peer misses it (or, with XPUB_NODROP, the send
  waits: False).
- XPUB also queues notifications for its user: a subscribe when a topic gets its first
  subscriber (every subscribe with XPUB_VERBOSE or XPUB_VERBOSER), an unsubscribe when a topic
  loses its last subscriber (every one with XPUB_VERBOSER), including the topics of a peer that
  leaves. Other frames from peers are passed up as user messages (libzmq 4.3 does).
- Subscribers keep a refcounted ``SubscriptionTrie``; subscribe is always forwarded to every
  peer, unsubscribe only when the topic is really gone. Subscriptions are written past the HWM
  and are sent again to a peer that attaches or reconnects. Received messages whose first frame
  matches no topic (or, with INVERT_MATCHING, some topic) are dropped.
"""

from __future__ import annotations

from collections import deque
from typing import ClassVar

from ..constants import Errno, SocketType
from ..pipe import Message, Peer, Pipe, write_to_all
from .base import Routing, RoutingOptions, drop_queued, fail
from .dist import all_writable, distribute, force_to_all
from .fq import FairQueue
from .trie import MultiTrie, Removed, SubscriptionTrie

SUBSCRIBE = 1
CANCEL = 0


def _subscription(frame: bytes) -> int | None:
    """SUBSCRIBE or CANCEL for a subscription frame, None for anything else."""
    if frame and frame[0] in (SUBSCRIBE, CANCEL):
        return frame[0]
    return None


class XPub(Routing):
    socket_type: ClassVar[int] = SocketType.XPUB
    name: ClassVar[str] = "XPUB"
    # PUB never passes anything up to its user.
    _reports: ClassVar[bool] = True

    def __init__(self, options: RoutingOptions) -> None:
        super().__init__(options)
        self._peers: list[Peer] = []
        self._subscriptions = MultiTrie()
        self._pending: deque[tuple[Message, Peer]] = deque()
        self._inbound: list[deque[Message]] = []
        self._outbound: list[Pipe] = []

    # -- peers -------------------------------------------------------------------------------
    def attach(self, peer: Peer) -> None:
        if peer not in self._peers:
            self._peers.append(peer)
            self._peers_changed()
            self._drain_one(peer)

    def detach(self, peer: Peer) -> None:
        if peer in self._peers:
            self._peers.remove(peer)
            self._peers_changed()
            self._forget(peer)
        drop_queued(peer)

    def _peers_changed(self) -> None:
        # Cached per peer list for the per-message paths.
        self._inbound = [peer.inbound.queue for peer in self._peers]
        self._outbound = [peer.outbound for peer in self._peers]

    def hiccup(self, peer: Peer) -> None:
        # The peer will send its subscriptions again over the new connection.
        if peer in self._peers:
            self._forget(peer)

    def _forget(self, peer: Peer) -> None:
        verboser = self.options.xpub_verboser
        for topic, outcome in self._subscriptions.remove_peer(peer):
            if self._reports and (outcome is Removed.LAST or verboser):
                self._pending.append(([bytes([CANCEL]) + topic], peer))

    # -- subscriptions from peers ------------------------------------------------------------
    def _drain(self) -> bool:
        """Process what the peers sent (subscriptions, user messages); True if anything was."""
        drained = False
        for peer in self._peers:
            if peer.inbound.readable():
                self._drain_one(peer)
                drained = True
        return drained

    def _drain_until_pending(self) -> None:
        # A pass may report nothing (a cancel of a topic another peer still holds) while more
        # arrived meanwhile: go on until something is pending or every pipe is empty, or that
        # message would wait for a wake-up that never comes (pipes wake on empty -> non-empty).
        while not self._pending and self._drain():
            pass

    def _drain_one(self, peer: Peer) -> None:
        inbound = peer.inbound
        # Bounded by what is queued now, so a flooding peer cannot keep us here.
        for _ in range(len(inbound)):
            msg = inbound.read()
            if msg is None:
                return
            self._process(peer, msg)

    def _process(self, peer: Peer, msg: Message) -> None:
        # libzmq 4.3 looks at every frame (ONLY_FIRST_SUBSCRIBE is off by default).
        user_frames: Message = []
        for frame in msg:
            kind = _subscription(frame)
            if kind is None:
                user_frames.append(frame)
                continue
            topic = frame[1:]
            if kind == SUBSCRIBE:
                first = self._subscriptions.add(topic, peer)
                notify = first or self.options.xpub_verbose or self.options.xpub_verboser
            else:
                outcome = self._subscriptions.remove(topic, peer)
                # libzmq also reports the cancel of a topic the peer never had (NOT_FOUND).
                notify = outcome is not Removed.REMAIN or self.options.xpub_verboser
            if notify and self._reports:
                self._pending.append(([bytes(frame)], peer))
        if user_frames and self._reports:
            self._pending.append((user_frames, peer))

    # -- data --------------------------------------------------------------------------------
    def _targets(self, topic: bytes) -> list[Peer]:
        matching = self._subscriptions.match(topic)
        if self.options.invert_matching:
            return [peer for peer in self._peers if peer not in matching]
        if len(matching) == len(self._peers):
            return self._peers  # everyone (the common case of a plain fan-out)
        return [peer for peer in self._peers if peer in matching]

    def send(self, msg: Message) -> bool:
        if any(self._inbound):  # (one C-level check of the inbound queues per send)
            self._drain()
        options = self.options
        everyone = self._subscriptions.everyone
        if (
            everyone is not None and len(everyone) == len(self._peers)
            and not options.invert_matching and not options.xpub_nodrop
        ):
            # The plain fan-out (every peer takes everything): the hot path of PUB.
            self.dropped = write_to_all(self._outbound, msg) > 0
            return True
        targets = self._targets(msg[0] if msg else b"")
        if self.options.xpub_nodrop and not all_writable(targets):
            return False
        pipes = self._outbound if targets is self._peers else [peer.outbound for peer in targets]
        self.dropped = write_to_all(pipes, msg) > 0
        return True

    def recv(self) -> tuple[Message, Peer] | None:
        self._drain_until_pending()
        if self._pending:
            return self._pending.popleft()
        return None

    def can_send(self) -> bool:
        return True

    def can_recv(self) -> bool:
        self._drain_until_pending()
        return bool(self._pending)


class Pub(XPub):
    socket_type: ClassVar[int] = SocketType.PUB
    name: ClassVar[str] = "PUB"
    _reports: ClassVar[bool] = False

    def recv(self) -> tuple[Message, Peer] | None:
        raise fail(Errno.ENOTSUP, self.name, "recv is not supported")

    def can_recv(self) -> bool:
        return False


class XSub(Routing):
    socket_type: ClassVar[int] = SocketType.XSUB
    name: ClassVar[str] = "XSUB"

    def __init__(self, options: RoutingOptions) -> None:
        super().__init__(options)
        self._fq = FairQueue()
        self._subscriptions = SubscriptionTrie()
        # Subscribed to the empty topic: every message matches, no per-message check.
        self._everything = False
        self._ready: tuple[Message, Peer] | None = None

    # -- peers -------------------------------------------------------------------------------
    def attach(self, peer: Peer) -> None:
        if peer not in self._fq.peers:
            self._fq.attach(peer)
            self._resend(peer)

    def detach(self, peer: Peer) -> None:
        self._fq.detach(peer)
        if self._ready is not None and self._ready[1] is peer:
            self._ready = None
        drop_queued(peer)

    def hiccup(self, peer: Peer) -> None:
        if peer in self._fq.peers:
            self._resend(peer)

    def _resend(self, peer: Peer) -> None:
        for topic in self._subscriptions.topics():
            peer.outbound.force_write([bytes([SUBSCRIBE]) + topic])

    # -- subscriptions -----------------------------------------------------------------------
    def _add(self, topic: bytes) -> None:
        # Always forwarded: XPUB upstream counts peers, and XPUB_VERBOSE needs every one.
        self._subscriptions.add(topic)
        self._everything = self._subscriptions.check(b"")
        force_to_all(self._fq.peers, [bytes([SUBSCRIBE]) + topic])

    def _remove(self, topic: bytes) -> None:
        if self._subscriptions.remove(topic):
            self._everything = self._subscriptions.check(b"")
            self._refilter_batch()
            force_to_all(self._fq.peers, [bytes([CANCEL]) + topic])

    def options_changed(self) -> None:
        self._refilter_batch()  # INVERT_MATCHING may have changed

    def _refilter_batch(self) -> None:
        """Keep only what still matches of the batch taken while every topic matched, so that
        it stays deliverable as it is (the socket pops from it directly)."""
        batch = self._fq.batch
        if batch:
            kept = [item for item in batch if self._matches(item[0])]
            batch.clear()
            batch.extend(kept)

    # -- data --------------------------------------------------------------------------------
    def send(self, msg: Message) -> bool:
        kind = _subscription(msg[0]) if len(msg) == 1 else None
        if kind == SUBSCRIBE:
            self._add(msg[0][1:])
        elif kind == CANCEL:
            self._remove(msg[0][1:])
        else:
            distribute(self._fq.peers, msg)  # a user message upstream; full peers miss it
        return True

    def _matches(self, msg: Message) -> bool:
        found = self._subscriptions.check(msg[0] if msg else b"")
        return found != self.options.invert_matching

    def _prefetch(self) -> tuple[Message, Peer] | None:
        batch = self._fq.batch
        if batch:
            return batch[0]  # left in place: _ready and a batch never coexist
        if self._ready is None:
            while (item := self._fq.recv()) is not None:
                if self._matches(item[0]):
                    self._ready = item
                    break
        return self._ready

    def recv(self) -> tuple[Message, Peer] | None:
        item = self._ready
        if item is not None:
            self._ready = None
            return item
        # The hot path of every subscriber: _prefetch inlined.
        invert = self.options.invert_matching
        if self._everything and not invert:
            return self._fq.recv_batched()
        fq_recv = self._fq.recv
        check = self._subscriptions.check
        while (item := fq_recv()) is not None:
            msg = item[0]
            if check(msg[0] if msg else b"") != invert:
                return item
        return None

    def holds(self, peer: Peer) -> bool:
        return self._fq.holds(peer) or (self._ready is not None and self._ready[1] is peer)

    def ready_batch(self) -> deque[tuple[Message, Peer]]:
        return self._fq.batch

    def can_send(self) -> bool:
        return True

    def can_recv(self) -> bool:
        return self._prefetch() is not None


class Sub(XSub):
    socket_type: ClassVar[int] = SocketType.SUB
    name: ClassVar[str] = "SUB"

    def subscribe(self, topic: bytes) -> None:
        self._add(bytes(topic))

    def unsubscribe(self, topic: bytes) -> None:
        self._remove(bytes(topic))

    def send(self, msg: Message) -> bool:
        raise fail(Errno.ENOTSUP, self.name, "send is not supported")

    def can_send(self) -> bool:
        return False
