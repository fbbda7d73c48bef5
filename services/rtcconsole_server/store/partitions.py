"""Day partitions of monitoring's tables on PostgreSQL, and bounded deletes on SQLite: mechanism only.

On PostgreSQL ``quality_samples`` and ``client_events`` are partitioned by range of their
time column (:data:`PARTITIONED`), one partition per UTC day named ``<table>_pYYYYMMDD``
holding ``[day 00:00Z, next day 00:00Z)``. There is no DEFAULT partition: a row whose day
has no partition is refused by PostgreSQL, so writers call :meth:`DayPartitions.ensure`
for the days of their rows first (decision 0024). SQLite has plain tables.

Locks, so that partition upkeep never stalls ingest: a partition is created as a plain
table and then ``ATTACH``\\ ed (``SHARE UPDATE EXCLUSIVE`` on the parent: concurrent
inserts and reads go on), serialised between replicas by a transaction advisory lock per
table; a partition is dropped with ``DROP TABLE`` under a ``lock_timeout`` of
:data:`DDL_LOCK_TIMEOUT` (it needs ``ACCESS EXCLUSIVE`` on the parent for an instant;
when it cannot get it that quickly it gives up and the next run tries again).

Which rows are old enough to go is the domain's business (``domain.monitor``); this
module only creates, lists and drops partitions and deletes a bounded range of rows.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
from sqlalchemy import Connection, Table, bindparam, delete, select, text, tuple_
from sqlalchemy.orm import Session

from rtcconsole_server.clock import EPOCH, utc
from rtcconsole_server.store.engine import Store

__all__ = [
    "DDL_LOCK_TIMEOUT",
    "PARTITIONED",
    "DayPartitions",
    "attach_partition",
    "day_start",
    "delete_range",
    "include_in_schema_checks",
    "is_partition",
    "lock_apps",
    "missing_partition",
    "partition_days",
    "partition_name",
    "utc_day",
]

PARTITIONED = {"quality_samples": "sample_time", "client_events": "event_time"}
"""The day-partitioned tables of PostgreSQL and their partition key (a ``timestamptz``)."""
DDL_LOCK_TIMEOUT = "2s"
"""Longest a partition's DROP waits for its lock on the parent table."""
_NAME = re.compile(r"^(?P<table>quality_samples|client_events)_p(?P<day>\d{8})$")


def utc_day(instant: datetime) -> date:
    """The UTC calendar day that holds ``instant`` (aware; ``clock.utc``): the date of
    ``clock.floor_instant(instant, timedelta(days=1))``."""
    return utc(instant).date()


def day_start(day: date) -> datetime:
    """Midnight UTC at the start of ``day``, aware UTC: whole days counted from ``clock.EPOCH``,
    so ``day_start(utc_day(t)) == clock.floor_instant(t, timedelta(days=1))``."""
    return EPOCH + (day - EPOCH.date())


def partition_name(table: str, day: date) -> str:
    """``quality_samples_p20260101``: the partition of ``table`` holding ``day``."""
    return f"{table}_p{day:%Y%m%d}"


def is_partition(name: str) -> bool:
    """Whether ``name`` is a day partition's name (schema comparisons skip them)."""
    return _NAME.match(name) is not None


def include_in_schema_checks(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Alembic's ``include_object``: a day partition is data, not schema (the models declare the
    partitioned table; its partitions come and go with the days)."""
    return not (type_ == "table" and reflected and name is not None and is_partition(name))


def _key(what: str) -> int:
    digest = hashlib.sha256(what.encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _literal(instant: datetime) -> str:
    return instant.strftime("'%Y-%m-%d %H:%M:%S+00'")


def attach_partition(connection: Connection, table: str, day: date) -> None:
    """Create the partition of ``table`` for ``day`` (PostgreSQL; the caller checked it is missing)."""
    if table not in PARTITIONED:
        raise ValueError(f"not a partitioned table: {table!r}")
    name = partition_name(table, day)
    bounds = f"FROM ({_literal(day_start(day))}) TO ({_literal(day_start(day + timedelta(days=1)))})"
    connection.execute(text(f"CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS)"))
    connection.execute(text(f"ALTER TABLE {table} ATTACH PARTITION {name} FOR VALUES {bounds}"))


def partition_days(connection: Connection, table: str) -> list[date]:
    """The days of ``table``'s partitions (PostgreSQL), ascending; partitions not named by
    :func:`partition_name` (one an operator added) are not listed, so never dropped."""
    names = connection.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = CAST(:table AS regclass)"
        ),
        {"table": table},
    ).scalars()
    days = []
    for name in names:
        found = _NAME.match(name)
        if found and found["table"] == table:
            days.append(datetime.strptime(found["day"], "%Y%m%d").replace(tzinfo=UTC).date())
    return sorted(days)


def missing_partition(error: BaseException) -> bool:
    """Whether ``error`` (or its cause) is PostgreSQL's "no partition of relation … found for row"."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, psycopg.errors.CheckViolation) and "no partition" in str(seen):
            return True
        seen = getattr(seen, "orig", None) or seen.__cause__
    return False


