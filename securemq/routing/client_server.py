"""CLIENT and SERVER (libzmq 4.3 client.cpp / server.cpp semantics; seam: ``draft.py``).

How this works:
- CLIENT is DEALER made single-part: load-balance out (no peer with room: not now), fair-queue
  in, and a multi-frame message from a peer is dropped whole.
- SERVER gives every peer a 32-bit routing id when it attaches, as libzmq does: a counter that
  starts at a random value and counts up, skipping 0 (and, unlike libzmq, which asserts, any id
  still in use after a wrap-around). ``send([routing_id, body])`` goes to that peer only: an
  unknown id (or a peer whose connection is gone) is EHOSTUNREACH, a full pipe is "not now"
  (libzmq returns EAGAIN, and a blocking send waits). ``recv`` fair-queues one-frame messages
  and puts the sender's id in front. A peer keeps its id across a reconnect (same pipes).
"""

from __future__ import annotations

import random
from typing import ClassVar

from ..constants import Errno, SocketType
from ..pipe import Message, Peer
from .base import Routing, RoutingOptions, drop_queued, fail
from .draft import (
    decode_routing_id,
    drop_multipart_heads,
    encode_routing_id,
    recv_single,
    single_body,
)
from .fq import FairQueue
from .lb import LoadBalancer
from .reqrep import RandomBits

_ID_MASK = 0xFFFFFFFF


class Client(Routing):
    socket_type: ClassVar[int] = SocketType.CLIENT
    name: ClassVar[str] = "CLIENT"
    thread_safe: ClassVar[bool] = True

    def __init__(self, options: RoutingOptions) -> None:
        super().__init__(options)
        self._lb = LoadBalancer()
        self._fq = FairQueue()

    def attach(self, peer: Peer) -> None:
        if peer not in self._lb.peers:
            self._lb.attach(peer)
            self._fq.attach(peer)

    def detach(self, peer: Peer) -> None:
        self._lb.detach(peer)
        self._fq.detach(peer)
        drop_queued(peer)

    def send(self, msg: Message) -> bool:
        single_body(msg, self.name)
        return self._lb.send(msg) is not None

    def recv(self) -> tuple[Message, Peer] | None:
        return recv_single(self._fq)

    def can_send(self) -> bool:
        return self._lb.has_out()

    def can_recv(self) -> bool:
        drop_multipart_heads(self._fq.peers)
        return self._fq.has_in()


class Server(Routing):
    socket_type: ClassVar[int] = SocketType.SERVER
    name: ClassVar[str] = "SERVER"
    thread_safe: ClassVar[bool] = True

    def __init__(self, options: RoutingOptions, *, random_bits: RandomBits | None = None) -> None:
        super().__init__(options)
        bits = random_bits if random_bits is not None else random.getrandbits
        self._next_id = bits(32) & _ID_MASK
        self._by_id: dict[int, Peer] = {}
        self._id_of: dict[Peer, int] = {}
        self._fq = FairQueue()

    # -- routing ids -------------------------------------------------------------------------
    def _allocate(self) -> int:
        while True:
            rid = self._next_id
            self._next_id = (rid + 1) & _ID_MASK
            if rid and rid not in self._by_id:
                return rid

    def routing_id_of(self, peer: Peer) -> int | None:
        """The routing id ``peer`` was given, None if it is not attached."""
        return self._id_of.get(peer)

    # -- peers -------------------------------------------------------------------------------
    def attach(self, peer: Peer) -> None:
        if peer in self._id_of:
            return
        rid = self._allocate()
        self._by_id[rid] = peer
        self._id_of[peer] = rid
        peer.routing_id = encode_routing_id(rid)
        self._fq.attach(peer)

    def detach(self, peer: Peer) -> None:
        rid = self._id_of.pop(peer, None)
        if rid is not None:
            del self._by_id[rid]
        self._fq.detach(peer)
        drop_queued(peer)

    # -- data --------------------------------------------------------------------------------
    def send(self, msg: Message) -> bool:
        if len(msg) != 2:
            raise fail(
                Errno.EINVAL, self.name, f"a message is [routing id, body], got {len(msg)} frames"
            )
        rid = decode_routing_id(msg[0])
        peer = self._by_id.get(rid)
        if peer is None or peer.outbound.closed:
            raise fail(Errno.EHOSTUNREACH, self.name, f"no peer with routing id {rid}")
        return peer.outbound.write([msg[1]])

    def recv(self) -> tuple[Message, Peer] | None:
        item = recv_single(self._fq)
        if item is None:
            return None
        msg, peer = item
        return [peer.routing_id, msg[0]], peer

    def can_send(self) -> bool:
        return True  # as libzmq: whether a send succeeds depends on the peer it names

    def can_recv(self) -> bool:
        drop_multipart_heads(self._fq.peers)
        return self._fq.has_in()
