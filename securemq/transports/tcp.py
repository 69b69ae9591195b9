"""TCP listening and connecting (non-blocking OS sockets; no ZMTP here).

The socket options that reach the OS (libzmq src/tcp.cpp, ip.cpp, tcp_listener.cpp,
tcp_connecter.cpp) travel as a ``Tuning``, made from the options snapshot of a bind or connect:

- every tcp socket libzmq opens itself -- listener and connecting socket -- gets TOS (IP_TOS, and
  IPV6_TCLASS on IPv6), PRIORITY (SO_PRIORITY), BINDTODEVICE (SO_BINDTODEVICE; failing it fails
  the bind, or the connect attempt, which is then retried), SNDBUF and RCVBUF;
- every connection -- connected or accepted -- gets TCP_NODELAY, the keepalive options
  (SO_KEEPALIVE and, only when TCP_KEEPALIVE is not -1, TCP_KEEPCNT / TCP_KEEPIDLE /
  TCP_KEEPINTVL), TCP_MAXRT (TCP_USER_TIMEOUT on Linux, as libzmq maps it), and an accepted one
  TOS and PRIORITY again (libzmq sets them after accept).

IPV6 decides resolution as in libzmq: off, IPv6 addresses are refused (bind: ENODEV; connect:
the attempt fails and is retried); on, host names resolve to IPv6 with IPv4 mapped, and a bind to
``*`` listens on both families.
"""

from __future__ import annotations

import _socket
import errno
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .endpoint import Endpoint, format_tcp

if TYPE_CHECKING:
    from ..options import SocketOptions

# Linux numbers, for Python builds that do not export them.
_SO_BINDTODEVICE = getattr(socket, "SO_BINDTODEVICE", 25)
_SO_PRIORITY = getattr(socket, "SO_PRIORITY", 12)
_TCP_USER_TIMEOUT = getattr(socket, "TCP_USER_TIMEOUT", 18)
_IPV6_TCLASS = getattr(socket, "IPV6_TCLASS", 67)
# macOS names the idle time TCP_KEEPALIVE (0x10); Linux TCP_KEEPIDLE.
_TCP_KEEPIDLE = getattr(socket, "TCP_KEEPIDLE", getattr(socket, "TCP_KEEPALIVE", None))


@dataclass(frozen=True, slots=True)
class Tuning:
    """What the socket options ask of each tcp OS socket (defaults: leave it to the OS)."""

    keepalive: int = -1
    keepalive_cnt: int = -1
    keepalive_idle: int = -1
    keepalive_intvl: int = -1
    tos: int = 0
    priority: int = 0
    maxrt: int = 0
    bind_device: bytes = b""
    sndbuf: int = -1
    rcvbuf: int = -1

    @classmethod
    def of(cls, opts: SocketOptions) -> Tuning:
        return cls(
            keepalive=opts.tcp_keepalive,
            keepalive_cnt=opts.tcp_keepalive_cnt,
            keepalive_idle=opts.tcp_keepalive_idle,
            keepalive_intvl=opts.tcp_keepalive_intvl,
            tos=opts.tos,
            priority=opts.priority,
            maxrt=opts.tcp_maxrt,
            bind_device=opts.bindtodevice,
            sndbuf=opts.sndbuf,
            rcvbuf=opts.rcvbuf,
        )


_DEFAULT = Tuning()


def _ipv6_off(host: str) -> OSError:
    return OSError(errno.ENODEV, f"{host} is an IPv6 address and IPV6 is off")


def listen(ep: Endpoint, *, ipv6: bool, backlog: int,
           tuning: Tuning = _DEFAULT) -> tuple[socket.socket, str]:
    """A bound, listening, non-blocking socket and its resolved endpoint (LAST_ENDPOINT)."""
    host = ep.host
    family: int
    if host == "*":
        family = socket.AF_INET6 if ipv6 else socket.AF_INET
        host = "::" if ipv6 else "0.0.0.0"
    elif ":" in host:
        if not ipv6:
            raise _ipv6_off(host)  # libzmq: ENODEV
        family = socket.AF_INET6
    else:
        family, host = _resolve_name(host, ep.port, ipv6)
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            # libzmq enable_ipv4_mapping: an IPv6 socket also takes IPv4 (mapped) peers.
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        open_socket_options(sock, tuning)
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


def _resolve_name(host: str, port: int, ipv6: bool) -> tuple[int, str]:
    """libzmq's host name resolution: IPv4 only, or (IPV6 on) IPv6 with IPv4 mapped."""
    if ipv6:
        try:
            infos = socket.getaddrinfo(host, port, socket.AF_INET6, socket.SOCK_STREAM, 0,
                                       getattr(socket, "AI_V4MAPPED", 0))
            return socket.AF_INET6, str(infos[0][4][0])
        except socket.gaierror:
            pass  # (no IPv6 answer and no mapping: fall back to IPv4)
    infos = socket.getaddrinfo(host, port, socket.AF_INET, socket.SOCK_STREAM)
    return socket.AF_INET, str(infos[0][4][0])


