"""PEER and CHANNEL (libzmq 4.3 peer.cpp / channel.cpp; seam: ``draft.py``).

- PEER is SERVER that may also connect: libzmq's ``zmq_connect_peer`` connects (the pipe is
  attached at connect time, so IMMEDIATE must be 0: EFAULT otherwise) and returns the routing id
  the new pipe got. Here ``attach`` assigns it as SERVER does and ``last_routing_id`` reports it;
  the facade's ``connect_peer`` creates the peer, attaches it and returns that number.
- CHANNEL is PAIR made single-part and thread-safe: one peer, a multi-frame message is dropped
  whole, sending waits while the peer's pipe is full or there is no peer. A second peer is kept
  waiting with its input dropped (libzmq terminates it), as PAIR here does.
"""

from __future__ import annotations

from typing import ClassVar

from ..constants import SocketType
from ..pipe import Message, Peer
from .client_server import Server
from .draft import single_body
from .pair import Pair


class PeerRouting(Server):
    """The PEER socket type (named so as not to clash with ``securemq.pipe.Peer``)."""

    socket_type: ClassVar[int] = SocketType.PEER
    name: ClassVar[str] = "PEER"
    thread_safe: ClassVar[bool] = True

    last_routing_id: int = 0

    def attach(self, peer: Peer) -> None:
        super().attach(peer)
        rid = self.routing_id_of(peer)
        if rid is not None:
            self.last_routing_id = rid


class Channel(Pair):
    socket_type: ClassVar[int] = SocketType.CHANNEL
    name: ClassVar[str] = "CHANNEL"
    thread_safe: ClassVar[bool] = True

    def _drop_multipart_head(self) -> None:
        peer = self.peer
        if peer is None:
            return
        inbound = peer.inbound
        head = inbound.peek()
        while head is not None and len(head) != 1:
            inbound.read()
            head = inbound.peek()

    def send(self, msg: Message) -> bool:
        single_body(msg, self.name)
        return super().send(msg)

    def recv(self) -> tuple[Message, Peer] | None:
        while (item := super().recv()) is not None:
            if len(item[0]) == 1:
                return item
        return None

    def can_recv(self) -> bool:
        self._drop_multipart_head()
        return super().can_recv()
