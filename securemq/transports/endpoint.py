"""Endpoint parsing: tcp://host:port, ipc://path (or @abstract), inproc://name,
udp://[iface;]host:port, ws://host:port[/path] and wss://host:port[/path]."""

from __future__ import annotations

import errno
import socket
from dataclasses import dataclass

from ..constants import Errno
from ..error import ZMQError

TRANSPORTS = ("tcp", "ipc", "inproc", "udp", "ws", "wss")


@dataclass(frozen=True, slots=True)
class Endpoint:
    transport: str
    address: str  # the part after "://"
    host: str = ""
    port: int = 0  # 0: ephemeral (bind to "*" or "0")
    interface: str = ""  # udp: the interface of a multicast group
    path: str = ""  # ws/wss: the HTTP resource

    def __str__(self) -> str:
        return f"{self.transport}://{self.address}"


def parse_endpoint(addr: str, *, bind: bool) -> Endpoint:
    """Split and check an endpoint; errors are ZMQError with pyzmq's errno and the endpoint."""
    verb = "bind" if bind else "connect"
    if "://" not in addr:
        raise ZMQError(Errno.EINVAL, f"{verb}({addr!r}): endpoint must be transport://address")
    transport, _, address = addr.partition("://")
    if transport not in TRANSPORTS:
        raise ZMQError(
            Errno.EPROTONOSUPPORT,
            f"{verb}({addr!r}): transport {transport!r} is not supported "
            f"(use {', '.join(TRANSPORTS)})",
        )
    if not address:
        raise ZMQError(Errno.EINVAL, f"{verb}({addr!r}): empty address")
    if transport == "tcp":
        return _parse_tcp(addr, address, bind=bind)
    if transport == "udp":
        return _parse_udp(addr, address, bind=bind)
    if transport in ("ws", "wss"):
        return _parse_ws(addr, transport, address, bind=bind)
    return Endpoint(transport, address)


def _parse_tcp(addr: str, address: str, *, bind: bool) -> Endpoint:
    verb = "bind" if bind else "connect"
    if ";" in address:
        # libzmq's "source;destination" form: we only use the destination.
        address = address.rsplit(";", 1)[1]
    host, sep, port_text = address.rpartition(":")
    if not sep or not host:
        raise ZMQError(Errno.EINVAL, f"{verb}({addr!r}): tcp endpoint needs host:port")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if port_text in ("*", "0"):
        if not bind:
            raise ZMQError(Errno.EINVAL, f"{verb}({addr!r}): cannot connect to port {port_text}")
        port = 0
    else:
        try:
            port = int(port_text)
        except ValueError:
            raise ZMQError(Errno.EINVAL, f"{verb}({addr!r}): invalid port {port_text!r}") from None
        if not 0 < port < 65536:
            raise ZMQError(Errno.EINVAL, f"{verb}({addr!r}): port {port} out of range")
    if bind and host != "*":
        try:
            socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host)
        except OSError:
            if host != "localhost":
                raise ZMQError(
                    errno.ENODEV,
                    f"{verb}({addr!r}): no such interface {host!r}",
                ) from None
    return Endpoint("tcp", address, host, port)


def format_tcp(host: str, port: int) -> str:
    if ":" in host:
        return f"tcp://[{host}]:{port}"
    return f"tcp://{host}:{port}"


def _parse_udp(addr: str, address: str, *, bind: bool) -> Endpoint:
    """libzmq's udp://[interface;]host:port; no "*" port (libzmq has none for udp)."""
    verb = "bind" if bind else "connect"
    interface = ""
    if ";" in address:
        interface, _, address = address.rpartition(";")
    host, sep, port_text = address.rpartition(":")
    if not sep or not host:
        raise ZMQError(Errno.EINVAL, f"{verb}({addr!r}): udp endpoint needs host:port")
    try:
        port = int(port_text)
    except ValueError:
        raise ZMQError(Errno.EINVAL, f"{verb}({addr!r}): invalid udp port {port_text!r}") from None
    if not 0 < port < 65536:
        raise ZMQError(Errno.EINVAL, f"{verb}({addr!r}): udp port {port} out of range")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return Endpoint("udp", f"{interface + ';' if interface else ''}{host}:{port}", host, port,
                    interface=interface)


def _parse_ws(addr: str, transport: str, address: str, *, bind: bool) -> Endpoint:
    """ws://host:port[/path]: the tcp part, then the HTTP path ("/" when none is given)."""
    authority, slash, path = address.partition("/")
    tcp = _parse_tcp(addr, authority, bind=bind)
    return Endpoint(transport, address, tcp.host, tcp.port, path="/" + path if slash else "/")
