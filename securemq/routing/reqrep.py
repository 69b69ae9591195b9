"""REQ, REP and DEALER (RFC 28, libzmq 4.3 req.cpp / rep.cpp / dealer.cpp semantics).

How this works:
- REQ is a small state machine over load-balance + fair-queue. ``send`` prefixes the request
  with an empty delimiter (and, with REQ_CORRELATE, a 4-byte request id before it), drops any
  stale inbound messages, and writes it whole to the next peer with room; that peer becomes the
  one the reply must come from. ``recv`` takes only a well-formed reply from that peer (with the
  right request id), strips the envelope, and flips back to sending. Anything else is dropped.
  If the peer we wait on goes away, a reply from any peer is accepted (libzmq does the same).
- REP fair-queues requests, splits off the envelope (every frame up to and including the first
  empty one), remembers it with the peer, and puts it back in front of the reply.
- DEALER is plain load-balance out, fair-queue in.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable
from typing import ClassVar

from ..constants import Errno, SocketType
from ..pipe import Message, Peer
from .base import Routing, RoutingOptions, drop_queued, fail
from .fq import FairQueue
from .lb import LoadBalancer

RandomBits = Callable[[int], int]


class Dealer(Routing):
    socket_type: ClassVar[int] = SocketType.DEALER
    name: ClassVar[str] = "DEALER"

    def __init__(self, options: RoutingOptions) -> None:
        super().__init__(options)
        self._lb = LoadBalancer()
        self._fq = FairQueue()
        self._bind_send()

    def _bind_send(self) -> None:
        # The hot path: the load balancer's sender for the peers attached now (not for REQ, a
        # subclass that sends through its own send).
        if type(self) is Dealer:
            self.send = self._lb.sender()  # type: ignore[method-assign,assignment]

    def attach(self, peer: Peer) -> None:
        if peer not in self._lb.peers:
            self._lb.attach(peer)
            self._fq.attach(peer)
            self._bind_send()

    def detach(self, peer: Peer) -> None:
        self._lb.detach(peer)
        self._fq.detach(peer)
        self._bind_send()
        drop_queued(peer)

    def send(self, msg: Message) -> bool:
        return self._lb.send(msg) is not None

    def recv(self) -> tuple[Message, Peer] | None:
        return self._fq.recv()

    def can_send(self) -> bool:
        return self._lb.has_out()

    def can_recv(self) -> bool:
        return self._fq.has_in()


class Req(Dealer):
    socket_type: ClassVar[int] = SocketType.REQ
    name: ClassVar[str] = "REQ"

    def __init__(self, options: RoutingOptions, *, random_bits: RandomBits | None = None) -> None:
        super().__init__(options)
        bits = random_bits if random_bits is not None else random.getrandbits
        self._request_id = bits(32) & 0xFFFFFFFF
        self._id_frame = b""
        self._awaiting = False
        self._reply_peer: Peer | None = None
        self._ready: tuple[Message, Peer] | None = None

    def detach(self, peer: Peer) -> None:
        super().detach(peer)
        if peer is self._reply_peer:
            self._reply_peer = None
        if self._ready is not None and self._ready[1] is peer:
            self._ready = None

    def send(self, msg: Message) -> bool:
        if self._awaiting:
            if not self.options.req_relaxed:
                raise fail(Errno.EFSM, self.name, "cannot send twice without receiving a reply")
            # REQ_RELAXED: the outstanding request is abandoned; its reply will be dropped.
            self._abandon()
        # Replies that arrived while no request was outstanding are stale: drop them now,
        # before the request can be answered.
        for each in self._fq.peers:
            each.inbound.clear()
        if self.options.req_correlate:
            request_id = (self._request_id + 1) & 0xFFFFFFFF
            id_frame = request_id.to_bytes(4, sys.byteorder)  # host order, as libzmq
            envelope = [id_frame, b""]
        else:
            request_id, id_frame = self._request_id, b""
            envelope = [b""]
        peer = self._lb.send(envelope + msg)
        if peer is None:  # every peer is full (or none yet): nothing changed, try again later
            return False
        self._request_id, self._id_frame = request_id, id_frame
        self._awaiting = True
        self._reply_peer = peer
        return True

    def _abandon(self) -> None:
        self._awaiting = False
        self._reply_peer = None
        self._ready = None

    def _body(self, msg: Message) -> Message | None:
        """The reply body, or None if the envelope is not the one we expect."""
        if self._id_frame:
            if len(msg) < 3 or msg[0] != self._id_frame or msg[1] != b"":
                return None
            return msg[2:]
        if len(msg) < 2 or msg[0] != b"":
            return None
        return msg[1:]

    def _prefetch(self) -> tuple[Message, Peer] | None:
        if self._ready is None:
            while (item := self._fq.recv()) is not None:
                msg, peer = item
                if self._reply_peer is not None and peer is not self._reply_peer:
                    continue  # not from the peer we asked
                body = self._body(msg)
                if body is not None:
                    self._ready = (body, peer)
                    break
        return self._ready

    def recv(self) -> tuple[Message, Peer] | None:
        if not self._awaiting:
            raise fail(Errno.EFSM, self.name, "cannot receive without a request outstanding")
        item = self._prefetch()
        if item is not None:
            self._abandon()
        return item

    def can_send(self) -> bool:
        if self._awaiting and not self.options.req_relaxed:
            return False
        return self._lb.has_out()

    def can_recv(self) -> bool:
        return self._awaiting and self._prefetch() is not None


def split_envelope(msg: Message) -> tuple[Message, Message] | None:
    """(envelope including the empty delimiter, body), or None if there is no delimiter
    followed by at least one body frame."""
    for index, frame in enumerate(msg):
        if frame == b"":
            if index + 1 >= len(msg):
                return None
            return msg[: index + 1], msg[index + 1 :]
    return None


class Rep(Routing):
    socket_type: ClassVar[int] = SocketType.REP
    name: ClassVar[str] = "REP"

    def __init__(self, options: RoutingOptions) -> None:
        super().__init__(options)
        self._fq = FairQueue()
        self._replying = False
        self._envelope: Message = []
        self._reply_peer: Peer | None = None
        self._ready: tuple[Message, Message, Peer] | None = None

    def attach(self, peer: Peer) -> None:
        if peer not in self._fq.peers:
            self._fq.attach(peer)

    def detach(self, peer: Peer) -> None:
        self._fq.detach(peer)
        if peer is self._reply_peer:
            self._reply_peer = None  # the reply will be dropped
        if self._ready is not None and self._ready[2] is peer:
            self._ready = None
        drop_queued(peer)

    def _prefetch(self) -> tuple[Message, Message, Peer] | None:
        if self._ready is None:
            while (item := self._fq.recv()) is not None:
                msg, peer = item
                parts = split_envelope(msg)
                if parts is not None:  # malformed requests are dropped
                    self._ready = (parts[0], parts[1], peer)
                    break
        return self._ready

    def recv(self) -> tuple[Message, Peer] | None:
        if self._replying:
            raise fail(Errno.EFSM, self.name, "cannot receive before sending the reply")
        item = self._prefetch()
        if item is None:
            return None
        self._ready = None
        self._envelope, body, peer = item
        self._reply_peer = peer
        self._replying = True
        return body, peer

    def send(self, msg: Message) -> bool:
        if not self._replying:
            raise fail(Errno.EFSM, self.name, "cannot send without a request to answer")
        peer = self._reply_peer
        self._replying = False
        self._reply_peer = None
        envelope, self._envelope = self._envelope, []
        if peer is not None:
            peer.outbound.write_or_drop(envelope + msg)  # a full or vanished peer loses it
        return True

    def can_send(self) -> bool:
        return self._replying

    def can_recv(self) -> bool:
        return not self._replying and self._prefetch() is not None
