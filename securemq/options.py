"""Socket options as a table: code -> (attribute, kind, default, limits, socket types).

``SocketOptions`` holds one socket's values as attributes (``opts.sndhwm``); the socket layer
routes ``setsockopt``/``getsockopt`` through ``OPTION_SPECS``. Listeners and connections take a
``snapshot()`` at bind/connect time, as libzmq does.

Every option number libzmq 4.3.5 defines is in exactly one place: ``OPTION_SPECS`` (implemented;
restricted to the socket types it acts on, EINVAL naming the option elsewhere), ``SOCKET_HANDLED``
(answered by the socket itself), ``UNSUPPORTED`` (EINVAL with the reason) -- and
``DOCUMENTED_NOOPS`` marks the specs libzmq itself documents as doing nothing on this platform.
Nothing is accepted and then ignored. docs/OPTIONS.md is the audit, checked by
tests/api/test_options_audit.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import socket_types
from .constants import (
    CURVE_SECRETKEYS,
    CURVE_SERVERKEYS,
    FAILED_AUTH_BACKOFF,
    FAILED_AUTH_LIMIT,
    SEQUENCE,
    Errno,
    SecurityMechanism,
    SocketOption,
    SocketType,
)
from .error import ZMQError
from .z85 import decode as z85_decode
from .z85 import encode as z85_encode

INT, BOOL, BYTES, KEY, READONLY = "int", "bool", "bytes", "key", "readonly"
# A list of CURVE keys (securemq's CURVE_SECRETKEYS / CURVE_SERVERKEYS).
KEYS = "keys"
# Most keys a list may hold: a CURVE server tries every one of its keys on each HELLO.
MAX_ROTATION_KEYS = 8
_INT64_MAX = (1 << 63) - 1


@dataclass(frozen=True, slots=True)
class OptionSpec:
    code: int
    attr: str
    kind: str
    default: Any = None
    minimum: int = -1
    maximum: int = _INT64_MAX
    # For BYTES: allowed length range (inclusive).
    min_len: int = 0
    max_len: int = 255
    # None: every socket type.
    socket_types: frozenset[int] | None = None
    # How libzmq checks a BOOL: "strict" only 0/1, "nonneg" any value >= 0, "any" any int.
    bool_check: str = "strict"
    # libzmq has set-only options: getsockopt gives EINVAL.
    readable: bool = True
    # Stored rounded down to a multiple of this (HEARTBEAT_TTL is kept in deciseconds).
    granularity: int = 1


_O = SocketOption
_T = SocketType


def _types(*types: SocketType) -> frozenset[int]:
    return frozenset(int(t) for t in types)


def _set_only(code: int, attr: str, types: frozenset[int]) -> OptionSpec:
    """A boolean option libzmq lets you set but not read back."""
    return OptionSpec(code, attr, BOOL, readable=False, socket_types=types, bool_check="nonneg")


# Socket types are those an option acts on. libzmq accepts more (its REP is a ROUTER inside and
# takes the ROUTER_* options, its PUB is an XPUB and takes XPUB_VERBOSE, every type takes
# CONFLATE) and then ignores them: here that is EINVAL naming the option and the types.
_ROUTING_TYPES = _types(_T.ROUTER)
_PUBLISHERS = _types(_T.PUB, _T.XPUB)
# CONFLATE acts only on these (libzmq options.hpp get_effective_conflate_option).
_CONFLATE_TYPES = _types(_T.DEALER, _T.PULL, _T.PUSH, _T.PUB, _T.SUB)
_INT32_MAX = (1 << 31) - 1
_UINT64_MAX = (1 << 64) - 1

_SPECS: list[OptionSpec] = [
    OptionSpec(_O.LINGER, "linger", INT, -1, -1),
    OptionSpec(_O.SNDHWM, "sndhwm", INT, 1000, 0),
    OptionSpec(_O.RCVHWM, "rcvhwm", INT, 1000, 0),
    OptionSpec(_O.SNDTIMEO, "sndtimeo", INT, -1, -1),
    OptionSpec(_O.RCVTIMEO, "rcvtimeo", INT, -1, -1),
    OptionSpec(_O.RECONNECT_IVL, "reconnect_ivl", INT, 100, -1),
    OptionSpec(_O.RECONNECT_IVL_MAX, "reconnect_ivl_max", INT, 0, 0),
    OptionSpec(_O.HANDSHAKE_IVL, "handshake_ivl", INT, 30000, 0),
    OptionSpec(_O.HEARTBEAT_IVL, "heartbeat_ivl", INT, 0, 0),
    OptionSpec(_O.HEARTBEAT_TIMEOUT, "heartbeat_timeout", INT, -1, 0),
    OptionSpec(_O.HEARTBEAT_TTL, "heartbeat_ttl", INT, 0, -99, 6553599, granularity=100),
    OptionSpec(_O.MAXMSGSIZE, "maxmsgsize", INT, -1, -(1 << 63)),
    OptionSpec(_O.BACKLOG, "backlog", INT, 100, 0),
    OptionSpec(_O.SNDBUF, "sndbuf", INT, -1, -1),
    OptionSpec(_O.RCVBUF, "rcvbuf", INT, -1, -1),
    # -- per-connection OS tuning (transports/tcp.py): tcp listeners, connects and accepts.
    OptionSpec(_O.CONNECT_TIMEOUT, "connect_timeout", INT, 0, 0),
    OptionSpec(_O.TCP_MAXRT, "tcp_maxrt", INT, 0, 0),
    OptionSpec(_O.TCP_KEEPALIVE, "tcp_keepalive", INT, -1, -1, 1),
    OptionSpec(_O.TCP_KEEPALIVE_CNT, "tcp_keepalive_cnt", INT, -1, -1),
    OptionSpec(_O.TCP_KEEPALIVE_IDLE, "tcp_keepalive_idle", INT, -1, -1),
    OptionSpec(_O.TCP_KEEPALIVE_INTVL, "tcp_keepalive_intvl", INT, -1, -1),
    OptionSpec(_O.TOS, "tos", INT, 0, 0, _INT32_MAX),
    OptionSpec(_O.PRIORITY, "priority", INT, 0, 0, _INT32_MAX),
    # SO_BINDTODEVICE: an interface name of at most IFNAMSIZ (16) bytes.
    OptionSpec(_O.BINDTODEVICE, "bindtodevice", BYTES, b"", min_len=1, max_len=16),
    # libzmq documents it as Windows-only (SIO_LOOPBACK_FAST_PATH): stored, read back, no effect.
    OptionSpec(_O.LOOPBACK_FASTPATH, "loopback_fastpath", BOOL, bool_check="any"),
    # -- SOCKS5 proxy for tcp:// connects (io/connecter.py, transports/socks.py).
    OptionSpec(_O.SOCKS_PROXY, "socks_proxy", BYTES, b"", min_len=1, max_len=_INT32_MAX),
    OptionSpec(_O.SOCKS_USERNAME, "socks_username", BYTES, b"", min_len=0, max_len=255),
    OptionSpec(_O.SOCKS_PASSWORD, "socks_password", BYTES, b"", min_len=0, max_len=255),
    # I/O thread affinity: securemq has one I/O thread per context (thread 0), see _check.
    OptionSpec(_O.AFFINITY, "affinity", INT, 0, -(1 << 63), _UINT64_MAX),
    # -- udp:// multicast (RADIO/DISH, io/session.py).
    OptionSpec(_O.MULTICAST_HOPS, "multicast_hops", INT, 1, 1,
               socket_types=_types(_T.RADIO, _T.DGRAM)),
    OptionSpec(_O.MULTICAST_LOOP, "multicast_loop", BOOL, True, bool_check="any",
               socket_types=_types(_T.RADIO, _T.DISH, _T.DGRAM)),
    # -- wss:// (TLS websockets, io/streams.py): PEM texts and the name to verify; set-only as in
    # libzmq (built with ZMQ_HAVE_WSS).
    OptionSpec(_O.WSS_KEY_PEM, "wss_key_pem", BYTES, b"", max_len=_INT32_MAX, readable=False),
    OptionSpec(_O.WSS_CERT_PEM, "wss_cert_pem", BYTES, b"", max_len=_INT32_MAX, readable=False),
    OptionSpec(_O.WSS_TRUST_PEM, "wss_trust_pem", BYTES, b"", max_len=_INT32_MAX,
               readable=False),
    OptionSpec(_O.WSS_HOSTNAME, "wss_hostname", BYTES, b"", max_len=_INT32_MAX, readable=False),
    OptionSpec(_O.WSS_TRUST_SYSTEM, "wss_trust_system", BOOL, readable=False),
    OptionSpec(_O.IMMEDIATE, "immediate", BOOL),
    OptionSpec(_O.CONFLATE, "conflate", BOOL, socket_types=_CONFLATE_TYPES),
    OptionSpec(_O.IPV6, "ipv6", BOOL),
    # IPV4ONLY is IPV6 inverted (libzmq keeps one flag): see SocketOptions.set/get.
    OptionSpec(_O.IPV4ONLY, "ipv6", BOOL, True),
    _set_only(_O.ROUTER_MANDATORY, "router_mandatory", _ROUTING_TYPES),
    _set_only(_O.ROUTER_HANDOVER, "router_handover", _ROUTING_TYPES),
    OptionSpec(_O.ROUTER_NOTIFY, "router_notify", INT, 0, 0, 3, socket_types=_ROUTING_TYPES),
    # Consumed by the next connect() (libzmq routing_socket_base_t); no getsockopt.
    OptionSpec(_O.CONNECT_ROUTING_ID, "connect_routing_id", BYTES, b"", min_len=1,
               max_len=_INT32_MAX, socket_types=_types(_T.ROUTER, _T.STREAM), readable=False),
    # DRAFT: which failures end a connect() for good (ReconnectStop flags; any int, as in
    # libzmq; io/connecter.py and io/session.py engine_closed).
    OptionSpec(_O.RECONNECT_STOP, "reconnect_stop", INT, 0, -(1 << 31), _INT32_MAX),
    # STREAM: an empty message when a connection starts and when it ends (set-only, libzmq).
    OptionSpec(_O.STREAM_NOTIFY, "stream_notify", BOOL, True, readable=False,
               socket_types=_types(_T.STREAM)),
    _set_only(_O.PROBE_ROUTER, "probe_router", _types(_T.ROUTER, _T.DEALER, _T.REQ)),
    _set_only(_O.REQ_RELAXED, "req_relaxed", _types(_T.REQ)),
    _set_only(_O.REQ_CORRELATE, "req_correlate", _types(_T.REQ)),
    _set_only(_O.XPUB_VERBOSE, "xpub_verbose", _types(_T.XPUB)),
    _set_only(_O.XPUB_VERBOSER, "xpub_verboser", _types(_T.XPUB)),
    _set_only(_O.XPUB_NODROP, "xpub_nodrop", _types(_T.PUB, _T.XPUB, _T.RADIO)),
    _set_only(_O.XPUB_MANUAL, "xpub_manual", _types(_T.XPUB)),
    _set_only(_O.XPUB_MANUAL_LAST_VALUE, "xpub_manual_last_value", _types(_T.XPUB)),
    OptionSpec(_O.XPUB_WELCOME_MSG, "xpub_welcome_msg", BYTES, b"", min_len=0,
               max_len=_INT32_MAX, socket_types=_PUBLISHERS, readable=False),
    _set_only(_O.ONLY_FIRST_SUBSCRIBE, "only_first_subscribe",
              _types(_T.PUB, _T.XPUB, _T.XSUB)),
    OptionSpec(_O.XSUB_VERBOSE_UNSUBSCRIBE, "xsub_verbose_unsubscribe", BOOL, readable=False,
               socket_types=_types(_T.XSUB), bool_check="any"),
    OptionSpec(_O.INVERT_MATCHING, "invert_matching", BOOL, bool_check="any",
               socket_types=_types(_T.PUB, _T.SUB, _T.XPUB, _T.XSUB)),
    OptionSpec(_O.PLAIN_SERVER, "plain_server", BOOL),
    OptionSpec(_O.CURVE_SERVER, "curve_server", BOOL),
    OptionSpec(_O.ZAP_ENFORCE_DOMAIN, "zap_enforce_domain", BOOL, bool_check="any"),
    OptionSpec(FAILED_AUTH_BACKOFF, "failed_auth_backoff", INT, 0, 0, 3_600_000),
    OptionSpec(FAILED_AUTH_LIMIT, "failed_auth_limit", INT, 0, 0, 1_000_000),
    OptionSpec(SEQUENCE, "sequence", BOOL, socket_types=_types(_T.PUB, _T.XPUB, _T.SUB, _T.XSUB)),
    # Key rotation (securemq): the values live in shared holders (see CurveServerKeys), read
    # for every new connection, so a change reaches sockets already bound or connected.
    OptionSpec(CURVE_SECRETKEYS, "curve_server_keys", KEYS, readable=False),
    OptionSpec(CURVE_SERVERKEYS, "curve_serverkey_list", KEYS),
    OptionSpec(_O.ROUTING_ID, "routing_id", BYTES, b"", min_len=1, max_len=255),
    OptionSpec(_O.ZAP_DOMAIN, "zap_domain", BYTES, b"", min_len=1, max_len=255),
    OptionSpec(_O.PLAIN_USERNAME, "plain_username", BYTES, b"", min_len=1, max_len=255),
    OptionSpec(_O.PLAIN_PASSWORD, "plain_password", BYTES, b"", min_len=1, max_len=255),
    OptionSpec(_O.CURVE_PUBLICKEY, "curve_publickey", KEY, b""),
    OptionSpec(_O.CURVE_SECRETKEY, "curve_secretkey", KEY, b""),
    OptionSpec(_O.CURVE_SERVERKEY, "curve_serverkey", KEY, b""),
]

OPTION_SPECS: dict[int, OptionSpec] = {int(spec.code): spec for spec in _SPECS}
# Stored inverted in the attribute of another option (IPV4ONLY is "not IPV6").
_INVERTED = frozenset({int(_O.IPV4ONLY)})
# Options the socket answers itself (read-only state or write-only actions).
SOCKET_HANDLED = frozenset(
    int(o)
    for o in (
        _O.TYPE, _O.RCVMORE, _O.EVENTS, _O.LAST_ENDPOINT, _O.FD, _O.MECHANISM,
        _O.SUBSCRIBE, _O.UNSUBSCRIBE, _O.HWM, _O.THREAD_SAFE, _O.TOPICS_COUNT,
    )
)

# Options accepted and read back that have no effect here because libzmq itself documents them
# as platform-specific (and they do nothing in libzmq on Linux or macOS either).
DOCUMENTED_NOOPS: dict[int, str] = {
    int(_O.LOOPBACK_FASTPATH): "Windows-only in libzmq (SIO_LOOPBACK_FAST_PATH); no effect "
                               "elsewhere, in libzmq as here",
}

_NO_PGM = "applies only to the pgm/epgm/norm multicast transports, which securemq does not have"
_NO_GSSAPI = "the GSSAPI mechanism is not available (libzmq built without GSSAPI says EINVAL too)"
_NO_NORM = "the norm:// transport is not available (libzmq built without NORM says EINVAL too)"
_NO_VMCI = "the vmci:// transport is not available (libzmq built without VMCI says EINVAL too)"
_DEPRECATED_FILTER = (
    "deprecated in libzmq and not implemented; filter peers with ZAP instead "
    "(securemq.auth: allow()/deny() by address)"
)
# Every other option number libzmq 4.3.5 defines (include/zmq.h, with the deprecated and DRAFT
# sections): setsockopt and getsockopt raise ZMQError(EINVAL) with this reason. Never accepted
# and then ignored -- see docs/OPTIONS.md for the whole audit.
UNSUPPORTED: dict[int, str] = {
    int(_O.RATE): _NO_PGM,
    int(_O.RECOVERY_IVL): _NO_PGM,
    int(_O.MULTICAST_MAXTPDU): _NO_PGM,
    int(_O.TCP_ACCEPT_FILTER): _DEPRECATED_FILTER,
    int(_O.IPC_FILTER_PID): _DEPRECATED_FILTER,
    int(_O.IPC_FILTER_UID): _DEPRECATED_FILTER,
    int(_O.IPC_FILTER_GID): _DEPRECATED_FILTER,
    int(_O.ROUTER_RAW): "deprecated raw ROUTER mode (libzmq's STREAM predecessor); use a "
                        "STREAM socket",
    int(_O.GSSAPI_SERVER): _NO_GSSAPI,
    int(_O.GSSAPI_PRINCIPAL): _NO_GSSAPI,
    int(_O.GSSAPI_SERVICE_PRINCIPAL): _NO_GSSAPI,
    int(_O.GSSAPI_PLAINTEXT): _NO_GSSAPI,
    int(_O.GSSAPI_PRINCIPAL_NAMETYPE): _NO_GSSAPI,
    int(_O.GSSAPI_SERVICE_PRINCIPAL_NAMETYPE): _NO_GSSAPI,
    int(_O.BLOCKY): "a context option (Context.set), not a socket option (libzmq says EINVAL too)",
    int(_O.VMCI_BUFFER_SIZE): _NO_VMCI,
    int(_O.VMCI_BUFFER_MIN_SIZE): _NO_VMCI,
    int(_O.VMCI_BUFFER_MAX_SIZE): _NO_VMCI,
    int(_O.VMCI_CONNECT_TIMEOUT): _NO_VMCI,
    int(_O.USE_FD): "binding to a descriptor the application opened is not implemented",
    int(_O.METADATA): "application metadata (X- properties in READY) is not implemented",
    int(_O.IN_BATCH_SIZE): "securemq sizes its reads itself (64 KiB growing to 1 MiB); "
                           "not tunable",
    int(_O.OUT_BATCH_SIZE): "securemq sizes its writes itself (about 256 KiB per batch); "
                            "not tunable",
    int(_O.HELLO_MSG): "not implemented",
    int(_O.DISCONNECT_MSG): "not implemented (ROUTER_NOTIFY reports disconnects)",
    int(_O.HICCUP_MSG): "not implemented",
    int(_O.BUSY_POLL): "SO_BUSY_POLL needs CAP_NET_ADMIN (libzmq aborts when it is refused); "
                       "not implemented",
    int(_O.NORM_MODE): _NO_NORM,
    int(_O.NORM_UNICAST_NACK): _NO_NORM,
    int(_O.NORM_BUFFER_SIZE): _NO_NORM,
    int(_O.NORM_SEGMENT_SIZE): _NO_NORM,
    int(_O.NORM_BLOCK_SIZE): _NO_NORM,
    int(_O.NORM_NUM_PARITY): _NO_NORM,
    int(_O.NORM_NUM_AUTOPARITY): _NO_NORM,
    int(_O.NORM_PUSH): _NO_NORM,
}


_OWN_NAMES = {
    FAILED_AUTH_BACKOFF: "FAILED_AUTH_BACKOFF",
    SEQUENCE: "SEQUENCE",
    FAILED_AUTH_LIMIT: "FAILED_AUTH_LIMIT",
    CURVE_SECRETKEYS: "CURVE_SECRETKEYS",
    CURVE_SERVERKEYS: "CURVE_SERVERKEYS",
}


class CurveServerKeys:
    """The (public, secret) key pairs a CURVE server accepts (CURVE_SECRETKEYS), in order.

    One holder per socket, shared by the socket's options and every snapshot taken from them
    (``snapshot`` copies shallowly), so a new set reaches listeners already bound: each new
    connection reads ``pairs`` when it starts; a live one keeps the pair its HELLO opened with.
    Its repr shows the public keys only.
    """

    __slots__ = ("pairs",)

    def __init__(self) -> None:
        self.pairs: tuple[tuple[bytes, bytes], ...] = ()

    def __repr__(self) -> str:
        shown = ", ".join(z85_encode(public).decode("ascii") for public, _ in self.pairs)
        return f"CurveServerKeys(public=[{shown}], secrets=<redacted>)"


class CurveServerKeyList:
    """A CURVE client's acceptable server public keys (CURVE_SERVERKEYS), in order of
    preference; shared like ``CurveServerKeys``. ``version`` changes with every new list (a
    connect() already made then starts again from the first key)."""

    __slots__ = ("keys", "version")

    def __init__(self) -> None:
        self.keys: tuple[bytes, ...] = ()
        self.version = 0

    def __repr__(self) -> str:
        shown = ", ".join(z85_encode(key).decode("ascii") for key in self.keys)
        return f"CurveServerKeyList([{shown}])"


def option_name(code: int) -> str:
    name = _NAMES.get(code)
    if name is not None:
        return name
    if code in _OWN_NAMES:
        name = _OWN_NAMES[code]
    else:
        try:
            name = SocketOption(code).name
        except ValueError:
            return str(code)  # (not kept: any int may come here)
    _NAMES[int(code)] = name
    return name


# Option names already looked up (every setsockopt names its option; an enum lookup is slow).
_NAMES: dict[int, str] = {}


def _defaults() -> dict[str, Any]:
    """Every option's default value by attribute name (values are immutable)."""
    values: dict[str, Any] = {}
    for spec in _SPECS:
        if spec.code in _INVERTED or spec.kind == KEYS:
            continue
        values[spec.attr] = bool(spec.default) if spec.kind == BOOL else spec.default
    return values


