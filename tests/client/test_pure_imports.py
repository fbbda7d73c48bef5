"""The pure modules of the client package load without grpc or protobuf, in a fresh interpreter.

A customer's webhook receiver imports ``rtcconsole.callbacks``, a media server
``rtcconsole.usage``, a backend ``rtcconsole.usersig``: none of them needs grpc.
Each check runs ``python -c`` so that nothing this test process imported counts.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("grpc", "grpc_status", "google.protobuf", "rtcconsole.v1")
"""What a pure import must not load."""

PURE = (
    "rtcconsole",
    "rtcconsole.usersig",
    "rtcconsole.callbacks",
    "rtcconsole.usage",
    "rtcconsole._sigcommon",
    "rtcconsole._tokencodec",
    "rtcconsole._usersig",
    "rtcconsole._usersig_layout",
    "rtcconsole._privatemapkey",
    "rtcconsole._privatemap_userbuf",
)


def _run(code: str) -> str:
    """Run ``code`` in a fresh interpreter; fail with its stderr unless it exits 0. Its stdout."""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _loaded_after(statement: str) -> set[str]:
    """Which of :data:`HEAVY` (and which ``rtcconsole`` modules) are loaded after ``statement``."""
    code = (
        "import sys\n"
        f"before = {HEAVY!r}\n"
        "assert not [m for m in before if m in sys.modules], 'loaded at start-up'\n"
        f"{statement}\n"
        "print(*sorted(m for m in sys.modules if m in before or m.startswith('rtcconsole')))\n"
    )
    return set(_run(code).split())


@pytest.mark.parametrize("module", PURE)
def test_a_pure_module_loads_without_grpc(module: str) -> None:
    loaded = _loaded_after(f"import {module}")
    assert not loaded & set(HEAVY), f"import {module} loaded {sorted(loaded & set(HEAVY))}"
    assert loaded <= set(PURE), f"import {module} loaded modules outside the pure set: {loaded - set(PURE)}"


def test_the_pure_names_of_the_package_load_without_grpc() -> None:
    loaded = _loaded_after(
        "from rtcconsole import generate_usersig, verify_usersig, Privilege, MAX_SDK_APP_ID\n"
        "import rtcconsole\n"
        "assert rtcconsole.generate_private_map_key is not None"
    )
    assert not loaded & set(HEAVY)


@pytest.mark.parametrize(
    ("statement", "source"),
    [
        ("from rtcconsole import RtcConsole", "rtcconsole.client"),
        ("from rtcconsole import IngestClient", "rtcconsole.client"),
        ("import rtcconsole; rtcconsole.DEFAULT_TIMEOUT", "rtcconsole.client"),
        ("from rtcconsole import NotFound", "rtcconsole.errors"),
    ],
)
def test_a_name_that_needs_grpc_loads_it_on_first_use(statement: str, source: str) -> None:
    """The probe above sees grpc when it is there: these names bring it in, and still work."""
    loaded = _loaded_after(statement)
    assert {"grpc", "google.protobuf", source} <= loaded


def test_lazy_names_are_the_real_objects_and_unknown_names_fail() -> None:
    _run(
        "import rtcconsole, rtcconsole.client, rtcconsole.errors\n"
        "from rtcconsole import RtcConsole, RtcConsoleError, from_grpc_error\n"
        "assert RtcConsole is rtcconsole.client.RtcConsole\n"
        "assert RtcConsoleError is rtcconsole.errors.RtcConsoleError\n"
        "assert from_grpc_error is rtcconsole.errors.from_grpc_error\n"
        "assert 'RtcConsole' in dir(rtcconsole) and 'NotFound' in dir(rtcconsole)\n"
        "try:\n"
        "    from rtcconsole import NoSuchName\n"
        "except ImportError as error:\n"
        "    assert 'NoSuchName' in str(error)\n"
        "else:\n"
        "    raise AssertionError('NoSuchName imported')\n"
    )


def test_a_submodule_import_still_works_through_the_lazy_package() -> None:
    loaded = _loaded_after(
        "from rtcconsole import errors, usage\nassert errors.NotFound and usage.CATEGORIES"
    )
    assert {"rtcconsole.errors", "rtcconsole.usage", "grpc"} <= loaded
