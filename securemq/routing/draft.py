"""The seam conventions of libzmq's DRAFT socket types, and the helpers they share.

SERVER, CLIENT, RADIO, DISH, GATHER, SCATTER, PEER and CHANNEL are single-part and thread-safe
in libzmq 4.3 (each passes ``thread_safe=true`` to socket_base_t). Their routing classes keep the
``Routing`` interface of ``base.py`` unchanged: a message is still a frame list (``list[bytes]``);
the routing id or the group travels as a leading frame, the way ROUTER already carries its
identities. The socket facade maps pyzmq's API onto it:

=====================  ==============================  =================================
type                   ``Routing.send(msg)``           ``Routing.recv() -> (msg, peer)``
=====================  ==============================  =================================
CLIENT, SCATTER,       ``[body]``                      ``[body]``
CHANNEL, GATHER
SERVER, PEER           ``[routing_id, body]``          ``[routing_id, body]``
RADIO                  ``[group, body]``               (ENOTSUP)
DISH                   (ENOTSUP)                       ``[group, body]``
=====================  ==============================  =================================

- ``routing_id``: libzmq's uint32 routing id as 4 big-endian bytes (``encode_routing_id`` /
  ``decode_routing_id``); never 0. ``send(data, routing_id=rid)`` becomes
  ``send([encode_routing_id(rid), data])``; a received ``Frame.routing_id`` is
  ``decode_routing_id(msg[0])``. SERVER/PEER also set ``peer.routing_id`` to these 4 bytes.
- ``group``: 0..255 bytes (``GROUP_MAX_LENGTH``, libzmq's ZMQ_GROUP_MAX_LENGTH) and no NUL byte.
  ``send(data, group=g)`` becomes ``send([g.encode(), data])``; ``Frame.group`` is
  ``msg[0].decode()``. DISH's ``join``/``leave`` take the group as bytes.
- A wrong frame count or a malformed routing id / group is EINVAL from ``send``. The facade
  must itself refuse SNDMORE with EINVAL on these types (libzmq fails the first part already).
- Thread safety is the facade's job: ``thread_safe`` is True on every class here, and the
  facade serialises calls into the routing object (routing never takes a lock itself).

Between the routing object and its peers' pipes (what a connection encodes, or what inproc
hands over directly):

- one-part types: ``[body]``. A multi-frame message from a peer is dropped whole on receive
  (libzmq's client.cpp / server.cpp / gather.cpp / channel.cpp drop every frame flagged MORE).
- RADIO -> DISH: ``[group, body]``, exactly the two ZMTP frames libzmq writes (group frame with
  MORE, then the body; see ``securemq/zmtp/groups.py``); over udp:// the codec in
  ``securemq/zmtp/udp.py`` packs the same two frames into one datagram.
- DISH -> RADIO: a one-frame ``[b"\\x04JOIN" + group]`` or ``[b"\\x05LEAVE" + group]``: the ZMTP
  command body itself (the connection sends it as a COMMAND frame and turns a received JOIN or
  LEAVE command back into it).
- A RADIO peer whose ``endpoint`` starts with ``udp://`` takes every group (libzmq attaches udp
  pipes with ``subscribe_to_all``): filtering happens in the receiving DISH.
"""

from __future__ import annotations

from ..constants import Errno
from ..pipe import Message, Peer
from .base import fail
from .fq import FairQueue

GROUP_MAX_LENGTH = 255
ROUTING_ID_SIZE = 4
_ROUTING_ID_MAX = 0xFFFFFFFF
# The DISH -> RADIO messages: ZMTP command bodies (name size, name, then the group).
JOIN_PREFIX = b"\x04JOIN"
LEAVE_PREFIX = b"\x05LEAVE"
UDP_SCHEME = "udp://"


def encode_routing_id(routing_id: int) -> bytes:
    """The frame carrying a routing id (1..2**32-1) through the routing seam."""
    if not isinstance(routing_id, int):
        raise fail(Errno.EINVAL, "routing id", "a routing id is an integer")
    if not 0 < routing_id <= _ROUTING_ID_MAX:
        raise fail(Errno.EINVAL, "routing id", f"{routing_id} is not in 1..4294967295")
    return routing_id.to_bytes(ROUTING_ID_SIZE, "big")


def decode_routing_id(frame: bytes) -> int:
    """The routing id a 4-byte routing-id frame carries."""
    if len(frame) != ROUTING_ID_SIZE:
        raise fail(Errno.EINVAL, "routing id", f"a routing id frame has 4 bytes, not {len(frame)}")
    return int.from_bytes(frame, "big")


def check_group(group: bytes, socket_name: str) -> bytes:
    """``group`` as bytes when it is a valid group name, else EINVAL.

    libzmq takes groups as C strings: ``zmq_join`` refuses more than 255 bytes, while
    ``zmq_msg_set_group`` silently truncates at 255 and everything stops at a NUL byte. securemq
    refuses both (EINVAL) instead of sending to a group the caller did not name.
    """
    if not isinstance(group, bytes | bytearray | memoryview):
        raise fail(Errno.EINVAL, socket_name, "a group is bytes")
    group = bytes(group)
    if len(group) > GROUP_MAX_LENGTH:
        raise fail(
            Errno.EINVAL, socket_name, f"group of {len(group)} bytes exceeds {GROUP_MAX_LENGTH}"
        )
    if b"\x00" in group:
        raise fail(Errno.EINVAL, socket_name, "a group cannot contain a NUL byte")
    return group


def single_body(msg: Message, socket_name: str) -> bytes:
    """The one frame of a single-part message; EINVAL for any other frame count."""
    if len(msg) != 1:
        raise fail(
            Errno.EINVAL, socket_name, f"single-part socket: got a message of {len(msg)} frames"
        )
    return msg[0]


def drop_multipart_heads(peers: list[Peer]) -> None:
    """Drop, from the front of each peer's inbound pipe, messages of more than one frame (they
    can never be received), so that readiness reflects a message that will really come out."""
    for peer in peers:
        inbound = peer.inbound
        head = inbound.peek()
        while head is not None and len(head) != 1:
            inbound.read()
            head = inbound.peek()


def recv_single(fq: FairQueue) -> tuple[Message, Peer] | None:
    """Fair-queue the next one-frame message, dropping multi-frame ones on the way."""
    while (item := fq.recv()) is not None:
        if len(item[0]) == 1:
            return item
    return None


def is_udp(peer: Peer) -> bool:
    """True for a peer on a udp:// endpoint (RADIO sends it every group)."""
    return peer.endpoint.startswith(UDP_SCHEME)
