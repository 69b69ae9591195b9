"""Bad input raises what pyzmq raises (class and errno), and messages name what was wrong."""

from __future__ import annotations

import errno as errno_mod
import socket
import threading
from collections.abc import Callable
from typing import Any

import pytest
import zmq as pyzmq

import securemq as zmq
from tests.api._diff import outcome
from tests.api.conftest import MakeSocket


def _both(type_name: str, action: Callable[[Any, Any], Any]) -> tuple[Any, Any]:
    """Run ``action(module, socket)`` on a fresh pyzmq and securemq socket; both outcomes."""
    results = []
    for module in (pyzmq, zmq):
        context = module.Context()
        sock = context.socket(getattr(module, type_name))
        sock.linger = 0
        sock.rcvtimeo = 1000
        sock.sndtimeo = 1000
        try:
            results.append(outcome(lambda m=module, s=sock: action(m, s)))  # type: ignore[misc]
        finally:
            sock.close(0)
            context.term()
    return results[0], results[1]


def _same(type_name: str, action: Callable[[Any, Any], Any]) -> tuple[Any, Any]:
    theirs, ours = _both(type_name, action)
    assert ours == theirs, f"pyzmq {theirs} securemq {ours}"
    return theirs, ours


def test_unknown_socket_type(ctx: zmq.Context) -> None:
    with pytest.raises(zmq.ZMQError) as info:
        ctx.socket(999)
    assert info.value.errno == zmq.EINVAL == int(pyzmq.EINVAL)
    assert "999" in str(info.value)


BAD_ENDPOINTS = [
    ("tcp://nope", pyzmq.EINVAL),
    ("foo://x", pyzmq.EPROTONOSUPPORT),
    ("localhost:5555", pyzmq.EINVAL),
    ("tcp//127.0.0.1:5555", pyzmq.EINVAL),
    ("tcp://127.0.0.1:abc", pyzmq.EINVAL),
    ("inproc://", pyzmq.EINVAL),
    ("ipc://", pyzmq.EINVAL),
    ("tcp://1.2.3.4.5:1", errno_mod.ENODEV),
]


@pytest.mark.parametrize(("endpoint", "errno"), BAD_ENDPOINTS)
def test_bad_bind_endpoint(endpoint: str, errno: int) -> None:
    theirs, _ = _same("PULL", lambda m, s: s.bind(endpoint))
    assert theirs == ("ZMQError", errno)


@pytest.mark.parametrize(("endpoint", "errno"),
                         [e for e in BAD_ENDPOINTS if e[1] != errno_mod.ENODEV]
                         + [("tcp://127.0.0.1:*", pyzmq.EINVAL)])
def test_bad_connect_endpoint(endpoint: str, errno: int) -> None:
    theirs, _ = _same("PUSH", lambda m, s: s.connect(endpoint))
    assert theirs == ("ZMQError", errno)


@pytest.mark.parametrize("verb", ["bind", "connect"])
@pytest.mark.parametrize("endpoint", ["tcp://nope", "foo://x", "localhost:5555"])
def test_endpoint_errors_name_the_endpoint(make: MakeSocket, verb: str, endpoint: str) -> None:
    sock = make(zmq.PULL)
    with pytest.raises(zmq.ZMQError) as info:
        getattr(sock, verb)(endpoint)
    assert endpoint in str(info.value)


def test_str_payload_is_type_error(make: MakeSocket) -> None:
    _same("PUSH", lambda m, s: s.send("text"))
    with pytest.raises(TypeError, match="send_string"):
        make(zmq.PUSH).send("text")


def test_non_buffer_payload_is_type_error() -> None:
    _same("PUSH", lambda m, s: s.send(12345))
    _same("PUSH", lambda m, s: s.send(None))


def test_send_multipart_with_a_str_frame(make: MakeSocket) -> None:
    _same("PUSH", lambda m, s: s.send_multipart([b"ok", "not bytes"]))
    with pytest.raises(TypeError) as info:
        make(zmq.PUSH).send_multipart([b"ok", "not bytes"])
    assert "1" in str(info.value), "the message should say which frame"


def test_send_string_with_bytes_is_type_error() -> None:
    _same("PUSH", lambda m, s: s.send_string(b"bytes"))


@pytest.mark.parametrize(("option", "value"), [
    ("LINGER", "0"), ("LINGER", 1.5), ("LINGER", None), ("SNDHWM", b"10"),
    ("ROUTING_ID", "abc"), ("ROUTING_ID", 5), ("RCVTIMEO", [1]),
])
def test_wrong_option_value_types(option: str, value: Any) -> None:
    theirs, _ = _same("DEALER", lambda m, s: s.setsockopt(getattr(m, option), value))
    assert theirs[0] == "TypeError"


def test_option_errors_name_the_option(make: MakeSocket) -> None:
    sock = make(zmq.DEALER)
    with pytest.raises(TypeError) as type_info:
        sock.setsockopt(zmq.LINGER, "0")
    assert "LINGER" in str(type_info.value)
    with pytest.raises(zmq.ZMQError) as info:
        sock.setsockopt(zmq.SNDHWM, -5)
    assert "SNDHWM" in str(info.value)


def test_unknown_option_number() -> None:
    theirs, _ = _same("DEALER", lambda m, s: s.setsockopt(9999, 1))
    assert theirs == ("ZMQError", pyzmq.EINVAL)
    _same("DEALER", lambda m, s: s.getsockopt(9999))


def test_read_only_options_cannot_be_set() -> None:
    for option in ("TYPE", "RCVMORE", "EVENTS"):

        def action(m: Any, s: Any, o: str = option) -> Any:
            return s.setsockopt(getattr(m, o), 1)

        theirs, _ = _same("DEALER", action)
        assert theirs == ("ZMQError", pyzmq.EINVAL), option