def resolve(ep: Endpoint, *, ipv6: bool) -> tuple[int, tuple[str, int]]:
    """(family, sockaddr) for a connect endpoint; raises OSError when it does not resolve."""
    host = ep.host
    if ":" in host:
        if not ipv6:
            raise _ipv6_off(host)
        return socket.AF_INET6, (host, ep.port)
    try:
        socket.inet_pton(socket.AF_INET, host)
        return socket.AF_INET, (host, ep.port)
    except OSError:
        pass
    family, address = _resolve_name(host, ep.port, ipv6)
    return family, (address, ep.port)


def start_connect(family: int, sockaddr: tuple[str, int],
                  tuning: Tuning = _DEFAULT) -> socket.socket:
    """A non-blocking socket with its connect under way (completion: writable + SO_ERROR).

    Raises OSError (the socket closed) when a socket option cannot be applied."""
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        open_socket_options(sock, tuning)
    except BaseException:
        sock.close()
        raise
    sock.setblocking(False)
    sock.connect_ex(sockaddr)
    return sock


def set_tos(sock: socket.socket, tos: int) -> None:
    """IP_TOS, and IPV6_TCLASS where the socket is IPv6 (libzmq set_ip_type_of_service)."""
    if sock.family == socket.AF_INET6:
        try:
            sock.setsockopt(socket.IPPROTO_IPV6, _IPV6_TCLASS, tos)
        except OSError as exc:
            if exc.errno not in (errno.ENOPROTOOPT, errno.EINVAL):
                raise
        try:
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, tos)  # IPv4-mapped traffic
        except OSError as exc:
            if exc.errno not in (errno.ENOPROTOOPT, errno.EINVAL):
                raise
    else:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, tos)


def open_socket_options(sock: socket.socket, tuning: Tuning) -> None:
    """What libzmq's tcp_open_socket applies to a socket it creates (listener or connecter)."""
    if tuning.tos:
        set_tos(sock, tuning.tos)
    if tuning.priority and sys.platform.startswith("linux"):
        sock.setsockopt(socket.SOL_SOCKET, _SO_PRIORITY, tuning.priority)
    if tuning.bind_device:
        if not sys.platform.startswith("linux"):
            raise OSError(errno.ENOTSUP, "BINDTODEVICE needs SO_BINDTODEVICE (Linux)")
        sock.setsockopt(socket.SOL_SOCKET, _SO_BINDTODEVICE, tuning.bind_device)
    if tuning.sndbuf >= 0:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, tuning.sndbuf)
    if tuning.rcvbuf >= 0:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, tuning.rcvbuf)


# SO_SNDBUF for ipc streams when SNDBUF is left at -1; the kernel doubles it, and caps it at
# net.core.wmem_max (TCP on loopback autotunes up to about the same).
IPC_SNDBUF = 1 << 20


# A socket's address family as the int the OS gave (socket.socket.family converts it to an
# AddressFamily member on every read, an enum lookup; the connection path reads it three times).
raw_family: Callable[[socket.socket], int] = _socket.socket.family.__get__


def tune(sock: socket.socket, *, keepalive: int = -1, sndbuf: int = -1, rcvbuf: int = -1,
         tuning: Tuning | None = None, accepted: bool = False) -> None:
    """Options every ZMTP stream gets: no Nagle (we batch ourselves), keepalives, buffers, and
    (``tuning``) the rest of the tcp options; ``accepted``: TOS and PRIORITY again, as libzmq
    sets them on every accepted socket."""
    if tuning is not None:
        keepalive, sndbuf, rcvbuf = tuning.keepalive, tuning.sndbuf, tuning.rcvbuf
    family = raw_family(sock)
    if family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if keepalive >= 0:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, keepalive)
            if tuning is not None:
                _keepalive_details(sock, tuning)
        if tuning is not None:
            if tuning.maxrt > 0 and sys.platform.startswith("linux"):
                sock.setsockopt(socket.IPPROTO_TCP, _TCP_USER_TIMEOUT, tuning.maxrt)
            if accepted:
                if tuning.tos:
                    set_tos(sock, tuning.tos)
                if tuning.priority and sys.platform.startswith("linux"):
                    sock.setsockopt(socket.SOL_SOCKET, _SO_PRIORITY, tuning.priority)
    if sndbuf <= 0 and family == socket.AF_UNIX:
        # Unix stream sockets get no buffer autotuning: with the default (about 200 KiB, counted
        # with per-packet overhead) sender and receiver take turns after a few dozen messages.
        sndbuf = IPC_SNDBUF
    if sndbuf > 0:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
    if rcvbuf > 0:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)


def _keepalive_details(sock: socket.socket, tuning: Tuning) -> None:
    """libzmq tune_tcp_keepalives: count, idle and interval, each unless -1 (seconds)."""
    if tuning.keepalive_cnt != -1 and hasattr(socket, "TCP_KEEPCNT"):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, tuning.keepalive_cnt)
    if tuning.keepalive_idle != -1 and _TCP_KEEPIDLE is not None:
        sock.setsockopt(socket.IPPROTO_TCP, _TCP_KEEPIDLE, tuning.keepalive_idle)
    if tuning.keepalive_intvl != -1 and hasattr(socket, "TCP_KEEPINTVL"):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, tuning.keepalive_intvl)


def peer_address(sock: socket.socket) -> str:
    """The peer's IP text (ZAP address, Peer-Address); for ipc 'localhost:uid:gid:pid'."""
    if raw_family(sock) == socket.AF_UNIX:
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
