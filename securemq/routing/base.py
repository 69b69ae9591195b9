"""The seam between a socket and its routing strategy.

How this works: a socket owns one ``Routing`` object chosen by socket type (see
``securemq.routing.create``). The socket layer collects whole multipart messages and hands them
to ``send``; it asks ``recv`` for whole messages; it reports peers coming (``attach``), going
(``detach``) and reconnecting (``hiccup``). The routing object never blocks, never does I/O and
never looks at a clock: ``send`` returning False and ``recv`` returning None mean "not now", and
the socket decides whether to wait, time out or raise ``Again``. Everything here runs on the one
thread that owns the socket; the only shared objects are the peers' pipes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable
from typing import ClassVar, Protocol

from ..constants import Errno
from ..error import ZMQError
from ..pipe import Message, Peer
from .authz import AuthzLedger

__all__ = ["Message", "Peer", "Routing", "RoutingOptions", "fail"]


class RoutingOptions(Protocol):
    """The socket's live option values; strategies read them at use time."""

    router_mandatory: bool
    router_handover: bool
    req_relaxed: bool
    req_correlate: bool
    xpub_verbose: bool
    xpub_verboser: bool
    xpub_nodrop: bool
    invert_matching: bool
    # STREAM writes the id it last gave here, as libzmq does (read back as ROUTING_ID).
    routing_id: bytes


def _no_disconnect(peer: Peer) -> None:
    return None


def fail(errno: int, socket_name: str, step: str) -> ZMQError:
    """A ZMQError whose message names the socket type, the step and the errno."""
    return ZMQError(errno, f"{socket_name}: {step} ({Errno(errno).name})")


def drop_queued(peer: Peer) -> None:
    """Forget what is still queued both ways for a peer that is gone for good."""
    peer.outbound.clear()
    peer.inbound.clear()


class Routing(ABC):
    """One socket type's pattern semantics over its peers' pipes."""

    socket_type: ClassVar[int]
    name: ClassVar[str]
    # Set by send() when the last message was dropped for some peer (HWM): the socket then
    # yields the interpreter so the thread draining the pipes gets to run.
    dropped: bool = False

    def __init__(self, options: RoutingOptions) -> None:
        self.options = options
        # Ends a peer's connection once what is queued for it is written (STREAM's empty
        # message); the socket puts its own here.
        self.disconnect_peer: Callable[[Peer], None] = _no_disconnect
        # Authorization rules from ZAP and what they refused (securemq, routing/authz.py).
        self.authz = AuthzLedger(self.name)

    @abstractmethod
    def attach(self, peer: Peer) -> None:
        """A new peer (after its handshake, or at connect() time)."""

    @abstractmethod
    def detach(self, peer: Peer) -> None:
        """The peer is gone for good: forget it and drop what is queued for it."""

    def hiccup(self, peer: Peer) -> None:  # noqa: B027 - most types have nothing to do
        """The peer reconnected over a new connection (same pipes)."""

    def options_changed(self) -> None:  # noqa: B027 - most types read options at use time
        """An option was set (strategies that cache a decision revisit it here)."""

    def ready_batch(self) -> deque[tuple[Message, Peer]] | None:
        """A queue of messages ready to be received as they are, in order, that the socket may
        pop from directly (the hot path of receive-only types); None for the other types."""
        return None

    def holds(self, peer: Peer) -> bool:
        """True while messages already taken from ``peer``'s inbound pipe wait here to be
        received (the socket detaches a departed peer only once this is False)."""
        return False

    @abstractmethod
    def send(self, msg: Message) -> bool:
        """True: done (delivered or dropped per the type's HWM action); False: not now."""

    @abstractmethod
    def recv(self) -> tuple[Message, Peer] | None:
        """A whole message and the peer it came from; None: nothing now."""

    @abstractmethod
    def can_send(self) -> bool:
        """POLLOUT."""

    @abstractmethod
    def can_recv(self) -> bool:
        """POLLIN."""

    def subscribe(self, topic: bytes) -> None:
        raise fail(Errno.EINVAL, self.name, "SUBSCRIBE is not an option of this socket type")

    def unsubscribe(self, topic: bytes) -> None:
        raise fail(Errno.EINVAL, self.name, "UNSUBSCRIBE is not an option of this socket type")
