"""udp:// OS sockets for RADIO (connect: send datagrams) and DISH (bind: receive them).

Unicast and IPv4 multicast, as libzmq's udp engine does it: a DISH binding a multicast group
joins it (on the interface named before ";" or any), with SO_REUSEADDR so several receivers on
one host share the port; a RADIO sends to the group with IP_MULTICAST_TTL (MULTICAST_HOPS) and
IP_MULTICAST_LOOP (MULTICAST_LOOP). No ZMTP: the datagram format is zmtp/udp.py's.
"""

from __future__ import annotations

import ipaddress
import socket

from .endpoint import Endpoint


def _resolve(host: str, port: int) -> tuple[str, int]:
    if host == "*":
        return "0.0.0.0", port
    infos = socket.getaddrinfo(host, port, socket.AF_INET, socket.SOCK_DGRAM)
    return str(infos[0][4][0]), port


def is_multicast(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_multicast
    except ValueError:
        return False


def _interface(ep: Endpoint) -> str:
    return _resolve(ep.interface, 0)[0] if ep.interface and ep.interface != "*" else "0.0.0.0"


def open_receiver(ep: Endpoint, *, multicast_loop: bool = True) -> socket.socket:
    """A bound, non-blocking UDP socket for a DISH (joined to the group if multicast)."""
    host, port = _resolve(ep.host, ep.port)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if is_multicast(host):
            if hasattr(socket, "SO_REUSEPORT"):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((host, port))
            membership = socket.inet_aton(host) + socket.inet_aton(_interface(ep))
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, int(multicast_loop))
        else:
            sock.bind((host, port))
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def open_sender(ep: Endpoint, *, hops: int = 1, multicast_loop: bool = True
                ) -> tuple[socket.socket, tuple[str, int]]:
    """A non-blocking UDP socket for a RADIO and the address it sends to."""
    destination = _resolve(ep.host, ep.port)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        if is_multicast(destination[0]):
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, max(hops, 0))
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, int(multicast_loop))
            interface = _interface(ep)
            if interface != "0.0.0.0":
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF,
                                socket.inet_aton(interface))
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock, destination
