"""ProxySteerable and its thread/process forms: a Proxy with a control socket taking PAUSE,
RESUME, TERMINATE and STATISTICS (``bind_ctrl`` / ``connect_ctrl`` / ``setsockopt_ctrl``)."""

from __future__ import annotations

from typing import Any

import securemq
from securemq import PUB

from .basedevice import _Side
from .proxydevice import ProcessProxy, Proxy, ProxyBase, ThreadProxy

__all__ = ["ProcessProxySteerable", "ProxySteerable", "ThreadProxySteerable"]


class ProxySteerableBase(ProxyBase):
    """The control-socket part of the steerable proxies (mixed in before a Proxy class)."""

    ctrl_type: int | None

    def __init__(self, in_type: int, out_type: int, mon_type: int = PUB,
                 ctrl_type: int | None = None) -> None:
        super().__init__(in_type=in_type, out_type=out_type, mon_type=mon_type)
        self.ctrl_type = ctrl_type
        self._ctrl = _Side()

    def bind_ctrl(self, addr: str) -> None:
        """Queue ``ctrl_socket.bind(addr)``."""
        self._ctrl.binds.append(addr)

    def bind_ctrl_to_random_port(self, addr: str, *args: int, **kwargs: int) -> int:
        """Pick a free port on ``addr`` now, queue the control socket's bind; return it."""
        port = self._reserve_random_port(addr, *args, **kwargs)
        self.bind_ctrl(f"{addr}:{port}")
        return port

    def connect_ctrl(self, addr: str) -> None:
        """Queue ``ctrl_socket.connect(addr)``."""
        self._ctrl.connects.append(addr)

    def setsockopt_ctrl(self, opt: int, value: Any) -> None:
        """Queue ``ctrl_socket.setsockopt(opt, value)``."""
        self._ctrl.sockopts.append((opt, value))

    def _plan(self) -> list[tuple[int, _Side]]:
        if self.ctrl_type is None:
            raise TypeError("ctrl_type must be specified")
        return [*super()._plan(), (self.ctrl_type, self._ctrl)]

    def run_device(self) -> None:
        ins, outs, mons, ctrls = self._setup_sockets()[:4]
        securemq.proxy_steerable(ins, outs, mons, ctrls)


class ProxySteerable(ProxySteerableBase, Proxy):
    """A steerable proxy run in the calling thread by ``start()``."""


class ThreadProxySteerable(ProxySteerableBase, ThreadProxy):
    """A ProxySteerable in a background thread."""


class ProcessProxySteerable(ProxySteerableBase, ProcessProxy):
    """A ProxySteerable in a child process."""
