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
- XPUB_MANUAL (libzmq xpub.cpp): subscriptions from peers are not applied; every subscribe and
  cancel is passed up, and the application subscribes the peer it last received one from with
  setsockopt(SUBSCRIBE/UNSUBSCRIBE). A peer that leaves reports a cancel of each topic it sent.
  XPUB_MANUAL_LAST_VALUE also sends the next message to that peer alone (last value caching).
- XPUB_WELCOME_MSG is queued to every new peer first; ONLY_FIRST_SUBSCRIBE (XPUB and XSUB) makes
  only a message whose first frame is a subscription count as subscriptions (libzmq checks every
  frame otherwise).
- Subscribers keep a refcounted ``SubscriptionTrie``; subscribe is always forwarded to every
  peer, unsubscribe only when the topic is really gone. Subscriptions are written past the HWM
  and are sent again to a peer that attaches or reconnects. Received messages whose first frame
  matches no topic (or, with INVERT_MATCHING, some topic) are dropped.
- Authorization (securemq, routing/authz.py): a peer whose ZAP decision limits its subscription
  prefixes (``Securemq-Subscribe``) gets only the subscriptions that start with one of them
  registered (also when the application subscribes it under XPUB_MANUAL); the others are
  dropped, never passed up, and reported. Under INVERT_MATCHING such a peer gets nothing.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import ClassVar, cast

from ..constants import Errno, SocketType
from ..pipe import Message, Peer, Pipe, write_to_all
from .authz import SUBSCRIBE_REFUSED, AccessRules
from .base import Routing, RoutingOptions, drop_queued, fail
from .dist import all_writable, distribute, force_to_all
from .fq import FairQueue
from .sequence import Checker, LossReport, Stamper
from .trie import MultiTrie, Removed, SubscriptionTrie

SUBSCRIBE = 1
CANCEL = 0


def _option(options: RoutingOptions, name: str) -> bool:
    """A pub/sub option RoutingOptions does not list (absent: off)."""
    return bool(getattr(options, name, False))


def _limited(rules: Mapping[Peer, AccessRules], peer: Peer) -> bool:
    """Whether ``peer``'s subscriptions are restricted (Securemq-Subscribe)."""
    found = rules.get(peer) if rules else None
    return found is not None and found.subscribe is not None