def lock_apps(session: Session, table: str, apps: Iterable[int]) -> None:
    """On PostgreSQL, wait for every other transaction writing ``apps``' rows of ``table`` under
    this lock (a transaction advisory lock per (table, app), taken in ascending key order), so
    that a look-up followed by an insert is atomic. SQLite's single writer needs none."""
    if session.get_bind().dialect.name != "postgresql":
        return
    keys = sorted({_key(f"rtc-rows:{table}:{app}") for app in apps})
    session.execute(
        text("SELECT pg_advisory_xact_lock(k) FROM unnest(CAST(:keys AS bigint[])) AS t(k) ORDER BY k"),
        {"keys": keys},
    )


class DayPartitions:
    """The day partitions of one table (:data:`PARTITIONED`); every method is a no-op on SQLite.

    Remembers the days it saw exist, so that :meth:`ensure` of a known day costs nothing;
    :meth:`forget` after a row was refused for want of its partition (another process
    dropped it)."""

    def __init__(self, store: Store, table: str) -> None:
        if table not in PARTITIONED:
            raise ValueError(f"not a partitioned table: {table!r}")
        self._store = store
        self.table = table
        self._known: set[date] = set()

    def ensure(self, days: Iterable[date]) -> list[date]:
        """Create the partitions of ``days`` that do not exist yet; the days it created."""
        missing = set(days) - self._known
        if not missing or not self._store.is_postgresql:
            return []
        with self._store.write_core() as connection:
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:k)"), {"k": _key(f"rtc-partitions:{self.table}")}
            )
            existing = set(partition_days(connection, self.table))
            created = sorted(missing - existing)
            for day in created:
                attach_partition(connection, self.table, day)
        self._known |= existing | missing
        return created

    def forget(self) -> None:
        """Look the partitions up again at the next :meth:`ensure`."""
        self._known.clear()

    def days(self) -> list[date]:
        """The days that have a partition, ascending (empty on SQLite)."""
        if not self._store.is_postgresql:
            return []
        with self._store.read_core() as connection:
            return partition_days(connection, self.table)

    def drop_before(self, day: date) -> list[date]:
        """Drop every partition of a day before ``day`` (all its rows at once); the days dropped.

        Each DROP is its own transaction, waiting at most :data:`DDL_LOCK_TIMEOUT` for its lock
        (past it PostgreSQL's lock_not_available is raised, and what was dropped before stays
        dropped)."""
        dropped: list[date] = []
        for old in (d for d in self.days() if d < day):
            with self._store.write_core() as connection:
                connection.execute(text(f"SET LOCAL lock_timeout = '{DDL_LOCK_TIMEOUT}'"))
                connection.execute(text(f"DROP TABLE IF EXISTS {partition_name(self.table, old)}"))
            self._known.discard(old)
            dropped.append(old)
        return dropped


def _row_value(table: Table, values: Sequence[Any]) -> Any:
    columns = list(table.primary_key.columns)
    return tuple_(*(bindparam(None, v, type_=c.type) for c, v in zip(columns, values, strict=True)))


def delete_range(
    session: Session, table: Table, column: str, before: datetime, *, after: Sequence[Any] | None, rows: int
) -> tuple[int, tuple[Any, ...] | None]:
    """Delete the rows whose ``column`` is before ``before`` among the next ``rows`` rows of
    ``table`` in primary-key order after the key ``after`` (``None``: from the first row).

    Returns how many it deleted and the key to continue after (``None`` when it reached the
    end). Each call reads at most ``rows`` keys of the primary-key index and deletes at most
    ``rows`` rows, so a transaction around it stays short however large the table is."""
    key = tuple_(*table.primary_key.columns)
    scope = [] if after is None else [key > _row_value(table, after)]
    boundary = session.execute(
        select(*table.primary_key.columns)
        .where(*scope)
        .order_by(*table.primary_key.columns)
        .offset(rows - 1)
        .limit(1)
    ).first()
    if boundary is not None:
        scope.append(key <= _row_value(table, tuple(boundary)))
    result: Any = session.execute(delete(table).where(*scope, table.c[column] < before))
    return int(result.rowcount), (tuple(boundary) if boundary is not None else None)
