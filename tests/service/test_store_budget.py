"""Every statement has a time budget, and the data at rest is private (issue 10 #1, #6)."""

from __future__ import annotations

import stat
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from rtcconsole_server.errors import StatementTimeout
from rtcconsole_server.store import InlineBudgetExceeded, open_store

SLOW = {
    # a recursive count to a billion: minutes of work for SQLite's VM
    "sqlite": "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000000) "
    "SELECT count(*) FROM n",
    "postgresql": "SELECT pg_sleep(30)",
}


@pytest.mark.parametrize("access", ["read", "write", "read_core", "write_core"])
def test_a_statement_past_its_budget_is_cancelled(database_url: str, backend: str, access: str) -> None:
    store = open_store(database_url, statement_timeout=timedelta(milliseconds=200))
    try:
        with pytest.raises(StatementTimeout) as caught, getattr(store, access)() as handle:
            handle.execute(text(SLOW[backend]))
        assert caught.value.budget == timedelta(milliseconds=200)
        with store.read_core() as connection:  # the connection is usable again afterwards
            assert connection.execute(text("SELECT 1")).scalar() == 1
    finally:
        store.dispose()


def test_quick_statements_run_under_a_small_budget(database_url: str) -> None:
    store = open_store(database_url, statement_timeout=timedelta(milliseconds=200))
    try:
        for _ in range(50):  # the budget is per statement, not per connection or transaction
            with store.read_core() as connection:
                assert connection.execute(text("SELECT 2")).scalar() == 2
    finally:
        store.dispose()


def test_the_sqlite_file_and_its_new_directory_are_private(tmp_path: Path) -> None:
    path = tmp_path / "fresh" / "nested" / "rtc.db"
    store = open_store(f"sqlite:///{path}")
    try:
        with store.write_core() as connection:
            connection.execute(text("CREATE TABLE t (x INTEGER)"))
    finally:
        store.dispose()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "fresh").stat().st_mode) == 0o700
    for sidecar in path.parent.glob("rtc.db-*"):  # WAL and shared memory take the file's mode
        assert stat.S_IMODE(sidecar.stat().st_mode) & 0o077 == 0


def test_an_existing_world_readable_file_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "rtc.db"
    path.touch(mode=0o644)
    path.chmod(0o644)
    open_store(f"sqlite:///{path}").dispose()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_sqlite_commits_are_fsynced(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'rtc.db'}")
    try:
        with store.read_core() as connection:
            assert connection.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
    finally:
        store.dispose()


def test_an_inline_read_past_its_small_budget_signals_a_rerun(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'rtc.db'}")
    try:
        with store.inline(timedelta(milliseconds=20)):
            with store.read_core() as connection:  # a quick read passes
                assert connection.execute(text("SELECT 3")).scalar() == 3
            with pytest.raises(InlineBudgetExceeded), store.read_core() as connection:
                connection.execute(text(SLOW["sqlite"]))
        with store.read_core() as connection:  # outside, the full budget is back
            assert connection.execute(text("SELECT count(*) FROM (SELECT 1)")).scalar() == 1
    finally:
        store.dispose()
