"""RADIO and DISH (libzmq 4.3 radio.cpp / dish.cpp semantics; seam: ``draft.py``).

How this works:
- DISH keeps the set of groups joined. ``join`` / ``leave`` are EINVAL for a name over 255
  bytes, a second join of the same group and a leave of a group not joined (as libzmq's
  ``xjoin`` / ``xleave``); otherwise a JOIN or LEAVE (``[b"\\x04JOIN" + group]`` /
  ``[b"\\x05LEAVE" + group]``) goes to every peer, and every joined group is sent to a peer that
  attaches or reconnects. They are written past the HWM: a lost JOIN would silence a group for
  good (libzmq's dist drops them at the HWM). ``recv`` fair-queues ``[group, body]`` messages and
  drops those of groups not joined (exact match, no prefixes), as well as anything not made of
  exactly two frames. One matching message is kept ready when readiness is asked for (libzmq's
  ``_has_message``); a ``leave`` drops it if its group is no longer joined.
- RADIO keeps, per group, the peers that joined it. Peers' inbound pipes carry only JOIN/LEAVE
  (anything else is dropped, as radio.cpp does); they are drained before every send. A message
  goes to the peers that joined its group plus every udp:// peer (which takes all groups);
  a full peer misses it (RADIO drops at the HWM), unless XPUB_NODROP is set (libzmq accepts it
  on RADIO): then the send waits until every target has room. A peer that reconnects sends its
  groups again, so what it joined before is forgotten on ``hiccup``.
"""

from __future__ import annotations

from typing import ClassVar

from ..constants import Errno, SocketType
from ..pipe import Message, Peer, write_to_all
from .base import Routing, RoutingOptions, drop_queued, fail
from .dist import all_writable, force_to_all
from .draft import JOIN_PREFIX, LEAVE_PREFIX, check_group, is_udp
from .fq import FairQueue


def join_message(group: bytes) -> Message:
    return [JOIN_PREFIX + group]


def leave_message(group: bytes) -> Message:
    return [LEAVE_PREFIX + group]


class Radio(Routing):
    socket_type: ClassVar[int] = SocketType.RADIO
    name: ClassVar[str] = "RADIO"
    thread_safe: ClassVar[bool] = True

    def __init__(self, options: RoutingOptions) -> None:
        super().__init__(options)
        self._peers: list[Peer] = []
        self._all_groups: list[Peer] = []  # udp:// peers
        self._members: dict[bytes, list[Peer]] = {}
        self._groups_of: dict[Peer, set[bytes]] = {}

    # -- peers -------------------------------------------------------------------------------
    def attach(self, peer: Peer) -> None:
        if peer in self._groups_of:
            return
        self._peers.append(peer)
        self._groups_of[peer] = set()
        if is_udp(peer):
            self._all_groups.append(peer)
        else:
            self._drain_one(peer)

    def detach(self, peer: Peer) -> None:
        if peer in self._groups_of:
            self._forget(peer)
            del self._groups_of[peer]
            self._peers.remove(peer)
            if peer in self._all_groups:
                self._all_groups.remove(peer)
        drop_queued(peer)

    def hiccup(self, peer: Peer) -> None:
        if peer in self._groups_of:
            self._forget(peer)

    def _forget(self, peer: Peer) -> None:
        for group in self._groups_of[peer]:
            members = self._members[group]
            members.remove(peer)
            if not members:
                del self._members[group]
        self._groups_of[peer] = set()

    def groups_of(self, peer: Peer) -> frozenset[bytes]:
        """The groups ``peer`` joined (for tests and introspection)."""
        self._drain()
        return frozenset(self._groups_of.get(peer, ()))

    # -- JOIN / LEAVE from peers -------------------------------------------------------------
    def _drain(self) -> None:
        for peer in self._peers:
            if peer.inbound.readable():
                self._drain_one(peer)

    def _drain_one(self, peer: Peer) -> None:
        inbound = peer.inbound
        for _ in range(len(inbound)):  # bounded: a flooding peer cannot keep us here
            msg = inbound.read()
            if msg is None:
                return
            if len(msg) == 1:
                self._apply(peer, msg[0])

    def _apply(self, peer: Peer, command: bytes) -> None:
        joined = self._groups_of[peer]
        if command.startswith(JOIN_PREFIX):
            group = bytes(command[len(JOIN_PREFIX) :])
            if group not in joined:
                joined.add(group)
                self._members.setdefault(group, []).append(peer)
        elif command.startswith(LEAVE_PREFIX):
            group = bytes(command[len(LEAVE_PREFIX) :])
            if group in joined:
                joined.discard(group)
                members = self._members[group]
                members.remove(peer)
                if not members:
                    del self._members[group]

    # -- data --------------------------------------------------------------------------------
    def send(self, msg: Message) -> bool:
        if len(msg) != 2:
            raise fail(
                Errno.EINVAL, self.name, f"a message is [group, body], got {len(msg)} frames"
            )
        group = check_group(msg[0], self.name)
        self._drain()
        targets = self._members.get(group, [])
        if self._all_groups:
            targets = targets + [p for p in self._all_groups if p not in targets]
        if self.options.xpub_nodrop and not all_writable(targets):
            return False
        out = [group, msg[1]] if type(msg[0]) is not bytes else msg
        self.dropped = write_to_all([peer.outbound for peer in targets], out) > 0
        return True

    def recv(self) -> tuple[Message, Peer] | None:
        raise fail(Errno.ENOTSUP, self.name, "recv is not supported")

    def can_send(self) -> bool:
        return True  # libzmq's dist always reports room; full peers simply miss messages

    def can_recv(self) -> bool:
        return False


