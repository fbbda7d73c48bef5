"""The public API is a decision: ``__all__`` lists exactly the public names (httpx style)."""

from __future__ import annotations

from types import ModuleType

import pytest

import rtcconsole
import rtcconsole.cli
import rtcconsole.client
import rtcconsole.errors
import rtcconsole.usersig


def _public_names(module: ModuleType) -> set[str]:
    """Names a user sees in ``module``: no ``_`` prefix, and not a submodule."""
    return {
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and not isinstance(value, ModuleType)
    }


@pytest.mark.parametrize("module", [rtcconsole, rtcconsole.cli], ids=lambda m: m.__name__)
def test_all_equals_the_public_names(module: ModuleType) -> None:
    exported = module.__all__
    assert len(exported) == len(set(exported)), "duplicates in __all__"
    assert set(exported) == _public_names(module)


@pytest.mark.parametrize(
    "module", [rtcconsole.client, rtcconsole.errors, rtcconsole.usersig], ids=lambda m: m.__name__
)
def test_all_names_exist(module: ModuleType) -> None:
    for name in module.__all__:
        assert hasattr(module, name), name


def test_the_package_reexports_the_client_errors_and_usersig() -> None:
    package = set(rtcconsole.__all__)
    assert {"RtcConsole", "AppClient", "AuthClient", "from_grpc_error"} <= package
    assert set(rtcconsole.errors.EXCEPTION_CLASS_BY_CODE.values()) | {rtcconsole.errors.RtcConsoleError} <= {
        getattr(rtcconsole, name) for name in package
    }
    assert set(rtcconsole.usersig.__all__) <= package, "a name of rtcconsole.usersig is not re-exported"
