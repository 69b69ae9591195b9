"""Pluggable ZAP authenticators ("policies"): a decision from a ZAP request.

How this works
--------------
A policy is any callable ``policy(request: ZapRequest) -> Decision | None`` (or an awaitable of
one). ``None`` means "no opinion, ask the next policy"; a ``Decision`` is definite. Async
policies are awaited by async runners and run to completion by the thread runner, so a policy
may do I/O (a database look-up) without blocking an asyncio loop.

Built-ins: ``AddressPolicy`` (allow/deny by exact address or CIDR network), ``PlainPasswords``,
``CurveKeyDirectory`` (reloads its directory when it changes, so revoking a key file takes effect
without a restart), ``CurveAllowAny``, ``CurveCallback`` (pyzmq's credentials provider),
``NullAllowAll``, ``Chain`` (first definite decision wins) and ``PerDomain`` (route by ZAP
domain). Compose them freely; ``securemq.auth.Authenticator`` builds such a composition from
pyzmq's configuration verbs.
"""

from __future__ import annotations

import hmac
import inspect
import ipaddress
import logging
import os
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeAlias, runtime_checkable

from securemq import AccessRules, z85
from securemq.safetext import printable, quoted
from securemq.zmtp.zap import ZAP_VERSION, MalformedZapRequest, decode_request

from .certs import read_certificate

__all__ = [
    "AccessRules",
    "AddressPolicy",
    "Chain",
    "CurveAllowAny",
    "CurveCallback",
    "CurveKeyDirectory",
    "Decision",
    "MalformedZapRequest",
    "NullAllowAll",
    "PerDomain",
    "PlainPasswords",
    "Policy",
    "PolicyResult",
    "ZapRequest",
    "domain_key",
]

_STATUSES = (200, 300, 400, 500)


def domain_key(domain: str) -> str:
    """pyzmq's domain lookup key: the empty ZAP domain is configured as ``"*"``."""
    return domain or "*"


@dataclass(frozen=True, repr=False)
class ZapRequest:
    """One ZAP request (RFC 27), decoded. ``credentials`` are the raw mechanism frames.

    Its ``repr`` shows who is asking (the principal, escaped) and never the credentials.
    """

    domain: str
    address: str
    routing_id: bytes
    mechanism: str
    credentials: tuple[bytes, ...] = ()
    request_id: bytes = b"1"
    version: bytes = ZAP_VERSION
    encoding: str = "utf-8"

    @classmethod
    def from_frames(cls, frames: Sequence[bytes], encoding: str = "utf-8") -> ZapRequest:
        """Parse the frames a REP socket receives (no delimiter); raise MalformedZapRequest."""
        raw = decode_request(frames)
        return cls(
            domain=raw.domain.decode(encoding, "replace"),
            address=raw.address.decode(encoding, "replace"),
            routing_id=raw.routing_id,
            mechanism=raw.mechanism.decode("ascii"),
            credentials=tuple(raw.credentials),
            request_id=raw.request_id,
            version=raw.version,
            encoding=encoding,
        )

    @property
    def username(self) -> str | None:
        """PLAIN user name (None for other mechanisms or malformed credentials)."""
        if self.mechanism != "PLAIN" or len(self.credentials) != 2:
            return None
        return self.credentials[0].decode(self.encoding, "replace")

    @property
    def password(self) -> bytes | None:
        """PLAIN password as raw bytes. Never log it."""
        if self.mechanism != "PLAIN" or len(self.credentials) != 2:
            return None
        return self.credentials[1]

    @property
    def client_key(self) -> bytes | None:
        """CURVE client long-term public key, 32 raw bytes (None if absent or malformed)."""
        if self.mechanism != "CURVE" or len(self.credentials) != 1:
            return None
        key = self.credentials[0]
        return key if len(key) == 32 else None

    @property
    def client_key_z85(self) -> str | None:
        """CURVE client key as Z85 text."""
        key = self.client_key
        return None if key is None else z85.encode(key).decode("ascii")

    def __repr__(self) -> str:
        return (
            f"ZapRequest(domain={quoted(self.domain)}, address={quoted(self.address)}, "
            f"mechanism={quoted(self.mechanism)}, principal={quoted(self.principal)}, "
            f"credentials=<redacted>)"
        )

    @property
    def principal(self) -> str | None:
        """Who the client claims to be, safe to log: PLAIN username, CURVE Z85 key, GSSAPI name."""
        if self.mechanism == "PLAIN":
            return self.username
        if self.mechanism == "CURVE":
            return self.client_key_z85
        if self.mechanism == "GSSAPI" and len(self.credentials) == 1:
            return self.credentials[0].decode(self.encoding, "replace")
        return None


