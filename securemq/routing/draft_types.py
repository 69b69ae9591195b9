"""The DRAFT socket types' routing classes by socket type, for ``routing.create`` to merge.

``create_draft(socket_type, options, random_bits=...)`` mirrors ``securemq.routing.create``;
wiring it in is one line there (try ``create_draft`` for a type ``_PLAIN`` does not know).
DGRAM (raw udp://) has no routing class yet.
"""

from __future__ import annotations

from ..constants import Errno, SocketType
from ..error import ZMQError
from .base import Routing, RoutingOptions
from .client_server import Client, Server
from .peer_channel import Channel, PeerRouting
from .radio_dish import Dish, Radio
from .reqrep import RandomBits
from .scatter_gather import Gather, Scatter

DRAFT_ROUTING: dict[int, type[Routing]] = {
    SocketType.SERVER: Server,
    SocketType.CLIENT: Client,
    SocketType.RADIO: Radio,
    SocketType.DISH: Dish,
    SocketType.GATHER: Gather,
    SocketType.SCATTER: Scatter,
    SocketType.PEER: PeerRouting,
    SocketType.CHANNEL: Channel,
}

# Types that hand out routing ids and so take a random source.
_WITH_RANDOM = (Server,)


def create_draft(
    socket_type: int, options: RoutingOptions, *, random_bits: RandomBits | None = None
) -> Routing:
    """The routing object for a DRAFT ``socket_type``; EINVAL for any other type."""
    kind = DRAFT_ROUTING.get(socket_type)
    if kind is None:
        raise ZMQError(Errno.EINVAL, f"routing: socket type {socket_type} is not a draft type")
    if issubclass(kind, _WITH_RANDOM):
        return kind(options, random_bits=random_bits)
    return kind(options)
