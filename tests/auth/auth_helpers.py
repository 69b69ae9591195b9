"""Helpers for the auth tests: ZAP request frames as a REP-bound handler receives them."""

from __future__ import annotations


def zap_request(
    mechanism: str,
    *credentials: bytes,
    domain: str = "",
    address: str = "127.0.0.1",
    request_id: bytes = b"1",
) -> list[bytes]:
    """The frames a REP-bound ZAP handler receives (RFC 27, delimiter stripped by REP)."""
    return [
        b"1.0",
        request_id,
        domain.encode(),
        address.encode(),
        b"IDENT",
        mechanism.encode(),
        *credentials,
    ]
