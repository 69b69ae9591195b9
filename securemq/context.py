"""Context: the I/O thread, the inproc registry, and the sockets made from it."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from .constants import ZAP_ENDPOINT, ContextOption, Errno, SocketOption
from .error import ZMQError
from .io.reactor import Reactor
from .pipe import Peer, Pipe
from .socket import _ATTACH, Socket
from .socket_types import SOCKET_TYPE_NAMES

T = TypeVar("T")
_ZAP_NAME = ZAP_ENDPOINT.removeprefix("inproc://")


def _hwm_sum(a: int, b: int) -> int:
    return 0 if a <= 0 or b <= 0 else a + b


class Context:
    """pyzmq's Context: ``socket()``, ``term()``, ``destroy()``, ``instance()``."""

    _instance: ClassVar[Context | None] = None
    _instance_lock: ClassVar[threading.Lock] = threading.Lock()
    _terminated: bool

    def __init__(self, io_threads: int = 1, **kwargs: Any) -> None:
        object.__setattr__(self, "_terminated", False)
        self._lock = threading.RLock()
        self._reactor: Reactor | None = None
        self._sockets: weakref.WeakSet[Socket] = weakref.WeakSet()
        self._open: set[Socket] = set()
        self._all_closed = threading.Condition(self._lock)
        self._inproc: dict[str, Socket] = {}
        self._pending: dict[str, list[tuple[Socket, Peer, Peer]]] = {}
        self._sockopts: dict[int, Any] = {}
        self._options: dict[int, int] = {ContextOption.IO_THREADS: io_threads,
                                         ContextOption.MAX_SOCKETS: 1023}
        self.closed = False

    # -- pyzmq surface ---------------------------------------------------------------------
    @classmethod
    def instance(cls, io_threads: int = 1) -> Context:
        with cls._instance_lock:
            if cls._instance is None or cls._instance.closed:
                cls._instance = cls(io_threads)
            return cls._instance

    def socket(self, socket_type: int, **kwargs: Any) -> Socket:
        if self.closed:
            raise ZMQError(Errno.ENOTSUP, "socket(): context is closed")
        if self._terminated:
            raise ZMQError(Errno.ETERM, "socket(): context was terminated")
        sock = self._socket_class()(self, socket_type)
        for name, value in kwargs.items():
            setattr(sock, name, value)
        return sock

    def _socket_class(self) -> type[Socket]:
        return Socket

    def __enter__(self) -> Context:
        return self

    def __exit__(self, *exc: object) -> None:
        self.destroy()

    def __repr__(self) -> str:
        return f"<securemq.Context({len(self._open)} sockets) at {id(self):#x}>"

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

    def term(self) -> None:
        """Wait until every socket is closed and its LINGER done, then stop the I/O thread."""
        if self.closed:
            return
        object.__setattr__(self, "_terminated", True)
        for sock in list(self._sockets):
            sock._waker.wake()
        with self._lock:
            while self._open:
                self._all_closed.wait()
        if self._reactor is not None:
            self._reactor.stop()
            self._reactor = None
        self.closed = True
        if Context._instance is self:
            Context._instance = None

    def destroy(self, linger: int | None = None) -> None:
        """Close every socket (with ``linger`` if given), then ``term()``."""
        if self.closed:
            return
        for sock in list(self._sockets):
            if not sock.closed:
                sock.close(linger)
        self.term()

    # -- internals -------------------------------------------------------------------------
    def _register(self, sock: Socket) -> None:
        with self._lock:
            self._sockets.add(sock)
            self._open.add(sock)

    def _unregister(self, sock: Socket) -> None:
        with self._lock:
            self._open.discard(sock)
            self._all_closed.notify_all()

    def _ensure_reactor(self) -> Reactor:
        with self._lock:
            if self._reactor is None:
                if self._terminated:
                    raise ZMQError(Errno.ETERM, "context was terminated")
                self._reactor = Reactor()
            return self._reactor

    def _reactor_call(self, fn: Callable[[], T]) -> T:
        reactor = self._ensure_reactor()
        result: T = reactor.run_sync(fn, timeout=30)
        return result

    def _zap_handler(self) -> Socket | None:
        handler = self._inproc.get(_ZAP_NAME)
        return handler if handler is not None and not handler.closed else None

    # inproc: two sockets' pipes joined directly.
    def _inproc_bind(self, name: str, sock: Socket) -> None:
        with self._lock:
            existing = self._inproc.get(name)
            if existing is not None and not existing.closed:
                raise ZMQError(Errno.EADDRINUSE, f"bind('inproc://{name}'): address in use")
            self._inproc[name] = sock
            pending = self._pending.pop(name, [])
        for connecter, c_view, b_view in pending:
            if connecter.closed:
                continue
            c_view.outbound.hwm = _hwm_sum(c_view.outbound.hwm, sock._opts.rcvhwm)
            c_view.inbound.hwm = _hwm_sum(c_view.inbound.hwm, sock._opts.sndhwm)
            self._finish_link(sock, connecter, c_view, b_view)
        if name == _ZAP_NAME:
            self._ensure_reactor()

    def _inproc_unbind(self, name: str, sock: Socket) -> None:
        with self._lock:
            if self._inproc.get(name) is sock:
                del self._inproc[name]

    def _inproc_forget(self, sock: Socket) -> None:
        with self._lock:
            for name in [n for n, s in self._inproc.items() if s is sock]:
                del self._inproc[name]
            for name, entries in list(self._pending.items()):
                kept = [e for e in entries if e[0] is not sock]
                if kept:
                    self._pending[name] = kept
                else:
                    del self._pending[name]

    def _inproc_connect(self, name: str, sock: Socket) -> None:
        endpoint = f"inproc://{name}"
        with self._lock:
            binder = self._inproc.get(name)
            if binder is not None and binder.closed:
                binder = None
            c2b = Pipe(_hwm_sum(sock._opts.sndhwm, binder._opts.rcvhwm) if binder
                       else sock._opts.sndhwm)
            b2c = Pipe(_hwm_sum(binder._opts.sndhwm, sock._opts.rcvhwm) if binder
                       else sock._opts.rcvhwm)
            c_view = Peer(b2c, c2b, endpoint=endpoint)
            b_view = Peer(c2b, b2c, endpoint=endpoint)
            if binder is None:
                self._pending.setdefault(name, []).append((sock, c_view, b_view))
        b2c.reader_wake = sock._waker.wake
        c2b.writer_wake = sock._waker.wake
        if binder is None:
            sock._post(_ATTACH, c_view)
        else:
            self._finish_link(binder, sock, c_view, b_view)

    def _finish_link(self, binder: Socket, connecter: Socket, c_view: Peer, b_view: Peer) -> None:
        c_view.routing_id = binder._opts.routing_id
        c_view.properties = {"Socket-Type": SOCKET_TYPE_NAMES[binder.socket_type]}
        b_view.routing_id = connecter._opts.routing_id
        b_view.properties = {"Socket-Type": SOCKET_TYPE_NAMES[connecter.socket_type]}
        b_view.inbound.reader_wake = binder._waker.wake
        b_view.outbound.writer_wake = binder._waker.wake
        connecter._inproc_links[c_view] = (binder, b_view)
        binder._inproc_links[b_view] = (connecter, c_view)
        binder._post(_ATTACH, b_view)
        if c_view not in connecter._peers:
            connecter._post(_ATTACH, c_view)

