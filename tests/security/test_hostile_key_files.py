"""Hostile key files cost nothing.

A file planted in a trusted key directory may declare sealed secret-key fields with the most
expensive KDF parameters it likes: loading public certificates (``load_certificates``, the CURVE
key directory and its reloads) never runs a KDF and never decrypts, even with
``SECUREMQ_KEY_PASSPHRASE`` set. Sealed secret files declaring KDF parameters above the bound are
refused with a clear error before any work. The good keys beside the planted file still load.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from securemq.auth.policies import CurveKeyDirectory

from securemq import certs

PASSPHRASE = "correct horse"


@pytest.fixture
def kdf_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int, int]]:
    calls: list[tuple[int, int, int]] = []
    real = certs._derive

    def counting(passphrase: bytes, salt: bytes, cost: int, r: int, p: int) -> bytes:
        calls.append((cost, r, p))
        return real(passphrase, salt, cost, r, p)

    monkeypatch.setattr(certs, "_derive", counting)
    monkeypatch.setenv(certs.PASSPHRASE_ENV, PASSPHRASE)
    return calls


def plant(directory: Path, name: str, cost: int = 20, r: int = 16, p: int = 4) -> Path:
    """A public ``.key`` that also carries sealed secret-key fields (greedy KDF declared)."""
    _, sealed = certs.create_certificates(directory, f"{name}-src", passphrase=PASSPHRASE,
                                          kdf_cost=certs.MIN_KDF_COST)
    text = Path(sealed).read_text()
    text = text.replace(f'kdf-log2-n = "{certs.MIN_KDF_COST}"', f'kdf-log2-n = "{cost}"')
    text = text.replace('kdf-r = "8"', f'kdf-r = "{r}"').replace('kdf-p = "1"', f'kdf-p = "{p}"')
    os.unlink(sealed)
    os.unlink(Path(sealed).with_suffix(".key"))
    planted = directory / f"{name}.key"
    planted.write_text(text)
    return planted


def test_trusted_directory_never_runs_a_kdf(tmp_path: Path,
                                            kdf_calls: list[tuple[int, int, int]]) -> None:
    good_public, _ = certs.create_certificates(tmp_path, "alice")
    plant(tmp_path, "planted", cost=certs.MAX_KDF_COST)  # within the bound: still never run
    plant(tmp_path, "greedy")
    kdf_calls.clear()  # (planting sealed them)
    keys = certs.load_certificates(tmp_path)
    assert certs.load_certificate(good_public)[0] in keys
    directory = CurveKeyDirectory(os.fspath(tmp_path))
    for _ in range(3):
        directory.reload(force=True)
    assert certs.load_certificate(good_public)[0] in directory.keys
    assert kdf_calls == []


def test_sealed_file_above_the_bound_is_refused_before_any_work(
    tmp_path: Path, kdf_calls: list[tuple[int, int, int]]
) -> None:
    for cost, r, p in ((20, 8, 1), (18, 16, 1), (18, 8, 2), (17, 8, 4)):
        planted = plant(tmp_path, f"s{cost}{r}{p}", cost, r, p)
        secret_file = planted.with_suffix(".key_secret")
        planted.rename(secret_file)
        kdf_calls.clear()
        with pytest.raises(ValueError, match=r"exceed the bound|out of"):
            certs.load_certificate(secret_file, PASSPHRASE)
    assert kdf_calls == []


def test_the_default_cost_is_within_the_bound(tmp_path: Path,
                                              kdf_calls: list[tuple[int, int, int]]) -> None:
    _, sealed = certs.create_certificates(tmp_path, "s", passphrase=PASSPHRASE,
                                          kdf_cost=certs.MAX_KDF_COST)
    text = Path(sealed).read_text()
    assert f'kdf-log2-n = "{certs.MAX_KDF_COST}"' in text
    # Opening it would do the work (the bound admits it); only the parameters are checked here.
    with pytest.raises(ValueError, match="kdf_cost must be in"):
        certs.create_certificates(tmp_path, "t", passphrase=PASSPHRASE,
                                  kdf_cost=certs.MAX_KDF_COST + 1)
    assert [c for c, _, _ in kdf_calls] == [certs.MAX_KDF_COST]  # the create above, once


def test_secret_file_keeps_its_metadata(tmp_path: Path) -> None:
    """pyzmq and czmq write certificate metadata into both files; so does securemq."""
    public_file, secret_file = certs.create_certificates(
        tmp_path, "m", metadata={"email": "ops@example.com", "role": "reader"}
    )
    for path in (public_file, secret_file):
        assert certs.read_certificate(path).metadata == {"email": "ops@example.com",
                                                         "role": "reader"}
