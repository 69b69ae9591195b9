"""STREAM (libzmq stream.cpp): raw connections, each known by a routing id.

A message is ``[routing id, data]`` both ways. Ids are the ROUTER's automatic 5-byte ones (or
CONNECT_ROUTING_ID's name for a connect()); the last id given is what ROUTING_ID reads back, as
in libzmq, so a client learns the id of what it just connected. ``send`` to an unknown id is
EHOSTUNREACH; to a full pipe it waits (EAGAIN with NOBLOCK); empty data closes that connection
after what was queued before it is written (libzmq drops the queue; a reply followed by a close
is what HTTP servers send). libzmq reads the frames of a send as alternating ids and data (a
frame's MORE flag does not join data), so a multipart message here is (id, data) pairs, sent
all or nothing; a trailing id without data is ignored (libzmq would then take the next
message's id as data, and lose it).
"""

from __future__ import annotations

from typing import ClassVar

from ..constants import Errno, SocketType
from ..pipe import Message, Peer
from .base import fail
from .router import Router


class Stream(Router):
    socket_type: ClassVar[int] = SocketType.STREAM
    name: ClassVar[str] = "STREAM"

    def _identify(self, peer: Peer) -> bool:
        named = bool(peer.routing_id)
        if not super()._identify(peer):
            return False
        if not named:
            self.options.routing_id = peer.routing_id
        return True

    def send(self, msg: Message) -> bool:
        pairs = [(msg[i], msg[i + 1]) for i in range(0, len(msg) - 1, 2)]
        targets = []
        for routing_id, _ in pairs:
            peer = self._by_id.get(routing_id)
            if peer is None:
                raise fail(Errno.EHOSTUNREACH, self.name,
                           f"no connection with routing id {routing_id!r}")
            targets.append(peer)
        if not all(peer.outbound.writable() for peer in targets):
            return False  # all or nothing: nothing is written twice when the send is retried
        for peer, (_, data) in zip(targets, pairs, strict=True):
            if data:
                peer.outbound.write([data])
            elif self._by_id.get(peer.routing_id) is peer:
                self._unmap(peer)
                self._fq.detach(peer)
                peer.inbound.clear()
                self.disconnect_peer(peer)
        return True

    def can_send(self) -> bool:
        return True  # (libzmq: whether a send succeeds depends on the id it names)
