"""pyzmq's own examples, unmodified, on pyzmq and then on securemq.

The examples come from pyzmq 27.3.0's source distribution, downloaded at test time with
``pip download`` into a cache directory outside the repository (nothing of them is kept here),
and extracted into a temporary directory. Each example runs twice, ``python example.py`` (pyzmq)
and ``python -m securemq.run example.py`` (securemq), as the table below says: its arguments,
the peer processes it needs, the lines that prove it worked, a timeout. An example that passes
on pyzmq must pass on securemq; examples that cannot run here are listed with the reason.

Scenarios run in a private network namespace (see scenario.py), so the examples' fixed ports
(5555, 9000, ...) collide with nothing and ``tcp://*`` binds reach nothing but loopback.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .scenario import (
    Proc,
    RecordExample,
    Result,
    netns_available,
    ports_free,
    run_scenario,
)

PYZMQ_VERSION = "27.3.0"
SDIST = f"pyzmq-{PYZMQ_VERSION}.tar.gz"
DOWNLOAD_TIMEOUT_S = 600


@dataclass(frozen=True)
class Example:
    """How to run one example: ``path`` is the example's file under ``examples/``.

    ``procs`` are started together in a copy of the example's directory (helpers are written
    there first); ``setup`` runs before them and must exit 0; ``files`` must exist afterwards.
    ``skip``: why it cannot run here. ``pyzmq_fails``: why it is known to fail on pyzmq too
    (then it is not a drop-in question: the test checks it does fail on pyzmq, runs it on
    securemq for the record, and skips). ``xfail``: it fails on securemq because of a gap in
    securemq's core (the reason starts with "core:"). ``needs_draft``: it needs pyzmq's draft
    API. ``pyzmq_attempts``: how many runs pyzmq, the reference, gets before the example counts
    as failing there; ``attempts``: the same for securemq, one unless the example itself is
    racy on pyzmq too (the table says why).
    """

    path: str
    procs: tuple[Proc, ...] = ()
    timeout: float = 20.0
    setup: tuple[Proc, ...] = ()
    helpers: dict[str, str] = field(default_factory=dict)
    files: tuple[str, ...] = ()
    ports: tuple[int, ...] = ()
    skip: str | None = None
    xfail: str | None = None
    pyzmq_attempts: int = 2
    attempts: int = 1
    pyzmq_fails: str | None = None
    needs_draft: bool = False
    slow: bool = False


def run_forever(name: str, argv: tuple[str, ...], *expect: str,
                forbid: tuple[str, ...] = (r"Traceback \(most recent call last\)",)) -> Proc:
    """A process that serves for ever: proven by its output, then stopped."""
    return Proc(name, argv, expect=expect, forbid=forbid, exits=False)


def runs_to_end(name: str, argv: tuple[str, ...], *expect: str,
                forbid: tuple[str, ...] = (r"Traceback \(most recent call last\)",)) -> Proc:
    """A process that must exit by itself with status 0, having printed ``expect``."""
    return Proc(name, argv, expect=expect, forbid=forbid, exits=True)


# -- helpers: the peers some examples need (our code, run on the same library) ----------------
ECHO_CLIENT = """
    import sys
    import zmq

    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.rcvtimeo = 15000
    sock.linger = 0
    sock.connect("tcp://127.0.0.1:5555")
    for i in range(3):
        sock.send_multipart([b"hello", str(i).encode()])
        reply = sock.recv_multipart()
        assert reply == [b"hello", str(i).encode()], reply
        print("echoed", reply)
    print("echo client: 3 of 3 echoed")
    ctx.destroy(linger=0)
