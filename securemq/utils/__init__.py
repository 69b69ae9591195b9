"""pyzmq import-path aliases (zmq.utils.z85, zmq.utils.monitor)."""
