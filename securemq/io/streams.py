"""Which sans-IO connection a stream speaks: raw bytes for a STREAM socket; otherwise by
transport, ZMTP on tcp/ipc, ZWS (ZMTP over WebSocket, RFC 45) on ws, and ZWS inside TLS on wss.
The driver (``StreamEngine``) is the same for all of them."""

from __future__ import annotations

import ssl
from functools import partial
from typing import Any

from .. import socket_types
from ..constants import Errno, SocketType
from ..error import ZMQError
from ..options import SocketOptions
from ..transports.endpoint import Endpoint
from ..zmtp.connection import ZmtpConnection
from ..zmtp.mechanisms.base import Mechanism
from ..zmtp.radio_dish_connection import RadioDishConnection
from ..zmtp.raw import RawConnection
from ..zmtp.wire import ConnectionFactory, WireConnection

WS_TRANSPORTS = ("ws", "wss")


def zmtp_class(socket_type: int) -> type[ZmtpConnection]:
    """The ZMTP connection a socket type speaks (RADIO/DISH add JOIN/LEAVE)."""
    if socket_type in (SocketType.RADIO, SocketType.DISH):
        return RadioDishConnection
    return ZmtpConnection


def ws_available() -> bool:
    try:
        import wsproto  # noqa: F401
    except ImportError:
        return False
    return True


def require_ws(verb: str, endpoint: str) -> None:
    """ws/wss need the optional ``wsproto`` (``pip install securemq[ws]``)."""
    if not ws_available():
        raise ZMQError(
            Errno.EPROTONOSUPPORT,
            f"{verb}({endpoint!r}): ws:// and wss:// need wsproto (pip install 'securemq[ws]')",
        )


def tls_context(opts: SocketOptions, *, server: bool, endpoint: str) -> ssl.SSLContext:
    """The TLS context of a wss listener (WSS_CERT_PEM + WSS_KEY_PEM) or dialer
    (WSS_TRUST_PEM and/or WSS_TRUST_SYSTEM); a missing or unusable PEM is the caller's error."""
    from . import tls

    verb = "bind" if server else "connect"
    try:
        if server:
            if not opts.wss_cert_pem or not opts.wss_key_pem:
                raise ZMQError(
                    Errno.EINVAL,
                    f"{verb}({endpoint!r}): wss:// needs WSS_CERT_PEM and WSS_KEY_PEM",
                )
            return tls.server_context(opts.wss_cert_pem, opts.wss_key_pem)
        return tls.client_context(opts.wss_trust_pem, opts.wss_trust_system)
    except (ssl.SSLError, ValueError) as exc:
        # The error names the step, never the PEM text (it may hold a private key).
        raise ZMQError(
            Errno.EINVAL,
            f"{verb}({endpoint!r}): TLS: cannot load the PEM options ({type(exc).__name__})",
        ) from None


def _raw(opts: SocketOptions) -> ConnectionFactory:
    return partial(RawConnection, notify=opts.stream_notify)


def for_listener(socket_type: int, ep: Endpoint, opts: SocketOptions) -> ConnectionFactory:
    """What the streams accepted on a bound endpoint speak."""
    if socket_types.info(socket_type).raw:
        return _raw(opts)
    if ep.transport not in WS_TRANSPORTS:
        return zmtp_class(socket_type)
    require_ws("bind", str(ep))
    tls = tls_context(opts, server=True, endpoint=str(ep)) if ep.transport == "wss" else None
    return connection_factory(socket_type, ep.transport, accepted=True, tls=tls)


def for_dialer(socket_type: int, ep: Endpoint, opts: SocketOptions) -> ConnectionFactory:
    """What a stream dialed to a connected endpoint speaks (the ws client sends the endpoint's
    host and path in its upgrade; wss checks WSS_HOSTNAME, else the endpoint's host)."""
    if socket_types.info(socket_type).raw:
        return _raw(opts)
    if ep.transport not in WS_TRANSPORTS:
        return zmtp_class(socket_type)
    tls = None
    hostname = ep.host
    if ep.transport == "wss":
        tls = tls_context(opts, server=False, endpoint=str(ep))
        hostname = opts.wss_hostname.decode("utf-8", "replace") or ep.host
    return connection_factory(socket_type, ep.transport, accepted=False,
                              host=f"{ep.host}:{ep.port}", path=ep.path, tls=tls,
                              tls_hostname=hostname)


def connection_factory(
    socket_type: int,
    transport: str,
    *,
    accepted: bool,
    host: str = "",
    path: str = "/",
    tls: ssl.SSLContext | None = None,
    tls_hostname: str = "",
) -> ConnectionFactory:
    zmtp = zmtp_class(socket_type)
    if transport not in WS_TRANSPORTS:
        return zmtp
    return partial(_make_ws, zmtp=zmtp, client=not accepted, host=host, path=path, tls=tls,
                   tls_hostname=tls_hostname)


def _make_ws(
    *,
    zmtp: type[ZmtpConnection],
    client: bool,
    host: str,
    path: str,
    tls: ssl.SSLContext | None,
    tls_hostname: str,
    socket_type: int,
    mechanism: Mechanism,
    max_message_size: int,
    accepted: bool,
    frame_size_cap: int,
) -> WireConnection:
    from ..zmtp.zws import ZwsConnection

    ws: Any = ZwsConnection(
        client=client, socket_type=socket_type, mechanism=mechanism, host=host or "localhost",
        path=path, max_message_size=max_message_size, frame_size_cap=frame_size_cap,
        connection_class=zmtp,
    )
    if tls is None:
        wire: WireConnection = ws
        return wire
    from .tls import TlsConnection

    return TlsConnection(ws, tls, server_side=not client, server_hostname=tls_hostname or host)
