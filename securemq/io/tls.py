"""TLS for wss://, as a layer around a connection object, with the standard library's ``ssl``.

How this works: ``TlsConnection`` wraps the ZWS connection (anything with ZmtpConnection's
surface) in an ``ssl.SSLObject`` over two ``MemoryBIO``s, so TLS is as sans-IO as the rest: the
engine feeds it the bytes it reads (``receive_data``) and sends what ``data_to_send`` returns.
Until the TLS handshake completes, the inner connection's output (the HTTP upgrade of a client)
waits; after it, inner output is encrypted and incoming records are decrypted and handed to the
inner connection. A TLS failure (bad certificate, wrong host name, garbage) ends the connection
like any handshake failure. Every other attribute is the inner connection's.

Contexts come from the socket's options, as libzmq's: a server needs ``WSS_CERT_PEM`` and
``WSS_KEY_PEM`` (PEM text); a client trusts ``WSS_TRUST_PEM`` (PEM text) or, with
``WSS_TRUST_SYSTEM``, the system's store, and checks the name in ``WSS_HOSTNAME`` (else the
endpoint's host).
"""

from __future__ import annotations

import errno
import os
import ssl
import tempfile
from collections.abc import Iterable, Sequence

from ..zmtp.errors import NoDetailFailure, ZmtpError
from ..zmtp.events import ConnectionFailed, Event, messages_first
from ..zmtp.mechanisms.base import ZapReplyData
from ..zmtp.wire import WireConnection

READ_CHUNK = 1 << 16


class TlsConnection:
    def __init__(self, inner: WireConnection, context: ssl.SSLContext, *, server_side: bool,
                 server_hostname: str | None) -> None:
        self.inner = inner
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._tls = context.wrap_bio(self._incoming, self._outgoing, server_side=server_side,
                                     server_hostname=None if server_side else server_hostname)
        self._established = False
        self._failed = False
        self._handshake()  # a client's ClientHello goes out at once

    def _handshake(self) -> list[Event]:
        try:
            self._tls.do_handshake()
        except ssl.SSLWantReadError:
            return []
        except (ssl.SSLError, ssl.CertificateError) as exc:
            return self._fail(f"TLS: handshake failed: {exc}")
        self._established = True
        return []

    def _fail(self, message: str) -> list[Event]:
        self._failed = True
        error = NoDetailFailure(message, errno.EPROTO)
        return [ConnectionFailed(error, during_handshake=True)]

    @property
    def peer_version(self) -> tuple[int, int]:
        return self.inner.peer_version

    def start(self) -> list[Event]:
        """Nothing happens before the peer speaks (a client's ClientHello is queued)."""
        return []

    def receive_data(self, data: bytes) -> list[Event]:
        if self._failed:
            return []
        if not data:
            return list(self.inner.receive_data(b""))
        self._incoming.write(data)
        events: list[Event] = []
        if not self._established:
            events.extend(self._handshake())
            if not self._established:
                return events
        while True:
            try:
                plain = self._tls.read(READ_CHUNK)
            except ssl.SSLWantReadError:
                break
            except ssl.SSLZeroReturnError:
                events.extend(self.inner.receive_data(b""))
                break
            except ssl.SSLError as exc:
                events.extend(self._fail(f"TLS: {exc}"))
                break
            if not plain:
                events.extend(self.inner.receive_data(b""))
                break
            events.extend(self.inner.receive_data(plain))
        return events

    def data_to_send(self) -> list[bytes]:
        if self._established and not self._failed and self.inner.wants_write():
            for chunk in self.inner.data_to_send():
                self._tls.write(bytes(chunk))
        pending = self._outgoing.pending
        return [self._outgoing.read(pending)] if pending else []

    def receive_traffic(self, data: bytes, out: list[list[bytes]]) -> list[Event]:
        return messages_first(self.receive_data(data), out)

    def wants_write(self) -> bool:
        return bool(self._outgoing.pending) or (
            self._established and not self._failed and self.inner.wants_write()
        )

    # The rest only queues output in the inner connection; data_to_send encrypts it.
    def send_messages(self, msgs: Iterable[Sequence[bytes]]) -> None:
        self.inner.send_messages(msgs)

    def send_ping(self, ttl_ms: int, context: bytes = b"") -> None:
        self.inner.send_ping(ttl_ms, context)

    def zap_reply(self, reply: ZapReplyData) -> list[Event]:
        return self.inner.zap_reply(reply)

    def zap_failed(self, error: ZmtpError) -> list[Event]:
        return self.inner.zap_failed(error)


def _load_pem_chain(context: ssl.SSLContext, cert_pem: bytes, key_pem: bytes) -> None:
    """``load_cert_chain`` takes files: the PEM text goes through a private temporary
    directory (0700, files 0600), removed at once."""
    with tempfile.TemporaryDirectory(prefix="securemq-wss-") as directory:
        paths = []
        for name, data in (("cert.pem", cert_pem), ("key.pem", key_pem)):
            path = os.path.join(directory, name)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            paths.append(path)
        context.load_cert_chain(paths[0], paths[1])


def server_context(cert_pem: bytes, key_pem: bytes) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    _load_pem_chain(context, cert_pem, key_pem)
    return context


def client_context(trust_pem: bytes, trust_system: bool) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies the chain and the host name
    if trust_pem:
        context.load_verify_locations(cadata=trust_pem.decode("ascii", "replace"))
    if trust_system or not trust_pem:
        context.load_default_certs()
    return context
