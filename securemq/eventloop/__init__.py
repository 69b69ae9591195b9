"""pyzmq's ``zmq.eventloop``: tornado integration (tornado's IOLoop, ZMQStream, futures).

tornado >= 5 runs on asyncio and needs no ZeroMQ-specific loop: ``IOLoop`` is tornado's own.
"""

from tornado.ioloop import IOLoop

__all__ = ["IOLoop"]
