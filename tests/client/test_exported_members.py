"""The public API is a decision: every public module's ``__all__`` lists exactly its public names.

A public module is every module of the client package whose dotted name has no part
starting with ``_``, except the generated ``rtcconsole.v1`` tree. Its public names are
what it defines itself (``def``, ``class`` and assignments at the top level, read from
the source) and what it re-exports; an imported name is an import, not part of the API,
unless ``__all__`` lists it (the rule of mypy's ``--no-implicit-reexport``). A module that
defines nothing public is a face (``rtcconsole``, ``rtcconsole.usersig``, ``rtcconsole.cli``):
every public name it holds at run time, lazily loaded ones included, is exported.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

import rtcconsole
import rtcconsole.errors
import rtcconsole.usersig


def _public_module_names() -> list[str]:
    found = ["rtcconsole"]
    for info in pkgutil.walk_packages(rtcconsole.__path__, "rtcconsole."):
        parts = info.name.split(".")
        if parts[1] != "v1" and not any(part.startswith("_") for part in parts):
            found.append(info.name)
    return sorted(found)


PUBLIC_MODULES = _public_module_names()


def _top_level(statements: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Top-level statements, looking into ``if`` and ``try`` blocks (``if TYPE_CHECKING:``)."""
    for statement in statements:
        if isinstance(statement, ast.If):
            yield from _top_level(statement.body)
            yield from _top_level(statement.orelse)
        elif isinstance(statement, ast.Try):
            yield from _top_level(statement.body)
            for handler in statement.handlers:
                yield from _top_level(handler.body)
            yield from _top_level(statement.orelse)
            yield from _top_level(statement.finalbody)
        else:
            yield statement


def _targets(target: ast.expr) -> Iterator[str]:
    if isinstance(target, ast.Name):
        yield target.id
    elif isinstance(target, ast.Tuple | ast.List):
        for element in target.elts:
            yield from _targets(element)


def _defined_and_imported(module: ModuleType) -> tuple[set[str], set[str]]:
    """Public names the module's source defines, and public names it imports."""
    assert module.__file__ is not None
    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    defined: set[str] = set()
    imported: set[str] = set()
    for statement in _top_level(tree.body):
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            defined.add(statement.name)
        elif isinstance(statement, ast.Assign):
            for target in statement.targets:
                defined.update(_targets(target))
        elif isinstance(statement, ast.AnnAssign | ast.AugAssign):
            defined.update(_targets(statement.target))
        elif isinstance(statement, ast.Import | ast.ImportFrom):
            imported.update((alias.asname or alias.name).split(".")[0] for alias in statement.names)
    return {n for n in defined if not n.startswith("_")}, {n for n in imported if not n.startswith("_")}


def _runtime_public_names(module: ModuleType) -> set[str]:
    """Names a user sees in ``dir(module)``: no ``_`` prefix, not a submodule, not a ``__future__`` flag."""
    names = set()
    for name in dir(module):
        if name.startswith("_"):
            continue
        value = getattr(module, name)
        if not isinstance(value, ModuleType) and type(value).__module__ != "__future__":
            names.add(name)
    return names


@pytest.fixture(params=PUBLIC_MODULES)
def module(request: pytest.FixtureRequest) -> ModuleType:
    return importlib.import_module(request.param)


def test_every_public_module_is_covered() -> None:
    """Not vacuous: the walk finds the faces, the pure helpers and each command group."""
    assert {
        "rtcconsole",
        "rtcconsole.callbacks",
        "rtcconsole.cli",
        "rtcconsole.cli.ingest",
        "rtcconsole.cli.monitor",
        "rtcconsole.cli.usage",
        "rtcconsole.client",
        "rtcconsole.errors",
        "rtcconsole.usage",
        "rtcconsole.usersig",
    } <= set(PUBLIC_MODULES)
    assert not [name for name in PUBLIC_MODULES if "._" in name or name.startswith("rtcconsole.v1")]


def test_all_equals_the_public_names(module: ModuleType) -> None:
    exported = module.__all__
    assert len(exported) == len(set(exported)), "duplicates in __all__"
    defined, imported = _defined_and_imported(module)
    reexported = imported & set(exported)
    assert set(exported) == defined | reexported, (
        f"defined but not exported: {sorted(defined - set(exported))}; "
        f"exported but neither defined nor imported: {sorted(set(exported) - defined - imported)}"
    )


def test_every_exported_name_resolves(module: ModuleType) -> None:
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert missing == []


def test_nothing_public_at_run_time_is_left_out(module: ModuleType) -> None:
    """What ``dir()`` shows is exported or an import; a face holds nothing but its exports."""
    defined, imported = _defined_and_imported(module)
    visible = _runtime_public_names(module)
    if defined:
        assert visible - set(module.__all__) <= imported
    else:
        assert visible == set(module.__all__)


def test_the_face_check_sees_a_public_definition(tmp_path: Path) -> None:
    """The source reading is not vacuous: it finds definitions, also under ``if``, and imports."""
    sample = tmp_path / "sample.py"
    source = [
        "from typing import TYPE_CHECKING",
        "import os.path",
        "if TYPE_CHECKING:",
        "    from x import Y",
        "A, B = 1, 2",
        "C: int = 3",
        "try:",
        "    D = 0",
        "except OSError:",
        "    pass",
        "_E = 4",
        "def f(): ...",
        "class G: ...",
    ]
    sample.write_text("\n".join(source) + "\n", encoding="utf-8")
    fake = ModuleType("sample")
    fake.__file__ = str(sample)
    assert _defined_and_imported(fake) == ({"A", "B", "C", "D", "f", "G"}, {"TYPE_CHECKING", "os", "Y"})


def test_the_package_reexports_the_client_errors_and_usersig() -> None:
    package = set(rtcconsole.__all__)
    clients = {"RtcConsole", "AppClient", "AuthClient", "IngestClient", "MonitorClient"}
    assert {*clients, "from_grpc_error"} <= package
    assert set(rtcconsole.errors.EXCEPTION_CLASS_BY_CODE.values()) | {rtcconsole.errors.RtcConsoleError} <= {
        getattr(rtcconsole, name) for name in package
    }
    assert set(rtcconsole.usersig.__all__) <= package, "a name of rtcconsole.usersig is not re-exported"


def test_lazy_names_are_the_objects_of_their_modules() -> None:
    import rtcconsole.client

    for name in rtcconsole.client.__all__:
        assert getattr(rtcconsole, name) is getattr(rtcconsole.client, name), name
    with pytest.raises(AttributeError, match="no attribute 'NoSuchName'"):
        _ = rtcconsole.NoSuchName  # type: ignore[attr-defined]


def test_the_ingest_client_has_a_method_per_ingest_rpc() -> None:
    """Every IngestService RPC is a typed method of IngestClient (``ReportQuality`` → ``report_quality``)."""
    from rtcconsole.v1 import ingest_service_pb2

    service = ingest_service_pb2.DESCRIPTOR.services_by_name["IngestService"]
    wanted = {re.sub(r"(?<!^)(?=[A-Z])", "_", method.name).lower() for method in service.methods}
    assert {"report_quality", "stream_quality", "report_client_events", "stream_client_events"} <= wanted
    public = {name for name in dir(rtcconsole.IngestClient) if not name.startswith("_")}
    assert wanted <= public, f"IngestService RPCs without a method: {sorted(wanted - public)}"