class SocketOptions:
    """One socket's option values, as attributes named after the options (lower case)."""

    linger: int
    sndhwm: int
    rcvhwm: int
    sndtimeo: int
    rcvtimeo: int
    reconnect_ivl: int
    reconnect_ivl_max: int
    handshake_ivl: int
    heartbeat_ivl: int
    heartbeat_timeout: int
    heartbeat_ttl: int
    maxmsgsize: int
    backlog: int
    sndbuf: int
    rcvbuf: int
    connect_timeout: int
    tcp_keepalive: int
    tcp_keepalive_cnt: int
    tcp_keepalive_idle: int
    tcp_keepalive_intvl: int
    tos: int
    tcp_maxrt: int
    priority: int
    bindtodevice: bytes
    loopback_fastpath: bool
    socks_proxy: bytes
    socks_username: bytes
    socks_password: bytes
    affinity: int
    multicast_hops: int
    multicast_loop: bool
    failed_auth_backoff: int
    immediate: bool
    conflate: bool
    ipv6: bool
    router_mandatory: bool
    router_handover: bool
    router_notify: int
    probe_router: bool
    req_relaxed: bool
    req_correlate: bool
    # XPUB_VERBOSE sets xpub_verbose and clears xpub_verboser; XPUB_VERBOSER sets both (libzmq
    # keeps "verbose subscribes" and "verbose unsubscribes": these are those two flags).
    xpub_verbose: bool
    xpub_verboser: bool
    xpub_nodrop: bool
    # XPUB_MANUAL sets xpub_manual; XPUB_MANUAL_LAST_VALUE sets both (libzmq: _manual and
    # _send_last_pipe).
    xpub_manual: bool
    xpub_manual_last_value: bool
    xpub_welcome_msg: bytes
    only_first_subscribe: bool
    xsub_verbose_unsubscribe: bool
    invert_matching: bool
    wss_key_pem: bytes
    wss_cert_pem: bytes
    wss_trust_pem: bytes
    wss_hostname: bytes
    wss_trust_system: bool
    plain_server: bool
    curve_server: bool
    zap_enforce_domain: bool
    routing_id: bytes
    connect_routing_id: bytes
    stream_notify: bool
    reconnect_stop: int
    sequence: bool
    failed_auth_limit: int
    zap_domain: bytes
    plain_username: bytes
    plain_password: bytes
    curve_publickey: bytes
    curve_secretkey: bytes
    curve_serverkey: bytes
    # Key rotation holders (shared with every snapshot, see CurveServerKeys).
    curve_server_keys: CurveServerKeys
    curve_serverkey_list: CurveServerKeyList
    # Which mechanism the last security option selected (libzmq: the last one set wins).
    mechanism: SecurityMechanism
    as_server: bool

    def __init__(self, socket_type: int) -> None:
        # Defaults are class attributes (set below the class): an instance holds only what
        # differs, so a socket and each of its connect/bind snapshots stay small.
        self.socket_type = socket_type
        self.mechanism = SecurityMechanism.NULL
        self.as_server = False
        self.linger = socket_types.info(socket_type).default_linger
        self.curve_server_keys = CurveServerKeys()
        self.curve_serverkey_list = CurveServerKeyList()

    def snapshot(self) -> SocketOptions:
        """A copy of the values (the key holders are shared, on purpose: see their classes)."""
        copied = object.__new__(SocketOptions)
        copied.__dict__.update(self.__dict__)
        return copied

    def set(self, code: int, value: Any) -> None:
        """Validate and store; raises ZMQError(EINVAL) / TypeError like pyzmq."""
        spec = OPTION_SPECS.get(code)
        name = option_name(code)
        if spec is None:
            reason = UNSUPPORTED.get(code, "unknown option")
            raise ZMQError(Errno.EINVAL, f"setsockopt({name}): {reason}")
        if spec.socket_types is not None and self.socket_type not in spec.socket_types:
            valid = ", ".join(sorted(SocketType(t).name for t in spec.socket_types))
            raise ZMQError(
                Errno.EINVAL,
                f"setsockopt({name}): not valid for socket type "
                f"{SocketType(self.socket_type).name} (only {valid})",
            )
        if spec.kind == KEYS:
            self._set_keys(code, name, value)
            return
        if spec.kind in (INT, BOOL):
            if isinstance(value, bool):
                value = int(value)
            if not isinstance(value, int):
                raise TypeError(f"setsockopt({name}): expected int, got {type(value).__name__}")
            if spec.kind == BOOL:
                if (spec.bool_check == "strict" and value not in (0, 1)) or (
                    spec.bool_check == "nonneg" and value < 0
                ):
                    raise ZMQError(Errno.EINVAL, f"setsockopt({name}): {value} is not a boolean")
                setattr(self, spec.attr, bool(value) != (code in _INVERTED))
            else:
                if not spec.minimum <= value <= spec.maximum:
                    raise ZMQError(
                        Errno.EINVAL,
                        f"setsockopt({name}): {value} is out of range "
                        f"[{spec.minimum}, {spec.maximum}]",
                    )
                if spec.granularity > 1:
                    value = max(value, 0) // spec.granularity * spec.granularity
                if code == _O.AFFINITY and value != 0 and not value & 1:
                    raise ZMQError(
                        Errno.EINVAL,
                        f"setsockopt(AFFINITY): mask {value:#x} selects no I/O thread: "
                        "securemq runs one I/O thread per context, thread 0 (libzmq would fail "
                        "the next bind/connect with EMTHREAD)",
                    )
                setattr(self, spec.attr, value)
        else:
            if isinstance(value, str):
                raise TypeError(
                    f"setsockopt({name}): unicode not allowed, use setsockopt_string"
                )
            if not isinstance(value, bytes | bytearray | memoryview):
                raise TypeError(f"setsockopt({name}): expected bytes, got {type(value).__name__}")
            raw = bytes(value)
            if spec.kind == KEY:
                raw = _curve_key(name, raw)
            elif not spec.min_len <= len(raw) <= spec.max_len:
                raise ZMQError(
                    Errno.EINVAL,
                    f"setsockopt({name}): length {len(raw)} is outside "
                    f"{spec.min_len}..{spec.max_len} bytes",
                )
            setattr(self, spec.attr, raw)
        self._track_mechanism(code)
        self._couple(code)

    def _set_keys(self, code: int, name: str, value: Any) -> None:
        """CURVE_SECRETKEYS / CURVE_SERVERKEYS: a list of keys (32 raw bytes or 40 Z85 each),
        stored in the shared holder; an empty list turns rotation off."""
        if isinstance(value, bytes | bytearray | str):
            raise TypeError(f"setsockopt({name}): expected a list of keys, "
                            f"got {type(value).__name__}")
        try:
            items = list(value)
        except TypeError:
            raise TypeError(f"setsockopt({name}): expected a list of keys, "
                            f"got {type(value).__name__}") from None
        if len(items) > MAX_ROTATION_KEYS:
            raise ZMQError(Errno.EINVAL, f"setsockopt({name}): {len(items)} keys, at most "
                           f"{MAX_ROTATION_KEYS} (a server tries each on every HELLO)")
        keys: list[bytes] = []
        for index, item in enumerate(items):
            if isinstance(item, str):
                item = item.encode("ascii", "replace")
            if not isinstance(item, bytes | bytearray | memoryview):
                raise TypeError(f"setsockopt({name}): key {index} is a "
                                f"{type(item).__name__}, not bytes")
            try:
                keys.append(_curve_key(name, bytes(item)))
            except ZMQError as exc:
                raise ZMQError(Errno.EINVAL, f"{exc.strerror} (key {index})") from None
        if code == CURVE_SECRETKEYS:
            from nacl.bindings import crypto_scalarmult_base

            self.curve_server_keys.pairs = tuple(
                (crypto_scalarmult_base(secret), secret) for secret in keys
            )
        else:
            holder = self.curve_serverkey_list
            holder.keys = tuple(keys)
            holder.version += 1
        if keys:
            self._track_mechanism(code)

    def _couple(self, code: int) -> None:
        """Options that set more than their own flag, as libzmq's xpub.cpp does."""
        if code == _O.XPUB_VERBOSE:
            self.xpub_verboser = False
        elif code == _O.XPUB_VERBOSER:
            self.xpub_verbose = self.xpub_verboser
        elif code == _O.XPUB_MANUAL_LAST_VALUE:
            self.xpub_manual = self.xpub_manual_last_value

    def take_connect_routing_id(self) -> bytes:
        """CONNECT_ROUTING_ID applies to one connect() only: return it and clear it."""
        rid, self.connect_routing_id = self.connect_routing_id, b""
        return rid

    def get(self, code: int) -> Any:
        spec = OPTION_SPECS.get(code)
        if spec is None:
            reason = UNSUPPORTED.get(code, "unknown option")
            raise ZMQError(Errno.EINVAL, f"getsockopt({option_name(code)}): {reason}")
        if not spec.readable:
            raise ZMQError(
                Errno.EINVAL, f"getsockopt({option_name(code)}): option is write-only (libzmq)"
            )
        value = getattr(self, spec.attr)
        if spec.kind == BOOL:
            return int(bool(value) != (code in _INVERTED))
        if spec.kind == KEY:
            return z85_encode(value) if value else b""
        if spec.kind == KEYS:
            return [z85_encode(key) for key in self.curve_serverkey_list.keys]
        return value

    def _track_mechanism(self, code: int) -> None:
        """libzmq's rule: the last security option set picks the mechanism and the role."""
        if code == _O.PLAIN_SERVER:
            self.as_server = self.plain_server
            self.mechanism = _PLAIN if self.plain_server else _NULL
        elif code in (_O.PLAIN_USERNAME, _O.PLAIN_PASSWORD):
            self.as_server = False
            self.mechanism = _PLAIN
        elif code == _O.CURVE_SERVER:
            self.as_server = self.curve_server
            self.mechanism = _CURVE if self.curve_server else _NULL
        elif code in (_O.CURVE_PUBLICKEY, _O.CURVE_SECRETKEY, CURVE_SECRETKEYS):
            self.mechanism = _CURVE
        elif code in (_O.CURVE_SERVERKEY, CURVE_SERVERKEYS):
            self.as_server = False
            self.mechanism = _CURVE
        else:
            return
        self.plain_server = self.as_server and self.mechanism == _PLAIN
        self.curve_server = self.as_server and self.mechanism == _CURVE


_NULL, _PLAIN, _CURVE = SecurityMechanism.NULL, SecurityMechanism.PLAIN, SecurityMechanism.CURVE


def _curve_key(name: str, raw: bytes) -> bytes:
    if len(raw) == 32:
        return raw
    if len(raw) == 40:
        try:
            return z85_decode(raw)
        except ValueError as exc:
            raise ZMQError(Errno.EINVAL, f"setsockopt({name}): invalid Z85 key: {exc}") from None
    raise ZMQError(
        Errno.EINVAL,
        f"setsockopt({name}): a CURVE key is 32 raw bytes or 40 Z85 characters, "
        f"got {len(raw)} bytes",
    )


for _attr, _default in _defaults().items():
    setattr(SocketOptions, _attr, _default)
del _attr, _default
