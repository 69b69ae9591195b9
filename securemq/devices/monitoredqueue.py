"""``monitored_queue``: a two-way queue that also reports every message, prefixed with the
direction it travelled, on a third socket.

Unlike ``proxy`` it accepts ROUTER on both sides: the first two frames (the routing id of the
sender, then that of the destination) are swapped on the way through, so a message addressed
to a peer of the other ROUTER gets there and its reply finds the way back.
"""

from __future__ import annotations

import securemq
from securemq import POLLIN, ROUTER

__all__ = ["monitored_queue"]


def _relay(src: securemq.Socket, dst: securemq.Socket, mon: securemq.Socket, prefix: bytes,
           swap_ids: bool) -> None:
    msg = src.recv_multipart()
    if swap_ids:
        msg[:2] = msg[1::-1]
    dst.send_multipart(msg)
    mon.send_multipart([prefix, *msg])


def monitored_queue(in_socket: securemq.Socket, out_socket: securemq.Socket,
                    mon_socket: securemq.Socket, in_prefix: bytes = b"in",
                    out_prefix: bytes = b"out") -> None:
    """Relay messages both ways for ever (until an error such as ContextTerminated); each one
    is also sent on ``mon_socket`` as ``[in_prefix or out_prefix, *frames]``."""
    swap_ids = in_socket.type == ROUTER and out_socket.type == ROUTER
    poller = securemq.Poller()
    poller.register(in_socket, POLLIN)
    poller.register(out_socket, POLLIN)
    while True:
        ready = dict(poller.poll())
        if in_socket in ready:
            _relay(in_socket, out_socket, mon_socket, in_prefix, swap_ids)
        if out_socket in ready:
            _relay(out_socket, in_socket, mon_socket, out_prefix, swap_ids)
