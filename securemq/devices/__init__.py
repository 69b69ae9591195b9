"""pyzmq's ``zmq.devices``: proxies and queues that make their own sockets and run in the
foreground, a background thread or a child process.

    dev = ThreadDevice(zmq.QUEUE, zmq.ROUTER, zmq.DEALER)
    dev.bind_in("tcp://127.0.0.1:5555")
    dev.bind_out("tcp://127.0.0.1:5556")
    dev.start()
"""

from __future__ import annotations

from securemq import DeviceType, proxy

from . import (
    basedevice,
    monitoredqueue,
    monitoredqueuedevice,
    proxydevice,
    proxysteerabledevice,
)
from .basedevice import Device, ProcessDevice, ThreadDevice
from .monitoredqueue import monitored_queue
from .monitoredqueuedevice import MonitoredQueue, ProcessMonitoredQueue, ThreadMonitoredQueue
from .proxydevice import ProcessProxy, Proxy, ThreadProxy
from .proxysteerabledevice import ProcessProxySteerable, ProxySteerable, ThreadProxySteerable

__all__ = [
    "Device", "DeviceType", "MonitoredQueue", "ProcessDevice", "ProcessMonitoredQueue",
    "ProcessProxy", "ProcessProxySteerable", "Proxy", "ProxySteerable", "ThreadDevice",
    "ThreadMonitoredQueue", "ThreadProxy", "ThreadProxySteerable", "basedevice",
    "monitored_queue", "monitoredqueue", "monitoredqueuedevice", "proxy", "proxydevice",
    "proxysteerabledevice",
]
