"""Alias of securemq.monitor at pyzmq's path."""

# As pyzmq's zmq/utils/monitor.py, importing this module imports the asyncio sockets too:
# programs written for pyzmq use ``zmq.asyncio.Socket`` after ``from zmq.utils.monitor import
# ...`` alone (pyzmq's examples/monitoring/zmq_monitor_class.py does, in an annotation).
import securemq.asyncio  # noqa: F401

from ..monitor import parse_monitor_message, recv_monitor_message

__all__ = ["parse_monitor_message", "recv_monitor_message"]