@dataclass(frozen=True)
class Decision:
    """A definite answer. ``user_id=None`` lets the runner pick the mechanism's default.

    ``metadata`` is sent as ZAP metadata (ZMTP properties) and shows up as message properties
    on the server's received messages. ``policy`` names who decided (for the audit trail).
    ``rules`` (securemq, a 200 only): what the peer may do once in -- subscription prefixes,
    read-only, the routing ids a ROUTER may address it by -- enforced by the server's socket;
    they travel as ZAP metadata under names only ZAP can set (see ``securemq.AccessRules``).
    ``None`` lets the authenticator apply the rules it holds for the user id (``set_rules``).
    """

    status: int
    text: str
    user_id: str | None = None
    metadata: Mapping[str, bytes | str] = field(default_factory=dict)
    policy: str = ""
    rules: AccessRules | None = None

    def __post_init__(self) -> None:
        if self.status not in _STATUSES:
            raise ValueError(f"ZAP decision: status must be one of {_STATUSES}, not {self.status}")

    @property
    def allowed(self) -> bool:
        return self.status == 200

    @classmethod
    def allow(
        cls,
        policy: str,
        user_id: str | None = None,
        metadata: Mapping[str, bytes | str] | None = None,
        text: str = "OK",
        rules: AccessRules | None = None,
    ) -> Decision:
        return cls(200, text, user_id, dict(metadata or {}), policy, rules)

    @classmethod
    def deny(cls, policy: str, text: str, status: int = 400) -> Decision:
        return cls(status, text, None, {}, policy)


PolicyResult: TypeAlias = Decision | Awaitable[Decision | None] | None


@runtime_checkable
class Policy(Protocol):
    """The authenticator interface: a decision, ``None`` (no opinion) or an awaitable of one."""

    def __call__(self, request: ZapRequest) -> PolicyResult: ...


def _name(policy: object) -> str:
    return str(getattr(policy, "name", None) or getattr(policy, "__name__", type(policy).__name__))


async def _await_then(
    pending: Awaitable[Decision | None], rest: Sequence[Policy], request: ZapRequest
) -> Decision | None:
    result = await pending
    if result is not None:
        return result
    for policy in rest:
        outcome = policy(request)
        if inspect.isawaitable(outcome):
            outcome = await outcome
        if outcome is not None:
            return outcome
    return None


class Chain:
    """Ask policies in order; the first definite decision wins (``None`` if none decides).

    Stays synchronous while every policy is; turns into an awaitable at the first async one.
    """

    name = "chain"

    def __init__(self, *policies: Policy) -> None:
        self.policies: list[Policy] = list(policies)

    def append(self, policy: Policy) -> None:
        self.policies.append(policy)

    def __call__(self, request: ZapRequest) -> PolicyResult:
        for index, policy in enumerate(self.policies):
            outcome = policy(request)
            if inspect.isawaitable(outcome):
                return _await_then(outcome, self.policies[index + 1 :], request)
            if outcome is not None:
                return outcome
        return None


class PerDomain:
    """Route by ZAP domain (exact match; ``"*"`` names the empty domain, as in pyzmq).

    ``fallback`` (optional) answers for domains that have no entry.
    """

    name = "per-domain"

    def __init__(
        self, policies: Mapping[str, Policy] | None = None, fallback: Policy | None = None
    ) -> None:
        self.policies: dict[str, Policy] = dict(policies or {})
        self.fallback = fallback

    def __call__(self, request: ZapRequest) -> PolicyResult:
        policy = self.policies.get(domain_key(request.domain), self.fallback)
        return None if policy is None else policy(request)


Network: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network


def _parse_addresses(entries: Iterable[str]) -> tuple[set[str], list[Network]]:
    exact: set[str] = set()
    networks: list[Network] = []
    for entry in entries:
        if "/" in entry:
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                raise ValueError(f"auth: {entry!r} is not a valid CIDR network") from None
        else:
            exact.add(entry)
    return exact, networks


