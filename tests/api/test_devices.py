"""securemq.devices: devices make their own sockets from queued configuration and relay
between them in the foreground, a thread or a child process; proxies copy to a monitor socket,
steerable ones obey their control socket, monitored queues prefix and swap ROUTER ids.

Each device gets the test's Context through ``context_factory`` (threads) so that destroying it
ends the device; the process device is terminated explicitly.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

import securemq as zmq
from securemq import devices
from securemq.devices import basedevice

from .conftest import MakeSocket

LOOPBACK = "tcp://127.0.0.1"


def use_context(dev: devices.Device, ctx: zmq.Context) -> None:
    dev.context_factory = lambda: ctx


def recv_until(sock: zmq.Socket, send: Any, deadline: float = 5.0) -> list[bytes]:
    """Call ``send()`` until ``sock`` gets a message (for a device still connecting its
    sockets, which drop what arrives before the peer is known); bounded by ``deadline``."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        send()
        if sock.poll(100, zmq.POLLIN):
            msg: list[bytes] = sock.recv_multipart()
            return msg
    raise AssertionError("no message through the device")


@pytest.fixture
def stopped() -> Iterator[list[devices.Device]]:
    """Devices registered here must have ended when the test is over."""
    started: list[devices.Device] = []
    yield started
    for dev in started:
        dev.join(5)
        assert dev.done, f"{dev!r} did not end"


def test_constructor_and_class_defaults() -> None:
    with pytest.raises(TypeError, match="in_type"):
        devices.Device(zmq.QUEUE)
    with pytest.raises(TypeError, match="out_type"):
        devices.Device(zmq.QUEUE, zmq.PULL)
    dev = devices.ThreadDevice(zmq.QUEUE, zmq.PULL, zmq.PUSH)
    assert dev.daemon is True and dev.done is False
    assert (dev.device_type, dev.in_type, dev.out_type) == (zmq.QUEUE, zmq.PULL, zmq.PUSH)
    assert devices.Device.context_factory == zmq.Context.instance
    assert devices.ThreadDevice.context_factory == zmq.Context.instance
    assert devices.ProcessDevice.context_factory is zmq.Context
    proxy = devices.ThreadProxy(zmq.PULL, zmq.PUSH)
    assert proxy.mon_type == zmq.PUB
    steer = devices.ThreadProxySteerable(zmq.PULL, zmq.PUSH, ctrl_type=zmq.PAIR)
    assert (steer.mon_type, steer.ctrl_type) == (zmq.PUB, zmq.PAIR)
    assert devices.monitored_queue is zmq.backend.monitored_queue


def test_thread_device_streams_and_ends_with_its_context(
        ctx: zmq.Context, make: MakeSocket, stopped: list[devices.Device]) -> None:
    dev = devices.ThreadDevice(zmq.STREAMER, zmq.PULL, zmq.PUSH)
    use_context(dev, ctx)
    in_port = dev.bind_in_to_random_port(LOOPBACK)
    out_port = dev.bind_out_to_random_port(LOOPBACK)
    assert in_port != out_port
    dev.setsockopt_in(zmq.LINGER, 0)
    dev.setsockopt_out(zmq.LINGER, 0)
    dev.start()
    stopped.append(dev)
    assert dev.launcher.daemon is True
    sender = make(zmq.PUSH)
    sender.connect(f"{LOOPBACK}:{in_port}")
    receiver = make(zmq.PULL)
    receiver.connect(f"{LOOPBACK}:{out_port}")
    for i in range(10):
        sender.send_multipart([b"job", str(i).encode()])
    assert [receiver.recv_multipart() for _ in range(10)] == [
        [b"job", str(i).encode()] for i in range(10)
    ]
    assert not dev.done
    ctx.destroy(linger=0)
    dev.join(5)
    assert dev.done and not dev.launcher.is_alive()


def test_foreground_device_with_one_socket_for_both_sides(
        ctx: zmq.Context, make: MakeSocket, stopped: list[devices.Device]) -> None:
    """``out_type < 0``: the in-socket is both sides, so a ROUTER sends each message back."""
    dev = devices.Device(zmq.QUEUE, zmq.ROUTER, -1)
    use_context(dev, ctx)
    endpoint = f"inproc://echo-{id(dev):x}"
    dev.bind_in(endpoint)
    dev.setsockopt_in(zmq.LINGER, 0)
    runner = threading.Thread(target=dev.start, daemon=True)
    runner.start()
    stopped.append(dev)
    client = make(zmq.DEALER)
    client.connect(endpoint)
    assert recv_until(client, lambda: client.send(b"echo")) == [b"echo"]
    ctx.destroy(linger=0)
    dev.join(5)
    runner.join(5)
    assert dev.done and not runner.is_alive()


