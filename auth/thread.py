"""ThreadAuthenticator: the ZAP handler served from a background thread.

How this works
--------------
``start()`` binds a REP socket at ``inproc://zeromq.zap.01`` in the given context (in the
caller's thread, so a bind error is raised there), then hands the socket to a daemon thread that
runs ``ZapHandler.serve``: poll with a 100 ms timeout, answer, repeat. ``stop()`` sets an event
and joins the thread, so it returns within about one poll interval; the thread closes the socket
itself. Only pyzmq's public API is used on the context, so this runs on securemq's and on
pyzmq's contexts alike.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any

from .base import Authenticator
from .handler import AuditRecord

__all__ = ["ThreadAuthenticator"]

_POLL_MS = 100
_JOIN_SECONDS = 2.0


class ThreadAuthenticator(Authenticator):
    """Run ZAP authentication in a background thread (pyzmq's class, same verbs)."""

    def __init__(
        self,
        context: Any = None,
        encoding: str = "utf-8",
        log: logging.Logger | None = None,
        *,
        on_decision: Callable[[AuditRecord], None] | None = None,
        curve_reload_interval: float = 1.0,
        revoke_live: bool = False,
    ) -> None:
        super().__init__(
            context,
            encoding,
            log,
            on_decision=on_decision,
            curve_reload_interval=curve_reload_interval,
            revoke_live=revoke_live,
        )
        self.thread: threading.Thread | None = None
        self._stop_event = threading.Event()

    def start(self) -> None:
        """Bind the ZAP socket and start serving it in a thread."""
        if self.is_alive():
            raise RuntimeError("auth: ThreadAuthenticator is already running")
        sock = self._bind_zap_socket()
        self._stop_event = threading.Event()
        self.thread = threading.Thread(
            target=self._run, args=(sock, self._stop_event), name="securemq-zap", daemon=True
        )
        self.thread.start()

    def _bind_zap_socket(self) -> Any:
        import securemq

        if isinstance(self.context, securemq.Context):
            # A thread serves a blocking socket, even when the context makes asyncio sockets.
            sock = securemq.Socket(self.context, securemq.REP)
            try:
                sock.setsockopt(securemq.LINGER, 0)
                sock.bind(securemq.constants.ZAP_ENDPOINT)
            except Exception:
                sock.close()
                raise
            return sock
        return super()._bind_zap_socket()

    def _run(self, sock: Any, stop: threading.Event) -> None:
        try:
            # Between requests: revoke_live's look at keys and users (securemq).
            self.handler.serve(sock, stop, _POLL_MS, tick=self.maybe_refresh)
        finally:
            sock.close()

    def stop(self) -> None:
        """Stop the thread and unbind the ZAP endpoint; returns within about 100 ms."""
        self._stop_event.set()
        thread, self.thread = self.thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(_JOIN_SECONDS)
            if thread.is_alive():
                self.log.error("auth: ZAP thread did not stop within %.1f s", _JOIN_SECONDS)

    def is_alive(self) -> bool:
        """Is the ZAP thread running?"""
        return self.thread is not None and self.thread.is_alive()

    def __enter__(self) -> ThreadAuthenticator:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
