"""CURVE certificate files (pyzmq's module path ``securemq.auth.certs``).

The code lives in the core module ``securemq.certs`` (the keygen needs it and the core may not
import ``securemq.auth``); this module re-exports it.
"""

from securemq.certs import (
    PASSPHRASE_ENV,
    Certificate,
    create_certificates,
    load_certificate,
    load_certificates,
    read_certificate,
)

__all__ = [
    "PASSPHRASE_ENV",
    "Certificate",
    "create_certificates",
    "load_certificate",
    "load_certificates",
    "read_certificate",
]
