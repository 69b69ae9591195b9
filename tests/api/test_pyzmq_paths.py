"""pyzmq's other import paths on securemq: zmq.sugar.*, zmq.backend, the small zmq.utils
modules, MessageTracker, zmq_poll, curve_keygen and the deprecated auth.ioloop."""

from __future__ import annotations

import asyncio
import importlib
import json
import subprocess
import sys
import threading
import time
import warnings

import pytest
import zmq as pyzmq

import securemq as zmq
import securemq.asyncio as zaio
from securemq import backend, curve_keygen, sugar
from securemq.sugar import attrsettr, tracker, version
from securemq.utils import interop, strtypes, win32

from .conftest import MakeSocket


def test_sugar_modules_name_the_public_classes() -> None:
    assert sugar.context.Context is zmq.Context
    assert sugar.socket.Socket is zmq.Socket
    assert sugar.poll.Poller is zmq.Poller and sugar.poll.select is zmq.select
    assert sugar.frame.Frame is zmq.Frame and sugar.frame.Message is zmq.Frame
    assert sugar.Context is zmq.Context and sugar.ZMQError is zmq.ZMQError
    assert sugar.constants.PUB == zmq.PUB
    assert zmq.SyncContext is zmq.Context and zmq.SyncSocket is zmq.Socket
    assert zmq.sugar is sugar and zmq.backend is backend
    for name in ("Context", "Socket", "Poller", "Frame", "MessageTracker", "device"):
        assert name in sugar.__all__, name


def test_version_functions() -> None:
    # pyzmq_version() is the pyzmq API level securemq follows (code checks it for features);
    # __version__ stays securemq's own release.
    assert version.pyzmq_version() == zmq.PYZMQ_API_VERSION == "27.3.0"
    assert version.__version__ == zmq.__version__
    info = zmq.pyzmq_version_info()
    assert info[:3] == tuple(int(p) for p in zmq.pyzmq_version().split(".")[:3])
    assert version.zmq_version() == ".".join(map(str, version.zmq_version_info()))


def test_backend_names() -> None:
    for name in pyzmq.backend.__all__:
        assert hasattr(backend, name), name
    assert backend.Socket is zmq.Socket and backend.Context is zmq.Context
    assert backend.proxy is zmq.proxy and backend.has is zmq.has
    assert backend.IPC_PATH_MAX_LEN == pyzmq.IPC_PATH_MAX_LEN
    assert backend.PYZMQ_DRAFT_API is zmq.DRAFT_API is zmq.has("draft")
    assert zmq.zmq_errno() == 0
    assert backend.strerror(zmq.EAGAIN) == pyzmq.strerror(pyzmq.EAGAIN)
    with pytest.raises(AttributeError):
        backend.no_such_name  # noqa: B018


def test_zmq_poll(make: MakeSocket) -> None:
    pull, push = make(zmq.PULL), make(zmq.PUSH)
    endpoint = f"inproc://poll-{id(pull):x}"
    pull.bind(endpoint)
    push.connect(endpoint)
    assert zmq.zmq_poll([]) == []
    assert zmq.zmq_poll([(pull, zmq.POLLIN)], 0) == []
    push.send(b"x")
    assert zmq.zmq_poll([(pull, zmq.POLLIN), (push, zmq.POLLOUT)], 1000) == [
        (pull, zmq.POLLIN), (push, zmq.POLLOUT)]


def test_message_tracker() -> None:
    first, second = threading.Event(), threading.Event()
    inner = zmq.MessageTracker(second)
    outer = zmq.MessageTracker(first, inner)
    assert not outer.done
    with pytest.raises(zmq.NotDone):
        outer.wait(0.01)
    first.set()
    second.set()
    assert outer.done
    outer.wait(0.01)
    assert tracker._FINISHED_TRACKER.done
    with pytest.raises(ValueError, match="Not a tracked message"):
        zmq.MessageTracker(zmq.Frame(b"untracked"))
    with pytest.raises(TypeError):
        zmq.MessageTracker("nope")  # type: ignore[arg-type]


def test_stopwatch_is_deprecated() -> None:
    with pytest.warns(DeprecationWarning):
        watch = zmq.Stopwatch()
    watch.start()
    assert watch.stop() >= 0


def test_attribute_setter_maps_options() -> None:
    class Options(attrsettr.AttributeSetter):
        declared: int = 0
        store: dict[int, object]  # declared attributes are set normally, as in pyzmq

        def __init__(self) -> None:
            self.store = {}

        def get(self, option: int) -> object:
            if option == zmq.SUBSCRIBE:
                raise zmq.ZMQError(zmq.EINVAL)
            return self.store[option]

        def set(self, option: int, value: object) -> None:
            self.store[option] = value

    opts = Options()
    opts.linger = 5
    opts.declared = 3
    assert opts.store == {zmq.LINGER: 5}
    assert opts.linger == 5 and opts.LINGER == 5 and opts.declared == 3
    with pytest.raises(AttributeError, match="no such option: NOT_AN_OPTION"):
        opts.not_an_option = 1
    with pytest.raises(AttributeError, match="write-only"):
        opts.subscribe  # noqa: B018