"""

HTTP_GET = """
    import time
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + 20
    while True:
        try:
            with urllib.request.urlopen("http://127.0.0.1:8888/", timeout=15) as response:
                print("http reply:", response.read().decode())
                break
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
"""

# display.py (win32-interrupt) is the display half of a two-process chat; this is the other.
CHAT_PUBLISHER = """
    import zmq

    ctx = zmq.Context()
    pub = ctx.socket(zmq.XPUB)
    pub.linger = 2000
    pub.rcvtimeo = 15000
    pub.bind("tcp://127.0.0.1:5560")
    print("subscription:", pub.recv())
    pub.send_multipart([b"alice", b"hello", b"world"])
    pub.send_multipart([b"alice", b"quit"])
    print("chat publisher: sent")
    pub.close()
    ctx.term()
"""

# zmq_monitor_class.py is a module; this uses it as its docstring says.
MONITOR_CLASS_USER = """
    import zmq
    from zmq_monitor_class import event_monitor

    ctx = zmq.Context()
    pub = ctx.socket(zmq.PUB)
    port = pub.bind_to_random_port("tcp://127.0.0.1")
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    event_monitor(sub)
    sub.connect(f"tcp://127.0.0.1:{port}")
    while not sub.poll(100):
        pub.send(b"tick")
    print("monitored socket received", sub.recv())
