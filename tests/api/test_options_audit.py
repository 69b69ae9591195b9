"""The whole option table: every option number libzmq 4.3.5 defines is implemented, refused with
ZMQError(EINVAL) naming it, or a no-op libzmq itself documents as such -- nothing in between.

It walks every option over every socket type securemq can make, checks that docs/OPTIONS.md says
the same as the code (and that the tests it cites exist), and compares the values of the options
this audit added with pyzmq's (libzmq's) answers.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import zmq as pyzmq

import securemq as zmq
from securemq.options import (
    BOOL,
    DOCUMENTED_NOOPS,
    KEY,
    OPTION_SPECS,
    SOCKET_HANDLED,
    UNSUPPORTED,
    option_name,
)
from tests.api._diff import both_sockets, outcome
from tests.draft_libzmq import skip_without_draft_libzmq

pytestmark = pytest.mark.timeout(60)

ROOT = Path(__file__).resolve().parents[2]

# include/zmq.h of libzmq 4.3.5: the stable, deprecated and DRAFT option numbers.
LIBZMQ_OPTIONS: dict[str, int] = {
    "AFFINITY": 4, "ROUTING_ID": 5, "SUBSCRIBE": 6, "UNSUBSCRIBE": 7, "RATE": 8,
    "RECOVERY_IVL": 9, "SNDBUF": 11, "RCVBUF": 12, "RCVMORE": 13, "FD": 14, "EVENTS": 15,
    "TYPE": 16, "LINGER": 17, "RECONNECT_IVL": 18, "BACKLOG": 19, "RECONNECT_IVL_MAX": 21,
    "MAXMSGSIZE": 22, "SNDHWM": 23, "RCVHWM": 24, "MULTICAST_HOPS": 25, "RCVTIMEO": 27,
    "SNDTIMEO": 28, "IPV4ONLY": 31, "LAST_ENDPOINT": 32, "ROUTER_MANDATORY": 33,
    "TCP_KEEPALIVE": 34, "TCP_KEEPALIVE_CNT": 35, "TCP_KEEPALIVE_IDLE": 36,
    "TCP_KEEPALIVE_INTVL": 37, "TCP_ACCEPT_FILTER": 38, "IMMEDIATE": 39, "XPUB_VERBOSE": 40,
    "ROUTER_RAW": 41, "IPV6": 42, "MECHANISM": 43, "PLAIN_SERVER": 44, "PLAIN_USERNAME": 45,
    "PLAIN_PASSWORD": 46, "CURVE_SERVER": 47, "CURVE_PUBLICKEY": 48, "CURVE_SECRETKEY": 49,
    "CURVE_SERVERKEY": 50, "PROBE_ROUTER": 51, "REQ_CORRELATE": 52, "REQ_RELAXED": 53,
    "CONFLATE": 54, "ZAP_DOMAIN": 55, "ROUTER_HANDOVER": 56, "TOS": 57, "IPC_FILTER_PID": 58,
    "IPC_FILTER_UID": 59, "IPC_FILTER_GID": 60, "CONNECT_ROUTING_ID": 61, "GSSAPI_SERVER": 62,
    "GSSAPI_PRINCIPAL": 63, "GSSAPI_SERVICE_PRINCIPAL": 64, "GSSAPI_PLAINTEXT": 65,
    "HANDSHAKE_IVL": 66, "SOCKS_PROXY": 68, "XPUB_NODROP": 69, "BLOCKY": 70, "XPUB_MANUAL": 71,
    "XPUB_WELCOME_MSG": 72, "STREAM_NOTIFY": 73, "INVERT_MATCHING": 74, "HEARTBEAT_IVL": 75,
    "HEARTBEAT_TTL": 76, "HEARTBEAT_TIMEOUT": 77, "XPUB_VERBOSER": 78, "CONNECT_TIMEOUT": 79,
    "TCP_MAXRT": 80, "THREAD_SAFE": 81, "MULTICAST_MAXTPDU": 84, "VMCI_BUFFER_SIZE": 85,
    "VMCI_BUFFER_MIN_SIZE": 86, "VMCI_BUFFER_MAX_SIZE": 87, "VMCI_CONNECT_TIMEOUT": 88,
    "USE_FD": 89, "GSSAPI_PRINCIPAL_NAMETYPE": 90, "GSSAPI_SERVICE_PRINCIPAL_NAMETYPE": 91,
    "BINDTODEVICE": 92,
    # DRAFT
    "ZAP_ENFORCE_DOMAIN": 93, "LOOPBACK_FASTPATH": 94, "METADATA": 95, "MULTICAST_LOOP": 96,
    "ROUTER_NOTIFY": 97, "XPUB_MANUAL_LAST_VALUE": 98, "SOCKS_USERNAME": 99,
    "SOCKS_PASSWORD": 100, "IN_BATCH_SIZE": 101, "OUT_BATCH_SIZE": 102, "WSS_KEY_PEM": 103,
    "WSS_CERT_PEM": 104, "WSS_TRUST_PEM": 105, "WSS_HOSTNAME": 106, "WSS_TRUST_SYSTEM": 107,
    "ONLY_FIRST_SUBSCRIBE": 108, "RECONNECT_STOP": 109, "HELLO_MSG": 110, "DISCONNECT_MSG": 111,
    "PRIORITY": 112, "BUSY_POLL": 113, "HICCUP_MSG": 114, "XSUB_VERBOSE_UNSUBSCRIBE": 115,
    "TOPICS_COUNT": 116, "NORM_MODE": 117, "NORM_UNICAST_NACK": 118, "NORM_BUFFER_SIZE": 119,
    "NORM_SEGMENT_SIZE": 120, "NORM_BLOCK_SIZE": 121, "NORM_NUM_PARITY": 122,
    "NORM_NUM_AUTOPARITY": 123, "NORM_PUSH": 124,
}
DRAFT_FROM = LIBZMQ_OPTIONS["ZAP_ENFORCE_DOMAIN"]  # (the first DRAFT option number)
# pyzmq's HWM (both high-water marks at once) is not a libzmq 4 option: securemq has it too.
EXTRA = {"HWM": 1}

READ_ONLY = {"TYPE", "RCVMORE", "EVENTS", "FD", "LAST_ENDPOINT", "MECHANISM", "THREAD_SAFE",
             "TOPICS_COUNT"}
PUBLIC, _SECRET = zmq.curve_keypair()
# A valid value for each option (int 1 where nothing else is said).
EXAMPLES: dict[str, Any] = {
    "ROUTING_ID": b"id", "SUBSCRIBE": b"t", "UNSUBSCRIBE": b"t", "ZAP_DOMAIN": b"d",
    "PLAIN_USERNAME": b"u", "PLAIN_PASSWORD": b"p", "CURVE_PUBLICKEY": PUBLIC,
    "CURVE_SECRETKEY": PUBLIC, "CURVE_SERVERKEY": PUBLIC, "CONNECT_ROUTING_ID": b"peer",
    "SOCKS_PROXY": b"127.0.0.1:1080", "SOCKS_USERNAME": b"u", "SOCKS_PASSWORD": b"p",
    "BINDTODEVICE": b"lo", "XPUB_WELCOME_MSG": b"hello", "TCP_ACCEPT_FILTER": b"127.0.0.1",
    "GSSAPI_PRINCIPAL": b"p", "GSSAPI_SERVICE_PRINCIPAL": b"s", "METADATA": b"X-key:value",
    "WSS_KEY_PEM": b"k", "WSS_CERT_PEM": b"c", "WSS_TRUST_PEM": b"t", "WSS_HOSTNAME": b"h",
    "HELLO_MSG": b"hi", "DISCONNECT_MSG": b"bye", "HICCUP_MSG": b"oops", "TOS": 0x28,
    "CONNECT_TIMEOUT": 250, "TCP_MAXRT": 5000, "MULTICAST_HOPS": 3, "ROUTER_NOTIFY": 3,
    "HEARTBEAT_TTL": 2000, "LINGER": 0, "PRIORITY": 2, "BACKLOG": 10,
}


@pytest.fixture
def ctx() -> Iterator[zmq.Context]:
    context = zmq.Context()
    yield context
    context.destroy(linger=0)


def creatable_types(ctx: zmq.Context) -> list[zmq.SocketType]:
    made = []
    for kind in zmq.SocketType:
        try:
            sock = ctx.socket(kind)
        except zmq.ZMQError:
            continue  # (STREAM: not implemented)
        sock.close(0)
        made.append(kind)
    return made


def classify(code: int) -> str:
    if code in UNSUPPORTED:
        return "EINVAL"
    if code in DOCUMENTED_NOOPS:
        return "no-op"
    assert code in OPTION_SPECS or code in SOCKET_HANDLED, f"{option_name(code)} is nowhere"
    return "implemented"


def expected_read(name: str, value: Any) -> Any:
    spec = OPTION_SPECS[int(zmq.SocketOption[name])]
    if spec.kind == BOOL:
        return int(bool(value))
    if spec.kind == KEY:
        return PUBLIC
    if spec.granularity > 1:
        return value // spec.granularity * spec.granularity
    return value


def test_the_option_enum_has_every_libzmq_number() -> None:
    ours = {member.name: int(member) for member in zmq.SocketOption}
    assert ours == {**LIBZMQ_OPTIONS, **EXTRA}
    for name, number in LIBZMQ_OPTIONS.items():
        assert int(getattr(zmq, name)) == number == int(getattr(pyzmq, name)), name


def test_every_option_is_classified_exactly_once() -> None:
    for number in [*LIBZMQ_OPTIONS.values(), *EXTRA.values()]:
        places = [number in UNSUPPORTED, number in DOCUMENTED_NOOPS,
                  number in OPTION_SPECS or number in SOCKET_HANDLED]
        assert places.count(True) == 1 or (
            number in DOCUMENTED_NOOPS and number in OPTION_SPECS and number not in UNSUPPORTED
        ), option_name(number)


def test_every_libzmq_option_is_implemented_or_refused(ctx: zmq.Context) -> None:
    """For every option and every socket type: setsockopt works (and getsockopt, where libzmq
    allows it, returns what was set), or it raises ZMQError(EINVAL) naming the option."""
    warnings.simplefilter("ignore", zmq.DraftFDWarning)
    refusals = 0
    for kind in creatable_types(ctx):
        sock = ctx.socket(kind)
        sock.linger = 0
        try:
            for name, number in [*LIBZMQ_OPTIONS.items(), *EXTRA.items()]:
                refusals += _check_one(sock, kind, name, number)
        finally:
            sock.close(0)
    assert refusals > 0


def _check_one(sock: zmq.Socket, kind: zmq.SocketType, name: str, number: int) -> int:
    value = EXAMPLES.get(name, 1)
    where = f"{name} on {kind.name}"
    status = classify(number)
    try:
        sock.setsockopt(number, value)
    except zmq.ZMQError as exc:
        assert exc.errno == zmq.EINVAL, f"{where}: {exc!r} is not EINVAL"
        assert name in str(exc), f"{where}: the message does not name the option: {exc}"
        if status == "implemented" and name not in READ_ONLY | {"SUBSCRIBE", "UNSUBSCRIBE"}:
            spec = OPTION_SPECS[number]
            assert spec.socket_types is not None and int(kind) not in spec.socket_types, (
                f"{where}: refused although it is implemented for this type: {exc}")
        if status == "EINVAL":
            with pytest.raises(zmq.ZMQError) as info:
                sock.getsockopt(number)
            assert info.value.errno == zmq.EINVAL and name in str(info.value), where
        return 1
    except Exception as exc:  # anything but "works" or "EINVAL naming it" is a failure
        raise AssertionError(f"{where}: {exc!r}") from exc
    assert status != "EINVAL", f"{where}: accepted although it is listed as refused"
    assert name not in READ_ONLY, f"{where}: a read-only option was accepted"
    spec = OPTION_SPECS.get(number)
    if spec is not None and spec.readable:
        assert sock.getsockopt(number) == expected_read(name, value), where
    return 0


def test_read_only_options_read(ctx: zmq.Context) -> None:
    for kind in (zmq.DEALER, zmq.SUB):
        sock = ctx.socket(kind)
        sock.linger = 0
        for name in sorted(READ_ONLY - {"TOPICS_COUNT"}):
            sock.getsockopt(getattr(zmq, name))
        sock.close(0)
    with ctx.socket(zmq.XPUB) as xpub:
        assert xpub.getsockopt(zmq.TOPICS_COUNT) == 0


REFUSED = sorted(name for name, number in LIBZMQ_OPTIONS.items() if number in UNSUPPORTED)


@pytest.mark.parametrize("name", REFUSED)
def test_refused_options_say_why(ctx: zmq.Context, name: str) -> None:
    sock = ctx.socket(zmq.DEALER)
    sock.linger = 0
    with pytest.raises(zmq.ZMQError) as info:
        sock.setsockopt(getattr(zmq, name), EXAMPLES.get(name, 1))
    reason = UNSUPPORTED[getattr(zmq, name)]
    assert str(info.value) == f"setsockopt({name}): {reason}"
    sock.close(0)


# -- the values of the options this audit added, against pyzmq ------------------------------------
SETS: list[tuple[str, str, Any]] = [
    ("DEALER", "TCP_KEEPALIVE_CNT", 0), ("DEALER", "TCP_KEEPALIVE_CNT", -2),
    ("DEALER", "TCP_KEEPALIVE_IDLE", 7200), ("DEALER", "TCP_KEEPALIVE_INTVL", -1),
    ("DEALER", "TOS", 0x28), ("DEALER", "TOS", 256), ("DEALER", "TOS", -1),
    ("DEALER", "CONNECT_TIMEOUT", 250), ("DEALER", "CONNECT_TIMEOUT", -1),
    ("DEALER", "TCP_MAXRT", 5000), ("DEALER", "TCP_MAXRT", -1),
    ("DEALER", "PRIORITY", 3), ("DEALER", "PRIORITY", -1),
    ("DEALER", "BINDTODEVICE", b"lo"), ("DEALER", "BINDTODEVICE", b""),
    ("DEALER", "BINDTODEVICE", b"x" * 16),
    ("DEALER", "SOCKS_PROXY", b"127.0.0.1:1080"), ("DEALER", "SOCKS_PROXY", b""),
    ("DEALER", "SOCKS_USERNAME", b""), ("DEALER", "SOCKS_USERNAME", b"u" * 256),
    ("DEALER", "SOCKS_PASSWORD", b"p"),
    ("DEALER", "LOOPBACK_FASTPATH", 5), ("DEALER", "LOOPBACK_FASTPATH", -1),
    ("DEALER", "ZAP_ENFORCE_DOMAIN", 7), ("DEALER", "IPV4ONLY", 0), ("DEALER", "IPV4ONLY", 2),
    ("DEALER", "IPV6", 2), ("DEALER", "AFFINITY", 1), ("DEALER", "AFFINITY", 3),
    ("ROUTER", "ROUTER_NOTIFY", 3), ("ROUTER", "ROUTER_NOTIFY", 4), ("DEALER", "ROUTER_NOTIFY", 1),
    ("ROUTER", "CONNECT_ROUTING_ID", b"x" * 256), ("ROUTER", "CONNECT_ROUTING_ID", b""),
    ("ROUTER", "PROBE_ROUTER", 5), ("DEALER", "PROBE_ROUTER", -1),
    ("XPUB", "XPUB_MANUAL", 2), ("XPUB", "XPUB_MANUAL", -1), ("XPUB", "XPUB_MANUAL_LAST_VALUE", 1),
    ("XPUB", "XPUB_WELCOME_MSG", b""), ("PUB", "XPUB_WELCOME_MSG", b"w"),
    ("XPUB", "XPUB_VERBOSER", 1),
    ("XSUB", "XSUB_VERBOSE_UNSUBSCRIBE", -5), ("XPUB", "ONLY_FIRST_SUBSCRIBE", 1),
    ("XSUB", "ONLY_FIRST_SUBSCRIBE", 1), ("XPUB", "TOPICS_COUNT", 1), ("DEALER", "CONFLATE", 1),
    ("DEALER", "WSS_HOSTNAME", b"h"), ("DEALER", "WSS_TRUST_SYSTEM", 1),
]
WRITE_ONLY = {"CONNECT_ROUTING_ID", "PROBE_ROUTER", "XPUB_MANUAL", "XPUB_MANUAL_LAST_VALUE",
              "XPUB_WELCOME_MSG", "XPUB_VERBOSER", "XSUB_VERBOSE_UNSUBSCRIBE",
              "ONLY_FIRST_SUBSCRIBE", "WSS_HOSTNAME", "WSS_TRUST_SYSTEM"}


@pytest.mark.parametrize(("kind", "name", "value"), SETS,
                         ids=[f"{k}-{n}-{v!r}"[:50] for k, n, v in SETS])
def test_new_option_values_like_pyzmq(kind: str, name: str, value: Any) -> None:
    if LIBZMQ_OPTIONS.get(name, 0) >= DRAFT_FROM:
        skip_without_draft_libzmq()
    zsock, ssock, cleanup = both_sockets(kind)
    try:
        theirs = outcome(lambda: zsock.setsockopt(getattr(pyzmq, name), value))
        ours = outcome(lambda: ssock.setsockopt(getattr(zmq, name), value))
        assert ours == theirs, f"setsockopt: pyzmq {theirs} securemq {ours}"
        theirs = outcome(lambda: zsock.getsockopt(getattr(pyzmq, name)))
        ours = outcome(lambda: ssock.getsockopt(getattr(zmq, name)))
        assert ours == theirs, f"getsockopt: pyzmq {theirs} securemq {ours}"
        if name in WRITE_ONLY:
            assert theirs == ("ZMQError", pyzmq.EINVAL)
    finally:
        cleanup()


# Where securemq answers differently from libzmq on purpose (docs/OPTIONS.md says why).
DIFFERENCES: list[tuple[str, str, Any]] = [
    ("DEALER", "AFFINITY", 2),  # libzmq: EMTHREAD at the next connect; securemq: EINVAL now
    ("ROUTER", "CONFLATE", 1),  # libzmq: accepted, no effect on a ROUTER
    ("REP", "ROUTER_MANDATORY", 1),  # libzmq's REP is a ROUTER inside and takes them all
    ("PUB", "XPUB_VERBOSE", 1),  # PUB never reports subscriptions
    ("DEALER", "RATE", 10),  # libzmq keeps it for pgm, which neither has here
    ("DEALER", "HELLO_MSG", b"hi"),
]


@pytest.mark.parametrize(("kind", "name", "value"), DIFFERENCES,
                         ids=[f"{k}-{n}" for k, n, _v in DIFFERENCES])
def test_documented_differences_from_libzmq(kind: str, name: str, value: Any) -> None:
    if LIBZMQ_OPTIONS.get(name, 0) >= DRAFT_FROM:
        skip_without_draft_libzmq()
    zsock, ssock, cleanup = both_sockets(kind)
    try:
        assert outcome(lambda: zsock.setsockopt(getattr(pyzmq, name), value)) == ("ok", None)
        with pytest.raises(zmq.ZMQError) as info:
            ssock.setsockopt(getattr(zmq, name), value)
        assert info.value.errno == zmq.EINVAL and name in str(info.value)
    finally:
        cleanup()


def test_affinity_mask_without_thread_0_is_emthread_in_libzmq() -> None:
    """What securemq's early EINVAL stands for: libzmq with one I/O thread fails the connect."""
    with pyzmq.Context() as zctx:
        sock = zctx.socket(pyzmq.PUSH)
        sock.linger = 0
        sock.affinity = 2
        with pytest.raises(pyzmq.ZMQError) as info:
            sock.connect("tcp://127.0.0.1:5555")
        assert info.value.errno == pyzmq.EMTHREAD
        sock.close()