def test_small_utils() -> None:
    with pytest.warns(DeprecationWarning):
        assert strtypes.cast_bytes("é") == "é".encode()
    with pytest.warns(DeprecationWarning):
        assert strtypes.cast_unicode(b"ok") == "ok"
    with pytest.warns(DeprecationWarning), pytest.raises(TypeError):
        strtypes.cast_bytes(1)  # type: ignore[arg-type]
    assert strtypes.unicode is str and strtypes.b is strtypes.cast_bytes
    assert interop.cast_int_addr(1234) == 1234
    with pytest.raises(ValueError):
        interop.cast_int_addr("0x10")
    called: list[int] = []
    with win32.allow_interrupt(lambda: called.append(1)):
        pass
    assert called == []


def test_utils_monitor_makes_zmq_asyncio_available() -> None:
    """pyzmq's zmq.utils.monitor imports zmq.asyncio, and programs rely on it: pyzmq's
    examples/monitoring/zmq_monitor_class.py names ``zmq.asyncio.Socket`` after importing only
    ``zmq`` and ``zmq.utils.monitor``. Checked in a fresh interpreter (this one has it)."""
    code = ("import sys, securemq\n"
            "assert 'securemq.asyncio' not in sys.modules\n"
            "from securemq.utils.monitor import recv_monitor_message\n"
            "print(securemq.asyncio.Socket.__module__)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "securemq.asyncio"


def test_curve_keygen(capsys: pytest.CaptureFixture[str]) -> None:
    curve_keygen.main(["--json"])
    keys = json.loads(capsys.readouterr().out)
    assert zmq.curve_public(keys["secret"].encode()).decode() == keys["public"]
    curve_keygen.main([f"--secret={keys['secret']}"])  # (a Z85 key may start with "-")
    out = capsys.readouterr().out.splitlines()
    assert out == ["== CURVE PUBLIC KEY ==", keys["public"], "", "== CURVE SECRET KEY ==",
                   keys["secret"]]


def test_auth_ioloop_is_the_deprecated_asyncio_authenticator() -> None:
    sys.modules.pop("securemq.auth.ioloop", None)
    with pytest.warns(DeprecationWarning, match="IOLoopAuthenticator is deprecated"):
        ioloop = importlib.import_module("securemq.auth.ioloop")
    from securemq.auth import AsyncioAuthenticator

    assert issubclass(ioloop.IOLoopAuthenticator, AsyncioAuthenticator)

    class FakeIOLoop:
        asyncio_loop = object()

    with pytest.warns(DeprecationWarning, match="io_loop"):
        auth = ioloop.IOLoopAuthenticator(zmq.Context.instance(), io_loop=FakeIOLoop())
    assert auth.loop is FakeIOLoop.asyncio_loop
    zmq.Context.instance().destroy(linger=0)


def test_ioloop_authenticator_serves_plain(ctx: zmq.Context) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from securemq.auth.ioloop import IOLoopAuthenticator

    async def main() -> bytes:
        auth = IOLoopAuthenticator(ctx)
        auth.start()
        auth.configure_plain(domain="*", passwords={"admin": "secret"})
        try:
            server = zaio.Socket(ctx, zmq.PULL)
            server.plain_server = 1
            server.linger = 0
            port = server.bind_to_random_port("tcp://127.0.0.1")
            client = ctx.socket(zmq.PUSH)
            client.plain_username, client.plain_password = b"admin", b"secret"
            client.linger = 0
            client.connect(f"tcp://127.0.0.1:{port}")
            client.send(b"authenticated")
            data: bytes = await asyncio.wait_for(server.recv(), 10)
            return data
        finally:
            auth.stop()

    assert asyncio.run(asyncio.wait_for(main(), 15)) == b"authenticated"


def test_context_and_socket_are_generic_as_in_pyzmq() -> None:
    """ipykernel annotates and subclasses ``zmq.Context[zmq.Socket[bytes]]``."""

    class KernelContext(zmq.Context[zmq.Socket[bytes]]):
        pass

    assert zmq.Context[zmq.Socket].__origin__ is zmq.Context
    ctx = KernelContext()
    try:
        sock = ctx.socket(zmq.PAIR)
        assert isinstance(sock, zmq.Socket)
        sock.close(linger=0)
    finally:
        ctx.term()


def test_setsockopt_subscribe_takes_bytes_subscribe_takes_str(make: MakeSocket) -> None:
    """pyzmq: ``setsockopt(SUBSCRIBE, str)`` is a TypeError (setsockopt_string encodes);
    ``subscribe(str)`` encodes it as UTF-8."""
    pub = make(zmq.PUB)
    sub = make(zmq.SUB)
    port = pub.bind_to_random_port("tcp://127.0.0.1")
    with pytest.raises(TypeError, match="SUBSCRIBE"):
        sub.setsockopt(zmq.SUBSCRIBE, "temp")  # type: ignore[arg-type]
    sub.subscribe("tempé")
    sub.setsockopt_string(zmq.SUBSCRIBE, "other")
    sub.rcvtimeo = 100
    sub.connect(f"tcp://127.0.0.1:{port}")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        pub.send("tempé 21".encode())
        try:
            assert sub.recv() == "tempé 21".encode()
            break
        except zmq.Again:
            continue
    else:
        pytest.fail("the str subscription never matched")


@pytest.mark.skipif(not zmq.DRAFT_API, reason="draft socket types")
def test_send_helpers_pass_routing_id_through(make: MakeSocket) -> None:
    """``send_string(..., routing_id=)`` / ``send_json`` / ``send_pyobj`` on a SERVER reach
    the client they name, as pyzmq's do (pyzmq's examples/draft/client-server.py)."""
    server = make(zmq.SERVER)
    client = make(zmq.CLIENT)
    port = server.bind_to_random_port("tcp://127.0.0.1")
    client.connect(f"tcp://127.0.0.1:{port}")
    server.rcvtimeo = client.rcvtimeo = 5000
    client.send(b"hello")
    frame = server.recv(copy=False)
    rid = frame.routing_id
    server.send_string("string", routing_id=rid)
    server.send_json({"json": 1}, routing_id=rid, sort_keys=True)
    server.send_pyobj(("pyobj",), routing_id=rid)
    assert client.recv_string() == "string"
    assert client.recv_json() == {"json": 1}
    assert client.recv_pyobj() == ("pyobj",)
    assert server.send_string("tracked", routing_id=rid, track=True).done
    assert server.send_json({"tracked": 1}, routing_id=rid, track=True).done


def test_frame_offers_the_buffer_protocol(make: MakeSocket) -> None:
    """As pyzmq's: a received Frame goes wherever a buffer goes (pyzmq's
    examples/serialization/serialsocket.py hands it to numpy.frombuffer), on 3.11 too."""
    import hashlib

    import numpy

    pull = make(zmq.PULL)
    push = make(zmq.PUSH)
    pull.bind("inproc://frames")
    push.connect("inproc://frames")
    pull.rcvtimeo = 5000
    payload = numpy.arange(6, dtype="int32")
    push.send(payload)
    frame = pull.recv(copy=False)
    assert isinstance(frame, zmq.Frame)
    assert numpy.array_equal(numpy.frombuffer(frame, dtype="int32"), payload)  # type: ignore[call-overload]
    assert memoryview(frame).tobytes() == payload.tobytes()  # type: ignore[arg-type]
    assert hashlib.sha256(frame).digest() == hashlib.sha256(payload).digest()  # type: ignore[arg-type]
    assert frame.get(zmq.MORE) == 0
    assert str(frame) == repr(frame) and repr(frame).startswith("<securemq.Frame(")
    # Sent on, a Frame is its payload: the receiver gets bytes, not a Frame.
    push.send(frame)
    push.send_multipart([frame, zmq.Frame(b"tail")])
    again = pull.recv()
    assert type(again) is bytes and again == payload.tobytes()
    parts = pull.recv_multipart()
    assert [type(p) for p in parts] == [bytes, bytes] and parts[1] == b"tail"
    with pytest.raises(TypeError, match="str"):
        zmq.Frame("text")  # type: ignore[arg-type]


def test_every_public_name_of_pyzmq_is_here_with_its_value() -> None:
    """``import securemq as zmq``: each public name of pyzmq's top level exists, and each
    constant has libzmq's number (only the C build helpers and stdlib re-exports are not)."""
    not_offered = {"get_includes", "get_library_dirs", "Enum", "contextmanager", "os", "sys"}
    missing = [name for name in dir(pyzmq)
               if not name.startswith("_") and not hasattr(zmq, name) and name not in not_offered]
    assert missing == []
    differ = [name for name in dir(pyzmq)
              if name.isupper() and isinstance(getattr(pyzmq, name), int)
              and not isinstance(getattr(pyzmq, name), bool)  # (DRAFT_API: how pyzmq was built)
              and int(getattr(pyzmq, name)) != int(getattr(zmq, name))]
    assert differ == []
    assert zmq.XREP == zmq.ROUTER and zmq.XREQ == zmq.DEALER
