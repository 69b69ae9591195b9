"""ROUTER (libzmq 4.3 router.cpp semantics).

How this works: every peer gets a routing id. A peer that announced a non-empty ROUTING_ID in
its READY uses it; otherwise it gets an automatic 5-byte id, ``\\x00`` + a 4-byte big-endian
counter that starts at a random value (as libzmq). An announced id already in use makes the
newcomer ignored (its messages are dropped, nothing is routed to it) unless ROUTER_HANDOVER is
set: then the newcomer takes the id and the old peer is cut off as libzmq terminates its pipe --
renamed with an automatic id, nothing routed to it any more, and what it sent or sends dropped
(libzmq's pipe_t::terminate stops reads at once; the connection itself stays open, silent).
A peer of a connect() made with CONNECT_ROUTING_ID arrives carrying that id (the socket checks
that no other peer holds it, where libzmq asserts).
``recv`` fair-queues and prefixes the sender's id; ``send`` routes on the first frame.
``peer.routing_id`` is set to the id actually used, so the socket can report it.
Authorization (securemq, routing/authz.py): a peer whose ZAP decision lists routing ids
(``Securemq-Routing-Ids``) is named by one of them only, and an id such a peer is entitled to is
never given to a peer that is not (``_authorized_id``).
"""

from __future__ import annotations

import random
from typing import ClassVar

from ..constants import Errno, SocketType
from ..pipe import Message, Peer
from .authz import ROUTING_ID_EVICTED, ROUTING_ID_REFUSED, ROUTING_ID_REPLACED
from .base import Routing, RoutingOptions, drop_queued, fail
from .fq import FairQueue
from .reqrep import RandomBits


class Router(Routing):
    socket_type: ClassVar[int] = SocketType.ROUTER
    name: ClassVar[str] = "ROUTER"

    def __init__(self, options: RoutingOptions, *, random_bits: RandomBits | None = None) -> None:
        super().__init__(options)
        bits = random_bits if random_bits is not None else random.getrandbits
        self._next_auto = bits(32) & 0xFFFFFFFF
        self._by_id: dict[bytes, Peer] = {}
        self._id_of: dict[Peer, bytes] = {}  # the id each peer is mapped under
        self._fq = FairQueue()
        self._ignored: list[Peer] = []

    # -- identities --------------------------------------------------------------------------
    def _auto_id(self) -> bytes:
        while True:
            rid = b"\x00" + self._next_auto.to_bytes(4, "big")
            self._next_auto = (self._next_auto + 1) & 0xFFFFFFFF
            if rid not in self._by_id:  # never hand out an id an announced peer holds
                return rid

    def _identify(self, peer: Peer) -> bool:
        if self.authz.rules and not self._authorized_id(peer):
            return False
        announced = peer.routing_id
        if not announced:
            peer.routing_id = self._auto_id()
        else:
            holder = self._by_id.get(announced)
            if holder is not None and holder is not peer:
                if not self.options.router_handover:
                    return False
                self._cut_off(holder)
        self._by_id[peer.routing_id] = peer
        self._id_of[peer] = peer.routing_id
        return True

    def _cut_off(self, holder: Peer) -> None:
        """Another peer takes ``holder``'s id: rename it, route nothing to it, drop what it
        sends (libzmq's handover terminates its pipe)."""
        self._unmap(holder)
        self._fq.detach(holder)
        holder.routing_id = self._auto_id()
        self._ignored.append(holder)
        holder.inbound.clear()

    def _authorized_id(self, peer: Peer) -> bool:
        """Securemq-Routing-Ids (routing/authz.py): a peer whose ZAP decision lists routing ids
        is addressed by one of them only (the one it announced, if listed, else the first); a
        holder of that id not entitled to it is cut off; a peer not entitled to an id never
        takes it from one that is (not even with ROUTER_HANDOVER). False: it is not routed."""
        authz = self.authz
        allowed = authz.routing_ids_of(peer)
        announced = peer.routing_id
        if allowed is None:
            holder = self._by_id.get(announced) if announced else None
            if holder is not None and holder is not peer and authz.entitled(holder, announced):
                authz.refused(peer, ROUTING_ID_REFUSED, announced)
                return False
            return True
        if not allowed:
            authz.refused(peer, ROUTING_ID_REFUSED, announced)
            return False
        if announced not in allowed:
            peer.routing_id = allowed[0]
            if announced:
                authz.refused(peer, ROUTING_ID_REPLACED, announced)
        holder = self._by_id.get(peer.routing_id)
        if holder is not None and holder is not peer and not authz.entitled(
            holder, peer.routing_id
        ):
            authz.refused(holder, ROUTING_ID_EVICTED, peer.routing_id)
            self._cut_off(holder)
        return True

    def has_routing_id(self, routing_id: bytes) -> bool:
        """Whether a peer is known by ``routing_id`` (CONNECT_ROUTING_ID must be unique)."""
        return routing_id in self._by_id

    def _unmap(self, peer: Peer) -> None:
        rid = self._id_of.pop(peer, None)
        if rid is not None and self._by_id.get(rid) is peer:
            del self._by_id[rid]

    # -- peers -------------------------------------------------------------------------------
    def attach(self, peer: Peer) -> None:
        if peer in self._fq or peer in self._ignored:
            return
        if self._identify(peer):
            self._fq.attach(peer)
        else:
            self._ignored.append(peer)

    def detach(self, peer: Peer) -> None:
        if peer in self._ignored:
            self._ignored.remove(peer)
        else:
            self._unmap(peer)
            self._fq.detach(peer)
        drop_queued(peer)

    def hiccup(self, peer: Peer) -> None:
        """Identify again (the socket sets ``peer.routing_id`` to what was announced anew)."""
        if peer in self._ignored:
            self._ignored.remove(peer)
        else:
            self._unmap(peer)
            self._fq.detach(peer)
        self.attach(peer)

    # -- data --------------------------------------------------------------------------------
    def send(self, msg: Message) -> bool:
        if len(msg) < 2:
            return True  # an id with no message: silently dropped (libzmq)
        peer = self._by_id.get(msg[0])
        if peer is None or peer.outbound.closed:  # unknown, or its connection is gone
            if self.options.router_mandatory:
                raise fail(Errno.EHOSTUNREACH, self.name, f"no peer with routing id {msg[0]!r}")
            return True
        if self.options.router_mandatory:
            return peer.outbound.write(msg[1:])  # full: wait (or EAGAIN)
        peer.outbound.write_or_drop(msg[1:])  # full: dropped
        return True

    def _drop_from_ignored(self) -> None:
        for peer in self._ignored:
            if peer.inbound.readable():
                peer.inbound.clear()

    def recv(self) -> tuple[Message, Peer] | None:
        if self._ignored:
            self._drop_from_ignored()
        item = self._fq.recv()
        if item is None:
            return None
        msg, peer = item
        # (the id it is mapped under: an inproc link names its peer again when the other side
        # binds, after CONNECT_ROUTING_ID or an automatic id was given)
        return [self._id_of.get(peer, peer.routing_id), *msg], peer

    def can_send(self) -> bool:
        if not self.options.router_mandatory:
            return True
        return any(peer.outbound.writable() for peer in self._fq.peers)

    def can_recv(self) -> bool:
        self._drop_from_ignored()
        return self._fq.has_in()