class Dish(Routing):
    socket_type: ClassVar[int] = SocketType.DISH
    name: ClassVar[str] = "DISH"
    thread_safe: ClassVar[bool] = True

    def __init__(self, options: RoutingOptions) -> None:
        super().__init__(options)
        self._fq = FairQueue()
        self._groups: set[bytes] = set()
        self._ready: tuple[Message, Peer] | None = None

    @property
    def groups(self) -> frozenset[bytes]:
        return frozenset(self._groups)

    # -- peers -------------------------------------------------------------------------------
    def attach(self, peer: Peer) -> None:
        if peer not in self._fq.peers:
            self._fq.attach(peer)
            self._send_groups(peer)

    def detach(self, peer: Peer) -> None:
        self._fq.detach(peer)
        if self._ready is not None and self._ready[1] is peer:
            self._ready = None
        drop_queued(peer)

    def hiccup(self, peer: Peer) -> None:
        if peer in self._fq.peers:
            self._send_groups(peer)

    def _send_groups(self, peer: Peer) -> None:
        for group in sorted(self._groups):
            peer.outbound.force_write(join_message(group))

    # -- groups ------------------------------------------------------------------------------
    def join(self, group: bytes) -> None:
        group = check_group(group, self.name)
        if group in self._groups:
            raise fail(Errno.EINVAL, self.name, "this group is already joined")
        self._groups.add(group)
        force_to_all(self._fq.peers, join_message(group))

    def leave(self, group: bytes) -> None:
        group = check_group(group, self.name)
        if group not in self._groups:
            raise fail(Errno.EINVAL, self.name, "this group was not joined")
        self._groups.discard(group)
        if self._ready is not None and self._ready[0][0] == group:
            self._ready = None
        force_to_all(self._fq.peers, leave_message(group))

    # -- data --------------------------------------------------------------------------------
    def _next_matching(self) -> tuple[Message, Peer] | None:
        groups = self._groups
        while (item := self._fq.recv()) is not None:
            msg = item[0]
            if len(msg) == 2 and msg[0] in groups:
                return item
        return None

    def send(self, msg: Message) -> bool:
        raise fail(Errno.ENOTSUP, self.name, "send is not supported")

    def recv(self) -> tuple[Message, Peer] | None:
        item = self._ready
        if item is not None:
            self._ready = None
            return item
        return self._next_matching()

    def holds(self, peer: Peer) -> bool:
        return self._ready is not None and self._ready[1] is peer

    def can_send(self) -> bool:
        return True  # as libzmq (joins and leaves can go at any time); send itself is ENOTSUP

    def can_recv(self) -> bool:
        if self._ready is None:
            self._ready = self._next_matching()
        return self._ready is not None
