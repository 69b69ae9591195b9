"""MonitoredQueue and its thread/process forms: ``monitored_queue`` as a device, with the
monitor socket of the proxy devices and per-direction prefixes."""

from __future__ import annotations

from securemq import PUB

from .monitoredqueue import monitored_queue
from .proxydevice import ProcessProxy, Proxy, ProxyBase, ThreadProxy

__all__ = ["MonitoredQueue", "ProcessMonitoredQueue", "ThreadMonitoredQueue"]


class MonitoredQueueBase(ProxyBase):
    """The monitored-queue behaviour (mixed in before a Proxy class)."""

    def __init__(self, in_type: int, out_type: int, mon_type: int = PUB,
                 in_prefix: bytes = b"in", out_prefix: bytes = b"out") -> None:
        ProxyBase.__init__(self, in_type=in_type, out_type=out_type, mon_type=mon_type)
        self._in_prefix = in_prefix
        self._out_prefix = out_prefix

    def run_device(self) -> None:
        ins, outs, mons = self._setup_sockets()[:3]
        monitored_queue(ins, outs, mons, self._in_prefix, self._out_prefix)


class MonitoredQueue(MonitoredQueueBase, Proxy):
    """A monitored queue run in the calling thread by ``start()``; ROUTER on both sides works."""


class ThreadMonitoredQueue(MonitoredQueueBase, ThreadProxy):
    """A MonitoredQueue in a background thread."""


class ProcessMonitoredQueue(MonitoredQueueBase, ProcessProxy):
    """A MonitoredQueue in a child process."""
