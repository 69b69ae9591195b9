"""PAIR (RFC 31): exactly one peer. Another peer that attaches while the first lives is never
written and what it sends is dropped (libzmq terminates it); when the first goes away the oldest
waiting one takes its place."""

from __future__ import annotations

from typing import ClassVar

from ..constants import SocketType
from ..pipe import Message, Peer
from .base import Routing, RoutingOptions, drop_queued


class Pair(Routing):
    socket_type: ClassVar[int] = SocketType.PAIR
    name: ClassVar[str] = "PAIR"

    def __init__(self, options: RoutingOptions) -> None:
        super().__init__(options)
        self._peer: Peer | None = None
        self._waiting: list[Peer] = []

    @property
    def peer(self) -> Peer | None:
        return self._peer

    def attach(self, peer: Peer) -> None:
        if self._peer is None:
            self._peer = peer
        elif peer is not self._peer and peer not in self._waiting:
            self._waiting.append(peer)

    def detach(self, peer: Peer) -> None:
        if peer is self._peer:
            self._peer = self._waiting.pop(0) if self._waiting else None
        elif peer in self._waiting:
            self._waiting.remove(peer)
        drop_queued(peer)

    def send(self, msg: Message) -> bool:
        return self._peer is not None and self._peer.outbound.write(msg)

    def _drop_from_waiting(self) -> None:
        for peer in self._waiting:
            if peer.inbound.readable():
                peer.inbound.clear()

    def recv(self) -> tuple[Message, Peer] | None:
        self._drop_from_waiting()
        peer = self._peer
        if peer is None:
            return None
        msg = peer.inbound.read()
        return None if msg is None else (msg, peer)

    def can_send(self) -> bool:
        return self._peer is not None and self._peer.outbound.writable()

    def can_recv(self) -> bool:
        self._drop_from_waiting()
        return self._peer is not None and self._peer.inbound.readable()
