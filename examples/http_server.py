"""A tiny HTTP/1.1 server on a STREAM socket, fetched with the standard library's urllib.

A STREAM socket speaks raw TCP: each connection gets a routing id, data arrives as
``[id, bytes]`` in whatever pieces the network delivers, an empty message announces a new
connection and another one its end, and sending ``[id, b""]`` closes it. The server keeps a
buffer per connection until it holds a whole request head, answers, and closes -- so several
clients can be in the middle of a request at once on one socket and one thread.
"""

from __future__ import annotations

import sys
import threading
import urllib.request

import securemq as zmq

REQUESTS = 3
TIMEOUT_MS = 5000


def respond(path: str) -> bytes:
    body = f"hello from securemq, you asked for {path}\n".encode()
    head = (
        "HTTP/1.1 200 OK\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    return head + body


def serve(server: zmq.Socket, requests: int) -> None:
    buffers: dict[bytes, bytes] = {}
    answered = 0
    while answered < requests:
        routing_id, data = server.recv_multipart()
        if not data:  # a connection started (new id) or ended (known id)
            if buffers.pop(routing_id, None) is None:
                buffers[routing_id] = b""
            continue
        buffered = buffers.get(routing_id, b"") + data
        if b"\r\n\r\n" not in buffered:
            buffers[routing_id] = buffered  # not the whole head yet
            continue
        request_line = buffered.split(b"\r\n", 1)[0].decode("latin-1")
        method, path, _ = request_line.split(" ", 2)
        print(f"server: {method} {path}")
        server.send_multipart([routing_id, respond(path)])
        server.send_multipart([routing_id, b""])  # close after the reply
        buffers.pop(routing_id, None)
        answered += 1


def main() -> int:
    ctx = zmq.Context()
    server = ctx.socket(zmq.STREAM)
    server.linger = 0
    server.rcvtimeo = TIMEOUT_MS
    server.bind("tcp://127.0.0.1:*")
    port = int(server.last_endpoint.rsplit(b":", 1)[1])
    thread = threading.Thread(target=serve, args=(server, REQUESTS), daemon=True)
    thread.start()
    try:
        for index in range(REQUESTS):
            url = f"http://127.0.0.1:{port}/page/{index}"
            with urllib.request.urlopen(url, timeout=TIMEOUT_MS / 1000) as reply:
                print(f"client: {reply.status} {reply.read().decode().strip()}")
        thread.join(TIMEOUT_MS / 1000)
        print(f"http_server: {REQUESTS} requests answered")
        return 0
    finally:
        server.close()
        ctx.term()


if __name__ == "__main__":
    sys.exit(main())
