"""The shape of the server, held by tests (docs/decisions/0014-layers-and-contexts.md).

import-linter (``lint-imports`` in scripts/check.sh) holds the layers; these tests
hold what it cannot express: contexts meet only through their public faces.
"""

from __future__ import annotations

import ast
from pathlib import Path

DOMAIN = Path(__file__).resolve().parents[1] / "services" / "rtcconsole_server" / "domain"
CONTEXTS = sorted(p.name for p in DOMAIN.iterdir() if (p / "__init__.py").exists())
CODE = [
    path
    for root in ("services", "aggregator")
    for path in (Path(__file__).resolve().parents[1] / root).rglob("*.py")
    if "migrations" not in path.parts
]


def _context_of(path: Path) -> str | None:
    try:
        relative = path.relative_to(DOMAIN)
    except ValueError:
        return None
    return relative.parts[0] if len(relative.parts) > 1 else None


def _imported_modules(path: Path) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            found.extend((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)
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
