"""udp:// on the reactor: one datagram per RADIO message, no ZMTP (zmtp/udp.py's format).

A ``UdpReceiver`` (a DISH's bind) reads every datagram that is ready, decodes it to
``[group, body]`` and puts it in its peer's inbound pipe; a malformed datagram is dropped, and so
is one that finds the pipe full (UDP is lossy: the DISH filters and fair-queues as usual). A
``UdpSender`` (a RADIO's connect) drains its peer's outbound pipe into datagrams; when the OS
socket would block it waits for writability, and a datagram the network refuses is dropped.
Both live on the reactor thread only; the session creates and closes them.
"""

from __future__ import annotations

import logging
import socket
from typing import TYPE_CHECKING

from ..pipe import Peer
from ..zmtp.errors import ZmtpError
from ..zmtp.udp import MAX_DATAGRAM, decode_message, encode_message

if TYPE_CHECKING:
    from .reactor import Reactor

log = logging.getLogger("securemq.io")

# Datagrams taken per readiness event (then the reactor serves others before coming back).
READ_BURST = 256


class UdpReceiver:
    def __init__(self, reactor: Reactor, sock: socket.socket, peer: Peer, endpoint: str) -> None:
        self.reactor = reactor
        self.sock = sock
        self.fd = sock.fileno()
        self.peer = peer
        self.endpoint = endpoint
        self.closed = False
        reactor.set_handlers(sock, self._on_readable, None)

    def _on_readable(self) -> None:
        inbound = self.peer.inbound
        for _ in range(READ_BURST):
            try:
                datagram = self.sock.recv(MAX_DATAGRAM + 1)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return  # (an ICMP error for an earlier datagram: nothing to read)
            try:
                message = decode_message(datagram)
            except ZmtpError:
                continue  # a datagram libzmq would never send: dropped, as libzmq does
            inbound.write(message)  # full: dropped

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.reactor.set_handlers(self.sock, None, None)
            self.sock.close()


class UdpSender:
    def __init__(self, reactor: Reactor, sock: socket.socket, destination: tuple[str, int],
                 peer: Peer, endpoint: str) -> None:
        self.reactor = reactor
        self.sock = sock
        self.fd = sock.fileno()
        self.destination = destination
        self.peer = peer
        self.endpoint = endpoint
        self.closed = False
        self._scheduled = False
        self._waiting = False
        peer.outbound.reader_wake = self._schedule
        self._schedule()

    def _schedule(self) -> None:
        """The outbound pipe became non-empty (any thread)."""
        if not self._scheduled:
            self._scheduled = True
            self.reactor.call_soon(self.flush)

    def flush(self) -> None:
        self._scheduled = False
        if self.closed or self._waiting:
            return
        outbound = self.peer.outbound
        while (message := outbound.read()) is not None:
            try:
                datagram = encode_message(message)
            except ZmtpError as exc:
                log.debug("securemq: udp: message not sent: %s", exc)
                continue
            try:
                self.sock.sendto(datagram, self.destination)
            except (BlockingIOError, InterruptedError):
                outbound.queue.appendleft(message)  # (the one reader puts it back)
                self._waiting = True
                self.reactor.set_handlers(self.sock, None, self._on_writable)
                return
            except OSError:
                continue  # refused or unreachable: a lost datagram, as UDP goes

    def _on_writable(self) -> None:
        self._waiting = False
        self.reactor.set_handlers(self.sock, None, None)
        self.flush()

    def close(self) -> None:
        if not self.closed:
            self.flush()  # what is queued now goes out (LINGER for datagrams)
            self.closed = True
            self.reactor.set_handlers(self.sock, None, None)
            self.sock.close()
            self.peer.outbound.reader_wake = _nothing


def _nothing() -> None:
    return None
