"""The security examples and the `make demo` script, each run as a subprocess.

Every example must exit 0 on its own within its deadline and print the lines that show the
accepted and the refused cases. The demo runs with ``--keys-dir`` in a temp dir so the repo's
``keys/`` is left alone.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
DEADLINE_S = 30


def run_example(name: str, *args: str, cwd: Path | None = None) -> str:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        capture_output=True,
        text=True,
        timeout=DEADLINE_S,
        cwd=cwd or REPO,
        env=env,
        check=False,
    )
    shown = f"{result.stdout}\n{result.stderr}"
    assert result.returncode == 0, f"{name} exited {result.returncode}:\n{shown}"
    return result.stdout


@pytest.mark.timeout(60)
def test_demo_generates_keys_streams_and_denies_the_intruder(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    repo_keys_before = sorted(p.name for p in (REPO / "keys").iterdir())
    out = run_example("secure_pubsub_demo.py", "--keys-dir", str(keys), cwd=tmp_path)
    for name in ("server", "subscriber"):
        assert (keys / f"{name}.key").is_file()
        secret = keys / f"{name}.key_secret"
        assert secret.is_file() and secret.stat().st_mode & 0o077 == 0
        assert f"{name}: created with `securemq-keygen" in out
    assert sorted(p.name for p in (keys / "authorized").iterdir()) == ["subscriber.key"]
    readings = [line.strip() for line in out.splitlines() if line.strip().startswith("sensor:")]
    assert len(readings) == 10
    for line in readings:
        topic, value = line.split()
        assert topic in {"sensor:temp", "sensor:humidity", "sensor:pressure"}
        float(value)
    assert "publisher monitor: HANDSHAKE_FAILED_AUTH, ZAP status 400" in out
    assert "-> 400 'Unknown key'" in out  # the authenticator's audit record
    assert "intruder received nothing" in out
    assert "Demo OK" in out

    # A second run reuses the keys instead of regenerating them.
    before = (keys / "server.key_secret").read_bytes()
    again = run_example("secure_pubsub_demo.py", "--keys-dir", str(keys), "--count", "3")
    assert "server: found" in again and "Demo OK" in again
    assert (keys / "server.key_secret").read_bytes() == before
    # --keys-dir keeps the demo out of the repository's own key store.
    assert sorted(p.name for p in (REPO / "keys").iterdir()) == repo_keys_before


def test_grasslands() -> None:
    out = run_example("grasslands.py")
    assert "server received b'Hello' from 127.0.0.1" in out
    assert "grasslands: OK" in out


def test_strawhouse_allows_then_denies_by_address() -> None:
    out = run_example("strawhouse.py")
    assert "strawhouse[allowed]: server monitor: HANDSHAKE_SUCCEEDED" in out
    assert "strawhouse[allowed]: authenticator said 200" in out and "ACCEPTED" in out
    assert "strawhouse[denied]: server monitor: HANDSHAKE_FAILED_AUTH (status 400)" in out
    assert "strawhouse[denied]: server received nothing: DENIED" in out
    assert "strawhouse: OK" in out


def test_woodhouse_password_right_and_wrong() -> None:
    out = run_example("woodhouse.py")
    assert "from User-Id 'admin': ACCEPTED" in out
    assert "woodhouse: ZAP status 400, server received nothing: DENIED" in out
    assert "secret" not in out and "guess" not in out  # passwords are never printed
    assert "woodhouse: OK" in out


def test_stonehouse_any_client_key() -> None:
    out = run_example("stonehouse.py")
    assert ": ACCEPTED" in out
    assert "HANDSHAKE_FAILED_PROTOCOL" in out and "REFUSED" in out
    assert "stonehouse: OK" in out


def test_ironhouse_known_clients_only() -> None:
    out = run_example("ironhouse.py")
    assert "b'Hello from alice'" in out and "ACCEPTED" in out
    assert "HANDSHAKE_FAILED_AUTH (value 400)" in out
    assert "server received nothing from mallory: DENIED" in out
    assert "ironhouse: OK" in out


def test_custom_authenticator_user_and_role_metadata() -> None:
    out = run_example("custom_authenticator.py")
    assert "User-Id=alice Role=reader" in out
    assert "User-Id=bob Role=admin" in out
    assert "eve refused with ZAP status 400" in out
    assert "custom: OK" in out


def test_key_rotation_serves_both_keys_then_retires_the_old_one() -> None:
    out = run_example("key_rotation.py")
    for name in ("old-key-client", "new-key-client", "late-new-key-client",
                 "old-key-client (connected before)", "two-key-client"):
        assert f"key rotation: {name}: server got b'hello from {name}'" in out
    assert ("late-old-key-client: server monitor: HANDSHAKE_FAILED_PROTOCOL "
            "(ZMTP_CRYPTOGRAPHIC); nothing delivered: REFUSED") in out
    assert "two-key-client: 1 attempt(s) went unanswered" in out
    assert "key rotation: OK" in out


def test_revocation_closes_the_revoked_connection_only() -> None:
    out = run_example("revocation.py")
    assert "server got b'hi from alice' from alice" in out
    assert "[log securemq.io] revocation: closing connection" in out
    assert "server monitor: DISCONNECTED" in out
    assert "alice's monitor: her reconnect was refused with ZAP status 400" in out
    assert "server got b'bob is still here' from bob" in out
    assert "revocation: OK" in out


def test_authorization_rules_from_the_decision() -> None:
    out = run_example("authorization.py")
    assert "dashboard received [b'sensor:temp 21.5', b'sensor:temp 21.7']" in out
    assert "ops received [b'sensor:temp 21.5', b'sensor:humidity 40', b'sensor:temp 21.7']" in out
    assert 'refused a subscription to "sensor:"' in out and 'user_id="dashboard"' in out
    assert "ROUTER got b'hello from alice' from b'alice'" in out
    assert "ROUTER refused {'read_only_dropped': 1, 'routing_id_replaced': 1}" in out
    assert "authorization: OK" in out