def _no_report(peer: Peer, lost: int, total: int) -> None:
    return None


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
        # XPUB_MANUAL: what each peer asked for (reported again as cancels when it leaves), and
        # the peer whose subscribe or cancel the application received last.
        self._manual_subscriptions = MultiTrie()
        self._last_peer: Peer | None = None
        # SEQUENCE (routing/sequence.py): stamps for the subscribers that take them.
        self._stamper: Stamper | None = None

    # -- peers -------------------------------------------------------------------------------
    def attach(self, peer: Peer) -> None:
        if peer not in self._peers:
            welcome = cast(bytes, getattr(self.options, "xpub_welcome_msg", b""))
            if welcome:
                peer.outbound.force_write([welcome])  # XPUB_WELCOME_MSG, before anything else
            self._peers.append(peer)
            self._peers_changed()
            self._drain_one(peer)

    def detach(self, peer: Peer) -> None:
        if peer in self._peers:
            self._peers.remove(peer)
            self._peers_changed()
            self._forget(peer)
        if peer is self._last_peer:
            self._last_peer = None
        drop_queued(peer)

    def _peers_changed(self) -> None:
        # Cached per peer list for the per-message paths.
        self._inbound = [peer.inbound.queue for peer in self._peers]
        self._outbound = [peer.outbound for peer in self._peers]

    def hiccup(self, peer: Peer) -> None:
        # The peer will send its subscriptions again over the new connection.
        if peer in self._peers:
            self._forget(peer)

    def options_changed(self) -> None:
        if _option(self.options, "sequence") != (self._stamper is not None):
            self._stamper = Stamper() if self._stamper is None else None

    def _forget(self, peer: Peer) -> None:
        if self._stamper is not None:
            self._stamper.forget(peer)  # a new connection counts from 1 again
        verboser = self.options.xpub_verboser
        if _option(self.options, "xpub_manual"):
            # libzmq: a cancel for every topic the peer asked for, whoever else holds it.
            self._subscriptions.remove_peer(peer)
            for topic, _outcome in self._manual_subscriptions.remove_peer(peer):
                if self._reports:
                    self._pending.append(([bytes([CANCEL]) + topic], peer))
            return
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
        # libzmq 4.3 looks at every frame unless ONLY_FIRST_SUBSCRIBE is set: then the frames
        # after the first count only if the first one was a subscription.
        user_frames: Message = []
        only_first = _option(self.options, "only_first_subscribe")
        manual = _option(self.options, "xpub_manual")
        # Securemq-Subscribe (routing/authz.py): which topics this peer may register.
        rules = self.authz.rules.get(peer) if self.authz.rules else None
        process = True
        for index, frame in enumerate(msg):
            kind = _subscription(frame) if process else None
            if index == 0 and only_first:
                process = kind is not None
            if kind is None:
                user_frames.append(frame)
                continue
            topic = frame[1:]
            if rules is not None and not rules.may_subscribe(bytes(topic)):
                if kind == SUBSCRIBE:
                    self.authz.refused(peer, SUBSCRIBE_REFUSED, bytes(topic))
                continue  # (a cancel of a topic it could not have: nothing to do)
            if manual:
                if kind == SUBSCRIBE:
                    self._manual_subscriptions.add(topic, peer)
                else:
                    self._manual_subscriptions.remove(topic, peer)
                if self._reports:
                    self._pending.append(([bytes(frame)], peer))
                continue
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
            # (a peer whose subscriptions are restricted gets nothing: here they exclude)
            restricted = self.authz.rules
            return [peer for peer in self._peers
                    if peer not in matching and not _limited(restricted, peer)]
        if len(matching) == len(self._peers):
            return self._peers  # everyone (the common case of a plain fan-out)
        return [peer for peer in self._peers if peer in matching]

    def send(self, msg: Message) -> bool:
        if any(self._inbound):  # (one C-level check of the inbound queues per send)
            self._drain()
        options = self.options
        if self._last_peer is not None and _option(options, "xpub_manual_last_value"):
            return self._send_last_value(msg)
        if self._stamper is not None:
            return self._send_stamped(msg, self._stamper)
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

    def _send_stamped(self, msg: Message, stamper: Stamper) -> bool:
        """SEQUENCE: each subscriber that takes stamps gets its own counter as a last frame,
        counted even when its pipe is full and the message is dropped (the gap it will see)."""
        targets = self._targets(msg[0] if msg else b"")
        if self.options.xpub_nodrop and not all_writable(targets):
            return False
        missed = 0
        for peer in targets:
            missed += not peer.outbound.write_or_drop(stamper.stamped(peer, msg))
        self.dropped = missed > 0
        return True

    def _send_last_value(self, msg: Message) -> bool:
        """XPUB_MANUAL_LAST_VALUE: this message goes to the last subscriber alone (if its
        subscriptions match it), then sending is back to normal (libzmq xpub_t::xsend)."""
        last = self._last_peer
        self._last_peer = None
        matching = [last] if last in self._subscriptions.match(msg[0] if msg else b"") else []
        if self.options.invert_matching:
            matching = [peer for peer in self._peers
                        if peer not in matching and not _limited(self.authz.rules, peer)]
        if self.options.xpub_nodrop and not all_writable(matching):
            self._last_peer = last
            return False
        self.dropped = write_to_all([peer.outbound for peer in matching], msg) > 0
        return True

    def recv(self) -> tuple[Message, Peer] | None:
        self._drain_until_pending()
        if self._pending:
            item = self._pending.popleft()
            if _option(self.options, "xpub_manual") and _subscription(item[0][0]) is not None:
                # The peer setsockopt(SUBSCRIBE) will subscribe (gone already: none).
                self._last_peer = item[1] if item[1] in self._peers else None
            return item
        return None

    # -- XPUB_MANUAL: the application subscribes the last peer it heard from ---------------------
    def subscribe(self, topic: bytes) -> None:
        if not _option(self.options, "xpub_manual"):
            super().subscribe(topic)
        last = self._last_peer
        if last is not None:
            rules = self.authz.rules.get(last)
            if rules is not None and not rules.may_subscribe(bytes(topic)):
                self.authz.refused(last, SUBSCRIBE_REFUSED, bytes(topic))
                return
            self._subscriptions.add(bytes(topic), last)

    def unsubscribe(self, topic: bytes) -> None:
        if not _option(self.options, "xpub_manual"):
            super().unsubscribe(topic)
        if self._last_peer is not None:
            self._subscriptions.remove(bytes(topic), self._last_peer)

    def subscriber_count(self) -> int:
        """How many peers have at least one subscription now (wait_for_subscribers)."""
        if any(self._inbound):
            self._drain()
        manual = _option(self.options, "xpub_manual")
        trie = self._manual_subscriptions if manual else self._subscriptions
        return trie.subscribed_peers()

    def topics_count(self) -> int:
        """TOPICS_COUNT: how many distinct topics peers are subscribed to."""
        self._drain()
        return len(self._subscriptions)

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
        # SEQUENCE (routing/sequence.py): takes stamps off and counts gaps, per publisher;
        # each gap goes to report_loss, which the socket replaces with its own.
        self.checker: Checker | None = None
        self.report_loss: LossReport = _no_report

    # -- peers -------------------------------------------------------------------------------
    def attach(self, peer: Peer) -> None:
        if peer not in self._fq.peers:
            self._fq.attach(peer)
            self._resend(peer)

    def detach(self, peer: Peer) -> None:
        self._fq.detach(peer)
        if self._ready is not None and self._ready[1] is peer:
            self._ready = None
        if self.checker is not None:
            self.checker.forget(peer)
        drop_queued(peer)

    def hiccup(self, peer: Peer) -> None:
        if peer in self._fq.peers:
            self._resend(peer)
            if self.checker is not None:
                self.checker.restart(peer)

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
        elif _option(self.options, "xsub_verbose_unsubscribe"):
            # XSUB_VERBOSE_UNSUBSCRIBE: every cancel goes upstream, not just the last one.
            force_to_all(self._fq.peers, [bytes([CANCEL]) + topic])

    def topics_count(self) -> int:
        """TOPICS_COUNT: how many subscriptions this socket holds, a topic subscribed twice
        counting twice (libzmq's radix tree, which the builds that have this DRAFT option use)."""
        return sum(self._subscriptions.count(topic) for topic in self._subscriptions.topics())

    def options_changed(self) -> None:
        self._refilter_batch()  # INVERT_MATCHING may have changed
        if _option(self.options, "sequence") != (self.checker is not None):
            self.checker = Checker() if self.checker is None else None

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
        if len(msg) > 1:
            return self._send_parts(msg)
        kind = _subscription(msg[0])
        if kind == SUBSCRIBE:
            self._add(msg[0][1:])
        elif kind == CANCEL:
            self._remove(msg[0][1:])
        else:
            distribute(self._fq.peers, msg)  # a user message upstream; full peers miss it
        return True

    def _send_parts(self, msg: Message) -> bool:
        """A multipart message goes upstream whole, as libzmq's xsub_t::xsend sends it frame by
        frame; a frame that is a subscription also counts as one here (every frame; with
        ONLY_FIRST_SUBSCRIBE, the frames after the first only if the first was one), and a
        cancel that removes nothing is left out (unless XSUB_VERBOSE_UNSUBSCRIBE)."""
        process = True
        out: Message = []
        for index, frame in enumerate(msg):
            kind = _subscription(frame) if process or index == 0 else None
            if index == 0:
                process = not _option(self.options, "only_first_subscribe")
            if kind == SUBSCRIBE:
                process = True
                self._subscriptions.add(frame[1:])
                self._everything = self._subscriptions.check(b"")
            elif kind == CANCEL:
                process = True
                if self._subscriptions.remove(frame[1:]):
                    self._everything = self._subscriptions.check(b"")
                    self._refilter_batch()
                elif not _option(self.options, "xsub_verbose_unsubscribe"):
                    continue
            out.append(frame)
        if out:
            distribute(self._fq.peers, out)
        return True

    def _matches(self, msg: Message) -> bool:
        found = self._subscriptions.check(msg[0] if msg else b"")
        return found != self.options.invert_matching

    def _next(self) -> tuple[Message, Peer] | None:
        """The next message of the fair queue, its stamp checked and taken off (SEQUENCE)."""
        while (item := self._fq.recv()) is not None:
            checker = self.checker
            if checker is None:
                return item
            msg = checker.check(item[0], item[1], self.report_loss)
            if msg is not None:
                return msg, item[1]
        return None

    def _prefetch(self) -> tuple[Message, Peer] | None:
        batch = self._fq.batch
        if batch:
            return batch[0]  # left in place: _ready and a batch never coexist
        if self._ready is None:
            while (item := self._next()) is not None:
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
        if self._everything and not invert and self.checker is None:
            return self._fq.recv_batched()
        fq_recv = self._fq.recv if self.checker is None else self._next
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
