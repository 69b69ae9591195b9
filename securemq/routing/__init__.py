"""Routing strategies and socket types: libzmq's pattern semantics, free of I/O.

``create(socket_type, options)`` gives the ``Routing`` object a socket drives; see ``base.py``
for the interface. Strategies: ``lb`` (load-balance), ``fq`` (fair-queue), ``dist``
(distribute), ``trie`` (subscriptions). Types: ``pair``, ``pubsub``, ``reqrep``, ``router``,
``pipeline``, ``stream``.
"""

from __future__ import annotations

from ..constants import Errno, SocketType
from ..error import ZMQError
from .base import Routing, RoutingOptions
from .draft_types import DRAFT_ROUTING, create_draft
from .pair import Pair
from .pipeline import Pull, Push
from .pubsub import Pub, Sub, XPub, XSub
from .reqrep import Dealer, RandomBits, Rep, Req
from .router import Router
from .stream import Stream

__all__ = [
    "Dealer",
    "Pair",
    "Pub",
    "Pull",
    "Push",
    "RandomBits",
    "Rep",
    "Req",
    "Router",
    "Routing",
    "RoutingOptions",
    "Stream",
    "Sub",
    "XPub",
    "XSub",
    "create",
]

_PLAIN: dict[int, type[Routing]] = {
    SocketType.PAIR: Pair,
    SocketType.PUB: Pub,
    SocketType.SUB: Sub,
    SocketType.REP: Rep,
    SocketType.DEALER: Dealer,
    SocketType.PULL: Pull,
    SocketType.PUSH: Push,
    SocketType.XPUB: XPub,
    SocketType.XSUB: XSub,
}


def create(
    socket_type: int, options: RoutingOptions, *, random_bits: RandomBits | None = None
) -> Routing:
    """The routing object for ``socket_type``; ``random_bits`` (like ``random.getrandbits``)
    seeds ROUTER's automatic ids and REQ's request ids."""
    if socket_type == SocketType.REQ:
        return Req(options, random_bits=random_bits)
    if socket_type == SocketType.ROUTER:
        return Router(options, random_bits=random_bits)
    if socket_type == SocketType.STREAM:
        return Stream(options, random_bits=random_bits)
    kind = _PLAIN.get(socket_type)
    if kind is None:
        if socket_type in DRAFT_ROUTING:
            return create_draft(socket_type, options, random_bits=random_bits)
        raise ZMQError(Errno.EINVAL, f"routing: socket type {socket_type} is not supported")
    return kind(options)
