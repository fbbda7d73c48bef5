"""CreateApp's driver SQL (``domain/apps/_create_sql.py``) beside the SQLAlchemy Core it replaced,
on SQLite and PostgreSQL: the same stored bytes, the same billing read, R1's full quota, a
retry's earlier app found and nothing inserted, the engine's listeners (the app state cache's
write watch) still seeing the insert, and a driver error raised as SQLAlchemy's wrapped one,
from a batch (one pipeline on PostgreSQL) as from one statement."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, event, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from rtcconsole_server.clock import ManualClock
from rtcconsole_server.domain.apps import APP_QUOTA, Apps
from rtcconsole_server.domain.apps._create_sql import NEW_APP_COLUMNS, Created, create_under_lock
from rtcconsole_server.domain.auth import Accounts
from rtcconsole_server.domain.common import AppStateCache, Caller
from rtcconsole_server.errors import QuotaExceeded, StatementTimeout
from rtcconsole_server.store import Store, open_store
from rtcconsole_server.store.engine import driver_batch, driver_rows
from rtcconsole_server.store.models import Account, App

NOW = datetime(2026, 12, 2, 5, 6, 7, 890_123, tzinfo=UTC)


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    store = open_store(database_url)
    yield store
    store.dispose()


@pytest.fixture
def account_id(store: Store) -> int:
    return Accounts(store, ManualClock()).create("create_sql").account_id


def _values(account_id: int, name: str, **changes: object) -> dict[str, object]:
    values: dict[str, object] = {
        "account_id": account_id, "name": name, "description": "中文简介", "source": "",
        "secret_key": "ab" * 32, "lifecycle": "active", "request_id": None, "push_domain": "",
        "relayed_push_enabled": False, "created_at": NOW, "updated_at": NOW,
    }  # fmt: skip
    values.update(changes)
    assert tuple(values) == NEW_APP_COLUMNS
    return values


def _create(connection: Connection, values: dict[str, object], quota: int = APP_QUOTA) -> int | None:
    created = create_under_lock(connection, values, quota)
    assert created.earlier is None
    return created.sdk_app_id


def _stored(store: Store, sdk_app_id: int) -> tuple[object, ...]:
    """The row as the driver returns it, without SQLAlchemy's types (the bytes on disk)."""
    columns = ", ".join(NEW_APP_COLUMNS)
    with store.read_core() as connection:
        row = connection.exec_driver_sql(
            f"SELECT {columns} FROM apps WHERE sdk_app_id = {int(sdk_app_id)}"
        ).one()
    return tuple(row)


def test_the_driver_insert_stores_what_the_core_insert_stores(store: Store, account_id: int) -> None:
    with store.write_core() as connection:
        by_driver = _create(connection, _values(account_id, "driver", request_id="r1"))
        by_core = connection.scalar(
            insert(App).values(_values(account_id, "core", request_id="r2")).returning(App.sdk_app_id)
        )
    assert by_driver is not None and by_core is not None
    driver_row, core_row = _stored(store, by_driver), _stored(store, by_core)
    differ = {NEW_APP_COLUMNS.index("name"), NEW_APP_COLUMNS.index("request_id")}
    assert [v for i, v in enumerate(driver_row) if i not in differ] == [
        v for i, v in enumerate(core_row) if i not in differ
    ]
    with store.read_core() as connection:
        read = connection.execute(
            select(App.created_at, App.updated_at).where(App.sdk_app_id == by_driver)
        ).one()
    assert tuple(read) == (NOW, NOW)


def test_the_lock_reads_the_billing_state_as_core_does(store: Store, account_id: int) -> None:
    with store.write_core() as connection:
        connection.execute(
            update(Account).where(Account.id == account_id).values(arrears=True, package_state="exhausted")
        )
    with store.write_core() as connection:
        billing = create_under_lock(connection, _values(account_id, "billing"), APP_QUOTA).billing
        core = connection.execute(
            select(Account.postpaid, Account.arrears, Account.package_state).where(Account.id == account_id)
        ).one()
    assert (billing.postpaid, billing.arrears, billing.package_state) == tuple(core)
    assert billing.postpaid is False and billing.arrears is True


def test_r1_a_full_quota_inserts_nothing(store: Store, account_id: int) -> None:
    with store.write_core() as connection:
        for i in range(3):
            assert _create(connection, _values(account_id, f"a{i}"), 3) is not None
        assert _create(connection, _values(account_id, "a3"), 3) is None
    with store.read_core() as connection:
        count = connection.scalar(text("SELECT count(*) FROM apps WHERE account_id = :a"), {"a": account_id})
    assert count == 3


