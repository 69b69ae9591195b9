"""The client side of a SOCKS5 CONNECT (RFC 1928, username/password auth RFC 1929), sans-IO.

What libzmq's socks_connecter / socks.cpp send, byte for byte: a greeting offering exactly one
method (0x00 "no auth", or 0x02 "username/password" when SOCKS_USERNAME is set); the RFC 1929
sub-negotiation if the proxy picks 0x02; then CONNECT with the target as an IPv4 address
(ATYP 1) or IPv6 address (ATYP 4) when it is numeric, else as a domain name (ATYP 3, resolved
by the proxy, never locally). Any reply other than success fails the attempt (the connecter
then retries with its back-off).
"""

from __future__ import annotations

import ipaddress

NO_AUTH = 0x00
BASIC_AUTH = 0x02


class SocksError(Exception):
    """The proxy refused, or answered something that is not SOCKS5."""


def greeting(basic_auth: bool) -> bytes:
    return bytes([0x05, 0x01, BASIC_AUTH if basic_auth else NO_AUTH])


def auth_request(username: bytes, password: bytes) -> bytes:
    if len(username) > 255 or len(password) > 255:
        raise SocksError("SOCKS5: username and password are at most 255 bytes")
    return bytes([0x01, len(username)]) + username + bytes([len(password)]) + password


def connect_request(host: str, port: int) -> bytes:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        name = host.encode("idna")
        if len(name) > 255:
            raise SocksError(f"SOCKS5: host name {host!r} is longer than 255 bytes") from None
        target = bytes([0x03, len(name)]) + name
    else:
        target = bytes([0x01 if address.version == 4 else 0x04]) + address.packed
    return bytes([0x05, 0x01, 0x00]) + target + port.to_bytes(2, "big")


class Socks5Client:
    """Feed it what the proxy sends; it says what to send next and when the tunnel is up."""

    def __init__(self, host: str, port: int, username: bytes = b"", password: bytes = b""
                 ) -> None:
        self._host = host
        self._port = port
        self._username = username
        self._password = password
        self._state = "choice"
        self._buf = b""
        self.done = False

    def start(self) -> bytes:
        return greeting(bool(self._username))

    def receive(self, data: bytes) -> bytes:
        """Bytes for the proxy (possibly none); ``done`` turns True once CONNECT succeeded.
        Raises SocksError on a refusal or a malformed answer."""
        self._buf += data
        out = b""
        while not self.done:
            step = self._step()
            if step is None:
                break
            out += step
        return out

    def needed(self) -> int:
        """How many bytes to read next: never more, so that nothing the target sends after the
        tunnel is up (its ZMTP greeting) is taken here."""
        have = len(self._buf)
        if self._state != "reply":
            return max(1, 2 - have)
        if have < 5:
            return 5 - have
        size = {0x01: 4, 0x04: 16}.get(self._buf[3], 1 + self._buf[4])
        return max(1, 4 + size + 2 - have)

    def _take(self, count: int) -> bytes | None:
        if len(self._buf) < count:
            return None
        head, self._buf = self._buf[:count], self._buf[count:]
        return head

    def _step(self) -> bytes | None:
        if self._state == "choice":
            reply = self._take(2)
            if reply is None:
                return None
            if reply[0] != 0x05:
                raise SocksError(f"SOCKS5: not a SOCKS5 proxy (version {reply[0]})")
            if reply[1] == BASIC_AUTH and self._username:
                self._state = "auth"
                return auth_request(self._username, self._password)
            if reply[1] != NO_AUTH:
                raise SocksError(f"SOCKS5: the proxy accepts none of our methods ({reply[1]})")
            self._state = "reply"
            return connect_request(self._host, self._port)
        if self._state == "auth":
            reply = self._take(2)
            if reply is None:
                return None
            if reply[0] != 0x01 or reply[1] != 0x00:
                raise SocksError("SOCKS5: username/password refused")
            self._state = "reply"
            return connect_request(self._host, self._port)
        # "reply": VER REP RSV ATYP BND.ADDR BND.PORT
        if len(self._buf) < 5:
            return None
        version, code, reserved, atyp = self._buf[:4]
        if version != 0x05 or reserved != 0x00 or atyp not in (0x01, 0x03, 0x04):
            raise SocksError("SOCKS5: malformed reply to CONNECT")
        if code != 0x00:
            raise SocksError(f"SOCKS5: CONNECT refused by the proxy (reply {code})")
        size = {0x01: 4, 0x04: 16}.get(atyp, 1 + self._buf[4])
        if self._take(4 + size + 2) is None:
            return None
        self.done = True
        return b""
