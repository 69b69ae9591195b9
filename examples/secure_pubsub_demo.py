"""Secure PUB/SUB demo ("ironhouse"): a CURVE publisher that trusts only known subscribers.

How this works
--------------
1. Key pairs for ``server`` and ``subscriber`` are created with the ``securemq-keygen`` helper
   (run as ``python -m securemq.keygen`` in a subprocess) unless they already exist.
2. The subscriber's PUBLIC certificate is copied into ``<keys>/authorized/``: the publisher's
   ``ThreadAuthenticator`` trusts exactly the ``*.key`` files of that directory.
3. A CURVE publisher binds a random loopback port and streams sensor readings.
4. The authorized subscriber receives and prints them (with the User-Id the server gave it).
5. An intruder with a fresh, unknown key pair tries the same: the authenticator refuses it
   (ZAP status 400), both monitors report HANDSHAKE_FAILED_AUTH, and it receives nothing.

Run: ``make demo`` or ``python examples/secure_pubsub_demo.py [--keys-dir DIR] [--count N]``.
Exits 0 when everything behaved as described, 1 otherwise, always within a few seconds.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from securemq.auth import AuditRecord, ThreadAuthenticator, load_certificate

import securemq as zmq
from securemq.utils.monitor import recv_monitor_message

DEFAULT_KEYS = Path(__file__).resolve().parent.parent / "keys"
STEP_TIMEOUT = 5.0  # seconds any single step may take before the demo gives up


def say(message: str) -> None:
    print(message, flush=True)


def ensure_keys(keys_dir: Path) -> None:
    """Create the server and subscriber key pairs with the keygen helper if they are absent."""
    for name in ("server", "subscriber"):
        if (keys_dir / f"{name}.key").exists() and (keys_dir / f"{name}.key_secret").exists():
            say(f"  - {name}: found {keys_dir / name}.key / .key_secret, reusing them")
            continue
        cmd = [sys.executable, "-m", "securemq.keygen", name, "--dir", str(keys_dir)]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=False)
        if result.returncode != 0:
            raise SystemExit(f"keygen failed for {name}: {result.stderr.strip()}")
        say(f"  - {name}: created with `securemq-keygen {name} --dir {keys_dir}`")


def wait_event(monitor: Any, wanted: int, deadline: float) -> dict[str, Any] | None:
    """Read monitor events until ``wanted`` shows up or the deadline passes."""
    while (left := deadline - time.monotonic()) > 0:
        if not monitor.poll(int(left * 1000) + 1):
            break
        event = recv_monitor_message(monitor)
        if event["event"] == wanted:
            return event
    return None


def reading() -> bytes:
    sensor, base = random.choice([("temp", 21.0), ("humidity", 45.0), ("pressure", 1013.0)])
    return f"sensor:{sensor} {base + random.uniform(-1.5, 1.5):.1f}".encode()


def curve_client(ctx: zmq.Context, server_public: bytes, public: bytes, secret: bytes) -> Any:
    sub = ctx.socket(zmq.SUB)
    sub.linger = 0
    sub.curve_serverkey = server_public
    sub.curve_publickey = public
    sub.curve_secretkey = secret
    sub.setsockopt(zmq.SUBSCRIBE, b"sensor:")
    return sub


def run(keys_dir: Path, count: int) -> bool:
    say("Step 1: key pairs (the keygen helper)")
    keys_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    ensure_keys(keys_dir)
    server_public, server_secret = load_certificate(keys_dir / "server.key_secret")
    sub_public, sub_secret = load_certificate(keys_dir / "subscriber.key_secret")
    assert server_secret is not None and sub_secret is not None

    authorized = keys_dir / "authorized"
    if authorized.exists():
        shutil.rmtree(authorized)
    authorized.mkdir(mode=0o700)
    shutil.copy(keys_dir / "subscriber.key", authorized / "subscriber.key")
    say(f"\nStep 2: the publisher trusts only the certificates in {authorized}")
    say("  - subscriber.key (public part only) copied there")

    records: list[AuditRecord] = []
    ctx = zmq.Context()
    ok = True
    try:
        with ThreadAuthenticator(ctx, on_decision=records.append) as auth:
            auth.configure_curve(domain="*", location=str(authorized))

            pub = ctx.socket(zmq.PUB)
            pub.linger = 0
            pub.curve_server = True
            pub.curve_publickey = server_public
            pub.curve_secretkey = server_secret
            pub_monitor = pub.get_monitor_socket()
            port = pub.bind_to_random_port("tcp://127.0.0.1")
            endpoint = f"tcp://127.0.0.1:{port}"
            say(f"\nStep 3: CURVE publisher listening on {endpoint}")
            say(f"  - server public key {server_public.decode()}")

            say("\nStep 4: the authorized subscriber connects")
            sub = curve_client(ctx, server_public, sub_public, sub_secret)
            sub.connect(endpoint)
            if wait_event(pub_monitor, zmq.EVENT_HANDSHAKE_SUCCEEDED, _deadline()) is None:
                say("  ! the handshake did not succeed in time")
                return False
            say("  - CURVE handshake succeeded, ZAP said 200")
            if not sync(pub, sub):
                say("  ! the subscription did not reach the publisher in time")
                return False
            say(f"  - receiving {count} sensor readings:")
            for _ in range(count):
                pub.send(reading())
                if not sub.poll(int(STEP_TIMEOUT * 1000)):
                    say("  ! a reading did not arrive in time")
                    return False
                frame = sub.recv(copy=False)
                say(f"      {frame.bytes.decode()}")
            say(f"  - {count} readings received over an encrypted, authenticated link")

            say("\nStep 5: an intruder with an unknown key pair tries the same")
            intruder_public, intruder_secret = zmq.curve_keypair()
            intruder = curve_client(ctx, server_public, intruder_public, intruder_secret)
            intruder_monitor = intruder.get_monitor_socket()
            intruder.connect(endpoint)
            say(f"  - intruder key {intruder_public.decode()} (not in {authorized.name}/)")
            denied = wait_event(pub_monitor, zmq.EVENT_HANDSHAKE_FAILED_AUTH, _deadline())
            if denied is None:
                say("  ! the publisher never reported the refusal")
                ok = False
            else:
                say(f"  - publisher monitor: HANDSHAKE_FAILED_AUTH, ZAP status {denied['value']}")
            told = wait_event(intruder_monitor, zmq.EVENT_HANDSHAKE_FAILED_AUTH, _deadline())
            if told is not None:
                say(f"  - intruder monitor:  HANDSHAKE_FAILED_AUTH, ZAP status {told['value']}")
            refusals = [r for r in records if r.status != 200]
            for record in refusals:
                say(
                    f"  - authenticator audit: {record.mechanism} from {record.address} -> "
                    f"{record.status} {record.reason!r} (policy {record.policy})"
                )
            if not refusals:
                ok = False

            window = 0.5
            received = 0
            stop = time.monotonic() + window
            while time.monotonic() < stop:
                pub.send(reading())
                if intruder.poll(20):
                    intruder.recv()
                    received += 1
                while sub.poll(0):
                    sub.recv()
            if received:
                say(f"  ! the intruder received {received} messages")
                ok = False
            else:
                say(f"  - intruder received nothing in {window:.1f} s of publishing: denied")

            for sock in (intruder_monitor, intruder, sub, pub_monitor):
                sock.close(linger=0)
            pub.disable_monitor()
            pub.close(linger=0)
    finally:
        ctx.destroy(linger=0)
    return ok


def _deadline() -> float:
    return time.monotonic() + STEP_TIMEOUT


def sync(pub: Any, sub: Any) -> bool:
    """PUB drops messages until the subscription arrives: publish a probe until one gets in."""
    deadline = _deadline()
    while time.monotonic() < deadline:
        pub.send(b"sensor:sync")
        if sub.poll(50):
            while sub.poll(50):
                sub.recv()
            return True
    return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--keys-dir", type=Path, default=DEFAULT_KEYS, help="key store")
    parser.add_argument("--count", type=int, default=10, help="readings to show")
    args = parser.parse_args(argv)
    say("securemq secure PUB/SUB demo (CURVE + ZAP, known subscribers only)\n")
    ok = run(args.keys_dir.resolve(), args.count)
    say("\nDemo OK: the authorized subscriber got the stream, the intruder got nothing."
        if ok else "\nDemo FAILED: see the messages above.")
    return 0 if ok else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
