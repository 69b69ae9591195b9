"""Socket options as a table: code -> (attribute, kind, default, limits, socket types).

``SocketOptions`` holds one socket's values as attributes (``opts.sndhwm``); the socket layer
routes ``setsockopt``/``getsockopt`` through ``OPTION_SPECS``. Listeners and connections take a
``snapshot()`` at bind/connect time, as libzmq does.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from . import socket_types
from .constants import FAILED_AUTH_BACKOFF, Errno, SecurityMechanism, SocketOption, SocketType
from .error import ZMQError
from .z85 import decode as z85_decode
from .z85 import encode as z85_encode

INT, BOOL, BYTES, KEY, READONLY = "int", "bool", "bytes", "key", "readonly"
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
    OptionSpec(_O.CONNECT_TIMEOUT, "connect_timeout", INT, 0, 0),
    OptionSpec(_O.TCP_KEEPALIVE, "tcp_keepalive", INT, -1, -1, 1),
    OptionSpec(_O.TCP_KEEPALIVE_CNT, "tcp_keepalive_cnt", INT, -1, -1),
    OptionSpec(_O.TCP_KEEPALIVE_IDLE, "tcp_keepalive_idle", INT, -1, -1),
    OptionSpec(_O.TCP_KEEPALIVE_INTVL, "tcp_keepalive_intvl", INT, -1, -1),
    OptionSpec(_O.TOS, "tos", INT, 0, 0, 255),
    OptionSpec(_O.AFFINITY, "affinity", INT, 0, 0),
    OptionSpec(_O.RATE, "rate", INT, 100, 1),
    OptionSpec(_O.RECOVERY_IVL, "recovery_ivl", INT, 10000, 0),
    OptionSpec(_O.MULTICAST_HOPS, "multicast_hops", INT, 1, 1),
    OptionSpec(_O.IMMEDIATE, "immediate", BOOL),
    OptionSpec(_O.CONFLATE, "conflate", BOOL),
    OptionSpec(_O.IPV6, "ipv6", BOOL),
    OptionSpec(_O.IPV4ONLY, "ipv4only", BOOL, True),
    _set_only(_O.ROUTER_MANDATORY, "router_mandatory", _types(_T.ROUTER)),
    _set_only(_O.ROUTER_HANDOVER, "router_handover", _types(_T.ROUTER)),
    OptionSpec(_O.PROBE_ROUTER, "probe_router", BOOL, readable=False, bool_check="nonneg",
               socket_types=_types(_T.ROUTER, _T.DEALER, _T.REQ)),
    _set_only(_O.REQ_RELAXED, "req_relaxed", _types(_T.REQ)),
    _set_only(_O.REQ_CORRELATE, "req_correlate", _types(_T.REQ)),
    _set_only(_O.XPUB_VERBOSE, "xpub_verbose", _types(_T.XPUB)),
    _set_only(_O.XPUB_VERBOSER, "xpub_verboser", _types(_T.XPUB)),
    _set_only(_O.XPUB_NODROP, "xpub_nodrop", _types(_T.XPUB)),
    OptionSpec(_O.INVERT_MATCHING, "invert_matching", BOOL, bool_check="any",
               socket_types=_types(_T.PUB, _T.SUB, _T.XPUB, _T.XSUB)),
    OptionSpec(_O.PLAIN_SERVER, "plain_server", BOOL),
    OptionSpec(_O.CURVE_SERVER, "curve_server", BOOL),
    OptionSpec(_O.ZAP_ENFORCE_DOMAIN, "zap_enforce_domain", BOOL, bool_check="any"),
    OptionSpec(FAILED_AUTH_BACKOFF, "failed_auth_backoff", INT, 0, 0, 3_600_000),
    OptionSpec(_O.ROUTING_ID, "routing_id", BYTES, b"", min_len=1, max_len=255),
    OptionSpec(_O.CONNECT_ROUTING_ID, "connect_routing_id", BYTES, b"", min_len=1, max_len=255),
    OptionSpec(_O.ZAP_DOMAIN, "zap_domain", BYTES, b"", min_len=1, max_len=255),
    OptionSpec(_O.PLAIN_USERNAME, "plain_username", BYTES, b"", min_len=1, max_len=255),
    OptionSpec(_O.PLAIN_PASSWORD, "plain_password", BYTES, b"", min_len=1, max_len=255),
    OptionSpec(_O.CURVE_PUBLICKEY, "curve_publickey", KEY, b""),
    OptionSpec(_O.CURVE_SECRETKEY, "curve_secretkey", KEY, b""),
    OptionSpec(_O.CURVE_SERVERKEY, "curve_serverkey", KEY, b""),
]

OPTION_SPECS: dict[int, OptionSpec] = {int(spec.code): spec for spec in _SPECS}
# Options the socket answers itself (read-only state or write-only actions).
SOCKET_HANDLED = frozenset(
    int(o)
    for o in (
        _O.TYPE, _O.RCVMORE, _O.EVENTS, _O.LAST_ENDPOINT, _O.FD, _O.MECHANISM,
        _O.SUBSCRIBE, _O.UNSUBSCRIBE, _O.HWM, _O.THREAD_SAFE,
    )
)


def option_name(code: int) -> str:
    if code == FAILED_AUTH_BACKOFF:
        return "FAILED_AUTH_BACKOFF"
    try:
        return SocketOption(code).name
    except ValueError:
        return str(code)


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
    failed_auth_backoff: int
    immediate: bool
    conflate: bool
    ipv6: bool
    router_mandatory: bool
    router_handover: bool
    probe_router: bool
    req_relaxed: bool
    req_correlate: bool
    xpub_verbose: bool
    xpub_verboser: bool
    xpub_nodrop: bool
    invert_matching: bool
    plain_server: bool
    curve_server: bool
    zap_enforce_domain: bool
    routing_id: bytes
    connect_routing_id: bytes
    zap_domain: bytes
    plain_username: bytes
    plain_password: bytes
    curve_publickey: bytes
    curve_secretkey: bytes
    curve_serverkey: bytes
    # Which mechanism the last security option selected (libzmq: the last one set wins).
    mechanism: SecurityMechanism
    as_server: bool

    def __init__(self, socket_type: int) -> None:
        self.socket_type = socket_type
        for spec in _SPECS:
            default = spec.default
            if spec.kind == BOOL:
                default = bool(default)
            setattr(self, spec.attr, default)
        self.mechanism = SecurityMechanism.NULL
        self.as_server = False
        self.linger = socket_types.info(socket_type).default_linger

    def snapshot(self) -> SocketOptions:
        return copy.copy(self)

    def set(self, code: int, value: Any) -> None:
        """Validate and store; raises ZMQError(EINVAL) / TypeError like pyzmq."""
        spec = OPTION_SPECS.get(code)
        name = option_name(code)
        if spec is None:
            raise ZMQError(Errno.EINVAL, f"setsockopt({name}): unknown or unsupported option")
        if spec.socket_types is not None and self.socket_type not in spec.socket_types:
            raise ZMQError(
                Errno.EINVAL,
                f"setsockopt({name}): not valid for socket type "
                f"{SocketType(self.socket_type).name}",
            )
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
                setattr(self, spec.attr, bool(value))
            else:
                if not spec.minimum <= value <= spec.maximum:
                    raise ZMQError(
                        Errno.EINVAL,
                        f"setsockopt({name}): {value} is out of range "
                        f"[{spec.minimum}, {spec.maximum}]",
                    )
                if spec.granularity > 1:
                    value = max(value, 0) // spec.granularity * spec.granularity
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

    def get(self, code: int) -> Any:
        spec = OPTION_SPECS.get(code)
        if spec is None:
            raise ZMQError(Errno.EINVAL, f"getsockopt({option_name(code)}): unknown option")
        if not spec.readable:
            raise ZMQError(
                Errno.EINVAL, f"getsockopt({option_name(code)}): option is write-only (libzmq)"
            )
        value = getattr(self, spec.attr)
        if spec.kind == BOOL:
            return int(value)
        if spec.kind == KEY:
            return z85_encode(value) if value else b""
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
        elif code in (_O.CURVE_PUBLICKEY, _O.CURVE_SECRETKEY):
            self.mechanism = _CURVE
        elif code == _O.CURVE_SERVERKEY:
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
