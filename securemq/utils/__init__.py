"""pyzmq's ``zmq.utils`` import paths: z85, monitor, jsonapi, strtypes, interop, win32."""
