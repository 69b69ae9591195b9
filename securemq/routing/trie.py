"""Subscription tries: prefix matching of topics, with no recursion anywhere.

How this works: ``RadixTrie`` is a compressed (radix) trie mapping byte-string keys to values.
Each node holds the edge label leading to it, its children keyed by the first byte of their
label, and an optional value. Every operation walks the tree with a loop (and, for listing, an
explicit stack), so a 1 MB topic costs one long edge, not a million nodes or a million stack
frames (libzmq's mtrie had a stack overflow on a long-topic unsubscribe). Removal prunes at
most two nodes and merges single-child nodes back, so the tree stays compressed.

On top of it: ``SubscriptionTrie`` (SUB/XSUB: refcounted topics, "does any topic prefix this
message?") and ``MultiTrie`` (PUB/XPUB: which peers subscribed to which topics, "which peers
want this message?").
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import Enum
from typing import Generic, TypeVar

from ..pipe import Peer

V = TypeVar("V")


class _Node(Generic[V]):
    __slots__ = ("children", "label", "value")

    def __init__(self, label: bytes) -> None:
        self.label = label
        self.children: dict[int, _Node[V]] = {}
        self.value: V | None = None


def _common_length(label: bytes, key: bytes, start: int) -> int:
    """Length of the common prefix of ``label`` and ``key[start:]`` (binary search, C compares)."""
    low, high = 0, min(len(label), len(key) - start)
    while low < high:
        mid = (low + high + 1) // 2
        if key.startswith(label[:mid], start):
            low = mid
        else:
            high = mid - 1
    return low


class RadixTrie(Generic[V]):
    """A map from bytes to values (never None) with prefix lookups."""

    __slots__ = ("_root", "_size")

    def __init__(self) -> None:
        self._root: _Node[V] = _Node(b"")
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def _find(self, key: bytes) -> tuple[list[_Node[V]], _Node[V]] | None:
        """The path of ancestors and the node whose full key is ``key``, if it exists."""
        path: list[_Node[V]] = []
        node = self._root
        pos = 0
        while pos < len(key):
            child = node.children.get(key[pos])
            if child is None or not key.startswith(child.label, pos):
                return None
            path.append(node)
            pos += len(child.label)
            node = child
        return path, node

    def get(self, key: bytes) -> V | None:
        found = self._find(key)
        return None if found is None else found[1].value

    def put(self, key: bytes, value: V) -> None:
        node = self._root
        pos = 0
        while pos < len(key):
            child = node.children.get(key[pos])
            if child is None:
                leaf: _Node[V] = _Node(key[pos:])
                node.children[key[pos]] = leaf
                node = leaf
                break
            shared = _common_length(child.label, key, pos)
            if shared < len(child.label):
                # Split the edge: node -> middle (shared part) -> child (the rest).
                middle: _Node[V] = _Node(child.label[:shared])
                child.label = child.label[shared:]
                middle.children[child.label[0]] = child
                node.children[key[pos]] = middle
                child = middle
            node = child
            pos += shared
        if node.value is None:
            self._size += 1
        node.value = value

    def pop(self, key: bytes) -> V | None:
        """Remove ``key``; its value, or None if it was absent."""
        found = self._find(key)
        if found is None or found[1].value is None:
            return None
        path, node = found
        value = node.value
        node.value = None
        self._size -= 1
        if not path:  # the root (empty key) is never pruned
            return value
        parent = path[-1]
        if not node.children:
            del parent.children[node.label[0]]
            if parent is not self._root and parent.value is None and len(parent.children) == 1:
                self._merge_with_only_child(parent)
        elif len(node.children) == 1:
            self._merge_with_only_child(node)
        return value

    @staticmethod
    def _merge_with_only_child(node: _Node[V]) -> None:
        (child,) = node.children.values()
        node.label += child.label
        node.children = child.children
        node.value = child.value

    def matches_everything(self) -> bool:
        """True when the empty key is present (a prefix of everything)."""
        return self._root.value is not None

    def prefixes_of(self, data: bytes) -> Iterator[V]:
        """Values of every key that is a prefix of ``data`` (shortest first)."""
        node = self._root
        if node.value is not None:
            yield node.value
        pos = 0
        while pos < len(data):
            child = node.children.get(data[pos])
            if child is None or not data.startswith(child.label, pos):
                return
            pos += len(child.label)
            node = child
            if node.value is not None:
                yield node.value

    def items(self) -> Iterator[tuple[bytes, V]]:
        """Every (key, value), in byte order (explicit stack, no recursion)."""
        stack: list[tuple[bytes, _Node[V]]] = [(b"", self._root)]
        while stack:
            prefix, node = stack.pop()
            if node.value is not None:
                yield prefix, node.value
            for first in sorted(node.children, reverse=True):
                child = node.children[first]
                stack.append((prefix + child.label, child))


class SubscriptionTrie:
    """SUB/XSUB topics with reference counts (subscribing twice needs two unsubscribes)."""

    __slots__ = ("_trie",)

    def __init__(self) -> None:
        self._trie: RadixTrie[int] = RadixTrie()

    def __len__(self) -> int:
        return len(self._trie)

    def add(self, topic: bytes) -> bool:
        """Count one more subscription; True if the topic is new."""
        count = self._trie.get(topic)
        self._trie.put(topic, 1 if count is None else count + 1)
        return count is None

    def remove(self, topic: bytes) -> bool:
        """Count one subscription less; True if the topic is now gone (False if it was absent)."""
        count = self._trie.get(topic)
        if count is None:
            return False
        if count > 1:
            self._trie.put(topic, count - 1)
            return False
        self._trie.pop(topic)
        return True

    def count(self, topic: bytes) -> int:
        return self._trie.get(topic) or 0

    def check(self, data: bytes) -> bool:
        """True if some subscribed topic is a prefix of ``data`` (the empty topic matches all)."""
        if self._trie.matches_everything():
            return True
        return next(self._trie.prefixes_of(data), None) is not None

    def topics(self) -> list[bytes]:
        return [topic for topic, _ in self._trie.items()]


class Removed(Enum):
    """Outcome of removing one peer's subscription (libzmq mtrie's rm_result)."""

    NOT_FOUND = 0
    LAST = 1  # the topic has no subscriber left
    REMAIN = 2  # other peers still subscribe to the topic


class MultiTrie:
    """PUB/XPUB: for each topic, the set of peers subscribed to it (a peer counts once)."""

    __slots__ = ("_by_peer", "_trie", "everyone")

    def __init__(self) -> None:
        self._trie: RadixTrie[set[Peer]] = RadixTrie()
        self._by_peer: dict[Peer, set[bytes]] = {}
        # The peers subscribed to the empty topic (they get every message), or None.
        self.everyone: set[Peer] | None = None

    def __len__(self) -> int:
        return len(self._trie)

    def subscribed_peers(self) -> int:
        """How many peers hold at least one subscription."""
        return sum(1 for topics in self._by_peer.values() if topics)

    def add(self, topic: bytes, peer: Peer) -> bool:
        """Subscribe ``peer``; True if the topic had no subscriber before."""
        peers = self._trie.get(topic)
        first = peers is None
        if peers is None:
            peers = set()
            self._trie.put(topic, peers)
            if not topic:
                self.everyone = peers
        peers.add(peer)
        self._by_peer.setdefault(peer, set()).add(topic)
        return first

    def remove(self, topic: bytes, peer: Peer) -> Removed:
        peers = self._trie.get(topic)
        if peers is None or peer not in peers:
            return Removed.NOT_FOUND
        peers.discard(peer)
        mine = self._by_peer[peer]
        mine.discard(topic)
        if not mine:
            del self._by_peer[peer]
        if peers:
            return Removed.REMAIN
        self._trie.pop(topic)
        if not topic:
            self.everyone = None
        return Removed.LAST

    def remove_peer(self, peer: Peer) -> list[tuple[bytes, Removed]]:
        """Drop every subscription of ``peer``; each topic (in byte order) with its outcome."""
        out = [(topic, self.remove(topic, peer)) for topic in sorted(self._by_peer.get(peer, ()))]
        return out

    def topics_of(self, peer: Peer) -> set[bytes]:
        return set(self._by_peer.get(peer, ()))

    def match(self, data: bytes) -> set[Peer]:
        """Every peer with a subscription that prefixes ``data``."""
        sets = list(self._trie.prefixes_of(data))
        if len(sets) == 1:
            return sets[0]  # read-only for the caller: no copy for the usual single match
        found: set[Peer] = set()
        for peers in sets:
            found |= peers
        return found
