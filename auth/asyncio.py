"""AsyncioAuthenticator: the ZAP handler served as an asyncio task.

How this works
--------------
``start()`` binds a REP socket at ``inproc://zeromq.zap.01`` in the given context (in the
caller, so a bind error is raised there) and starts a task on the event loop that awaits the
asyncio ``Poller`` of the context's own library (``securemq.asyncio`` for a securemq context,
``zmq.asyncio`` for a pyzmq one), takes one request, awaits ``ZapHandler.decide_async`` (so async
policies and credentials providers run on the loop) and sends the reply. Socket calls that
return awaitables (an asyncio context's sockets) are awaited, plain results used as they are.
``stop()`` cancels the task and closes the socket at once, so the endpoint is free again.
Only the public pyzmq API is used on the context.
"""

from __future__ import annotations

import asyncio
import errno
import importlib
import inspect
import logging
from collections.abc import Callable
from types import TracebackType
from typing import Any

from securemq.constants import NOBLOCK, POLLIN

from .base import Authenticator
from .handler import AuditRecord

__all__ = ["AsyncioAuthenticator"]

_FALLBACK_REPLY = [b"1.0", b"", b"400", b"Malformed request", b"", b""]
_POLL_MS = 100


async def _settle(value: Any) -> Any:
    """Await ``value`` if a socket call returned an awaitable; return it otherwise."""
    if inspect.isawaitable(value):
        return await value
    return value


def _poller_class(context: Any) -> Any:
    """The asyncio Poller of the library the context comes from (securemq or pyzmq)."""
    package = type(context).__module__.split(".", 1)[0]
    try:
        module = importlib.import_module(f"{package}.asyncio")
    except ImportError:
        module = importlib.import_module("securemq.asyncio")
    return module.Poller


class AsyncioAuthenticator(Authenticator):
    """ZAP authentication served as an asyncio task (pyzmq's class, same verbs).

    ``loop``: the event loop to run on (default: the running loop when ``start()`` is called).
    """

    def __init__(
        self,
        context: Any = None,
        loop: asyncio.AbstractEventLoop | None = None,
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
        self.loop = loop
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Bind the ZAP socket and start serving it as a task on the loop."""
        if self.is_alive():
            raise RuntimeError("auth: AsyncioAuthenticator is already running")
        loop = self.loop
        if loop is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                raise RuntimeError(
                    "auth: AsyncioAuthenticator.start() needs a running event loop or loop="
                ) from None
        poller = _poller_class(self.context)()
        sock = self._bind_zap_socket()
        poller.register(sock, POLLIN)
        self.zap_socket = sock
        self._task = loop.create_task(self._serve(sock, poller), name="securemq-zap")

    async def _serve(self, sock: Any, poller: Any) -> None:
        try:
            while self.zap_socket is sock:
                # Between requests (at least every 100 ms): revoke_live's look at keys and
                # users (securemq; revoke_live may be turned on after start()).
                events = dict(await poller.poll(_POLL_MS))
                self._tick()
                if sock not in events:
                    continue
                try:
                    frames = await _settle(sock.recv_multipart(NOBLOCK))
                except Exception as exc:
                    if getattr(exc, "errno", None) == errno.EAGAIN:
                        continue
                    raise
                reply = await self.handler.decide_async(frames)
                await _settle(sock.send_multipart(reply if reply is not None else _FALLBACK_REPLY))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if self.zap_socket is sock:
                self.log.error("auth: ZAP socket failed, asyncio handler stopping: %s", exc)
        finally:
            self.handler.close()

    def _tick(self) -> None:
        try:
            self.maybe_refresh()
        except Exception as exc:
            self.log.error("auth: periodic check failed: %s", type(exc).__name__)

    def stop(self) -> None:
        """Cancel the task and close the ZAP socket (the endpoint is free on return)."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
        super().stop()

    def is_alive(self) -> bool:
        """Is the ZAP task running?"""
        return self._task is not None and not self._task.done()

    async def handle_zap_message(self, msg: list[bytes]) -> None:
        """Answer one request received on ``zap_socket`` (pyzmq's manual mode)."""
        reply = await self.handler.decide_async(msg)
        await _settle(
            self.zap_socket.send_multipart(reply if reply is not None else _FALLBACK_REPLY)
        )

    def __enter__(self) -> AsyncioAuthenticator:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
