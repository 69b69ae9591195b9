"""Authenticator: pyzmq's configuration verbs, built on the pluggable policies.

How this works
--------------
An ``Authenticator`` is itself a policy. For each request it asks, in order:

1. the address allow/deny list (``allow()`` / ``deny()``): it applies to every mechanism first;
2. custom policies from ``add_policy()``: those for every domain, then those for this domain;
3. the mechanism's built-in check, with pyzmq's exact semantics:
   NULL -> 200 "anonymous"; PLAIN -> the passwords of the domain; CURVE -> allow-any, else the
   credentials-provider callbacks (if any is configured), else the key directory of the domain;
   GSSAPI -> 200 with the principal; any other mechanism -> 400.

Domains match exactly and the configuration domain ``"*"`` means the EMPTY ZAP domain, as in
pyzmq (``"*"`` is not a wildcard). As in pyzmq, ``configure_curve(location=CURVE_ALLOW_ANY)``
accepts any CURVE key in every domain until another ``configure_curve*`` call turns it off;
for a per-domain allow-any use ``add_policy(CurveAllowAny(), domain=...)``.

``start()`` binds a REP socket at ``inproc://zeromq.zap.01`` and ``handle_zap_message(msg)``
answers one request on it (pyzmq's manual mode); ``ThreadAuthenticator`` serves in a thread.

securemq additions
------------------
Authorization: ``set_rules(user_id, AccessRules(...))`` attaches rules (subscription prefixes,
read-only, routing ids) to every 200 for that User-Id whose decision has none of its own; the
server's socket enforces them (docs/SECURITY.md, "Authorization").

Revocation that bites (opt-in: ``revoke_live=True``, or ``configure_curve(...,
revoke_live=True)`` / ``configure_plain(..., revoke_live=True)``): libzmq asks ZAP only during a
handshake, so removing a key file or a user refuses the next handshake and leaves live
connections up. The authenticator remembers which CURVE keys its key directories and which
PLAIN users its passwords accepted; with ``revoke_live`` it checks them, at most every
``curve_reload_interval`` seconds (the thread and asyncio runners do it between requests; in
pyzmq's manual mode call ``refresh()``), against the directory (re-read if it changed) and the
passwords now (a changed password counts as a removal), and asks the context to close the live
connections authenticated with what is gone (``Context.close_connections``: a securemq Context
only). ``revoke_connections()`` does it for one key or user at once, for what the authenticator
cannot check by itself (callbacks, custom policies, allow-any).
"""

from __future__ import annotations

import hashlib
import hmac
import importlib
import logging
import os
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any

from securemq import AccessRules, z85
from securemq.constants import LINGER, REP, ZAP_ENDPOINT
from securemq.safetext import quoted

from .handler import AuditRecord, ZapHandler
from .policies import (
    AddressPolicy,
    Chain,
    CurveCallback,
    CurveKeyDirectory,
    Decision,
    NullAllowAll,
    PerDomain,
    PlainPasswords,
    Policy,
    PolicyResult,
    ZapRequest,
    domain_key,
)

__all__ = ["CURVE_ALLOW_ANY", "Authenticator"]

CURVE_ALLOW_ANY = "*"


def _default_context() -> Any:
    module = importlib.import_module("securemq")
    context_class = getattr(module, "Context", None)
    if context_class is None:
        raise RuntimeError("auth: securemq.Context is not available; pass context= explicitly")
    return context_class.instance()


