"""securemq.auth: ZAP authentication (pyzmq-compatible), with pluggable policies.

Built only on securemq's public, pyzmq-compatible API: it also runs on a pyzmq context.
"""

import logging

from .asyncio import AsyncioAuthenticator
from .base import CURVE_ALLOW_ANY, Authenticator
from .certs import create_certificates, load_certificate, load_certificates
from .handler import AuditRecord, ZapHandler, decide
from .policies import (
    AccessRules,
    AddressPolicy,
    Chain,
    CurveAllowAny,
    CurveCallback,
    CurveKeyDirectory,
    Decision,
    NullAllowAll,
    PerDomain,
    PlainPasswords,
    Policy,
    ZapRequest,
)
from .thread import ThreadAuthenticator

# Audit records go to the "securemq.auth" logger; stay silent unless the application configures
# logging (the library convention), instead of printing refusals through logging's last resort.
logging.getLogger("securemq.auth").addHandler(logging.NullHandler())

__all__ = [
    "CURVE_ALLOW_ANY",
    "AccessRules",
    "AddressPolicy",
    "AsyncioAuthenticator",
    "AuditRecord",
    "Authenticator",
    "Chain",
    "CurveAllowAny",
    "CurveCallback",
    "CurveKeyDirectory",
    "Decision",
    "NullAllowAll",
    "PerDomain",
    "PlainPasswords",
    "Policy",
    "ThreadAuthenticator",
    "ZapHandler",
    "ZapRequest",
    "create_certificates",
    "decide",
    "load_certificate",
    "load_certificates",
]
