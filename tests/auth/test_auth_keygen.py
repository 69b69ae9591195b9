"""The securemq-keygen CLI: files, modes, --force, --json, output format, exit codes."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import zmq.auth.certs as pyzmq_certs

from securemq import z85
from securemq.certs import load_certificate
from securemq.keygen import main


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_writes_pair_and_prints_public_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keydir = tmp_path / "keys"
    assert main(["alice", "--dir", str(keydir)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "== CURVE PUBLIC KEY =="
    public, secret = load_certificate(keydir / "alice.key_secret")
    assert out[1] == public.decode()
    assert secret is not None and secret.decode() not in "\n".join(out)
    assert _mode(keydir) == 0o700
    assert _mode(keydir / "alice.key_secret") == 0o600
    assert pyzmq_certs.load_certificate(str(keydir / "alice.key")) == (public, None)


def test_existing_directory_mode_is_left_alone(tmp_path: Path) -> None:
    os.chmod(tmp_path, 0o755)
    assert main(["a", "--dir", str(tmp_path)]) == 0
    assert _mode(tmp_path) == 0o755


def test_refuses_to_overwrite_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bob", "--dir", str(tmp_path)]) == 0
    before = (tmp_path / "bob.key_secret").read_text()
    capsys.readouterr()
    assert main(["bob", "--dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "already exists" in err and "--force" in err
    assert (tmp_path / "bob.key_secret").read_text() == before
    assert main(["bob", "--dir", str(tmp_path), "--force"]) == 0
    assert (tmp_path / "bob.key_secret").read_text() != before


def test_json_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["carol", "--dir", str(tmp_path), "--json", "--meta", "role=db"]) == 0
    record = json.loads(capsys.readouterr().out)
    public, _ = load_certificate(tmp_path / "carol.key")
    assert record == {
        "name": "carol",
        "public_key": public.decode(),
        "public_file": str(tmp_path / "carol.key"),
        "secret_file": str(tmp_path / "carol.key_secret"),
        "encrypted": False,
    }
    assert 'role = "db"' in (tmp_path / "carol.key").read_text()


def test_passphrase_from_environment_seals_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MY_PASS", "s3cret-phrase")
    args = ["dave", "--dir", str(tmp_path), "--passphrase-env", "MY_PASS", "--kdf-cost", "10"]
    assert main([*args, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["encrypted"] is True
    with pytest.raises(ValueError, match="no passphrase"):
        monkeypatch.delenv("SECUREMQ_KEY_PASSPHRASE", raising=False)
        load_certificate(tmp_path / "dave.key_secret")
    public, secret = load_certificate(tmp_path / "dave.key_secret", passphrase="s3cret-phrase")
    assert secret is not None and z85.curve_public(secret) == public


def test_usage_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("UNSET_VAR", raising=False)
    assert main(["e", "--dir", str(tmp_path), "--passphrase-env", "UNSET_VAR"]) == 2
    assert "UNSET_VAR" in capsys.readouterr().err
    assert main(["../escape", "--dir", str(tmp_path)]) == 2
    assert main([".hidden", "--dir", str(tmp_path)]) == 2
    assert main(["x", "--dir", str(tmp_path), "--meta", "novalue"]) == 2
    monkeypatch.setenv("P", "pw")
    assert main(["x", "--dir", str(tmp_path), "--kdf-cost", "3", "--passphrase-env", "P"]) == 2
    assert "--kdf-cost" in capsys.readouterr().err
    assert os.listdir(tmp_path) == []
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2


def test_help_explains_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    for word in (
        "--dir",
        "--passphrase-env",
        "--force",
        "--json",
        "0600",
        "SECUREMQ_KEY_PASSPHRASE",
    ):
        assert word in text


def test_runs_as_module(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "securemq.keygen", "m", "--dir", str(tmp_path / "k"), "--json"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["name"] == "m"
    assert (tmp_path / "k" / "m.key_secret").exists()