def test_options_are_set_before_connecting(ctx: zmq.Context, make: MakeSocket,
                                           stopped: list[devices.Device]) -> None:
    """ROUTING_ID queued with setsockopt_out reaches the peer: options precede connects."""
    server = make(zmq.ROUTER)
    port = server.bind_to_random_port(LOOPBACK)
    dev = devices.ThreadDevice(zmq.QUEUE, zmq.PULL, zmq.DEALER)
    use_context(dev, ctx)
    in_endpoint = f"inproc://opts-{id(dev):x}"
    dev.bind_in(in_endpoint)
    dev.connect_out(f"{LOOPBACK}:{port}")
    dev.setsockopt_out(zmq.ROUTING_ID, b"device-out")
    dev.setsockopt_out(zmq.LINGER, 0)
    dev.setsockopt_in(zmq.LINGER, 0)
    dev.start()
    stopped.append(dev)
    sender = make(zmq.PUSH)
    sender.connect(in_endpoint)
    sender.send(b"hi")
    assert server.recv_multipart() == [b"device-out", b"hi"]
    ctx.destroy(linger=0)


def test_thread_proxy_copies_to_the_monitor(ctx: zmq.Context, make: MakeSocket,
                                            stopped: list[devices.Device]) -> None:
    dev = devices.ThreadProxy(zmq.PULL, zmq.PUSH, zmq.PUSH)
    use_context(dev, ctx)
    base = f"inproc://proxy-{id(dev):x}"
    dev.bind_in(base + "-in")
    dev.bind_out(base + "-out")
    dev.bind_mon(base + "-mon")
    for setter in (dev.setsockopt_in, dev.setsockopt_out, dev.setsockopt_mon):
        setter(zmq.LINGER, 0)
    dev.start()
    stopped.append(dev)
    sender, receiver, monitor = make(zmq.PUSH), make(zmq.PULL), make(zmq.PULL)
    sender.connect(base + "-in")
    receiver.connect(base + "-out")
    monitor.connect(base + "-mon")
    sender.send_multipart([b"a", b"b"])
    assert receiver.recv_multipart() == [b"a", b"b"]
    assert monitor.recv_multipart() == [b"a", b"b"]
    ctx.destroy(linger=0)


def test_proxy_monitor_connects_and_random_port(ctx: zmq.Context, make: MakeSocket,
                                                stopped: list[devices.Device]) -> None:
    watcher = make(zmq.PULL)
    watch_port = watcher.bind_to_random_port(LOOPBACK)
    dev = devices.ThreadProxy(zmq.PULL, zmq.PUSH, zmq.PUSH)
    use_context(dev, ctx)
    in_port = dev.bind_in_to_random_port(LOOPBACK)
    out_endpoint = f"inproc://proxy2-{id(dev):x}"
    dev.bind_out(out_endpoint)
    dev.connect_mon(f"{LOOPBACK}:{watch_port}")
    for setter in (dev.setsockopt_in, dev.setsockopt_out, dev.setsockopt_mon):
        setter(zmq.LINGER, 0)
    dev.start()
    stopped.append(dev)
    sender, receiver = make(zmq.PUSH), make(zmq.PULL)
    sender.connect(f"{LOOPBACK}:{in_port}")
    receiver.connect(out_endpoint)
    sender.send(b"watched")
    assert receiver.recv() == b"watched"
    assert watcher.recv() == b"watched"
    ctx.destroy(linger=0)