def _in(address: str, exact: set[str], networks: list[Network]) -> bool:
    if address in exact:
        return True
    if not networks:
        return False
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False  # IPC peers ("localhost:uid:gid:pid") and other non-IP addresses
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        mapped = ip.ipv4_mapped
        return any(ip in net or mapped in net for net in networks)
    return any(ip in net for net in networks)


class AddressPolicy:
    """Allow-list or deny-list of peer addresses: exact strings and CIDR networks.

    With an allow list, addresses not on it are denied (400 "Address not allowed"); with a deny
    list, listed addresses are denied (400 "Address denied"). Everything else gets ``None``, so
    the next policy authenticates. ``allow_null=True`` makes an allowed address a 200 for NULL.
    """

    name = "address"

    def __init__(self, allow: Iterable[str] = (), deny: Iterable[str] = ()) -> None:
        self._allow_exact, self._allow_nets = _parse_addresses(allow)
        self._deny_exact, self._deny_nets = _parse_addresses(deny)
        if self.has_allow and self.has_deny:
            raise ValueError("Only use allow or deny, not both")

    @property
    def has_allow(self) -> bool:
        return bool(self._allow_exact or self._allow_nets)

    @property
    def has_deny(self) -> bool:
        return bool(self._deny_exact or self._deny_nets)

    def add_allow(self, *entries: str) -> None:
        if self.has_deny:
            raise ValueError("Only use allow or deny, not both")
        exact, nets = _parse_addresses(entries)
        self._allow_exact |= exact
        self._allow_nets += nets

    def add_deny(self, *entries: str) -> None:
        if self.has_allow:
            raise ValueError("Only use allow or deny, not both")
        exact, nets = _parse_addresses(entries)
        self._deny_exact |= exact
        self._deny_nets += nets

    def __call__(self, request: ZapRequest) -> Decision | None:
        if self.has_allow and not _in(request.address, self._allow_exact, self._allow_nets):
            return Decision.deny(self.name, "Address not allowed")
        if self.has_deny and _in(request.address, self._deny_exact, self._deny_nets):
            return Decision.deny(self.name, "Address denied")
        return None


class NullAllowAll:
    """NULL connections are accepted (user id "anonymous"): classic ZeroMQ behaviour."""

    name = "null"

    def __call__(self, request: ZapRequest) -> Decision | None:
        if request.mechanism != "NULL":
            return None
        return Decision.allow(self.name, "anonymous")


class PlainPasswords:
    """PLAIN user names and passwords. Compared in constant time; passwords are never logged.

    ``passwords`` is kept by reference, so a dict the caller mutates later is seen (as pyzmq).
    """

    name = "plain"

    def __init__(self, passwords: Mapping[str, str | bytes], encoding: str = "utf-8") -> None:
        self.passwords = passwords
        self.encoding = encoding

    def __call__(self, request: ZapRequest) -> Decision | None:
        if request.mechanism != "PLAIN":
            return None
        username, password = request.username, request.password
        if username is None or password is None:
            return Decision.deny(self.name, "Invalid credentials")
        expected = self.passwords.get(username)
        # compare against something even for unknown users, so timing does not reveal them
        wanted = expected if expected is not None else "\0unknown-user"
        wanted_bytes = wanted.encode(self.encoding) if isinstance(wanted, str) else bytes(wanted)
        matches = hmac.compare_digest(wanted_bytes, password)
        if expected is None:
            return Decision.deny(self.name, "Invalid username")
        if not matches:
            return Decision.deny(self.name, "Invalid password")
        return Decision.allow(self.name, username)


class CurveAllowAny:
    """Any CURVE client key is accepted (the handshake still proves the client holds it)."""

    name = "curve-allow-any"

    def __call__(self, request: ZapRequest) -> Decision | None:
        if request.mechanism != "CURVE":
            return None
        if request.client_key is None:
            return Decision.deny(self.name, "Invalid credentials")
        return Decision.allow(self.name)


KeyCallback: TypeAlias = Callable[[str, bytes], bool | Awaitable[bool]]


