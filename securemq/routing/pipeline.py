"""PUSH and PULL (RFC 30): load-balance out, fair-queue in."""

from __future__ import annotations

from collections import deque
from typing import ClassVar

from ..constants import Errno, SocketType
from ..pipe import Message, Peer
from .base import Routing, RoutingOptions, drop_queued, fail
from .fq import FairQueue
from .lb import LoadBalancer


class Push(Routing):
    socket_type: ClassVar[int] = SocketType.PUSH
    name: ClassVar[str] = "PUSH"

    def __init__(self, options: RoutingOptions) -> None:
        super().__init__(options)
        self._lb = LoadBalancer()
        self._bind_send()

    def _bind_send(self) -> None:
        # The hot path: the load balancer's sender for the peers attached now.
        self.send = self._lb.sender()  # type: ignore[method-assign,assignment]

    def attach(self, peer: Peer) -> None:
        if peer not in self._lb.peers:
            self._lb.attach(peer)
            self._bind_send()

    def detach(self, peer: Peer) -> None:
        self._lb.detach(peer)
        self._bind_send()
        drop_queued(peer)

    def send(self, msg: Message) -> bool:
        return self._lb.send(msg) is not None

    def recv(self) -> tuple[Message, Peer] | None:
        raise fail(Errno.ENOTSUP, self.name, "recv is not supported")

    def can_send(self) -> bool:
        return self._lb.has_out()

    def can_recv(self) -> bool:
        return False


class Pull(Routing):
    socket_type: ClassVar[int] = SocketType.PULL
    name: ClassVar[str] = "PULL"

    def __init__(self, options: RoutingOptions) -> None:
        super().__init__(options)
        self._fq = FairQueue()
        self.recv = self._fq.recv_batched  # type: ignore[method-assign]  # the hot path

    def attach(self, peer: Peer) -> None:
        if peer not in self._fq.peers:
            self._fq.attach(peer)

    def detach(self, peer: Peer) -> None:
        self._fq.detach(peer)
        drop_queued(peer)

    def send(self, msg: Message) -> bool:
        raise fail(Errno.ENOTSUP, self.name, "send is not supported")

    def recv(self) -> tuple[Message, Peer] | None:
        return self._fq.recv_batched()

    def holds(self, peer: Peer) -> bool:
        return self._fq.holds(peer)

    def ready_batch(self) -> deque[tuple[Message, Peer]]:
        return self._fq.batch

    def can_send(self) -> bool:
        return False

    def can_recv(self) -> bool:
        return self._fq.has_in()
