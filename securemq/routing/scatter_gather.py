"""SCATTER and GATHER (libzmq 4.3 scatter.cpp / gather.cpp; seam: ``draft.py``).

PUSH and PULL made single-part: SCATTER load-balances one-frame messages (no peer with room: not
now, a blocking send waits), GATHER fair-queues and drops a multi-frame message whole.
"""

from __future__ import annotations

from typing import ClassVar

from ..constants import Errno, SocketType
from ..pipe import Message, Peer
from .base import Routing, RoutingOptions, drop_queued, fail
from .draft import drop_multipart_heads, single_body
from .fq import FairQueue
from .lb import LoadBalancer


class Scatter(Routing):
    socket_type: ClassVar[int] = SocketType.SCATTER
    name: ClassVar[str] = "SCATTER"
    thread_safe: ClassVar[bool] = True

    def __init__(self, options: RoutingOptions) -> None:
        super().__init__(options)
        self._lb = LoadBalancer()

    def attach(self, peer: Peer) -> None:
        if peer not in self._lb.peers:
            self._lb.attach(peer)

    def detach(self, peer: Peer) -> None:
        self._lb.detach(peer)
        drop_queued(peer)

    def send(self, msg: Message) -> bool:
        single_body(msg, self.name)
        return self._lb.send(msg) is not None

    def recv(self) -> tuple[Message, Peer] | None:
        raise fail(Errno.ENOTSUP, self.name, "recv is not supported")

    def can_send(self) -> bool:
        return self._lb.has_out()

    def can_recv(self) -> bool:
        return False


class Gather(Routing):
    socket_type: ClassVar[int] = SocketType.GATHER
    name: ClassVar[str] = "GATHER"
    thread_safe: ClassVar[bool] = True

    def __init__(self, options: RoutingOptions) -> None:
        super().__init__(options)
        self._fq = FairQueue()

    def attach(self, peer: Peer) -> None:
        if peer not in self._fq.peers:
            self._fq.attach(peer)

    def detach(self, peer: Peer) -> None:
        self._fq.detach(peer)
        drop_queued(peer)

    def send(self, msg: Message) -> bool:
        raise fail(Errno.ENOTSUP, self.name, "send is not supported")

    def recv(self) -> tuple[Message, Peer] | None:
        # recv_batched: a sole peer's pipe is taken in batches (GATHER is PULL's hot path too).
        fq_recv = self._fq.recv_batched
        while (item := fq_recv()) is not None:
            if len(item[0]) == 1:
                return item
        return None

    def holds(self, peer: Peer) -> bool:
        return self._fq.holds(peer)

    def can_send(self) -> bool:
        return False

    def can_recv(self) -> bool:
        batch = self._fq.batch
        while batch and len(batch[0][0]) != 1:
            batch.popleft()
        if batch:
            return True
        drop_multipart_heads(self._fq.peers)
        return self._fq.has_in()