def test_a_create_still_clears_the_app_state_cache(store: Store, account_id: int) -> None:
    clock = ManualClock()
    cache = AppStateCache(store, clock, None)
    apps = Apps(store, clock, cache=cache)
    caller = Caller(account_id=account_id, key_id="k")
    first = apps.create(caller, name="first", description="")
    assert apps.get(caller, first.sdk_app_id) == first  # now cached
    generation = cache.generation()
    apps.create(caller, name="second", description="")
    assert cache.generation() > generation  # the engine's write watch saw the driver insert
    assert apps.get_cached(caller, first.sdk_app_id) is None


def test_r1_the_use_case_still_raises_quota_exceeded(store: Store, account_id: int) -> None:
    apps = Apps(store, ManualClock())
    caller = Caller(account_id=account_id, key_id="k")
    with store.write_core() as connection:
        for i in range(APP_QUOTA):
            _create(connection, _values(account_id, f"q{i}"))
    with pytest.raises(QuotaExceeded):
        apps.create(caller, name="over", description="")


def test_a_retry_finds_the_earlier_app_and_inserts_nothing(store: Store, account_id: int) -> None:
    with store.write_core() as connection:
        first = _create(connection, _values(account_id, "first", request_id="same"))
        again = create_under_lock(connection, _values(account_id, "other", request_id="same"), APP_QUOTA)
        other = create_under_lock(connection, _values(account_id, "third", request_id="new"), APP_QUOTA)
    assert first is not None
    assert again == Created(billing=again.billing, earlier=again.earlier, sdk_app_id=None)
    assert again.earlier is not None
    assert (again.earlier.sdk_app_id, again.earlier.name, again.earlier.description) == (
        first,
        "first",
        "中文简介",
    )
    assert other.earlier is None and other.sdk_app_id is not None
    with store.read_core() as connection:
        names = connection.scalars(
            select(App.name).where(App.account_id == account_id).order_by(App.sdk_app_id)
        ).all()
    assert names == ["first", "third"]


NOT_NULL = "INSERT INTO apps (account_id) VALUES ({})"


@pytest.mark.parametrize("failing", [0, 1, 2])
def test_a_driver_error_is_raised_as_sqlalchemys(store: Store, account_id: int, failing: int) -> None:
    """A failed statement of a batch (first, middle or last of a pipeline on PostgreSQL) is
    raised as SQLAlchemy's error; the transaction keeps none of the batch, and the connection
    serves the next one."""
    batch: list[tuple[str, dict[str, object]]] = [("SELECT 1", {}), ("SELECT 2", {}), ("SELECT 3", {})]
    batch[failing] = (NOT_NULL.format(int(account_id)), {})
    with pytest.raises(IntegrityError), store.write_core() as connection:
        _create(connection, _values(account_id, "kept?"))
        driver_batch(connection, batch)
    with store.read_core() as connection:
        assert driver_batch(connection, [("SELECT 1", {}), ("SELECT 2", {})]) == [[(1,)], [(2,)]]
        assert driver_rows(connection, "SELECT 1", {}) == [(1,)]
        assert connection.scalar(select(func.count()).where(App.account_id == account_id)) == 0


SLOW = {  # as in test_store_budget.py
    "sqlite": "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000000) "
    "SELECT count(*) FROM n",
    "postgresql": "SELECT pg_sleep(30)",
}

QUICK = {  # milliseconds, but enough SQLite VM steps for its progress handler to look at the clock
    "sqlite": "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000) "
    "SELECT count(*) FROM n",
    "postgresql": "SELECT 100000",
}


def test_a_driver_statement_has_its_own_time_budget(database_url: str, backend: str) -> None:
    store = open_store(database_url, statement_timeout=timedelta(seconds=1))  # room for a loaded machine
    try:
        with store.write_core() as connection:
            time.sleep(1.1)  # past the budget of the transaction's first statement: not its own
            assert driver_rows(connection, QUICK[backend], {}) == [(100_000,)]
        with pytest.raises(StatementTimeout), store.write_core() as connection:
            driver_rows(connection, SLOW[backend], {})
    finally:
        store.dispose()


def test_on_postgresql_a_create_is_one_pipeline(store: Store, account_id: int, backend: str) -> None:
    """The lock, the retry's lookup and the insert all go out in pipeline mode (one round trip)."""
    if backend != "postgresql":
        pytest.skip("SQLite has no network round trips: its statements run one by one")
    from psycopg import pq

    modes: list[pq.PipelineStatus] = []

    def seen(_connection: object, cursor: Any, *_args: object) -> None:
        modes.append(cursor.connection.pgconn.pipeline_status)

    event.listen(store.engine, "before_cursor_execute", seen)
    try:
        apps = Apps(store, ManualClock())
        apps.create(Caller(account_id=account_id, key_id="k"), name="piped", description="", request_id="r")
    finally:
        event.remove(store.engine, "before_cursor_execute", seen)
    assert modes == [pq.PipelineStatus.ON] * 3