class CurveCallback:
    """pyzmq's credentials provider: ``callback(domain, z85_key: bytes) -> bool`` (or awaitable).

    Accepts a plain callable or an object with a ``callback`` method. ``domain`` is passed as
    pyzmq does (the empty domain as ``"*"``).
    """

    name = "curve-callback"

    def __init__(self, provider: KeyCallback | Any) -> None:
        method = getattr(provider, "callback", None)
        self._callback: KeyCallback = method if callable(method) else provider
        if not callable(self._callback):
            raise TypeError("auth: CurveCallback needs a callable or an object with .callback")

    def _finish(self, ok: object) -> Decision:
        if ok:
            return Decision.allow(self.name)
        return Decision.deny(self.name, "Unknown key")

    async def _later(self, pending: Awaitable[bool]) -> Decision:
        return self._finish(await pending)

    def __call__(self, request: ZapRequest) -> PolicyResult:
        if request.mechanism != "CURVE":
            return None
        key = request.client_key_z85
        if key is None:
            return Decision.deny(self.name, "Invalid credentials")
        outcome = self._callback(domain_key(request.domain), key.encode("ascii"))
        if inspect.isawaitable(outcome):
            return self._later(outcome)
        return self._finish(outcome)


class CurveKeyDirectory:
    """Trust the public certificates (``*.key``) in a directory, reloaded when it changes.

    At most every ``reload_interval`` seconds the directory listing (names, sizes, mtimes) is
    compared with the last one and the keys are re-read if anything changed: deleting a key
    file revokes it for new handshakes without a restart. Certificate metadata is passed on as
    ZAP metadata. Unreadable files are skipped with a warning; an unreadable directory trusts
    nobody.
    """

    name = "curve-directory"

    def __init__(
        self,
        location: str | os.PathLike[str],
        reload_interval: float = 1.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        log: logging.Logger | None = None,
    ) -> None:
        self.location = os.fspath(location)
        self.reload_interval = reload_interval
        self._clock = clock
        self._log = log or logging.getLogger("securemq.auth")
        self._keys: dict[bytes, dict[str, str]] = {}
        self._signature: tuple[tuple[str, int, int], ...] | None = None
        self._checked_at: float | None = None
        self.reload(force=True)

    def _listing(self) -> tuple[tuple[str, int, int], ...]:
        entries = []
        with os.scandir(self.location) as scan:
            for entry in scan:
                if entry.name.endswith(".key") and entry.is_file():
                    info = entry.stat()
                    entries.append((entry.name, info.st_mtime_ns, info.st_size))
        return tuple(sorted(entries))

    def reload(self, force: bool = False) -> bool:
        """Re-read the directory if it changed (or ``force``); True if keys were reloaded."""
        self._checked_at = self._clock()
        try:
            signature = self._listing()
        except OSError as exc:
            self._log.error(
                "auth: CURVE key directory %s unreadable: %s",
                quoted(str(self.location)), printable(str(exc)),
            )
            self._keys, self._signature = {}, None
            return True
        if not force and signature == self._signature:
            return False
        keys: dict[bytes, dict[str, str]] = {}
        for name, _, _ in signature:
            path = os.path.join(self.location, name)
            try:
                cert = read_certificate(path, public_only=True)
            except (OSError, ValueError) as exc:
                self._log.warning(
                    "auth: skipping certificate %s: %s", quoted(path), printable(str(exc))
                )
                continue
            keys[cert.public_key] = cert.metadata
        self._keys, self._signature = keys, signature
        return True

    @property
    def keys(self) -> dict[bytes, dict[str, str]]:
        """Trusted Z85 public keys and their certificate metadata (as currently loaded)."""
        return dict(self._keys)

    def _maybe_reload(self) -> None:
        now = self._clock()
        if self._checked_at is None or now - self._checked_at >= self.reload_interval:
            self.reload()

    def __call__(self, request: ZapRequest) -> Decision | None:
        if request.mechanism != "CURVE":
            return None
        key = request.client_key_z85
        if key is None:
            return Decision.deny(self.name, "Invalid credentials")
        self._maybe_reload()
        metadata = self._keys.get(key.encode("ascii"))
        if metadata is None:
            return Decision.deny(self.name, "Unknown key")
        return Decision.allow(self.name, metadata=metadata)
