"""The import-direction rules of DESIGN.md ("Layers"), checked over every module with ``ast``.

Each module's imports (absolute and relative, at any depth: function-local imports count too)
are resolved to dotted names and checked against a table of rules. ``TYPE_CHECKING`` imports
count as well: a layer that needs an upper layer's types is reaching up.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "securemq"
AUTH = ROOT / "auth"

# Leaves every layer may use (DESIGN.md: constants, error, options, z85, frame).
LEAVES = frozenset(
    {"securemq.constants", "securemq.error", "securemq.options", "securemq.z85", "securemq.frame",
     "securemq.safetext", "securemq.socket_types"}
)
# Stdlib modules the sans-IO layer must not touch: no sockets, threads, selectors or clocks.
ZMTP_FORBIDDEN_STDLIB = frozenset(
    {"socket", "threading", "selectors", "time", "select", "asyncio", "ssl", "_thread",
     "multiprocessing", "concurrent", "socketserver"}
)
# Third-party libraries zmtp/ may use: sans-IO themselves (PyNaCl; wsproto for ZWS, zmtp/zws.py).
ZMTP_THIRD_PARTY = frozenset({"nacl", "wsproto"})
# What auth/ (securemq.auth) may import from securemq: the public surface only.
AUTH_ALLOWED = frozenset(
    {"securemq", "securemq.z85", "securemq.constants", "securemq.error", "securemq.certs",
     "securemq.utils", "securemq.zmtp.zap", "securemq.safetext"}
)
# The pyzmq-compatibility modules built on top of the public API (eventloop, devices, log,
# sugar/backend aliases, the zmq alias): they may use only the public modules below, and no
# ``_private`` name of them.
API_LEVEL = (
    "securemq.eventloop", "securemq.devices", "securemq.log", "securemq.sugar",
    "securemq.backend", "securemq.utils", "securemq.decorators", "securemq.compat",
    "securemq.run", "securemq.curve_keygen", "securemq._zmq_alias",
)
API_PUBLIC = frozenset(
    {"securemq", "securemq.asyncio", "securemq.proxy", "securemq.monitor", "securemq.poll",
     "securemq.constants", "securemq.error", "securemq.z85", "securemq.frame",
     "securemq.tracker", "securemq.stopwatch"}
)
STDLIB = frozenset(sys.stdlib_module_names)


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, dotted
    target: str  # the imported module, dotted (``from a import b`` gives ``a.b`` when b is one)
    line: int


def _resolve(module: str, is_package: bool, level: int, name: str | None) -> str:
    """The absolute dotted name of a (possibly relative) import inside ``module``."""
    if level == 0:
        return name or ""
    parts = module.split(".")
    base = parts if is_package else parts[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join([*base, name] if name else base)


def imports_of(source: str, module: str, is_package: bool = False) -> list[Import]:
    """Every import in ``source``; ``from pkg import x`` yields both ``pkg`` and ``pkg.x``."""
    found: list[Import] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.extend(Import(module, alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, is_package, node.level, node.module)
            names = [f"{base}.{alias.name}" for alias in node.names if alias.name != "*"]
            # ``from .. import socket_types`` imports that submodule, not the package's own
            # names (the parent package is always initialized first, whatever imports it).
            if len(names) < len(node.names) or not all(_is_submodule(n) for n in names):
                found.append(Import(module, base, node.lineno))
            found.extend(Import(module, name, node.lineno) for name in names)
    return found


def _is_submodule(dotted: str) -> bool:
    """True when ``dotted`` names a module file or package under securemq/ or auth/."""
    parts = dotted.split(".")
    if parts[0] != "securemq" or len(parts) < 2:
        return False
    if parts[1] == "auth":
        rel, root = Path(*parts[2:]) if len(parts) > 2 else Path(), AUTH
    else:
        rel, root = Path(*parts[1:]), PKG
    return (root / rel).with_suffix(".py").is_file() or (root / rel / "__init__.py").is_file()


def _module_name(path: Path) -> tuple[str, bool]:
    if path.is_relative_to(AUTH):
        rel = path.relative_to(AUTH).with_suffix("")
        parts = ["securemq", "auth", *rel.parts]
    else:
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    if is_package:
        parts = parts[:-1]
    return ".".join(parts), is_package


def all_modules() -> Iterator[tuple[str, bool, str]]:
    for path in sorted([*PKG.rglob("*.py"), *AUTH.rglob("*.py")]):
        name, is_package = _module_name(path)
        yield name, is_package, path.read_text(encoding="utf-8")


def _top(name: str) -> str:
    return name.split(".", 1)[0]


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def real_module(target: str) -> str:
    """The longest prefix of ``target`` that is a module file or package under securemq/."""
    parts = target.split(".")
    for end in range(len(parts), 0, -1):
        candidate = parts[:end]
        if candidate[0] != "securemq":
            break
        rel = Path(*candidate[1:]) if len(candidate) > 1 else Path()
        if (PKG / rel).with_suffix(".py").is_file() or (PKG / rel / "__init__.py").is_file():
            return ".".join(candidate)
    return target


# -- the rules ------------------------------------------------------------------------------
# A rule sees one import and returns a complaint, or None when the import is allowed.
Rule = Callable[[Import], str | None]


def rule_zmtp(imp: Import) -> str | None:
    if not _within(imp.module, "securemq.zmtp"):
        return None
    target = imp.target
    if _top(target) == "securemq":
        if target == "securemq" or target in LEAVES or _within(target, "securemq.zmtp"):
            return None
        if any(_within(target, leaf) for leaf in LEAVES):
            return None
        return f"zmtp/ (sans-IO) may import only leaves and securemq.zmtp.*, not {target}"
    if _top(target) in ZMTP_THIRD_PARTY:
        return None
    if _top(target) in ZMTP_FORBIDDEN_STDLIB:
        return f"zmtp/ (sans-IO) must not import {target} (no sockets, threads or clocks)"
    if _top(target) in STDLIB or target == "__future__":
        return None
    return f"zmtp/ may import only stdlib, nacl, wsproto and leaves, not {target}"


def rule_routing(imp: Import) -> str | None:
    if not _within(imp.module, "securemq.routing") or _top(imp.target) != "securemq":
        return None
    target = imp.target
    if (
        target == "securemq"
        or _within(target, "securemq.routing")
        or _within(target, "securemq.pipe")
        or any(_within(target, leaf) for leaf in LEAVES)
    ):
        return None
    return f"routing/ may import only leaves and pipe, not {target}"


def rule_transports(imp: Import) -> str | None:
    if not _within(imp.module, "securemq.transports"):
        return None
    for upper in ("securemq.zmtp", "securemq.io", "securemq.routing"):
        if _within(imp.target, upper):
            return f"transports/ must know nothing of zmtp/io/routing, got {imp.target}"
    return None


# The API layer: the pyzmq facade and what is built on it. io/ serves it and must not reach it.
API_LAYER = (
    "securemq.socket", "securemq.context", "securemq.poll", "securemq.asyncio",
    "securemq.monitor", "securemq.proxy", *API_LEVEL,
)


def rule_io(imp: Import) -> str | None:
    if not _within(imp.module, "securemq.io"):
        return None
    if imp.target == "securemq" or any(_within(imp.target, api) for api in API_LAYER):
        return f"io/ must not import the API layer, got {imp.target}"
    if _within(imp.target, "securemq.auth") or _within(imp.target, "securemq.routing"):
        return f"io/ moves bytes and peers, never routing or auth: got {imp.target}"
    return None


def rule_core_never_imports_auth(imp: Import) -> str | None:
    if _within(imp.module, "securemq.auth") or not _within(imp.module, "securemq"):
        return None
    if _within(imp.target, "securemq.auth") or imp.target == "auth":
        return f"nothing under securemq/ may import securemq.auth, got {imp.target}"
    return None


def rule_auth_public_only(imp: Import) -> str | None:
    if not _within(imp.module, "securemq.auth") or _top(imp.target) != "securemq":
        return None
    target = imp.target
    if _within(target, "securemq.auth"):
        return None
    if target in AUTH_ALLOWED or _within(target, "securemq.utils"):
        return None
    # ``from securemq.constants import REP`` yields securemq.constants.REP: a name, fine.
    parent = target.rsplit(".", 1)[0]
    if parent in AUTH_ALLOWED and parent != "securemq":
        return None
    if parent == "securemq" and not (PKG / f"{target.rsplit('.', 1)[1]}.py").exists() and not (
        PKG / target.rsplit(".", 1)[1]
    ).is_dir():
        return None  # ``from securemq import Context``: a public name of the facade
    return f"auth/ may use only the public surface of securemq, not {target}"


def rule_api_level_public_only(imp: Import) -> str | None:
    if not any(_within(imp.module, m) for m in API_LEVEL) or _top(imp.target) != "securemq":
        return None
    target = imp.target
    if any(_within(target, m) for m in API_LEVEL):
        return None
    real = real_module(target)
    if real not in API_PUBLIC:
        return f"API-level modules may use only securemq's public modules, not {target}"
    rest = target[len(real):].lstrip(".")
    if rest.startswith("_") and not (rest.startswith("__") and rest.endswith("__")):
        return f"API-level modules may not use private names, got {target}"
    return None


RULES: tuple[Rule, ...] = (
    rule_zmtp,
    rule_routing,
    rule_transports,
    rule_io,
    rule_core_never_imports_auth,
    rule_auth_public_only,
    rule_api_level_public_only,
)


def violations(modules: list[tuple[str, bool, str]]) -> list[str]:
    found: list[str] = []
    for name, is_package, source in modules:
        for imp in imports_of(source, name, is_package):
            for rule in RULES:
                complaint = rule(imp)
                if complaint is not None:
                    found.append(f"{name}:{imp.line}: {complaint}")
    return found


# -- the real tree --------------------------------------------------------------------------
def test_tree_has_the_layers() -> None:
    names = {name for name, _, _ in all_modules()}
    for layer in ("securemq.zmtp", "securemq.routing", "securemq.transports", "securemq.io",
                  "securemq.auth", *API_LEVEL):
        assert any(_within(n, layer) for n in names), f"layer package {layer} not found"
    assert len(names) > 40


def test_no_layer_reaches_up() -> None:
    problems = violations(list(all_modules()))
    assert problems == [], "\n".join(problems)


def import_graph(modules: list[tuple[str, bool, str]]) -> dict[str, set[str]]:
    """module -> the securemq modules it imports (any depth, TYPE_CHECKING included)."""
    names = {name for name, _, _ in modules}
    graph: dict[str, set[str]] = {name: set() for name in names}
    for name, is_package, source in modules:
        for imp in imports_of(source, name, is_package):
            target = real_module(imp.target) if _top(imp.target) == "securemq" else imp.target
            if target in names and target != name:
                graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_cycles_anywhere_in_the_package() -> None:
    """Every import counts, function-local and TYPE_CHECKING ones too."""
    assert cycles(import_graph(list(all_modules()))) == []


def test_cycle_finder_finds_cycles() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_auth_imports_from_securemq_are_the_public_surface() -> None:
    """What auth/ takes from securemq, mapped to real modules, is the public surface only."""
    used: set[str] = set()
    for name, is_package, source in all_modules():
        if not _within(name, "securemq.auth"):
            continue
        for imp in imports_of(source, name, is_package):
            if _top(imp.target) == "securemq" and not _within(imp.target, "securemq.auth"):
                used.add(real_module(imp.target))
    assert "securemq.z85" in used, f"auth/ is expected to use securemq.z85: {sorted(used)}"
    outside = {m for m in used if m not in AUTH_ALLOWED and not _within(m, "securemq.utils")}
    assert not outside, f"auth/ imports non-public securemq modules: {sorted(outside)}"


def test_zmtp_modules_are_sans_io() -> None:
    for name, is_package, source in all_modules():
        if not _within(name, "securemq.zmtp"):
            continue
        tops = {_top(i.target) for i in imports_of(source, name, is_package)}
        assert not tops & ZMTP_FORBIDDEN_STDLIB, f"{name} imports {tops & ZMTP_FORBIDDEN_STDLIB}"


# -- the checker itself must fail on bad modules --------------------------------------------
BAD_MODULES = [
    ("securemq.zmtp.bad", False, "import socket\n", "must not import socket"),
    ("securemq.zmtp.bad", False, "def f():\n    import time\n", "must not import time"),
    ("securemq.zmtp.bad", False, "from ..io import engine\n", "not securemq.io"),
    ("securemq.zmtp.mechanisms.bad", False, "from ...socket import Socket\n",
     "not securemq.socket"),
    ("securemq.zmtp.bad", False, "import requests\n", "not requests"),
    ("securemq.zmtp.bad", False, "import h11\n", "not h11"),
    ("securemq.routing.bad", False, "from ..io.engine import StreamEngine\n",
     "routing/ may import only"),
    ("securemq.routing.bad", False, "from securemq.context import Context\n",
     "routing/ may import only"),
    ("securemq.transports.bad", False, "from ..zmtp.frames import encode\n", "transports/"),
    ("securemq.transports.bad", False, "from securemq.routing import lb\n", "transports/"),
    ("securemq.io.bad", False, "from securemq.auth import Authenticator\n",
     "may import securemq.auth"),
    ("securemq", True, "from . import auth\n", "may import securemq.auth"),
    ("securemq.auth.bad", False, "from securemq.io.engine import StreamEngine\n",
     "public surface"),
    ("securemq.auth.bad", False, "from securemq.zmtp.connection import ZmtpConnection\n",
     "public surface"),
    ("securemq.auth.bad", False, "import securemq.pipe\n", "public surface"),
    ("securemq.eventloop.bad", False, "from securemq.pipe import Waker\n", "public modules"),
    ("securemq.devices.bad", False, "from ..io import reactor\n", "public modules"),
    ("securemq.sugar.bad", False, "from securemq.socket import Socket\n", "public modules"),
    ("securemq.log.bad", False, "from securemq.asyncio import _caller_loop\n",
     "private names"),
    ("securemq.compat", False, "from securemq import context\n", "public modules"),
    ("securemq.eventloop.zmqstream", False, "from securemq.auth import thread\n",
     "may import securemq.auth"),
]


@pytest.mark.parametrize(("module", "is_package", "source", "expected"), BAD_MODULES)
def test_checker_catches_a_bad_module(module: str, is_package: bool, source: str,
                                      expected: str) -> None:
    problems = violations([(module, is_package, source)])
    assert problems, f"the checker let {source!r} in {module} pass"
    assert any(expected in p for p in problems), problems


GOOD_MODULES = [
    ("securemq.zmtp.good", False, "import struct\nfrom ..constants import ProtocolError\n"
     "from .errors import ProtocolViolation\nfrom nacl.bindings import crypto_box\n"),
    ("securemq.zmtp.mechanisms.good", False, "from ... import z85\nfrom ..zap import x\n"),
    ("securemq.zmtp.zws_good", False, "from wsproto import WSConnection\n"
     "from wsproto.events import BytesMessage\nimport ipaddress\n"),
    ("securemq.routing.good", False, "from ..pipe import Peer\nfrom .fq import FairQueue\n"),
    ("securemq.transports.good", False, "import socket\nfrom ..error import ZMQError\n"),
    ("securemq.auth.good", False, "from securemq import z85\nfrom securemq.constants import REP\n"
     "from securemq.certs import load\nfrom securemq.utils.z85 import encode\n"),
    ("securemq.eventloop.good", False, "import securemq\nimport securemq.asyncio\n"
     "from securemq import POLLIN, Context\nfrom securemq.utils import jsonapi\n"
     "from ..proxy import proxy\nfrom .zmqstream import ZMQStream\n"),
    ("securemq.devices.good", False, "from securemq.devices.basedevice import _Side\n"
     "from securemq.constants import ROUTER\n"),
]


@pytest.mark.parametrize(("module", "is_package", "source"), GOOD_MODULES)
def test_checker_accepts_allowed_imports(module: str, is_package: bool, source: str) -> None:
    assert violations([(module, is_package, source)]) == []


def test_relative_import_resolution() -> None:
    assert _resolve("securemq.zmtp.mechanisms.curve", False, 3, None) == "securemq"
    assert _resolve("securemq.zmtp.mechanisms.curve", False, 2, "zap") == "securemq.zmtp.zap"
    assert _resolve("securemq.zmtp", True, 1, "frames") == "securemq.zmtp.frames"
    assert _resolve("securemq.zmtp", True, 2, "io") == "securemq.io"
    assert real_module("securemq.constants.REP") == "securemq.constants"
    assert real_module("securemq.zmtp.frames.encode") == "securemq.zmtp.frames"
    assert real_module("securemq.Context") == "securemq"
