"""Context: the sockets of one application, their I/O thread and their inproc names."""

from __future__ import annotations

import atexit
import threading
import types
import weakref
from typing import Any, ClassVar

from . import z85
from .constants import ContextOption, Errno, SocketOption
from .error import ZMQError
from .io.hub import IOHub
from .io.revocation import Revocation
from .socket import Socket

# Contexts by ``underlying`` address (for ``Context.shadow``) and every live one (for exit).
_BY_ADDRESS: weakref.WeakValueDictionary[int, Context] = weakref.WeakValueDictionary()
_LIVE: weakref.WeakSet[Context] = weakref.WeakSet()
_EXITING = False


@atexit.register
def _deliver_at_exit() -> None:
    """At interpreter exit, as pyzmq after its sockets are collected: every socket still open
    is closed with its own LINGER (what it queued is delivered within it; LINGER 0 drops it at
    once), and each context is terminated, before the daemon I/O threads are killed."""
    global _EXITING
    _EXITING = True
    for context in list(_LIVE):
        if not context.closed:
            try:
                context.destroy()
            except Exception:
                pass


class Context:
    """pyzmq's Context: ``socket()``, ``term()``, ``destroy()``, ``instance()``.

    Its sockets reach the I/O thread, the inproc registry and the ZAP handler through ``io``
    (an ``IOHub``); socket options set on the context are applied to each new socket.
    """

    _instance: ClassVar[Context | None] = None
    _instance_lock: ClassVar[threading.Lock] = threading.Lock()
    io: IOHub
    _sockopts: dict[int, Any]

    def __class_getitem__(cls, item: Any) -> types.GenericAlias:
        """pyzmq's Context is ``Generic[SocketType]``: ``zmq.Context[zmq.Socket]`` annotates
        and subclasses (ipykernel does both)."""
        return types.GenericAlias(cls, item)

    # Per-object, outside the dict that shadows share: the context this object shadows.
    __slots__ = ("__dict__", "__weakref__", "_shadow_of")
    _socket_class: type[Socket] = Socket

    def __init__(self, io_threads: int | Context = 1, shadow: Context | int = 0,
                 **kwargs: Any) -> None:
        if isinstance(io_threads, Context):
            shadow, io_threads = io_threads, 1
        if shadow:
            original = shadow if isinstance(shadow, Context) else _BY_ADDRESS.get(int(shadow))
            if original is None:
                raise ZMQError(Errno.EFAULT, f"Context.shadow({shadow!r}): no such context")
            # One context, two facades: every attribute is shared (``object.__setattr__``
            # keeps this per-object flag out of the shared dict).
            object.__setattr__(self, "__dict__", original.__dict__)
            object.__setattr__(self, "_shadow_of", original)
            return
        object.__setattr__(self, "io", IOHub())
        object.__setattr__(self, "_sockopts", {})
        self._options: dict[int, int] = {ContextOption.IO_THREADS: io_threads,
                                         ContextOption.MAX_SOCKETS: 1023}
        self.closed = False
        _BY_ADDRESS[id(self.io)] = self
        _LIVE.add(self)

    @classmethod
    def shadow(cls, address: int | Context) -> Context:
        """A context object over an existing one (``context.underlying``), as pyzmq."""
        return cls(shadow=address)

    @property
    def underlying(self) -> int:
        return id(self.io)

    def __del__(self) -> None:
        # As pyzmq: a context nobody references any more is destroyed (its sockets closed with
        # their LINGER); shadows never destroy what they share.
        if getattr(self, "_shadow_of", None) is not None or getattr(self, "closed", True):
            return
        if _EXITING:
            return
        if not hasattr(self, "io"):
            return
        try:
            self.destroy()
        except Exception:
            pass

    # -- pyzmq surface ---------------------------------------------------------------------
    @classmethod
    def instance(cls, io_threads: int = 1) -> Context:
        with cls._instance_lock:
            if cls._instance is None or cls._instance.closed:
                cls._instance = cls(io_threads)
            return cls._instance

    def socket(self, socket_type: int, socket_class: Any = None, **kwargs: Any) -> Socket:
        if self.closed:
            raise ZMQError(Errno.ENOTSUP, "socket(): context is closed")
        if self.io.terminated:
            raise ZMQError(Errno.ETERM, "socket(): context was terminated")
        sock = (socket_class or self._socket_class)(self, socket_type)
        for code, value in self._sockopts.items():
            try:
                sock.setsockopt(code, value)
            except (ZMQError, TypeError):
                pass  # (an option that does not apply to this socket type, as pyzmq)
        for name, value in kwargs.items():
            setattr(sock, name, value)
        return sock

    def __enter__(self) -> Context:
        return self

    def __exit__(self, *exc: object) -> None:
        self.destroy()

    def __repr__(self) -> str:
        return f"<securemq.Context({self.io.open_count()} sockets) at {id(self):#x}>"

    def __setattr__(self, name: str, value: Any) -> None:
        upper = name.upper()
        if not name.startswith("_") and upper in SocketOption.__members__:
            self._sockopts[int(SocketOption[upper])] = value
            return
        object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        upper = name.upper()
        if upper in SocketOption.__members__:
            code = int(SocketOption[upper])
            if code in self._sockopts:
                return self._sockopts[code]
            raise AttributeError(f"context socket option {name!r} has not been set")
        raise AttributeError(f"Context has no attribute {name!r}")

    def setsockopt(self, option: int, value: Any) -> None:
        self._sockopts[int(option)] = value

    def getsockopt(self, option: int) -> Any:
        return self._sockopts[int(option)]

    def set(self, option: int, value: int) -> None:
        self._options[int(option)] = value

    def get(self, option: int) -> int:
        try:
            return self._options[int(option)]
        except KeyError:
            raise ZMQError(Errno.EINVAL, f"Context.get({option}): unknown option") from None

    # -- revocation (securemq) ---------------------------------------------------------------
    def close_connections(
        self,
        *,
        user_id: bytes | str | None = None,
        curve_key: bytes | str | None = None,
        plain_username: bytes | str | None = None,
        zap_domain: bytes | str | None = None,
        reason: str = "revoked",
    ) -> int:
        """Close the live connections of this context's sockets that a ZAP handler
        authenticated and that match every criterion given (securemq; libzmq never closes an
        authenticated connection): the ZAP ``User-Id``, the CURVE client's long-term public key
        (32 raw bytes or 40 Z85 characters), the PLAIN user name, the ZAP domain. At least one
        of the first three is required. Runs on the I/O thread; returns how many were closed.
        Each is logged (``securemq.io``, WARNING, with ``reason``) and reported to its socket's
        monitor as DISCONNECTED. The peer may reconnect: ZAP decides again (securemq.auth's
        ``revoke_live`` calls this when a key or user is removed)."""
        key: bytes | None = None
        if curve_key is not None:
            try:
                key = z85.key_bytes(curve_key, "client key")
            except ValueError:
                raise ZMQError(Errno.EINVAL, "close_connections: curve_key must be 32 raw "
                               "bytes or 40 Z85 characters") from None
        revocation = Revocation(
            user_id=_as_bytes(user_id), curve_key=key,
            plain_username=_as_bytes(plain_username), zap_domain=_as_bytes(zap_domain),
            reason=reason,
        )
        return self.io.close_connections(revocation)

    def term(self) -> None:
        """Wait until every socket is closed and its LINGER done, then stop the I/O thread."""
        if self.closed:
            return
        self.io.terminate()
        self.closed = True
        if Context._instance is self:
            Context._instance = None

    def destroy(self, linger: int | None = None) -> None:
        """Close every socket (with ``linger`` if given), then ``term()``."""
        if self.closed:
            return
        for sock in self.io.sockets():
            if not sock.closed:
                sock.close(linger)
        self.term()


def _as_bytes(value: bytes | str | None) -> bytes | None:
    return value.encode("utf-8") if isinstance(value, str) else value
