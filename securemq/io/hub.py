"""What a Context gives its sockets: the I/O thread, the inproc names, and the open-socket count.

The Context (API layer) owns one ``IOHub``; every socket of the context reaches the reactor, the
inproc registry and the ZAP handler through it, and registers its mailbox while open, so that
``term()`` can wake every socket (a blocked call then raises ETERM) and wait until all are closed
and done lingering. The reactor starts on first use and is stopped (its descriptors released)
by ``terminate()``.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

from ..constants import ZAP_ENDPOINT, Errno
from ..error import ZMQError
from ..pipe import Mailbox
from ..transports.inproc import InprocEnd, InprocRegistry
from .reactor import Reactor
from .revocation import Revocation, close_revoked

T = TypeVar("T")

ZAP_NAME = ZAP_ENDPOINT.removeprefix("inproc://")
# A call into the reactor that takes longer than this means the I/O thread is stuck.
REACTOR_CALL_TIMEOUT = 30.0


class IOHub:
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._reactor: Reactor | None = None
        self._open: set[Mailbox] = set()
        self._sockets: weakref.WeakSet[Any] = weakref.WeakSet()
        # Every socket's reactor side (io/session.py), added on the reactor thread.
        self._sessions: weakref.WeakSet[Any] = weakref.WeakSet()
        self._all_closed = threading.Condition(self._lock)
        self.inproc = InprocRegistry()
        self.terminated = False

    def reactor(self) -> Reactor:
        """The I/O thread, started on first use (ETERM once the context is terminated)."""
        with self._lock:
            if self._reactor is None:
                if self.terminated:
                    raise ZMQError(Errno.ETERM, "context was terminated")
                self._reactor = Reactor()
            return self._reactor

    @property
    def reactor_if_running(self) -> Reactor | None:
        return self._reactor

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the I/O thread and return what it returns (or raise what it raises)."""
        result: T = self.reactor().run_sync(fn, timeout=REACTOR_CALL_TIMEOUT)
        return result

    def post(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the I/O thread, in order with every other call, without waiting for
        it (an exception it raises is logged there)."""
        self.reactor().call_soon(fn)

    def session_made(self, session: Any) -> None:
        """A socket's session exists (reactor thread): its connections can be revoked."""
        self._sessions.add(session)

    def close_connections(self, revocation: Revocation) -> int:
        """Close the live connections ZAP authenticated that ``revocation`` names, in every
        socket of the context, on the I/O thread (io/revocation.py); how many were closed."""
        if self._reactor is None:
            return 0
        return int(self.call(lambda: close_revoked(list(self._sessions), revocation)))

    def zap_handler(self) -> InprocEnd | None:
        """The socket bound at inproc://zeromq.zap.01, if any."""
        return self.inproc.lookup(ZAP_NAME)

    # -- open sockets ----------------------------------------------------------------------
    def opened(self, mailbox: Mailbox, sock: Any) -> None:
        """A socket is made; ``sock`` is held weakly (for ``Context.destroy``)."""
        with self._lock:
            self._open.add(mailbox)
            self._sockets.add(sock)

    def sockets(self) -> list[Any]:
        """The context's sockets still alive (open or not)."""
        with self._lock:
            return list(self._sockets)

    def finished(self, mailbox: Mailbox) -> None:
        """The socket of ``mailbox`` is closed and done lingering."""
        with self._lock:
            self._open.discard(mailbox)
            self._all_closed.notify_all()

    def open_count(self) -> int:
        return len(self._open)

    def terminate(self) -> None:
        """Wake every open socket (blocked calls raise ETERM), wait until all are closed and
        done lingering, then stop the I/O thread."""
        with self._lock:
            self.terminated = True
            for mailbox in list(self._open):
                mailbox.waker.wake()
            while self._open:
                self._all_closed.wait()
            reactor, self._reactor = self._reactor, None
        if reactor is not None:
            reactor.stop()