@pytest.mark.parametrize("ctrl_type", [zmq.PAIR, zmq.REP])
def test_steerable_proxy_statistics_and_terminate(ctx: zmq.Context, make: MakeSocket,
                                                  ctrl_type: int) -> None:
    dev = devices.ThreadProxySteerable(zmq.PULL, zmq.PUSH, zmq.PUSH, ctrl_type)
    use_context(dev, ctx)
    base = f"inproc://steer-{id(dev):x}"
    dev.bind_in(base + "-in")
    dev.bind_out(base + "-out")
    dev.bind_mon(base + "-mon")
    dev.bind_ctrl(base + "-ctrl")
    for setter in (dev.setsockopt_in, dev.setsockopt_out, dev.setsockopt_mon,
                   dev.setsockopt_ctrl):
        setter(zmq.LINGER, 0)
    dev.start()
    sender, receiver, monitor = make(zmq.PUSH), make(zmq.PULL), make(zmq.PULL)
    control = make(zmq.PAIR if ctrl_type == zmq.PAIR else zmq.REQ)
    sender.connect(base + "-in")
    receiver.connect(base + "-out")
    monitor.connect(base + "-mon")
    control.connect(base + "-ctrl")
    sender.send(b"12345")
    assert receiver.recv() == b"12345" and monitor.recv() == b"12345"
    control.send(b"STATISTICS")
    stats = [int.from_bytes(f, "little") for f in control.recv_multipart()]
    assert stats[:2] == [1, 5] and stats[6:] == [1, 5]
    control.send(b"TERMINATE")
    if ctrl_type == zmq.REP:
        assert control.recv() == b""
    dev.join(5)
    assert dev.done and not dev.launcher.is_alive()
    assert all(s.closed for s in dev._sockets)


def test_monitored_queue_router_to_router(ctx: zmq.Context, make: MakeSocket,
                                          stopped: list[devices.Device]) -> None:
    dev = devices.ThreadMonitoredQueue(zmq.ROUTER, zmq.ROUTER, zmq.PUSH,
                                       in_prefix=b"to-server", out_prefix=b"to-client")
    use_context(dev, ctx)
    base = f"inproc://mq-{id(dev):x}"
    dev.bind_in(base + "-in")
    dev.bind_out(base + "-out")
    dev.bind_mon(base + "-mon")
    for setter in (dev.setsockopt_in, dev.setsockopt_out, dev.setsockopt_mon):
        setter(zmq.LINGER, 0)
    dev.start()
    stopped.append(dev)
    server = make(zmq.DEALER, routing_id=b"server")
    server.connect(base + "-out")
    client = make(zmq.DEALER, routing_id=b"client")
    client.connect(base + "-in")
    monitor = make(zmq.PULL)
    monitor.connect(base + "-mon")
    # The out-ROUTER drops requests for "server" until it has attached the server.
    request = recv_until(server, lambda: client.send_multipart([b"server", b"hello"]))
    assert request == [b"client", b"hello"]
    server.send_multipart([b"client", b"world"])
    assert client.recv_multipart() == [b"server", b"world"]
    seen = []
    while True:
        msg = monitor.recv_multipart()
        seen.append(msg)
        if msg[0] == b"to-client":
            break
    assert seen[-2:] == [[b"to-server", b"server", b"client", b"hello"],
                         [b"to-client", b"client", b"server", b"world"]]
    ctx.destroy(linger=0)


def test_monitored_queue_function_ends_with_the_context(make: MakeSocket) -> None:
    context = zmq.Context()
    ins, outs, mons = (context.socket(t) for t in (zmq.PULL, zmq.PUSH, zmq.PUSH))
    base = f"inproc://mqf-{id(context):x}"
    for sock, suffix in ((ins, "-in"), (outs, "-out"), (mons, "-mon")):
        sock.linger = 0
        sock.bind(base + suffix)
    errors: list[BaseException] = []

    def target() -> None:
        try:
            devices.monitored_queue(ins, outs, mons)
        except zmq.ZMQError as exc:
            errors.append(exc)

    runner = threading.Thread(target=target, daemon=True)
    runner.start()
    try:
        sender, receiver, monitor = (context.socket(t) for t in (zmq.PUSH, zmq.PULL, zmq.PULL))
        for sock, suffix in ((sender, "-in"), (receiver, "-out"), (monitor, "-mon")):
            sock.linger, sock.rcvtimeo = 0, 5000
            sock.connect(base + suffix)
        sender.send(b"m")
        assert receiver.recv() == b"m"
        assert monitor.recv_multipart() == [b"in", b"m"]
    finally:
        context.destroy(linger=0)
    runner.join(5)
    assert not runner.is_alive()
    assert errors and errors[0].errno in (zmq.ETERM, zmq.ENOTSOCK)


