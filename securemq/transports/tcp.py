"""TCP listening and connecting (non-blocking OS sockets; no ZMTP here)."""

from __future__ import annotations

import socket

from .endpoint import Endpoint, format_tcp


def listen(ep: Endpoint, *, ipv6: bool, backlog: int) -> tuple[socket.socket, str]:
    """A bound, listening, non-blocking socket and its resolved endpoint (LAST_ENDPOINT)."""
    host = ep.host
    if host == "*":
        family = socket.AF_INET6 if ipv6 else socket.AF_INET
        host = "::" if ipv6 else "0.0.0.0"
    elif ":" in host:
        family = socket.AF_INET6
    else:
        infos = socket.getaddrinfo(host, ep.port, socket.AF_INET, socket.SOCK_STREAM)
        family, host = socket.AF_INET, str(infos[0][4][0])
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6 and ep.host == "*":
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind((host, ep.port))
        sock.listen(max(backlog, 1))
        sock.setblocking(False)
    except OSError as exc:
        exc.fd = sock.fileno()  # type: ignore[attr-defined]  # for the CLOSED monitor event
        sock.close()
        raise
    except BaseException:
        sock.close()
        raise
    bound_host, bound_port = sock.getsockname()[:2]
    return sock, format_tcp(str(bound_host), int(bound_port))


def resolve(ep: Endpoint, *, ipv6: bool) -> tuple[int, tuple[str, int]]:
    """(family, sockaddr) for a connect endpoint; raises OSError when it does not resolve."""
    host = ep.host
    if ":" in host:
        return socket.AF_INET6, (host, ep.port)
    families = (socket.AF_UNSPEC,) if ipv6 else (socket.AF_INET,)
    infos = socket.getaddrinfo(host, ep.port, families[0], socket.SOCK_STREAM)
    family, _, _, _, sockaddr = infos[0]
    return int(family), (str(sockaddr[0]), int(sockaddr[1]))


def start_connect(family: int, sockaddr: tuple[str, int]) -> socket.socket:
    """A non-blocking socket with its connect under way (completion: writable + SO_ERROR)."""
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setblocking(False)
    sock.connect_ex(sockaddr)
    return sock


# SO_SNDBUF for ipc streams when SNDBUF is left at -1; the kernel doubles it, and caps it at
# net.core.wmem_max (TCP on loopback autotunes up to about the same).
IPC_SNDBUF = 1 << 20


def tune(sock: socket.socket, *, keepalive: int, sndbuf: int, rcvbuf: int) -> None:
    """Options every ZMTP stream gets: no Nagle (we batch ourselves), keepalive, buffers."""
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if keepalive >= 0:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, keepalive)
    if sndbuf <= 0 and sock.family == socket.AF_UNIX:
        # Unix stream sockets get no buffer autotuning: with the default (about 200 KiB, counted
        # with per-packet overhead) sender and receiver take turns after a few dozen messages.
        sndbuf = IPC_SNDBUF
    if sndbuf > 0:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
    if rcvbuf > 0:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)


def peer_address(sock: socket.socket) -> str:
    """The peer's IP text (ZAP address, Peer-Address); for ipc 'localhost:uid:gid:pid'."""
    if sock.family == socket.AF_UNIX:
        import struct

        try:
            creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
            pid, uid, gid = struct.unpack("3i", creds)
            # libzmq names Unix-socket peers "localhost" (getnameinfo), then the credentials.
            return f"localhost:{uid}:{gid}:{pid}"
        except OSError:
            return ""
    try:
        return str(sock.getpeername()[0])
    except OSError:
        return ""
