"""ZeroMQ over WebSocket (ZWS 2.0): the same REQ/REP over ws:// and then over wss://.

ws:// carries ZMTP in WebSocket messages, so a ZeroMQ service can sit behind HTTP
infrastructure (reverse proxies, load balancers that speak WebSocket); libzmq 4.3 and
securemq speak it to each other. wss:// puts TLS under it: here with a throwaway self-signed
certificate made for ``localhost`` (the client trusts exactly that certificate), and CURVE on
top, so the messages are end-to-end encrypted even where TLS is terminated by a proxy.

Needs the ``ws`` extra: ``pip install 'securemq[ws]'``.
"""

from __future__ import annotations

import datetime
import sys
import threading

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import securemq as zmq

TIMEOUT_MS = 5000


def self_signed_localhost() -> tuple[bytes, bytes]:
    """(certificate PEM, private key PEM) for the name localhost, valid for a day. Kept in
    memory: securemq takes PEM text in WSS_CERT_PEM / WSS_KEY_PEM, not file names."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def serve(rep: zmq.Socket, rounds: int) -> None:
    for _ in range(rounds):
        request = rep.recv_string()
        rep.send_string(request.replace("ping", "pong"))


def round_trips(rep: zmq.Socket, req: zmq.Socket, label: str) -> None:
    endpoint = rep.last_endpoint.decode()
    thread = threading.Thread(target=serve, args=(rep, 3), daemon=True)
    thread.start()
    req.connect(endpoint)
    print(f"{label}: connected to {endpoint}")
    for i in range(3):
        req.send_string(f"ping {i}")
        print(f"{label}: reply {req.recv_string()!r}")
    thread.join(TIMEOUT_MS / 1000)


def socket(ctx: zmq.Context, kind: int) -> zmq.Socket:
    sock = ctx.socket(kind)
    sock.linger = 0
    sock.rcvtimeo = sock.sndtimeo = TIMEOUT_MS
    return sock


def main() -> int:
    if not zmq.has("WS"):
        print("websocket: ws:// needs wsproto: pip install 'securemq[ws]'", file=sys.stderr)
        return 1
    ctx = zmq.Context()
    try:
        # 1. Plain ws://: anyone who can reach the port can talk (add a mechanism for more).
        rep, req = socket(ctx, zmq.REP), socket(ctx, zmq.REQ)
        rep.bind("ws://127.0.0.1:*")
        round_trips(rep, req, "ws")

        # 2. wss:// with CURVE inside: TLS proves the server's name to the client, CURVE
        #    authenticates both ends and encrypts end to end.
        cert_pem, key_pem = self_signed_localhost()
        server_public, server_secret = zmq.curve_keypair()
        client_public, client_secret = zmq.curve_keypair()
        rep, req = socket(ctx, zmq.REP), socket(ctx, zmq.REQ)
        rep.wss_cert_pem, rep.wss_key_pem = cert_pem, key_pem
        rep.curve_server, rep.curve_secretkey = True, server_secret
        rep.bind("wss://127.0.0.1:*")
        req.wss_trust_pem, req.wss_hostname = cert_pem, b"localhost"
        req.curve_serverkey = server_public
        req.curve_publickey, req.curve_secretkey = client_public, client_secret
        round_trips(rep, req, "wss+curve")

        # 3. A client that expects another server name never gets through.
        stranger = socket(ctx, zmq.REQ)
        stranger.wss_trust_pem, stranger.wss_hostname = cert_pem, b"bank.example"
        stranger.curve_serverkey = server_public
        stranger.curve_publickey, stranger.curve_secretkey = zmq.curve_keypair()
        stranger.connect(rep.last_endpoint.decode())
        stranger.send_string("ping from a misdirected client")
        admitted = rep.poll(500)
        print(f"wss: a client expecting bank.example was {'ADMITTED' if admitted else 'refused'}")
        return 1 if admitted else 0
    finally:
        ctx.destroy(linger=0)


if __name__ == "__main__":
    sys.exit(main())
