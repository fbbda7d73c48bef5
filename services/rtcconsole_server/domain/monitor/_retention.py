"""Retention of monitoring's data-plane records: how long quality samples and client events are kept.

**The rule, in whole UTC days.** With a retention of ``days`` (``Settings.retention_days``,
14 by default), a record is kept while its time falls on today (UTC) or on one of the
``days`` days before it, and removed once it is older: the *cutoff* is midnight UTC at the
start of the day ``days`` days before today, and exactly the records whose time is before
the cutoff go (one at ``cutoff - 1 µs`` goes, one at the cutoff stays). So a 14-day
look-back (R17) from any instant of today finds all its records. Whole days because
PostgreSQL keeps one partition per UTC day and drops a day at once; SQLite, which has no
partitions, deletes by the same cutoff, so both backends keep exactly the same rows
(decision 0024).

**What a run does.** On PostgreSQL (:meth:`Retention.maintain`): create the partitions of
today and the next :data:`AHEAD_DAYS` days, and drop every partition of a day before the
cutoff's. On SQLite (:meth:`Retention.delete_batch`): delete the rows before the cutoff in
bounded batches, each its own short transaction over at most ``batch`` rows of the table's
key, so that the single writer is never held long; the worker yields between batches.

A record older than the cutoff may still arrive (the ingest accepts 35 days back): it is
stored (its day's partition is made on demand) and the next run removes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table

from rtcconsole_server.clock import Clock
from rtcconsole_server.store import Store
from rtcconsole_server.store.models_monitor import ClientEvent, QualitySample
from rtcconsole_server.store.partitions import PARTITIONED, DayPartitions, day_start, delete_range, utc_day

__all__ = ["AHEAD_DAYS", "DEFAULT_BATCH", "DEFAULT_RETENTION_DAYS", "Retention", "RetentionBatch", "Upkeep"]

DEFAULT_RETENTION_DAYS = 14
"""Days of records kept before today (TRTC's look-back, R17)."""
AHEAD_DAYS = 2
"""Days after today whose partitions each run makes ready (PostgreSQL)."""
DEFAULT_BATCH = 5000
"""Rows of the table's key one SQLite delete transaction looks at, at most."""
_TABLES: tuple[Table, ...] = (cast(Table, QualitySample.__table__), cast(Table, ClientEvent.__table__))


@dataclass(frozen=True)
class Upkeep:
    """What one PostgreSQL run did, per table name."""

    cutoff: datetime
    created: dict[str, list[date]] = field(default_factory=dict)
    dropped: dict[str, list[date]] = field(default_factory=dict)

    @property
    def count(self) -> int:
        """Partitions created and dropped."""
        return sum(map(len, self.created.values())) + sum(map(len, self.dropped.values()))


@dataclass(frozen=True)
class RetentionBatch:
    """One SQLite delete transaction: rows deleted, and where the next one starts (None: done)."""

    deleted: int
    after: tuple[Any, ...] | None


class Retention:
    """Keeps ``days`` whole UTC days of samples and client events before today (see the module)."""

    tables = tuple(t.name for t in _TABLES)
    """The tables it keeps: ``quality_samples``, ``client_events``."""

    def __init__(
        self, store: Store, clock: Clock, *, days: int = DEFAULT_RETENTION_DAYS, batch: int = DEFAULT_BATCH
    ) -> None:
        if days < 1 or batch < 1:
            raise ValueError("retention days and batch rows must be at least 1")
        self._store = store
        self._clock = clock
        self.days = days
        self.batch = batch
        self._partitions = {t.name: DayPartitions(store, t.name) for t in _TABLES}

    @property
    def partitioned(self) -> bool:
        """Whether the store drops day partitions (PostgreSQL) rather than deleting rows (SQLite)."""
        return self._store.is_postgresql

    def cutoff(self, now: datetime | None = None) -> datetime:
        """Midnight UTC at the start of the day ``days`` days before today (at ``now``, default
        the clock's): records before it are removed, records at or after it kept."""
        return day_start(utc_day(now or self._clock.now()) - timedelta(days=self.days))

    def maintain(self) -> Upkeep:
        """PostgreSQL: make today's and the next :data:`AHEAD_DAYS` days' partitions, drop those of
        days before the cutoff. Nothing on SQLite."""
        now = self._clock.now()
        cutoff = self.cutoff(now)
        upkeep = Upkeep(cutoff)
        if not self.partitioned:
            return upkeep
        today = utc_day(now)
        upcoming = [today + timedelta(days=n) for n in range(AHEAD_DAYS + 1)]
        for name, partitions in self._partitions.items():
            upkeep.created[name] = partitions.ensure(upcoming)
            upkeep.dropped[name] = partitions.drop_before(cutoff.date())
        return upkeep

    def delete_batch(
        self, table: str, cutoff: datetime, after: Sequence[Any] | None = None
    ) -> RetentionBatch:
        """SQLite (or any store): in one transaction, delete the records of ``table`` before
        ``cutoff`` among the next :attr:`batch` keys after ``after`` (None: from the start)."""
        found = next((t for t in _TABLES if t.name == table), None)
        if found is None:
            raise ValueError(f"retention keeps {', '.join(self.tables)}, not {table!r}")
        with self._store.write() as session:
            deleted, last = delete_range(
                session, found, PARTITIONED[table], cutoff, after=after, rows=self.batch
            )
        return RetentionBatch(deleted, last)
