"""Endpoint parsing: tcp://host:port, ipc://path (or @abstract), inproc://name."""

from __future__ import annotations

import errno
import socket
from dataclasses import dataclass

from ..constants import Errno
from ..error import ZMQError

TRANSPORTS = ("tcp", "ipc", "inproc")


@dataclass(frozen=True, slots=True)
class Endpoint:
    transport: str
    address: str  # the part after "://"
    host: str = ""
    port: int = 0  # 0: ephemeral (bind to "*" or "0")

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