"""

LOGGED = r"^(DEBUG|INFO|WARNING|ERROR|CRITICAL):root:.*Hello from \d+!"

SECURITY_SETUP = (runs_to_end("generate_certificates", ("generate_certificates.py",)),)


def security(path: str, ok_line: str, **kwargs: object) -> Example:
    name = Path(path).stem
    return Example(path, (runs_to_end(name, (Path(path).name,), rf"\[INFO\] {ok_line}",
                                      forbid=(r"Traceback", r"FAIL")),),
                   setup=SECURITY_SETUP, **kwargs)  # type: ignore[arg-type]


EXAMPLES: tuple[Example, ...] = (
    # asyncio
    Example("asyncio/coroutines.py", (
        run_forever("coroutines", ("coroutines.py",), r"^sending$", r"^recvd \[b'",
                    r"^recvd \[b'"),), ports=(5555,)),
    Example("asyncio/helloworld_pubsub_dealerrouter.py", (
        run_forever("helloworld", ("helloworld_pubsub_dealerrouter.py",),
                    r"world sub; topic: world\tmessage: Hello World",
                    r"Changed language! New language is: jap",
                    r"world sub; topic: world\tmessage: Hello Sekai"),),
        ports=(5555, 5556),
        pyzmq_fails="passes coroutines to asyncio.wait(), a TypeError since Python 3.11"),
    Example("asyncio/router_router.py", skip="written for aiowire 2, whose releases all require"
            " pyzmq < 23 (not installable beside pyzmq 27); aiowire 3 rejects its wires"
            " (TypeError: Wire returned <bound method ...>)"),
    Example("asyncio/tornado_asyncio.py", (
        run_forever("tornado_asyncio", ("tornado_asyncio.py",), r"^b'Hello'$",
                    r"^b'Hello'$"),), ports=(9000,)),
    # cython
    Example("cython/example.py", skip="builds a Cython extension that cimports pyzmq's libzmq C"
            " API (cyzmq.pyx): securemq has no C API, and the build needs libzmq's headers"),
    # devices
    Example("device/device.py", (
        # threads print here: unbuffered print() writes text and newline apart, so lines
        # may merge; the patterns are not anchored
        runs_to_end("device", ("device.py",), r"Producing [01]", r"[01]: \d+",
                    r"Consumer done", r"proxy terminated"),),
        timeout=40, ports=(5555, 5556), slow=True),
    # draft API
    Example("draft/client-server.py", (
        runs_to_end("client-server", ("client-server.py",), r"server recvd b'request 0'",
                    r"client recvd 'reply 0'", r"server recvd b'request 9'",
                    r"client recvd 'reply 9'"),), ports=(5555,), needs_draft=True),
    Example("draft/radio-dish.py", (
        runs_to_end("radio-dish", ("radio-dish.py",), r"^Received numbers:00\d$",
                    r"^Received numbers:009$"),), needs_draft=True),
    # tornado
    Example("eventloop/asyncweb.py", (
        run_forever("asyncweb", ("asyncweb.py",), r"worker received b'hello'",
                    r"finishing with 'hello to you too, #0'"),
        runs_to_end("http-client", ("http_get.py",), r"^http reply: hello to you too, #0$")),
        helpers={"http_get.py": HTTP_GET}, timeout=30, ports=(5555, 8888), slow=True),
    Example("eventloop/coroutines.py", (
        run_forever("coroutines", ("coroutines.py",), r"^sending$", r"^recvd \[b'",
                    r"^recvd \[b'"),), ports=(5555,)),
    Example("eventloop/echo.py", (
        run_forever("echo", ("echo.py",), r"b'hello', b'0'\]", r"b'hello', b'2'\]"),
        runs_to_end("echo-client", ("echo_client.py",), r"echo client: 3 of 3 echoed")),
        helpers={"echo_client.py": ECHO_CLIENT}, ports=(5555,)),
    Example("eventloop/echofuture.py", (
        run_forever("echofuture", ("echofuture.py",)),
        runs_to_end("echo-client", ("echo_client.py",), r"echo client: 3 of 3 echoed")),
        helpers={"echo_client.py": ECHO_CLIENT}, ports=(5555,)),
    Example("eventloop/echostream.py", (
        run_forever("echostream", ("echostream.py",), r"b'hello' b'0'$", r"b'hello' b'2'$"),
        runs_to_end("echo-client", ("echo_client.py",), r"echo client: 3 of 3 echoed")),
        helpers={"echo_client.py": ECHO_CLIENT}, ports=(5555,)),
    # gevent
    *(Example(f"gevent/{name}", skip="needs zmq.green (gevent-cooperative sockets), which"
              " securemq does not provide (docs/PYZMQ_COMPAT.md); gevent is not a test"
              " dependency") for name in ("poll.py", "reqrep.py", "simple.py")),
    # heartbeat
    Example("heartbeat/pong.py", (
        run_forever("pong", ("pong.py",), r"starting blocking loop"),
        run_forever("ping", ("ping.py",), r"^ping 1: [\d.]+ ms$", r"^ping 8: [\d.]+ ms$")),
        timeout=40, ports=(10111,), slow=True),
    Example("heartbeat/heartbeater.py", (
        run_forever("heartbeater", ("heartbeater.py",), r"^0 beating hearts: set\(\)$",
                    r"^0 beating hearts: set\(\)$", forbid=()),
        run_forever("heart", ("heart.py",), r"starting blocking loop")),
        timeout=40, ports=(5555, 5556), slow=True,
        pyzmq_fails="written for Python 2: heart.py subscribes with a str and heartbeater.py"
        " sends one, TypeErrors on pyzmq (the device thread dies, no heart ever beats)"),
    # logging
    Example("logger/zmqlogger.py", (
        # (the two workers' prints may share a line: print writes text and newline apart)
        run_forever("zmqlogger", ("zmqlogger.py",), r"starting logger at \d+",
                    *[LOGGED] * 3),),
        timeout=40, ports=(5558,), slow=True),
    # mongodb
    *(Example(f"mongodb/{name}", skip="needs a MongoDB server (mongod) and pymongo")
      for name in ("client.py", "controller.py")),
    # monitoring
    Example("monitoring/simple_monitor.py", (
        runs_to_end("simple_monitor", ("simple_monitor.py",),
                    r"bind req",
                    r"Event: .*'endpoint': b'tcp://127.0.0.1:6666', 'description': 'EVENT_LIS",
                    r"Event: .*'endpoint': b'tcp://127.0.0.1:6667', 'description': 'EVENT_LIS",
                    r"connect rep",
                    r"Event: .*'description': 'EVENT_ACCEPTED'",
                    r"Event: .*'description': 'EVENT_HANDSHAKE_SUCCEEDED'",
                    r"Event: .*'description': 'EVENT_ACCEPTED'",
                    r"Event: .*'description': 'EVENT_HANDSHAKE_SUCCEEDED'",
                    r"disconnect rep",
                    r"Event: .*'description': 'EVENT_DISCONNECTED'",
                    r"Event: .*'description': 'EVENT_DISCONNECTED'",
                    r"disabling event monitor",
                    r"Event: .*'description': 'EVENT_MONITOR_STOPPED'",
                    r"event monitor thread done!",
                    r"END"),), timeout=30, ports=(6666, 6667), slow=True),
    Example("monitoring/zmq_monitor_class.py", (
        run_forever("monitor-class-user", ("use_monitor_class.py",),
                    r"Event: .*'description': 'EVENT_CONNECTED'",
                    r"monitored socket received b'tick'"),),
        helpers={"use_monitor_class.py": MONITOR_CLASS_USER}),
    # polling
    Example("poll/pair.py", (runs_to_end("pair", ("pair.py",), r"^Finished\.$"),),
            ports=(5555,), slow=True),
    Example("poll/pubsub.py", (runs_to_end("pubsub", ("pubsub.py",), r"^Finished\.$"),),
            ports=(5555,), slow=True),
    Example("poll/reqrep.py", (runs_to_end("reqrep", ("reqrep.py",), r"^Finished\.$"),),
            ports=(5555,), slow=True),
    # pub/sub
    Example("pubsub/publisher.py", (
        runs_to_end("publisher", ("publisher.py",), r"Waiting for subscriber",
                    r"Sending arrays", r"Done\."),
        runs_to_end("subscriber", ("subscriber.py",), r"Receiving arrays", r"Done\.",
                    r"message size: 8388608 \[B\]", r"array count: 10$")),
        timeout=60, ports=(5555,)),
    Example("pubsub/topics_pub.py", (
        run_forever("topics_pub", ("topics_pub.py", "tcp://127.0.0.1:5556"),
                    r"Topic: weather, msg:6"),
        run_forever("topics_sub", ("topics_sub.py", "tcp://127.0.0.1:5556", "sports.football",
                                   "weather"),
                    r"Receiving messages on topics: \['sports.football', 'weather'\]",
                    r"Topic: (sports.football|weather), msg:\d+",
                    r"Topic: (sports.football|weather), msg:\d+",
                    r"Topic: (sports.football|weather), msg:\d+",
                    forbid=(r"Traceback", r"Topic: (stocks|sports.general|sports.basket)"))),
        ports=(5556,)),
    # recv_into
    Example("recv_into/discard.py", (
        runs_to_end("discard", ("discard.py",), r"INFO:subscriber:Receiving",
                    r"INFO:publisher:Sending exit", r"INFO:subscriber:Exiting",
                    r"INFO:subscriber:Done"),), slow=True),
    Example("recv_into/recv_into_array.py", (
        runs_to_end("recv_into_array", ("recv_into_array.py",), r"^received 200 bytes:"),)),
    # security
    Example("security/generate_certificates.py", SECURITY_SETUP,
            files=("public_keys/server.key", "public_keys/client.key",
                   "private_keys/server.key_secret", "private_keys/client.key_secret")),
    security("security/asyncio-ironhouse.py", "Ironhouse test OK", ports=(9000,)),
    Example("security/grasslands.py", (
        runs_to_end("grasslands", ("grasslands.py",), r"^Grasslands test OK$"),),
        ports=(9000,)),
    security("security/ioloop-ironhouse.py", "Ironhouse test OK", ports=(9000,)),
    security("security/ironhouse.py", "Ironhouse test OK", ports=(9000,)),
    security("security/stonehouse.py", "Stonehouse test OK", ports=(9000,)),
    # on pyzmq, about one run in two fails: libzmq frees the stopped authenticator's
    # inproc://zeromq.zap.01 asynchronously, and the second ThreadAuthenticator's bind gets
    # EADDRINUSE; securemq runs it once, and must pass
    security("security/strawhouse.py", "Strawhouse test OK", ports=(9000,), timeout=10.0,
             pyzmq_attempts=10),
    # racy on both libraries: its second send() on the PUSH blocks for ever when the socket has
    # already dropped the closed first client (the second one is refused) -- 2 runs in 30 hang
    # on pyzmq, about as many on securemq; so both get five attempts
    security("security/woodhouse.py", "Woodhouse test OK", ports=(9000,), timeout=10.0,
             pyzmq_attempts=5, attempts=5),
    # serialization
    Example("serialization/serialsocket.py", (
        runs_to_end("serialsocket", ("serialsocket.py",), r"Checking zipped pickle",
                    r"^Okay$", r"Checking send_array", r"^Okay$",
                    r"Checking incorrect signature", r"^Okay$",
                    forbid=(r"Traceback", r"^Failed$")),)),
    # win32-interrupt (allow_interrupt does nothing off Windows; the chat display still runs)
    Example("win32-interrupt/display.py", (
        runs_to_end("display", ("display.py", "tcp://127.0.0.1:5560"),
                    r"Connecting to:  tcp://127.0.0.1:5560", r"^alice: hello world$",
                    r"^Killed by alice\.$"),
        runs_to_end("chat-publisher", ("chat_publisher.py",), r"chat publisher: sent")),
        helpers={"chat_publisher.py": CHAT_PUBLISHER}, ports=(5560,)),
)


# -- fetching the examples ---------------------------------------------------------------------
def cache_dir() -> Path:
    """Outside the repository: $SECUREMQ_TEST_CACHE, or a directory under the system temp."""
    configured = os.environ.get("SECUREMQ_TEST_CACHE")
    base = Path(configured) if configured else Path(tempfile.gettempdir()) / "securemq-test-cache"
    return base / f"pyzmq-{PYZMQ_VERSION}-sdist"


def download_sdist() -> Path:
    """pyzmq's sdist through the package index (pip), once per cache directory."""
    target = cache_dir()
    sdist = target / SDIST
    if sdist.is_file():
        return sdist
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target) as partial:
        # --no-binary for pyzmq only: its build requirements stay wheels (``:all:`` would
        # build cmake from source to prepare the metadata, minutes for nothing)
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", "pyzmq",
                   "--disable-pip-version-check", f"pyzmq=={PYZMQ_VERSION}", "-d", partial]
        try:
            done = subprocess.run(command, capture_output=True, text=True,
                                  timeout=DOWNLOAD_TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired:
            pytest.skip(f"pip download of pyzmq {PYZMQ_VERSION} took over {DOWNLOAD_TIMEOUT_S} s")
        got = Path(partial) / SDIST
        if done.returncode != 0 or not got.is_file():
            tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-5:])
            pytest.skip(f"cannot download pyzmq {PYZMQ_VERSION}'s sdist with pip: {tail}")
        os.replace(got, sdist)  # atomic: a concurrent run sees all of it or nothing
    return sdist