def test_other_errors_propagate_from_run(ctx: zmq.Context) -> None:
    dev = devices.Device(zmq.QUEUE, zmq.PULL, zmq.PUSH)
    use_context(dev, ctx)
    dev.bind_in("bogus://nowhere")
    with pytest.raises(zmq.ZMQError) as info:
        dev.start()
    assert info.value.errno not in (zmq.ETERM, zmq.ENOTSOCK)
    assert dev.done
    assert all(s.closed for s in dev._sockets)


def test_random_ports_are_not_reused() -> None:
    dev = devices.ThreadProxy(zmq.PULL, zmq.PUSH)
    ports = {dev.bind_in_to_random_port(LOOPBACK), dev.bind_out_to_random_port(LOOPBACK),
             dev.bind_mon_to_random_port(LOOPBACK)}
    assert len(ports) == 3
    # Range arguments are passed on to Socket.bind_to_random_port.
    ranged = dev.bind_in_to_random_port(LOOPBACK, min_port=40000, max_port=41000)
    assert 40000 <= ranged < 41000


def test_daemon_flag_reaches_the_thread(ctx: zmq.Context, make: MakeSocket,
                                        stopped: list[devices.Device]) -> None:
    dev = devices.ThreadDevice(zmq.QUEUE, zmq.PULL, zmq.PUSH)
    use_context(dev, ctx)
    dev.daemon = False
    base = f"inproc://daemon-{id(dev):x}"
    dev.bind_in(base + "-in")
    dev.bind_out(base + "-out")
    dev.setsockopt_in(zmq.LINGER, 0)
    dev.setsockopt_out(zmq.LINGER, 0)
    dev.start()
    stopped.append(dev)
    assert dev.launcher.daemon is False
    sender, receiver = make(zmq.PUSH), make(zmq.PULL)
    sender.connect(base + "-in")
    receiver.connect(base + "-out")
    # Running (sockets made) before the context goes: a non-daemon thread must then end.
    assert recv_until(receiver, lambda: sender.send(b"up")) == [b"up"]
    ctx.destroy(linger=0)


def test_process_device_relays_from_a_child_process(make: MakeSocket) -> None:
    dev = devices.ProcessDevice(zmq.STREAMER, zmq.PULL, zmq.PUSH)
    in_port = dev.bind_in_to_random_port(LOOPBACK)
    out_port = dev.bind_out_to_random_port(LOOPBACK)
    dev.setsockopt_in(zmq.LINGER, 0)
    dev.setsockopt_out(zmq.LINGER, 0)
    dev.start()
    try:
        assert dev.launcher.daemon is True and dev.launcher.pid is not None
        sender, receiver = make(zmq.PUSH), make(zmq.PULL)
        sender.connect(f"{LOOPBACK}:{in_port}")
        receiver.connect(f"{LOOPBACK}:{out_port}")
        sender.send(b"across processes")
        assert receiver.recv() == b"across processes"
    finally:
        dev.launcher.terminate()
        dev.join(5)
    assert not dev.launcher.is_alive()


def test_setup_sockets_returns_in_plan_order(ctx: zmq.Context) -> None:
    dev = devices.ProxySteerable(zmq.PULL, zmq.PUSH, zmq.PUB, zmq.PAIR)
    use_context(dev, ctx)
    socks = dev._setup_sockets()
    assert [s.socket_type for s in socks] == [zmq.PULL, zmq.PUSH, zmq.PUB, zmq.PAIR]
    assert isinstance(dev, basedevice.Device)
    for s in socks:
        s.close(linger=0)


def test_a_device_pickles_for_spawned_processes() -> None:
    """The spawn start method pickles the device: its configuration must survive."""
    import pickle

    dev = devices.ProcessMonitoredQueue(zmq.ROUTER, zmq.DEALER, zmq.PUB, b"i", b"o")
    dev.bind_in("tcp://127.0.0.1:5555")
    dev.connect_mon("ipc:///tmp/mon")
    dev.setsockopt_out(zmq.LINGER, 0)
    copy = pickle.loads(pickle.dumps(dev))
    assert (copy.in_type, copy.out_type, copy.mon_type) == (zmq.ROUTER, zmq.DEALER, zmq.PUB)
    assert copy._in.binds == ["tcp://127.0.0.1:5555"]
    assert copy._mon.connects == ["ipc:///tmp/mon"]
    assert copy._out.sockopts == [(zmq.LINGER, 0)]
    assert (copy._in_prefix, copy._out_prefix) == (b"i", b"o")
    assert not copy.done and not copy._finished.is_set() and copy._sockets == []
