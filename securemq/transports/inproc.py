"""inproc://: two sockets of one Context joined by a pair of pipes, no bytes, no ZMTP.

How this works: each socket has an ``InprocEnd`` (its type, its live options, its mailbox). The
Context's ``InprocRegistry`` maps names to bound ends. ``connect`` makes the two pipes at once and
attaches the connecting side's view straight away, so messages queue before the other side binds
(as libzmq); ``bind`` completes every link waiting on its name (the HWM of a pipe is then the sum
of the sender's SNDHWM and the receiver's RCVHWM, as libzmq). Unlinking closes both pipes and
posts DETACH to both mailboxes; what was already sent stays readable. The registry's lock makes
binds, connects and unlinks from different threads atomic; the pipes themselves need no lock.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from ..constants import Errno
from ..error import ZMQError
from ..options import SocketOptions
from ..pipe import ATTACH, DETACH, Mailbox, Peer, Pipe
from ..socket_types import SOCKET_TYPE_NAMES

PREFIX = "inproc://"


@dataclass(eq=False)
class InprocEnd:
    """One socket as inproc sees it."""

    socket_type: int
    options: SocketOptions
    mailbox: Mailbox
    closed: bool = False

    def attach(self, peer: Peer) -> None:
        self.mailbox.post(ATTACH, self.mailbox.wire(peer))

    def detach(self, peer: Peer) -> None:
        peer.inbound.closed = True
        peer.outbound.closed = True
        self.mailbox.post(DETACH, peer)


@dataclass(eq=False)
class _Link:
    name: str
    connecter: InprocEnd
    connecter_view: Peer
    binder_view: Peer
    binder: InprocEnd | None = None
    views: tuple[Peer, Peer] = field(init=False)

    def __post_init__(self) -> None:
        self.views = (self.connecter_view, self.binder_view)


def _hwm_sum(a: int, b: int) -> int:
    return 0 if a <= 0 or b <= 0 else a + b


class InprocRegistry:
    """The inproc names of one Context."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._bound: dict[str, InprocEnd] = {}
        self._pending: dict[str, list[_Link]] = {}
        self._links: dict[Peer, _Link] = {}  # both views of every live link

    def lookup(self, name: str) -> InprocEnd | None:
        """The open socket bound at ``name`` (None if there is none)."""
        end = self._bound.get(name)
        return end if end is not None and not end.closed else None

    def bind(self, name: str, end: InprocEnd) -> None:
        with self._lock:
            if self.lookup(name) is not None:
                raise ZMQError(Errno.EADDRINUSE, f"bind('{PREFIX}{name}'): address in use")
            self._bound[name] = end
            for link in self._pending.pop(name, []):
                c2b, b2c = link.binder_view.inbound, link.connecter_view.inbound
                c2b.hwm = _hwm_sum(c2b.hwm, end.options.rcvhwm)
                b2c.hwm = _hwm_sum(b2c.hwm, end.options.sndhwm)
                self._finish(link, end, connecter_attached=True)

    def unbind(self, name: str, end: InprocEnd) -> None:
        with self._lock:
            if self._bound.get(name) is end:
                del self._bound[name]

    def connect(self, name: str, end: InprocEnd) -> None:
        endpoint = PREFIX + name
        with self._lock:
            binder = self.lookup(name)
            ours = end.options
            c2b = Pipe(_hwm_sum(ours.sndhwm, binder.options.rcvhwm) if binder else ours.sndhwm)
            b2c = Pipe(_hwm_sum(binder.options.sndhwm, ours.rcvhwm) if binder else ours.rcvhwm)
            link = _Link(name, end, Peer(b2c, c2b, endpoint=endpoint),
                         Peer(c2b, b2c, endpoint=endpoint))
            self._links[link.connecter_view] = link
            if binder is None:
                self._pending.setdefault(name, []).append(link)
                end.attach(link.connecter_view)  # messages queue until the other side binds
            else:
                self._finish(link, binder, connecter_attached=False)

    def _finish(self, link: _Link, binder: InprocEnd, *, connecter_attached: bool) -> None:
        link.binder = binder
        connecter = link.connecter
        link.connecter_view.routing_id = binder.options.routing_id
        link.connecter_view.properties = {"Socket-Type": SOCKET_TYPE_NAMES[binder.socket_type]}
        link.binder_view.routing_id = connecter.options.routing_id
        link.binder_view.properties = {"Socket-Type": SOCKET_TYPE_NAMES[connecter.socket_type]}
        self._links[link.binder_view] = link
        binder.attach(link.binder_view)
        if not connecter_attached:
            connecter.attach(link.connecter_view)

    def disconnect(self, end: InprocEnd, endpoint: str) -> None:
        """Unlink every link ``end`` made by connecting to ``endpoint``."""
        with self._lock:
            for link in {link for link in self._links.values()
                         if link.connecter is end and link.connecter_view.endpoint == endpoint}:
                self._unlink(link)

    def close(self, end: InprocEnd) -> None:
        """``end`` closes: unlink all its links (what it sent stays readable), forget its names."""
        with self._lock:
            for link in {link for link in self._links.values()
                         if end in (link.connecter, link.binder)}:
                self._unlink(link)
            for name in [name for name, bound in self._bound.items() if bound is end]:
                del self._bound[name]

    def _unlink(self, link: _Link) -> None:
        for view in link.views:
            self._links.pop(view, None)
        pending = self._pending.get(link.name)
        if pending is not None and link in pending:
            pending.remove(link)
            if not pending:
                del self._pending[link.name]
        link.connecter.detach(link.connecter_view)
        if link.binder is not None:
            link.binder.detach(link.binder_view)

    def links_of(self, end: InprocEnd) -> list[Peer]:
        """``end``'s own views of its live links (for the socket monitor's channel)."""
        with self._lock:
            return [peer for peer, link in self._links.items()
                    if (link.connecter is end and peer is link.connecter_view)
                    or (link.binder is end and peer is link.binder_view)]
