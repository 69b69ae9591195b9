"""Proxy, ThreadProxy, ProcessProxy: a device that also copies every message to a third
("monitor") socket, PUB by default, configured with ``bind_mon`` / ``connect_mon`` /
``setsockopt_mon``."""

from __future__ import annotations

from typing import Any

import securemq
from securemq import PUB

from .basedevice import Device, ProcessDevice, ThreadDevice, _Side

__all__ = ["ProcessProxy", "Proxy", "ThreadProxy"]


class ProxyBase(Device):
    """The monitor-socket half of the proxy devices (mixed in before a Device class)."""

    mon_type: int

    def __init__(self, in_type: int, out_type: int, mon_type: int = PUB) -> None:
        Device.__init__(self, in_type=in_type, out_type=out_type)
        self.mon_type = mon_type
        self._mon = _Side()

    def bind_mon(self, addr: str) -> None:
        """Queue ``mon_socket.bind(addr)``."""
        self._mon.binds.append(addr)

    def bind_mon_to_random_port(self, addr: str, *args: int, **kwargs: int) -> int:
        """Pick a free port on ``addr`` now, queue the monitor socket's bind; return it."""
        port = self._reserve_random_port(addr, *args, **kwargs)
        self.bind_mon(f"{addr}:{port}")
        return port

    def connect_mon(self, addr: str) -> None:
        """Queue ``mon_socket.connect(addr)``."""
        self._mon.connects.append(addr)

    def setsockopt_mon(self, opt: int, value: Any) -> None:
        """Queue ``mon_socket.setsockopt(opt, value)``."""
        self._mon.sockopts.append((opt, value))

    def _plan(self) -> list[tuple[int, _Side]]:
        return [*super()._plan(), (self.mon_type, self._mon)]

    def run_device(self) -> None:
        ins, outs, mons = self._setup_sockets()[:3]
        securemq.proxy(ins, outs, mons)


class Proxy(ProxyBase, Device):
    """A proxy with a monitor socket, run in the calling thread by ``start()``."""


class ThreadProxy(ProxyBase, ThreadDevice):
    """A Proxy in a background thread."""


class ProcessProxy(ProxyBase, ProcessDevice):
    """A Proxy in a child process."""
