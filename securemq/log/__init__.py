"""pyzmq's ``zmq.log``: publish ``logging`` records on a PUB socket (``handlers.PUBHandler``),
and ``python -m securemq.log URL`` (``python -m zmq.log`` under the alias) to watch them."""
