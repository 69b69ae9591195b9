"""Endpoint parsing: a table of good and bad endpoints, for bind and connect."""

from __future__ import annotations

import errno

import pytest

from securemq.error import ZMQError
from securemq.transports.endpoint import Endpoint, format_tcp, parse_endpoint

GOOD: list[tuple[str, bool, Endpoint]] = [
    ("tcp://127.0.0.1:5555", True, Endpoint("tcp", "127.0.0.1:5555", "127.0.0.1", 5555)),
    ("tcp://127.0.0.1:5555", False, Endpoint("tcp", "127.0.0.1:5555", "127.0.0.1", 5555)),
    ("tcp://*:5555", True, Endpoint("tcp", "*:5555", "*", 5555)),
    ("tcp://*:*", True, Endpoint("tcp", "*:*", "*", 0)),
    ("tcp://127.0.0.1:*", True, Endpoint("tcp", "127.0.0.1:*", "127.0.0.1", 0)),
    ("tcp://127.0.0.1:0", True, Endpoint("tcp", "127.0.0.1:0", "127.0.0.1", 0)),
    ("tcp://localhost:1", True, Endpoint("tcp", "localhost:1", "localhost", 1)),
    ("tcp://localhost:65535", False, Endpoint("tcp", "localhost:65535", "localhost", 65535)),
    ("tcp://example.invalid:80", False,
     Endpoint("tcp", "example.invalid:80", "example.invalid", 80)),
    ("tcp://[::1]:5555", True, Endpoint("tcp", "[::1]:5555", "::1", 5555)),
    ("tcp://[::1]:5555", False, Endpoint("tcp", "[::1]:5555", "::1", 5555)),
    ("tcp://[::]:*", True, Endpoint("tcp", "[::]:*", "::", 0)),
    ("ipc:///tmp/some.sock", True, Endpoint("ipc", "/tmp/some.sock")),
    ("ipc://relative/path", False, Endpoint("ipc", "relative/path")),
    ("ipc://@abstract", True, Endpoint("ipc", "@abstract")),
    ("ipc://*", True, Endpoint("ipc", "*")),
    ("inproc://name", True, Endpoint("inproc", "name")),
    ("inproc://with/slashes:and:colons", False, Endpoint("inproc", "with/slashes:and:colons")),
    ("udp://127.0.0.1:5555", True, Endpoint("udp", "127.0.0.1:5555", "127.0.0.1", 5555)),
    ("udp://lo;239.1.1.1:5555", False,
     Endpoint("udp", "lo;239.1.1.1:5555", "239.1.1.1", 5555, interface="lo")),
    ("ws://127.0.0.1:*", True, Endpoint("ws", "127.0.0.1:*", "127.0.0.1", 0, path="/")),
    ("ws://localhost:80/feed/x", False,
     Endpoint("ws", "localhost:80/feed/x", "localhost", 80, path="/feed/x")),
    ("wss://[::1]:443/", False, Endpoint("wss", "[::1]:443/", "::1", 443, path="/")),
]


@pytest.mark.parametrize(("text", "bind", "expected"), GOOD,
                         ids=[f"{'bind' if b else 'connect'}-{t}" for t, b, _ in GOOD])
def test_good_endpoints(text: str, bind: bool, expected: Endpoint) -> None:
    parsed = parse_endpoint(text, bind=bind)
    assert parsed == expected
    assert str(parsed) == text


BAD: list[tuple[str, bool, int]] = [
    ("", True, errno.EINVAL),
    ("tcp", True, errno.EINVAL),
    ("localhost:5555", False, errno.EINVAL),
    ("tcp:/127.0.0.1:1", True, errno.EINVAL),
    ("tcp://", True, errno.EINVAL),
    ("tcp://nope", True, errno.EINVAL),
    ("tcp://nope", False, errno.EINVAL),
    ("tcp://127.0.0.1", False, errno.EINVAL),
    ("tcp://127.0.0.1:", False, errno.EINVAL),
    ("tcp://127.0.0.1:abc", False, errno.EINVAL),
    ("tcp://127.0.0.1:-1", True, errno.EINVAL),
    ("tcp://127.0.0.1:*", False, errno.EINVAL),
    ("tcp://:5555", True, errno.EINVAL),
    ("tcp://1.2.3.4.5:1", True, errno.ENODEV),
    ("tcp://eth99:1", True, errno.ENODEV),
    ("foo://x", True, errno.EPROTONOSUPPORT),
    ("foo://x", False, errno.EPROTONOSUPPORT),
    ("udp://127.0.0.1:*", True, errno.EINVAL),  # (libzmq has no ephemeral udp port)
    ("udp://127.0.0.1", False, errno.EINVAL),
    ("ws://127.0.0.1", False, errno.EINVAL),
    ("ws://127.0.0.1:*/feed", False, errno.EINVAL),
    ("wss:///path", True, errno.EINVAL),
    ("TCP://127.0.0.1:1", True, errno.EPROTONOSUPPORT),
    ("pgm://eth0;239.192.1.1:5555", False, errno.EPROTONOSUPPORT),
    ("ipc://", True, errno.EINVAL),
    ("inproc://", True, errno.EINVAL),
    ("inproc://", False, errno.EINVAL),
]


@pytest.mark.parametrize(("text", "bind", "code"), BAD,
                         ids=[f"{'bind' if b else 'connect'}-{t or 'empty'}" for t, b, _ in BAD])
def test_bad_endpoints(text: str, bind: bool, code: int) -> None:
    with pytest.raises(ZMQError) as info:
        parse_endpoint(text, bind=bind)
    assert info.value.errno == code
    assert repr(text) in str(info.value), f"the message must name the endpoint: {info.value}"
    assert ("bind" if bind else "connect") in str(info.value)


def test_format_tcp() -> None:
    assert format_tcp("127.0.0.1", 80) == "tcp://127.0.0.1:80"
    assert format_tcp("::1", 80) == "tcp://[::1]:80"
    assert parse_endpoint(format_tcp("::1", 80), bind=False).host == "::1"