# -- docs/OPTIONS.md says what the code does -----------------------------------------------------
ROW = re.compile(r"^\| `(?P<name>[A-Z0-9_]+)` \| (?P<number>\d+) \| (?P<status>[^|]+?) \|"
                 r"(?P<rest>.*)\|\s*$")


def doc_rows() -> dict[str, tuple[int, str, str]]:
    rows: dict[str, tuple[int, str, str]] = {}
    for line in (ROOT / "docs" / "OPTIONS.md").read_text().splitlines():
        match = ROW.match(line)
        if match:
            name = match["name"]
            assert name not in rows, f"{name} twice in docs/OPTIONS.md"
            rows[name] = (int(match["number"]), match["status"].strip(), match["rest"])
    return rows


def test_the_options_document_matches_the_code() -> None:
    rows = doc_rows()
    assert set(rows) == set(LIBZMQ_OPTIONS) | set(EXTRA)
    words = {"implemented": "implemented", "EINVAL": "EINVAL", "no-op": "no-op"}
    for name, (number, status, _rest) in rows.items():
        assert number == {**LIBZMQ_OPTIONS, **EXTRA}[name], name
        assert words.get(status.split()[0]) == classify(number), (name, status)


def test_the_tests_the_document_cites_exist() -> None:
    cited = 0
    for name, (_number, _status, rest) in doc_rows().items():
        for path, func in re.findall(r"`(tests/[\w/]+\.py)(?:::(\w+))?`", rest):
            source = (ROOT / path).read_text()
            assert not func or f"def {func}(" in source, f"{name}: {path}::{func} is missing"
            cited += 1
    assert cited > 100
