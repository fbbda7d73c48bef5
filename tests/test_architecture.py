"""The shape of the server, held by tests (docs/decisions/0014-layers-and-contexts.md).

import-linter (``lint-imports`` in scripts/check.sh) holds the layers; these tests
hold what it cannot express: contexts meet only through their public faces, and the
layers below the API load no grpc at run time either (a fresh interpreter imports them).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ROOTS = (REPO / "services", REPO / "aggregator")
"""The source roots: a module's dotted name is its path below one of them."""
DOMAIN = REPO / "services" / "rtcconsole_server" / "domain"
CONTEXTS = sorted(p.name for p in DOMAIN.iterdir() if (p / "__init__.py").exists())
CODE = [path for root in ROOTS for path in root.rglob("*.py") if "migrations" not in path.parts]


def _context_of(path: Path) -> str | None:
    try:
        relative = path.relative_to(DOMAIN)
    except ValueError:
        return None
    return relative.parts[0] if len(relative.parts) > 1 else None


def _package_of(path: Path) -> str:
    """The package a module's relative imports start from: ``…/domain/usage/_query.py`` →
    ``rtcconsole_server.domain.usage`` (a package's ``__init__`` is in itself)."""
    for root in ROOTS:
        if path.is_relative_to(root):
            return ".".join(path.relative_to(root).parent.parts)
    raise ValueError(f"{path} is under none of {ROOTS}")


def _absolute(package: str, level: int, module: str | None) -> str:
    """``from ..x import y`` in ``package``, as the absolute module it names (``importlib``'s rule)."""
    if level == 0:
        return module or ""
    parts = package.split(".")
    if level > len(parts):
        raise ValueError(f"relative import beyond the top of {package!r} (level {level})")
    base = parts[: len(parts) - level + 1]
    return ".".join(base + ([module] if module else []))


