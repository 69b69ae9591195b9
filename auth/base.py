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
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Callable, Mapping
from typing import Any

from securemq import AccessRules, z85
from securemq.constants import LINGER, REP, ZAP_ENDPOINT

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
    ) -> None:
        self.context: Any = context if context is not None else _default_context()
        self.encoding = encoding
        self.log = log or logging.getLogger("securemq.auth")
        self.on_decision = on_decision
        self.curve_reload_interval = curve_reload_interval
        # securemq: authorization rules by User-Id (set_rules).
        self.rules: dict[str, AccessRules] = {}
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
        self, domain: str = "*", passwords: Mapping[str, str | bytes] | None = None
    ) -> None:
        """PLAIN user names/passwords for ``domain`` ("*" = the empty domain).

        The mapping is kept by reference: later changes to it take effect.
        """
        if passwords:
            self.passwords[domain] = passwords
        self.log.debug("auth: configure plain for domain %r", domain)

    def configure_curve(self, domain: str = "*", location: str | os.PathLike[str] = ".") -> None:
        """CURVE client keys for ``domain``: a directory of ``*.key`` certificates (reloaded
        when it changes) or ``CURVE_ALLOW_ANY``."""
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