def test_req_recv_before_send_is_efsm() -> None:
    theirs, _ = _same("REQ", lambda m, s: s.recv(m.NOBLOCK))
    assert theirs == ("ZMQError", pyzmq.EFSM)


def test_req_send_twice_is_efsm(make: MakeSocket) -> None:
    def action(m: Any, s: Any) -> Any:
        s.connect("inproc://req-twice")
        s.send(b"one", m.NOBLOCK)
        return s.send(b"two", m.NOBLOCK)

    theirs, _ = _same("REQ", action)
    assert theirs == ("ZMQError", pyzmq.EFSM)


def test_rep_send_before_recv_is_efsm() -> None:
    theirs, _ = _same("REP", lambda m, s: s.send(b"x"))
    assert theirs == ("ZMQError", pyzmq.EFSM)


@pytest.mark.parametrize(("type_name", "op"), [
    ("PUB", "recv"), ("SUB", "send"), ("PUSH", "recv"), ("PULL", "send"),
])
def test_wrong_direction_is_enotsup(type_name: str, op: str) -> None:
    def action(m: Any, s: Any) -> Any:
        return s.recv(m.NOBLOCK) if op == "recv" else s.send(b"x", m.NOBLOCK)

    theirs, _ = _same(type_name, action)
    assert theirs == ("ZMQError", pyzmq.ENOTSUP)


CLOSED_OPS: list[tuple[str, Callable[[Any, Any], Any]]] = [
    ("send", lambda m, s: s.send(b"x")),
    ("recv", lambda m, s: s.recv()),
    ("send_multipart", lambda m, s: s.send_multipart([b"x"])),
    ("recv_multipart", lambda m, s: s.recv_multipart()),
    ("send_string", lambda m, s: s.send_string("x")),
    ("bind", lambda m, s: s.bind("inproc://closed")),
    ("connect", lambda m, s: s.connect("inproc://closed")),
    ("unbind", lambda m, s: s.unbind("inproc://closed")),
    ("disconnect", lambda m, s: s.disconnect("inproc://closed")),
    ("setsockopt", lambda m, s: s.setsockopt(m.LINGER, 0)),
    ("getsockopt", lambda m, s: s.getsockopt(m.LINGER)),
    ("attribute", lambda m, s: s.linger),
    ("poll", lambda m, s: s.poll(0)),
    ("close again", lambda m, s: s.close()),
]


@pytest.mark.parametrize(("name", "op"), CLOSED_OPS, ids=[n for n, _ in CLOSED_OPS])
def test_operations_on_closed_socket(name: str, op: Callable[[Any, Any], Any]) -> None:
    def action(m: Any, s: Any) -> Any:
        s.close()
        assert s.closed
        return op(m, s)

    theirs, _ = _same("DEALER", action)
    if name != "close again":
        assert theirs[0] == "ZMQError"


def test_socket_from_a_terminated_context() -> None:
    def run(module: Any) -> Any:
        context = module.Context()
        context.term()
        return outcome(lambda: context.socket(module.PUSH))

    assert run(zmq) == run(pyzmq)


def test_bind_address_in_use(make: MakeSocket) -> None:
    first = make(zmq.PULL)
    port = first.bind_to_random_port("tcp://127.0.0.1")
    second = make(zmq.PULL)
    with pytest.raises(zmq.ZMQError) as info:
        second.bind(f"tcp://127.0.0.1:{port}")
    assert info.value.errno == zmq.EADDRINUSE == int(pyzmq.EADDRINUSE)
    assert str(port) in str(info.value)


def test_bind_port_held_by_a_plain_socket(make: MakeSocket) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        with pytest.raises(zmq.ZMQError) as info:
            make(zmq.PULL).bind(f"tcp://127.0.0.1:{port}")
        assert info.value.errno == zmq.EADDRINUSE


def test_inproc_bind_twice(make: MakeSocket) -> None:
    first, second = make(zmq.PULL), make(zmq.PULL)
    first.bind("inproc://twice")
    for sock in (second, first):
        with pytest.raises(zmq.ZMQError) as info:
            sock.bind("inproc://twice")
        assert info.value.errno == zmq.EADDRINUSE
        assert "inproc://twice" in str(info.value)
    # Once the first socket is closed the name is free again.
    first.close()
    second.bind("inproc://twice")


def test_unbind_or_disconnect_unknown_endpoint_is_enoent() -> None:
    theirs, _ = _same("PULL", lambda m, s: s.unbind("tcp://127.0.0.1:1"))
    assert theirs == ("ZMQError", errno_mod.ENOENT)
    theirs, _ = _same("PUSH", lambda m, s: s.disconnect("tcp://127.0.0.1:1"))
    assert theirs == ("ZMQError", errno_mod.ENOENT)


def test_subscribe_on_a_non_sub_socket_is_einval() -> None:
    theirs, _ = _same("PUB", lambda m, s: s.setsockopt(m.SUBSCRIBE, b""))
    assert theirs == ("ZMQError", pyzmq.EINVAL)


def test_socket_is_not_shared_silently_across_threads(make: MakeSocket) -> None:
    """Closing from one thread while another thread is blocked in recv wakes it (ENOTSOCK/ETERM)."""
    sock = make(zmq.PULL, rcvtimeo=-1)
    sock.bind("inproc://closing")
    errors: list[BaseException] = []
    started = threading.Event()

    def reader() -> None:
        started.set()
        try:
            sock.recv()
        except zmq.ZMQError as exc:
            errors.append(exc)

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    started.wait(5)
    sock.close()
    thread.join(5)
    assert not thread.is_alive(), "a blocked recv must wake when its socket is closed"
    assert errors and isinstance(errors[0], zmq.ZMQError)
