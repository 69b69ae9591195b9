"""ipc:// (Unix domain sockets): paths and Linux abstract names (@name)."""

from __future__ import annotations

import os
import socket
import tempfile

from .endpoint import Endpoint


def _sockaddr(address: str) -> str:
    return "\0" + address[1:] if address.startswith("@") else address


def listen(ep: Endpoint, *, backlog: int) -> tuple[socket.socket, str]:
    address = ep.address
    if address == "*":
        address = os.path.join(tempfile.mkdtemp(prefix="securemq-"), "socket")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        path = _sockaddr(address)
        if not address.startswith("@"):
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
        sock.bind(path)
        sock.listen(max(backlog, 1))
        sock.setblocking(False)
    except OSError as exc:
        exc.fd = sock.fileno()  # type: ignore[attr-defined]  # for the CLOSED monitor event
        sock.close()
        raise
    except BaseException:
        sock.close()
        raise
    return sock, f"ipc://{address}"


def cleanup(resolved: str) -> None:
    """Remove the socket file of an ipc listener (not for abstract names)."""
    address = resolved.removeprefix("ipc://")
    if address and not address.startswith("@"):
        try:
            os.unlink(address)
        except OSError:
            pass


def start_connect(ep: Endpoint) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.setblocking(False)
    err = sock.connect_ex(_sockaddr(ep.address))
    if err not in (0, 11, 115):  # EAGAIN/EINPROGRESS mean "under way"
        sock.close()
        raise OSError(err, os.strerror(err))
    return sock