class Authenticator:
    """ZAP authentication configured with pyzmq's verbs (see the module docstring).

    ``context`` is any object with pyzmq's ``Context`` API (securemq's or pyzmq's).
    ``on_decision`` receives an ``AuditRecord`` for every decision.
    """

    name = "authenticator"

    def __init__(
        self,
        context: Any = None,
        encoding: str = "utf-8",
        log: logging.Logger | None = None,
        *,
        on_decision: Callable[[AuditRecord], None] | None = None,
        curve_reload_interval: float = 1.0,
        revoke_live: bool = False,
    ) -> None:
        self.context: Any = context if context is not None else _default_context()
        self.encoding = encoding
        self.log = log or logging.getLogger("securemq.auth")
        self.on_decision = on_decision
        self.curve_reload_interval = curve_reload_interval
        # securemq: close live connections of removed keys and users (see the module doc).
        self.revoke_live = revoke_live
        # securemq: authorization rules by User-Id (set_rules).
        self.rules: dict[str, AccessRules] = {}
        # What the key directories and passwords granted (refresh checks it against them now):
        # (domain, Z85 key), and (domain, user) -> a keyed HMAC of the password it used (no
        # second copy of any password).
        self._granted_keys: dict[tuple[str, bytes], bool] = {}
        self._granted_users: dict[tuple[str, str], bytes] = {}
        self._fingerprint_key = secrets.token_bytes(32)
        self._refreshed_at: float | None = None
        self._warned_no_revocation = False
        self.allow_any = False
        self.passwords: dict[str, Mapping[str, str | bytes]] = {}
        self.certs: dict[str, CurveKeyDirectory] = {}
        self.credentials_providers: dict[str, CurveCallback] = {}
        self._address = AddressPolicy()
        self._global_policies: list[Policy] = []
        self._domain_policies: dict[str, list[Policy]] = {}
        self.zap_socket: Any = None
        self.handler = ZapHandler(
            self,
            encoding=encoding,
            curve_user_id=self._curve_user_id,
            on_decision=self._emit,
            log=self.log,
            rules_for=self._rules_for,
        )

    # -- pyzmq's verbs ------------------------------------------------------------------------

    def allow(self, *addresses: str) -> None:
        """Accept only these addresses (exact strings or CIDR networks like "10.0.0.0/8")."""
        self._address.add_allow(*addresses)
        self.log.debug("auth: allowing %s", ",".join(addresses))

    def deny(self, *addresses: str) -> None:
        """Refuse these addresses (exact strings or CIDR networks); others continue."""
        self._address.add_deny(*addresses)
        self.log.debug("auth: denying %s", ",".join(addresses))

    def configure_plain(
        self, domain: str = "*", passwords: Mapping[str, str | bytes] | None = None,
        *, revoke_live: bool | None = None,
    ) -> None:
        """PLAIN user names/passwords for ``domain`` ("*" = the empty domain).

        The mapping is kept by reference: later changes to it take effect. ``revoke_live``
        (securemq): set ``self.revoke_live`` (removing a user, or changing its password, then
        closes its live connections).
        """
        if revoke_live is not None:
            self.revoke_live = revoke_live
        if passwords:
            self.passwords[domain] = passwords
        self.log.debug("auth: configure plain for domain %r", domain)

    def configure_curve(self, domain: str = "*", location: str | os.PathLike[str] = ".",
                        *, revoke_live: bool | None = None) -> None:
        """CURVE client keys for ``domain``: a directory of ``*.key`` certificates (reloaded
        when it changes) or ``CURVE_ALLOW_ANY``. ``revoke_live`` (securemq): set
        ``self.revoke_live`` (deleting a key file then closes that key's live connections)."""
        if revoke_live is not None:
            self.revoke_live = revoke_live
        self.log.debug("auth: configure curve for domain %r: %s", domain, location)
        if location == CURVE_ALLOW_ANY:
            self.allow_any = True
            return
        self.allow_any = False
        self.certs[domain] = CurveKeyDirectory(location, self.curve_reload_interval, log=self.log)

    def configure_curve_callback(self, domain: str = "*", credentials_provider: Any = None) -> None:
        """CURVE keys checked by ``provider.callback(domain, z85_key) -> bool`` (or a plain
        callable; sync or async)."""
        self.allow_any = False
        if credentials_provider is None:
            self.log.error("auth: no credentials_provider given for domain %r", domain)
            return
        self.credentials_providers[domain] = CurveCallback(credentials_provider)

    def configure_gssapi(self, domain: str = "*", location: str | None = None) -> None:
        """No-op, as in pyzmq (GSSAPI needs no configuration here)."""

    def curve_user_id(self, client_public_key: bytes) -> str:
        """User-Id of an accepted CURVE client: its Z85 key. Override to map keys to names."""
        return z85.encode(client_public_key).decode("ascii")

    # -- securemq additions -------------------------------------------------------------------

    def add_policy(self, policy: Policy, domain: str | None = None) -> None:
        """Add a custom policy, asked after the address check and before the built-ins.

        ``domain=None``: every domain; otherwise that exact domain ("*" = the empty one).
        """
        if domain is None:
            self._global_policies.append(policy)
        else:
            self._domain_policies.setdefault(domain, []).append(policy)

    def decide(self, frames: list[bytes]) -> list[bytes] | None:
        """Reply frames for one request (no socket involved)."""
        return self.handler.decide(frames)

    def set_rules(self, user_id: str, rules: AccessRules | None) -> None:
        """Authorization rules for every peer accepted as ``user_id`` (its User-Id: the PLAIN
        user name, the CURVE key in Z85 unless ``curve_user_id`` says otherwise) whose decision
        carries no rules of its own; ``None`` removes them. They apply to new handshakes."""
        if rules is None:
            self.rules.pop(user_id, None)
        else:
            self.rules[user_id] = rules

    def _rules_for(self, user_id: str) -> AccessRules | None:
        return self.rules.get(user_id)

    # -- revocation (securemq) ----------------------------------------------------------------

    def revoke_connections(
        self,
        *,
        user_id: str | None = None,
        curve_key: bytes | str | None = None,
        plain_username: str | None = None,
        domain: str | None = None,
        reason: str = "revoked by the authenticator",
    ) -> int:
        """Close the context's live connections ZAP accepted with this User-Id, CURVE key or
        PLAIN user (every criterion given must match; ``domain`` as in the configure verbs);
        how many were closed. Needs a securemq Context (0 and an error logged otherwise)."""
        close = getattr(self.context, "close_connections", None)
        if close is None:
            if not self._warned_no_revocation:
                self._warned_no_revocation = True
                self.log.error("auth: cannot close live connections: the context is not a "
                               "securemq Context (no close_connections)")
            return 0
        zap_domain = None if domain is None else ("" if domain == "*" else domain)
        closed = int(close(user_id=user_id, curve_key=curve_key,
                           plain_username=plain_username, zap_domain=zap_domain,
                           reason=reason))
        self.log.warning(
            "auth: revoked %s in domain %s: closed %d live connection(s)",
            _principal(user_id, curve_key, plain_username),
            quoted(domain if domain is not None else "(any)"), closed,
        )
        return closed

    def maybe_refresh(self) -> int:
        """``refresh()`` when ``revoke_live`` is on and ``curve_reload_interval`` has passed."""
        if not self.revoke_live:
            return 0
        now = time.monotonic()
        if self._refreshed_at is not None and now - self._refreshed_at < self.curve_reload_interval:
            return 0
        return self.refresh()

    def refresh(self) -> int:
        """Check what this authenticator granted against its policy now: CURVE keys accepted
        from a domain's key directory (re-read if it changed) and PLAIN users accepted with
        a domain's passwords (a changed password counts as a removal). With ``revoke_live``,
        close the live connections of what is gone; returns how many were closed."""
        self._refreshed_at = time.monotonic()
        closed = 0
        keys_now: dict[str, frozenset[bytes]] = {}
        for domain, key in list(self._granted_keys):
            if domain not in keys_now:
                directory = self.certs.get(domain)
                if directory is not None:
                    directory.reload()  # (only when the listing changed)
                keys_now[domain] = frozenset(directory.keys) if directory is not None else (
                    frozenset())
            if key in keys_now[domain] or not self.revoke_live:
                continue
            if not self._granted_keys.pop((domain, key), False):
                continue  # (another thread's refresh took it)
            closed += self.revoke_connections(
                curve_key=key, domain=domain, reason="CURVE key removed from the trusted directory")
        for (domain, user), fingerprint in list(self._granted_users.items()):
            passwords = self.passwords.get(domain)
            password = passwords.get(user) if passwords is not None else None
            if password is not None and hmac.compare_digest(self._fingerprint(password),
                                                            fingerprint):
                continue
            if not self.revoke_live or self._granted_users.pop((domain, user), None) is None:
                continue
            closed += self.revoke_connections(
                plain_username=user, domain=domain,
                reason="PLAIN user removed or its password changed")
        return closed

    def _granted(self, record: AuditRecord) -> None:
        """Remember what the built-in key directories and passwords accepted (refresh)."""
        if record.status != 200 or record.principal is None:
            return
        domain = domain_key(record.domain)
        if record.mechanism == "CURVE" and record.policy == CurveKeyDirectory.name:
            directory = self.certs.get(domain)
            key = record.principal.encode("ascii")
            if directory is not None and key in directory.keys:
                self._granted_keys[(domain, key)] = True
        elif record.mechanism == "PLAIN" and record.policy == PlainPasswords.name:
            passwords = self.passwords.get(domain)
            password = passwords.get(record.principal) if passwords is not None else None
            if password is not None:
                self._granted_users[(domain, record.principal)] = self._fingerprint(password)

    def _fingerprint(self, password: str | bytes) -> bytes:
        raw = password.encode(self.encoding) if isinstance(password, str) else bytes(password)
        return hmac.new(self._fingerprint_key, raw, hashlib.sha256).digest()

    # -- the policy ---------------------------------------------------------------------------

    def __call__(self, request: ZapRequest) -> PolicyResult:
        per_domain = PerDomain(
            {key: Chain(*policies) for key, policies in self._domain_policies.items()}
        )
        return Chain(self._address, *self._global_policies, per_domain, self._builtin)(request)

    def _builtin(self, request: ZapRequest) -> PolicyResult:
        mechanism = request.mechanism
        if mechanism == "NULL":
            return NullAllowAll()(request)
        if mechanism == "PLAIN":
            return self._plain(request)
        if mechanism == "CURVE":
            return self._curve(request)
        if mechanism == "GSSAPI":
            if len(request.credentials) != 1:
                return Decision.deny("gssapi", "Invalid credentials")
            return Decision.allow("gssapi")
        return Decision.deny(self.name, f"Unsupported mechanism {mechanism[:20]}")

    def _plain(self, request: ZapRequest) -> PolicyResult:
        if len(request.credentials) != 2:
            return Decision.deny("plain", "Invalid credentials")
        if not self.passwords:
            return Decision.deny("plain", "No passwords defined")
        passwords = self.passwords.get(domain_key(request.domain))
        if passwords is None:
            return Decision.deny("plain", "Invalid domain")
        return PlainPasswords(passwords, self.encoding)(request)

    def _curve(self, request: ZapRequest) -> PolicyResult:
        if request.client_key is None:
            return Decision.deny("curve", "Invalid credentials")
        if self.allow_any:
            return Decision.allow("curve-allow-any")
        key = domain_key(request.domain)
        if self.credentials_providers:
            provider = self.credentials_providers.get(key)
            if provider is None:
                return Decision.deny("curve-callback", "Unknown domain")
            return provider(request)
        directory = self.certs.get(key)
        if directory is None:
            return Decision.deny("curve", "Unknown domain")
        return directory(request)

    def _curve_user_id(self, key: bytes) -> str:
        return self.curve_user_id(key)

    def _emit(self, record: AuditRecord) -> None:
        self._granted(record)
        if self.on_decision is not None:
            self.on_decision(record)

    # -- pyzmq's manual mode ------------------------------------------------------------------

    def start(self) -> None:
        """Create and bind the ZAP socket (serve it yourself with ``handle_zap_message``)."""
        self.zap_socket = self._bind_zap_socket()

    def _bind_zap_socket(self) -> Any:
        sock = self.context.socket(REP)
        try:
            sock.setsockopt(LINGER, 0)
            sock.bind(ZAP_ENDPOINT)
        except Exception:
            sock.close()
            raise
        self.log.debug("auth: ZAP handler bound at %s", ZAP_ENDPOINT)
        return sock

    def stop(self) -> None:
        """Close the ZAP socket."""
        if self.zap_socket is not None:
            self.zap_socket.close()
        self.zap_socket = None

    async def handle_zap_message(self, msg: list[bytes]) -> None:
        """Answer one request received on ``zap_socket`` (awaits async policies)."""
        reply = await self.handler.decide_async(msg)
        if reply is None:
            reply = [b"1.0", b"", b"400", b"Malformed request", b"", b""]
        self.zap_socket.send_multipart(reply)


def _principal(user_id: str | None, curve_key: bytes | str | None,
               plain_username: str | None) -> str:
    parts = []
    if user_id is not None:
        parts.append(f"user_id={quoted(user_id)}")
    if curve_key is not None:
        key = curve_key if isinstance(curve_key, str) else (
            curve_key.decode("ascii", "replace") if len(curve_key) == 40
            else z85.encode(curve_key).decode("ascii"))
        parts.append(f"curve_key={quoted(key)}")
    if plain_username is not None:
        parts.append(f"plain_username={quoted(plain_username)}")
    return " ".join(parts)
