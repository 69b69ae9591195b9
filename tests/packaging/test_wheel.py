"""Build the wheel from a copy of the source tree and check its layout.

The build runs in a temporary copy so the shared work tree gets no ``build/`` directory. It
first tries ``pip wheel --no-build-isolation`` with the venv's setuptools; if that setuptools
cannot build wheels (no ``bdist_wheel``), it falls back to an isolated build from the
configured package index.
"""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_SOURCES = ("pyproject.toml", "README.md", "securemq", "auth")


def _pip_wheel(src: Path, out: Path, isolated: bool) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(src)]
    if not isolated:
        cmd.insert(5, "--no-build-isolation")
    return subprocess.run(cmd, capture_output=True, text=True, timeout=50, check=False)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[zipfile.ZipFile]:
    base = tmp_path_factory.mktemp("wheel")
    src, out = base / "src", base / "dist"
    src.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in _SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=ignore)
        elif path.exists():
            shutil.copy2(path, src / name)
    # Decoys: these must never end up in the wheel even if they sit next to the package.
    (src / "tests").mkdir()
    (src / "tests" / "test_decoy.py").write_text("")
    (src / "keys").mkdir()
    (src / "keys" / "server.key_secret").write_text("secret-key = \"decoy\"\n")
    result = _pip_wheel(src, out, isolated=False)
    if result.returncode != 0:
        result = _pip_wheel(src, out, isolated=True)
    assert result.returncode == 0, f"pip wheel failed:\n{result.stdout}\n{result.stderr}"
    wheels = list(out.glob("securemq-*.whl"))
    assert len(wheels) == 1, wheels
    with zipfile.ZipFile(wheels[0]) as zf:
        assert zf.testzip() is None, "corrupt wheel"
        yield zf


def _names(wheel: zipfile.ZipFile) -> set[str]:
    return set(wheel.namelist())


def test_auth_is_mapped_into_the_package(wheel: zipfile.ZipFile) -> None:
    names = _names(wheel)
    assert "securemq/auth/__init__.py" in names
    assert "securemq/auth/py.typed" in names
    assert not any(n.startswith("auth/") for n in names), "auth/ must not be a top-level package"
    # Every auth module of the tree is shipped.
    for path in (ROOT / "auth").glob("*.py"):
        assert f"securemq/auth/{path.name}" in names


def test_every_subpackage_and_py_typed(wheel: zipfile.ZipFile) -> None:
    names = _names(wheel)
    assert "securemq/py.typed" in names
    for sub in ("zmtp", "zmtp/mechanisms", "transports", "io", "routing", "utils"):
        assert f"securemq/{sub}/__init__.py" in names, sub
    for path in (ROOT / "securemq").rglob("*.py"):
        rel = path.relative_to(ROOT).as_posix()
        assert rel in names, f"{rel} missing from the wheel"


def test_keygen_entry_point(wheel: zipfile.ZipFile) -> None:
    (ep_name,) = [n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt")]
    parser = configparser.ConfigParser()
    parser.read_string(wheel.read(ep_name).decode())
    assert parser.get("console_scripts", "securemq-keygen").strip() == "securemq.keygen:main"


def test_no_tests_or_secrets_inside(wheel: zipfile.ZipFile) -> None:
    for name in wheel.namelist():
        top = name.split("/", 1)[0]
        assert top in ("securemq",) or top.endswith(".dist-info"), f"unexpected {name}"
        assert not name.startswith(("tests/", "keys/", "securemq/tests/")), name
        assert "key_secret" not in name, f"secret key file {name} in the wheel"
        assert "__pycache__" not in name and not name.endswith(".pyc"), name