def _imported_modules(path: Path, package: str | None = None) -> list[tuple[int, str]]:
    """(line, module) of every import in ``path``: for ``from m import n`` both ``m`` and ``m.n``;
    relative imports resolved against ``package`` (by default the file's own, :func:`_package_of`)."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                package = package if package is not None else _package_of(path)
            module = _absolute(package or "", node.level, node.module)
            if node.module:
                found.append((node.lineno, module))
            found.extend((node.lineno, f"{module}.{alias.name}") for alias in node.names)
        elif isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
    return found


def test_the_domain_is_grouped_in_contexts() -> None:
    assert CONTEXTS == ["apps", "auth", "callbacks", "common", "config", "events", "monitor", "usage"]
    loose = sorted(p.name for p in DOMAIN.glob("*.py") if p.name not in ("__init__.py", "console.py"))
    assert loose == [], f"domain modules outside a context: {loose}"


def test_every_private_module_of_a_context_is_underscored() -> None:
    for context in CONTEXTS:
        public = sorted(p.name for p in (DOMAIN / context).glob("*.py") if not p.name.startswith("_"))
        assert public == [], f"{context}: modules behind the face must be private: {public}"


def test_contexts_meet_only_through_their_faces() -> None:
    """Outside a context (other contexts, workers, API, server), only its ``__init__`` is imported."""
    offending = []
    for path in CODE:
        own = _context_of(path)
        for line, module in _imported_modules(path):
            parts = module.split(".")
            if parts[:2] != ["rtcconsole_server", "domain"] or len(parts) < 4:
                continue
            if parts[2] != own and parts[3].startswith("_"):
                offending.append(f"{path.name}:{line}: {module}")
    assert offending == [], f"imports behind a context's face: {offending}"


def test_the_face_check_sees_a_reach_behind_the_face(tmp_path: Path) -> None:
    """The check above is not vacuous: it parses ``from … import`` of a private module."""
    sample = tmp_path / "sample.py"
    sample.write_text("from rtcconsole_server.domain.apps._apps import Apps\n")
    assert (1, "rtcconsole_server.domain.apps._apps") in _imported_modules(sample)


@pytest.mark.parametrize(
    ("source", "package", "reached"),
    [
        ("from ._apps import Apps\n", "rtcconsole_server.domain.apps", "rtcconsole_server.domain.apps._apps"),
        (
            "from ..apps._apps import Apps\n",
            "rtcconsole_server.domain.usage",
            "rtcconsole_server.domain.apps._apps",
        ),
        ("from .apps import _apps\n", "rtcconsole_server.domain", "rtcconsole_server.domain.apps._apps"),
        (
            "from ...domain.usage import _query\n",
            "rtcconsole_server.workers.jobs",
            "rtcconsole_server.domain.usage._query",
        ),
    ],
)
def test_the_face_check_resolves_relative_imports(
    tmp_path: Path, source: str, package: str, reached: str
) -> None:
    """A relative reach behind a face is seen as the absolute module it names."""
    sample = tmp_path / "sample.py"
    sample.write_text(source)
    assert (1, reached) in _imported_modules(sample, package)


def test_a_module_knows_its_package() -> None:
    assert _package_of(DOMAIN / "usage" / "_query.py") == "rtcconsole_server.domain.usage"
    assert _package_of(DOMAIN / "usage" / "__init__.py") == "rtcconsole_server.domain.usage"
    aggregator = REPO / "aggregator" / "rtcconsole_aggregator" / "aggregator.py"
    assert _package_of(aggregator) == "rtcconsole_aggregator"


# ------------------------------------------------------------ no grpc below the API, at run time

GRPC = ("grpc", "grpc_status", "grpc_health", "grpc_reflection", "rtcconsole.v1", "rtcconsole.client")
"""What nothing below the API may load (the "nothing below the API imports grpc" contract's list)."""
BELOW_THE_API = (
    "rtcconsole_server.domain",
    "rtcconsole_server.store",
    "rtcconsole_server.workers",
    "rtcconsole_server.live",
    "rtcconsole_server.settings",
    "rtcconsole_server.clock",
    "rtcconsole_server.errors",
    "rtcconsole_server.observability",
    "rtcconsole_aggregator",
)
"""The packages whose every module (migrations aside: Alembic loads them) must import without grpc."""

_PROBE = """
import importlib, pkgutil, sys
heavy = {heavy!r}
def loaded():
    return sorted(m for m in sys.modules if any(m == h or m.startswith(h + ".") for h in heavy))
assert not loaded(), f"loaded at start-up: {{loaded()}}"
imported = []
for name in {packages!r}:
    module = importlib.import_module(name)
    imported.append(name)
    for info in pkgutil.walk_packages(getattr(module, "__path__", []), name + "."):
        if ".migrations" not in info.name:
            importlib.import_module(info.name)
            imported.append(info.name)
print(len(imported), *loaded())
"""


def _grpc_loaded_by(packages: tuple[str, ...]) -> tuple[int, list[str]]:
    """Import every module of ``packages`` in a fresh interpreter: (how many, which of :data:`GRPC`
    it loaded). A fresh one, so that nothing this test process imported counts."""
    code = _PROBE.format(heavy=GRPC, packages=packages)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    count, *loaded = done.stdout.split()
    return int(count), loaded


def test_the_layers_below_the_api_load_no_grpc() -> None:
    """The domain, store, workers and aggregator (and what they stand on) run without grpc, as
    import-linter says they import none: a lazy or indirect import would show here."""
    count, loaded = _grpc_loaded_by(BELOW_THE_API)
    assert count > 100, f"only {count} modules imported: the walk missed the packages"
    assert loaded == [], f"importing the layers below the API loaded {loaded}"


def test_the_probe_sees_grpc_when_it_is_loaded() -> None:
    """Not vacuous: the API layer brings grpc in, and the same probe says so."""
    _, loaded = _grpc_loaded_by(("rtcconsole_server.api.errors",))
    assert "grpc" in loaded