@pytest.fixture(scope="session")
def examples_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    sdist = download_sdist()
    prefix = f"pyzmq-{PYZMQ_VERSION}/examples/"
    root = tmp_path_factory.mktemp("pyzmq-sdist")
    with tarfile.open(sdist) as archive:
        members = [m for m in archive.getmembers() if m.name.startswith(prefix)]
        if not members:
            pytest.fail(f"{sdist} has no {prefix}")
        archive.extractall(root, members=members, filter="data")
    return root / prefix


@pytest.fixture(scope="session")
def pyzmq_has_draft() -> bool:
    code = "import zmq; print(zmq.has('draft'))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=30, check=True)
    return done.stdout.strip() == "True"


# -- the test ----------------------------------------------------------------------------------
def per_test_timeout(example: Example) -> float:
    setup = 30.0 if example.setup else 0.0
    runs = example.pyzmq_attempts + example.attempts
    return runs * (example.timeout + setup + 15.0) + 30.0


def params() -> list[object]:
    out: list[object] = []
    for example in EXAMPLES:
        marks: list[pytest.MarkDecorator] = [pytest.mark.timeout(per_test_timeout(example))]
        if example.slow:
            marks.append(pytest.mark.slow)
        if example.xfail:
            marks.append(pytest.mark.xfail(reason=example.xfail, strict=False))
        out.append(pytest.param(example, id=example.path, marks=marks))
    return out


