"""Alias of securemq.monitor at pyzmq's path."""

from ..monitor import parse_monitor_message, recv_monitor_message

__all__ = ["parse_monitor_message", "recv_monitor_message"]
