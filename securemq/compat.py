"""Run unmodified pyzmq programs on securemq: ``import zmq`` as an alias of ``securemq``.

How this works
--------------
``install()`` puts a finder first on ``sys.meta_path`` that answers every ``zmq`` and
``zmq.<sub>`` import with the securemq module of the same path (``zmq.asyncio`` ->
``securemq.asyncio``, ``zmq.auth.thread`` -> ``securemq.auth.thread``): its loader imports the
securemq module and puts that very object in ``sys.modules`` under the alias, so
``zmq.asyncio is securemq.asyncio`` and classes, isinstance checks and pickles are securemq's.
A ``zmq`` submodule securemq lacks fails with ModuleNotFoundError (an ImportError), as a
missing optional module does under pyzmq.

Child processes (Jupyter starts kernels with ``sys.executable -m ipykernel_launcher``) do not
share ``sys.meta_path``; ``propagate_to_subprocesses()`` sets ``SECUREMQ_AS_ZMQ=1`` and puts
``SHIM_DIR`` first on ``PYTHONPATH``. That directory holds a one-file ``zmq`` package: in a
process where the variable is set it calls ``install()``; where it is not, it loads the real
pyzmq from the rest of ``sys.path`` instead. ``python -m securemq.run`` does both steps and
then runs the program. Without them, ``import zmq`` is pyzmq, so both libraries can be
installed side by side.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import securemq

__all__ = [
    "ALIAS", "ENV_VAR", "SHIM_DIR", "install", "installed", "propagate_to_subprocesses",
    "uninstall",
]

ALIAS = "zmq"
ENV_VAR = "SECUREMQ_AS_ZMQ"
SHIM_DIR = Path(__file__).resolve().with_name("_zmq_alias")
_TARGET = "securemq"


def _real_name(fullname: str) -> str | None:
    """``securemq.X`` for ``zmq.X`` (and ``securemq`` for ``zmq``); None for other names."""
    if fullname == ALIAS:
        return _TARGET
    if fullname.startswith(ALIAS + "."):
        return _TARGET + fullname[len(ALIAS):]
    return None


class _AliasLoader(importlib.abc.Loader):
    """Loads ``zmq.X`` by importing ``securemq.X`` and putting it in sys.modules instead."""

    def __init__(self, real: str, real_spec: importlib.machinery.ModuleSpec) -> None:
        self.real = real
        self.real_spec = real_spec

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return None  # a placeholder, replaced in exec_module

    def exec_module(self, module: ModuleType) -> None:
        # The import system returns whatever sys.modules holds under the name after this.
        sys.modules[module.__name__] = importlib.import_module(self.real)

    def _real_loader(self) -> Any:
        loader = self.real_spec.loader
        if loader is None:
            raise ImportError(f"no loader for {self.real}", name=self.real)
        return loader

    def get_code(self, fullname: str) -> Any:
        """The real module's code, so that ``python -m zmq.X`` runs ``securemq.X``."""
        return self._real_loader().get_code(self.real)

    def get_source(self, fullname: str) -> str | None:
        source: str | None = self._real_loader().get_source(self.real)
        return source

    def is_package(self, fullname: str) -> bool:
        return self.real_spec.submodule_search_locations is not None


class _AliasFinder(importlib.abc.MetaPathFinder):
    """Answers ``zmq`` and ``zmq.*`` imports with securemq's modules."""

    def find_spec(self, fullname: str, path: Any = None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        real = _real_name(fullname)
        if real is None:
            return None
        try:
            real_spec = importlib.util.find_spec(real)
        except ModuleNotFoundError:
            real_spec = None
        if real_spec is None:
            raise ModuleNotFoundError(
                f"No module named {fullname!r}: securemq provides no {real!r}"
                " (see docs/PYZMQ_COMPAT.md)",
                name=fullname,
            )
        return importlib.util.spec_from_loader(
            fullname,
            _AliasLoader(real, real_spec),
            origin=real_spec.origin,
            is_package=real_spec.submodule_search_locations is not None,
        )


def _is_alias_module(module: object) -> bool:
    name = getattr(module, "__name__", "")
    return isinstance(name, str) and (name == _TARGET or name.startswith(_TARGET + "."))


def installed() -> bool:
    """True when ``import zmq`` in this process gives securemq."""
    return any(isinstance(f, _AliasFinder) for f in sys.meta_path)


def install() -> None:
    """Make ``import zmq`` (and every ``zmq.<sub>``) give securemq in this process.

    Call it before anything imports pyzmq: if the real ``zmq`` is already imported, modules
    holding it would mix both libraries, so RuntimeError is raised instead. Idempotent.
    """
    current = sys.modules.get(ALIAS)
    if current is not None and not _is_alias_module(current) and not getattr(
        current, "__securemq_shim__", False
    ):
        raise RuntimeError(
            "securemq.compat.install(): pyzmq's 'zmq' is already imported in this process;"
            " install the alias before anything imports zmq (or start the program with"
            " 'python -m securemq.run')"
        )
    if not installed():
        sys.meta_path.insert(0, _AliasFinder())
    sys.modules[ALIAS] = securemq


def uninstall() -> None:
    """Undo ``install()``: drop the finder and the ``zmq`` names that point at securemq."""
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _AliasFinder)]
    for name in [n for n in sys.modules if _real_name(n) is not None]:
        if _is_alias_module(sys.modules[name]):
            del sys.modules[name]


def propagate_to_subprocesses(environ: Any = None) -> None:
    """Opt the Python child processes started from now on into the alias: set ``ENV_VAR``
    and put ``SHIM_DIR`` first on ``PYTHONPATH`` in ``environ`` (default ``os.environ``)."""
    env = os.environ if environ is None else environ
    env[ENV_VAR] = "1"
    entries = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    shim = str(SHIM_DIR)
    env["PYTHONPATH"] = os.pathsep.join([shim, *(p for p in entries if p != shim)])
