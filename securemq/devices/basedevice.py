"""Device, ThreadDevice, ProcessDevice: a proxy between two sockets it creates itself.

A device is configured with socket *types* and queued calls (``bind_in``, ``connect_out``,
``setsockopt_in``, ...); the sockets are made and configured where the device runs, so they
belong to the thread (or process) that uses them. The device runs until its context is
terminated or a socket is closed under it, which ends it quietly; other errors propagate.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from multiprocessing import Process
from typing import Any, ClassVar

import securemq
from securemq import ENOTSOCK, ETERM, PUSH, QUEUE, Context, ZMQBindError, ZMQError

__all__ = ["Device", "ProcessDevice", "ThreadDevice"]


class _Side:
    """The queued configuration of one socket of a device."""

    def __init__(self) -> None:
        self.binds: list[str] = []
        self.connects: list[str] = []
        self.sockopts: list[tuple[int, Any]] = []

    def set_options(self, sock: securemq.Socket) -> None:
        for opt, value in self.sockopts:
            sock.setsockopt(opt, value)

    def bind(self, sock: securemq.Socket) -> None:
        for addr in self.binds:
            sock.bind(addr)

    def connect(self, sock: securemq.Socket) -> None:
        for addr in self.connects:
            sock.connect(addr)


def configure(pairs: list[tuple[_Side, securemq.Socket]]) -> None:
    """Options of every socket first (ROUTING_ID must precede connections), binds, connects."""
    for step in (_Side.set_options, _Side.bind, _Side.connect):
        for side, sock in pairs:
            step(side, sock)


class Device:
    """A proxy between an in-socket and an out-socket of the given types, run by ``start()``
    in the calling thread (subclasses run it in the background).

    ``out_type < 0`` uses the in-socket for both sides. ``daemon`` (default True) is the
    daemon flag of the background thread or process. ``context_factory`` makes the Context:
    ``Context.instance`` here and in threads, a new ``Context`` in processes.
    """

    context_factory: Callable[[], securemq.Context] = Context.instance

    daemon: bool
    done: bool
    device_type: int
    in_type: int
    out_type: int

    def __init__(self, device_type: int = QUEUE, in_type: int | None = None,
                 out_type: int | None = None) -> None:
        if in_type is None:
            raise TypeError("in_type must be specified")
        if out_type is None:
            raise TypeError("out_type must be specified")
        self.device_type = device_type
        self.in_type = in_type
        self.out_type = out_type
        self._in = _Side()
        self._out = _Side()
        self._random_addrs: list[str] = []
        self._sockets: list[securemq.Socket] = []
        self._finished = threading.Event()
        self.daemon = True
        self.done = False

    def __getstate__(self) -> dict[str, Any]:
        # What a child process needs (spawn start method pickles the device): the
        # configuration, not this process's launcher, sockets or wake-up event.
        state = dict(self.__dict__)
        for name in ("launcher", "_finished", "_sockets", "_context"):
            state.pop(name, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._sockets = []
        self._finished = threading.Event()

    # -- configuration, applied when the device runs ----------------------------------------
    def bind_in(self, addr: str) -> None:
        """Queue ``in_socket.bind(addr)``."""
        self._in.binds.append(addr)

    def bind_out(self, addr: str) -> None:
        """Queue ``out_socket.bind(addr)``."""
        self._out.binds.append(addr)

    def connect_in(self, addr: str) -> None:
        """Queue ``in_socket.connect(addr)``."""
        self._in.connects.append(addr)

    def connect_out(self, addr: str) -> None:
        """Queue ``out_socket.connect(addr)``."""
        self._out.connects.append(addr)

    def setsockopt_in(self, opt: int, value: Any) -> None:
        """Queue ``in_socket.setsockopt(opt, value)``."""
        self._in.sockopts.append((opt, value))

    def setsockopt_out(self, opt: int, value: Any) -> None:
        """Queue ``out_socket.setsockopt(opt, value)``."""
        self._out.sockopts.append((opt, value))

    def bind_in_to_random_port(self, addr: str, *args: int, **kwargs: int) -> int:
        """Pick a free port on ``addr`` now, queue the in-socket's bind to it; return it."""
        port = self._reserve_random_port(addr, *args, **kwargs)
        self.bind_in(f"{addr}:{port}")
        return port

    def bind_out_to_random_port(self, addr: str, *args: int, **kwargs: int) -> int:
        """Pick a free port on ``addr`` now, queue the out-socket's bind to it; return it."""
        port = self._reserve_random_port(addr, *args, **kwargs)
        self.bind_out(f"{addr}:{port}")
        return port

    def _reserve_random_port(self, addr: str, *args: int, **kwargs: int) -> int:
        """A port that was free a moment ago and that this device has not picked before.

        The port is released before the device binds it, as in pyzmq: another program may
        take it in between.
        """
        with Context() as ctx, ctx.socket(PUSH) as probe:
            for _ in range(5):
                port = probe.bind_to_random_port(addr, *args, **kwargs)
                if f"{addr}:{port}" not in self._random_addrs:
                    break
            else:
                raise ZMQBindError("Could not reserve random port.")
        self._random_addrs.append(f"{addr}:{port}")
        return port

    # -- running ---------------------------------------------------------------------------------
    def _plan(self) -> list[tuple[int, _Side]]:
        """The sockets to make, in order: (socket type, queued configuration)."""
        return [(self.in_type, self._in), (self.out_type, self._out)]

    def _setup_sockets(self) -> tuple[securemq.Socket, ...]:
        """Make and configure the sockets of ``_plan()`` in the device's own context."""
        ctx = self.context_factory()
        self._context = ctx
        pairs: list[tuple[_Side, securemq.Socket]] = []
        for index, (socket_type, side) in enumerate(self._plan()):
            if index == 1 and socket_type < 0:
                sock = pairs[0][1]  # out_type < 0: the in-socket serves both sides
            else:
                sock = ctx.socket(socket_type)
                self._sockets.append(sock)
            pairs.append((side, sock))
        configure(pairs)
        return tuple(sock for _, sock in pairs)

    def run_device(self) -> None:
        """Create the sockets and proxy between them (called by ``run``)."""
        ins, outs = self._setup_sockets()[:2]
        securemq.proxy(ins, outs)

    def run(self) -> None:
        """``run_device()``; a terminated context or closed socket ends it quietly."""
        try:
            self.run_device()
        except ZMQError as exc:
            if exc.errno not in (ETERM, ENOTSOCK):
                raise
        finally:
            self.done = True
            self._finished.set()
            for sock in self._sockets:
                if not sock.closed:
                    sock.close()

    def start(self) -> None:
        """Run the device in this thread, until it ends."""
        self.run()

    def join(self, timeout: float | None = None) -> None:
        """Wait until the device has ended, like ``Thread.join``."""
        self._finished.wait(timeout)


class BackgroundDevice(Device):
    """A Device whose ``start()`` runs it through ``_launch_class(target=self.run)``."""

    launcher: Any = None
    _launch_class: ClassVar[Any] = None

    def start(self) -> None:
        self.launcher = self._launch_class(target=self.run)
        self.launcher.daemon = self.daemon
        self.launcher.start()

    def join(self, timeout: float | None = None) -> None:
        self.launcher.join(timeout=timeout)


class ThreadDevice(BackgroundDevice):
    """A Device run in a background thread (``Context.instance()`` by default)."""

    _launch_class = threading.Thread


class ProcessDevice(BackgroundDevice):
    """A Device run in a child process, with a Context of its own."""

    _launch_class = Process
    context_factory = Context