def run_on(example: Example, library: str, source: Path, workdir: Path) -> Result:
    shutil.copytree(source, workdir)
    for name, code in example.helpers.items():
        (workdir / name).write_text(textwrap.dedent(code).lstrip())
    if example.setup:
        setup = run_scenario(example.setup, library, workdir, timeout=30.0)
        if not setup.ok:
            return setup
    result = run_scenario(example.procs, library, workdir, timeout=example.timeout)
    missing = [f for f in example.files if not (workdir / f).is_file()]
    if missing and result.outcomes:
        result.outcomes[0][1].missing.append(f"files {missing}")
    return result


@pytest.mark.parametrize("example", params())
def test_example(example: Example, examples_dir: Path, pyzmq_has_draft: bool,
                 tmp_path: Path, record_example: RecordExample) -> None:
    if example.skip:
        record_example(example.path, "skipped", example.skip)
        pytest.skip(example.skip)
    source = examples_dir / example.path
    assert source.is_file(), f"{example.path} is not in pyzmq {PYZMQ_VERSION}'s sdist"
    if example.needs_draft and not pyzmq_has_draft:
        why = "needs pyzmq built with the draft API (this pyzmq has none)"
        record_example(example.path, "skipped", why)
        pytest.skip(why)
    isolated, why_not = netns_available()
    if not isolated and not ports_free(example.ports):
        why = f"fixed ports {example.ports} busy and no private network namespace ({why_not})"
        record_example(example.path, "skipped", why)
        pytest.skip(why)

    # pyzmq is the reference: a failure there is the example's or the machine's, so it gets
    # more than one attempt (pyzmq_attempts); securemq gets one, unless the example is racy on
    # pyzmq too (attempts)
    pyzmq = run_on(example, "pyzmq", source.parent, tmp_path / "pyzmq")
    attempts = 1
    while not pyzmq.ok and not example.pyzmq_fails and attempts < example.pyzmq_attempts:
        attempts += 1
        pyzmq = run_on(example, "pyzmq", source.parent, tmp_path / f"pyzmq-{attempts}")
    securemq = run_on(example, "securemq", source.parent, tmp_path / "securemq")
    tries = 1
    while not securemq.ok and tries < example.attempts:
        tries += 1
        securemq = run_on(example, "securemq", source.parent, tmp_path / f"securemq-{tries}")
    report = f"{example.path}\n{pyzmq.describe()}\n{securemq.describe()}"
    if example.pyzmq_fails:
        record_example(example.path, "fails on pyzmq",
                       f"{example.pyzmq_fails}; securemq {'passes' if securemq.ok else 'fails'}",
                       securemq.ok)
        assert not pyzmq.ok, f"expected to fail on pyzmq but passed: update the table\n{report}"
        pytest.skip(f"fails on pyzmq too: {example.pyzmq_fails}")
    record_example(example.path, "pyzmq " + ("passes" if pyzmq.ok else "FAILS"),
                   f"{pyzmq.seconds:.1f} s / {securemq.seconds:.1f} s"
                   + (f" (pyzmq passed on attempt {attempts})" if attempts > 1 else "")
                   + (f" (securemq passed on attempt {tries})" if tries > 1 else ""),
                   securemq.ok)
    assert pyzmq.ok, f"the example fails on pyzmq (table or environment is wrong)\n{report}"
    assert securemq.ok, f"passes on pyzmq, fails on securemq\n{report}"
