"""Certificate files: pyzmq compatibility both ways, modes, atomic writes, sealed secret keys."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import zmq
import zmq.auth.certs as pyzmq_certs
from securemq.auth import certs as auth_certs

from securemq import z85
from securemq.certs import (
    PASSPHRASE_ENV,
    create_certificates,
    load_certificate,
    load_certificates,
    read_certificate,
)

LOW_COST = 10  # scrypt N = 2**10: fast tests; the default is 2**17


def _mode(path: str) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_auth_certs_reexports_core_module() -> None:
    assert auth_certs.create_certificates is create_certificates
    assert auth_certs.load_certificate is load_certificate
    assert auth_certs.load_certificates is load_certificates


def test_created_files_names_modes_and_keys(tmp_path: Path) -> None:
    public_file, secret_file = create_certificates(tmp_path, "server", {"email": "a@b.c"})
    assert public_file == str(tmp_path / "server.key")
    assert secret_file == str(tmp_path / "server.key_secret")
    assert _mode(secret_file) == 0o600
    assert _mode(public_file) == 0o644
    public, secret = load_certificate(secret_file)
    assert secret is not None and len(public) == 40 and len(secret) == 40
    assert z85.curve_public(secret) == public
    assert load_certificate(public_file) == (public, None)
    assert read_certificate(public_file).metadata == {"email": "a@b.c"}
    assert read_certificate(secret_file).metadata == {"email": "a@b.c"}
    # no temp files left behind
    assert sorted(os.listdir(tmp_path)) == ["server.key", "server.key_secret"]


def test_secret_file_never_world_readable_even_with_permissive_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        _, secret_file = create_certificates(tmp_path, "x")
    finally:
        os.umask(old)
    assert _mode(secret_file) == 0o600


def test_files_made_by_securemq_load_in_pyzmq(tmp_path: Path) -> None:
    public_file, secret_file = create_certificates(tmp_path, "mine", {"name": "mine"})
    ours = load_certificate(secret_file)
    assert pyzmq_certs.load_certificate(secret_file) == ours
    assert pyzmq_certs.load_certificate(public_file) == (ours[0], None)
    assert pyzmq_certs.load_certificates(str(tmp_path)) == {ours[0]: True}
    assert ours[1] is not None and zmq.curve_public(ours[1]) == ours[0]


def test_files_made_by_pyzmq_load_here(tmp_path: Path) -> None:
    public_file, secret_file = pyzmq_certs.create_certificates(str(tmp_path), "theirs", {"k": "v"})
    theirs = pyzmq_certs.load_certificate(secret_file)
    assert load_certificate(secret_file) == theirs
    assert load_certificate(public_file) == (theirs[0], None)
    assert load_certificates(tmp_path) == {theirs[0]: True}
    assert read_certificate(secret_file).metadata == {"k": "v"}


def test_load_certificates_only_reads_public_key_files(tmp_path: Path) -> None:
    a, _ = create_certificates(tmp_path, "a")
    b, _ = create_certificates(tmp_path, "b")
    (tmp_path / "notes.txt").write_text("ignored")
    keys = load_certificates(tmp_path)
    assert set(keys) == {load_certificate(a)[0], load_certificate(b)[0]}


@pytest.mark.parametrize(
    "content, message",
    [
        ("curve\n", "No public key found"),
        ('curve\n    public-key = "short"\n', "not a 40-character Z85 key"),
        ('curve\n    public-key = "' + "~" * 40 + '"\n', "not a 40-character Z85 key"),
        ('    public-key = "x"\n', "outside any section"),
    ],
)
def test_malformed_files_raise_value_error_naming_file(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "bad.key"
    path.write_text(content)
    with pytest.raises(ValueError, match=message) as info:
        load_certificate(path)
    assert "bad.key" in str(info.value) or message == "outside any section"


def test_mismatched_secret_key_is_rejected(tmp_path: Path) -> None:
    _, secret_file = create_certificates(tmp_path, "a")
    other_public, _ = z85.curve_keypair()
    text = Path(secret_file).read_text()
    public, _ = load_certificate(secret_file)
    Path(secret_file).write_text(text.replace(public.decode(), other_public.decode()))
    with pytest.raises(ValueError, match="does not match"):
        load_certificate(secret_file)


def test_missing_file_and_directory_raise_oserror(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        load_certificate(tmp_path / "nope.key")
    with pytest.raises(OSError):
        load_certificates(tmp_path / "nodir")


def test_invalid_metadata_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="metadata"):
        create_certificates(tmp_path, "a", {"bad name": "x"})
    with pytest.raises(ValueError, match="quote or newline"):
        create_certificates(tmp_path, "a", {"ok": 'evil"\n    secret-key = "x'})
    assert os.listdir(tmp_path) == []


# ---- sealed (passphrase-encrypted) secret keys ------------------------------------------------


def test_sealed_secret_key_round_trip(tmp_path: Path) -> None:
    public_file, secret_file = create_certificates(
        tmp_path, "s", passphrase="correct horse", kdf_cost=LOW_COST
    )
    text = Path(secret_file).read_text()
    assert "# securemq encrypted secret key" in text
    assert "secret-key =" not in text.replace("encrypted-secret-key", "")
    assert 'kdf = "scrypt"' in text
    public, secret = load_certificate(secret_file, passphrase="correct horse")
    assert secret is not None and z85.curve_public(secret) == public
    assert load_certificate(secret_file, passphrase=b"correct horse") == (public, secret)
    assert read_certificate(secret_file, "correct horse").encrypted
    # the public file needs no passphrase, and pyzmq reads both without seeing a bogus secret
    assert load_certificate(public_file) == (public, None)
    assert pyzmq_certs.load_certificate(public_file) == (public, None)
    assert pyzmq_certs.load_certificate(secret_file) == (public, None)
    assert _mode(secret_file) == 0o600


def test_sealed_key_wrong_passphrase_is_a_clear_error(tmp_path: Path) -> None:
    _, secret_file = create_certificates(tmp_path, "s", passphrase="right", kdf_cost=LOW_COST)
    with pytest.raises(ValueError, match="wrong passphrase") as info:
        load_certificate(secret_file, passphrase="wrong")
    assert secret_file in str(info.value)


def test_sealed_key_missing_passphrase_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(PASSPHRASE_ENV, raising=False)
    _, secret_file = create_certificates(tmp_path, "s", passphrase="right", kdf_cost=LOW_COST)
    with pytest.raises(ValueError, match="no passphrase") as info:
        load_certificate(secret_file)
    assert secret_file in str(info.value) and PASSPHRASE_ENV in str(info.value)


def test_sealed_key_passphrase_from_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, secret_file = create_certificates(tmp_path, "s", passphrase="from-env", kdf_cost=LOW_COST)
    monkeypatch.setenv(PASSPHRASE_ENV, "from-env")
    public, secret = load_certificate(secret_file)
    assert secret is not None and z85.curve_public(secret) == public
    monkeypatch.setenv(PASSPHRASE_ENV, "nope")
    with pytest.raises(ValueError, match="wrong passphrase"):
        load_certificate(secret_file)


def test_sealed_key_tampering_is_detected(tmp_path: Path) -> None:
    _, secret_file = create_certificates(tmp_path, "s", passphrase="pw", kdf_cost=LOW_COST)
    original = Path(secret_file).read_text()
    # swap the public key: it is bound into the AEAD, so the seal no longer opens
    public, _ = load_certificate(secret_file, passphrase="pw")
    other, _ = z85.curve_keypair()
    Path(secret_file).write_text(original.replace(public.decode(), other.decode()))
    with pytest.raises(ValueError, match="wrong passphrase"):
        load_certificate(secret_file, passphrase="pw")
    # a file declaring an absurd KDF cost is refused before anything is allocated
    Path(secret_file).write_text(original.replace('kdf-log2-n = "10"', 'kdf-log2-n = "40"'))
    with pytest.raises(ValueError, match="out of"):
        load_certificate(secret_file, passphrase="pw")


def test_kdf_cost_default_is_strong_and_bounds_are_checked(tmp_path: Path) -> None:
    import inspect

    from securemq import certs

    default = inspect.signature(create_certificates).parameters["kdf_cost"].default
    assert default == certs.DEFAULT_KDF_COST >= 17
    with pytest.raises(ValueError, match="kdf_cost"):
        create_certificates(tmp_path, "s", passphrase="pw", kdf_cost=4)
    with pytest.raises(ValueError, match="empty"):
        create_certificates(tmp_path, "s", passphrase="", kdf_cost=LOW_COST)
