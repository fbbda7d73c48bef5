"""The exactly-once ingest of monitoring's data-plane records, whatever their kind.

The same contract as room events and usage records (``domain.events``, ``domain.usage``):

* a batch holds at most 5,000 records; :meth:`RecordIngest.report` (``ReportQuality``,
  ``ReportClientEvents``) is all or nothing: any invalid record is ``InvalidArgument``
  naming every ``samples[i].<field>`` (unknown apps included), any conflict
  ``AlreadyExists``, and then nothing of the batch is stored;
* :meth:`RecordIngest.ingest` (the streams) stores what it can and returns a
  ``Rejection`` per record it did not store, indexed across the stream;
* the same identity with the same payload is a retry, counted as a duplicate (also
  within one batch); with another payload a conflict, and the first one is kept;
* records of every app ever issued are accepted (stopped, disabled, deleted: R7 lets
  users inside stay), an ``sdk_app_id`` never issued is ``INVALID_ARGUMENT``.

Identity: a sample's natural key, a client event's (app, event id) (decision 0019). The
fingerprint is the stored row itself: a resend is compared column by column with what is
stored, so a conflict names the fields that differ, and a sample needs no digest column.
On PostgreSQL both tables are partitioned by day, and a unique key there must hold the
time: a sample's identity is its primary key, but a client event's key is (app, event id,
time), so for a kind whose identity is not unique in the table (``Kind.unique_identity``)
the engine looks the identities up in every day first, under a transaction lock per app
(``store.partitions.lock_apps``), and inserts only the unseen ones: a resend with another
time is still the same event (decision 0024). The partitions of a batch's days are made
before it is written (``store.partitions.DayPartitions``).

Speed: a batch is validated in Python (a sample first through a screen of plain
comparisons, ``_samples._surely_valid``; the full check names the problems of the rest), then
written in one transaction: one query for the apps, one ``COPY`` (PostgreSQL) or
``executemany`` (SQLite) of the new rows, built as tuples (no dict per row), inside a
savepoint (``store.bulk.insert_new_tuples``). Only a batch that holds a stored key pays
more: a rollback to the savepoint, one read of the stored rows per 500 keys, and the insert
of the rest. A batch that lost a race with a concurrent one (a unique violation or deadlock)
runs again, 5 runs in all.
"""

from __future__ import annotations

import abc
import functools
import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar, Generic, Protocol, TypeVar, cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from rtcconsole_server.clock import Clock
from rtcconsole_server.domain.common import BatchOutcome, Rejection
from rtcconsole_server.errors import AlreadyExists, FieldViolation, InvalidArgument
from rtcconsole_server.store import Store
from rtcconsole_server.store.bulk import Key, insert_new_tuples, insert_tuples, read_rows
from rtcconsole_server.store.models import App
from rtcconsole_server.store.partitions import DayPartitions, lock_apps, missing_partition, utc_day
from rtcconsole_server.store.retry import Race, RetryPolicy, run_with_retries

__all__ = ["MAX_BATCH", "Kind", "RecordIngest"]

log = logging.getLogger("rtcconsole_server.monitor")

MAX_BATCH = 5000
"""Records in one batch (one Report… call, one Stream… message)."""
_RETRY = RetryPolicy(
    attempts=5, retry_on=frozenset({Race.SERIALIZATION_FAILURE, Race.DEADLOCK, Race.UNIQUE_VIOLATION})
)
_NO_APP = "no app has this sdk_app_id"


class _OfApp(Protocol):
    @property
    def sdk_app_id(self) -> int: ...


R = TypeVar("R", bound=_OfApp)


class Kind(abc.ABC, Generic[R]):
    """What the engine needs to know of one kind of record."""

    what: ClassVar[str]
    """How messages name one record: ``quality sample``."""
    batch: ClassVar[str]
    """The request's repeated field: ``samples``."""
    table: ClassVar[Table]
    key: ClassVar[tuple[str, ...]]
    """The identity's columns, in the table's key order."""
    columns: ClassVar[tuple[str, ...]]
    """The columns :meth:`row` gives, in its order: :attr:`key` first."""
    time_column: ClassVar[str]
    """The record's time, the table's partition key on PostgreSQL (a field of the record too)."""
    unique_identity: ClassVar[bool] = True
    """Whether :attr:`key` is a unique key of the table; if not (a prefix of it), the engine
    looks stored identities up before inserting."""

    @abc.abstractmethod
    def check(self, record: R, now: datetime) -> list[FieldViolation]:
        """Every rule ``record`` breaks at ``now``, fields relative to the record."""

    @abc.abstractmethod
    def record_id(self, record: R) -> str:
        """The record's id as sent (``Rejection.record_id``)."""

    @abc.abstractmethod
    def identity(self, record: R) -> Key:
        """The values of :attr:`key`."""

    @abc.abstractmethod
    def form(self, record: R) -> dict[str, object]:
        """The payload a retry must repeat, by proto field name."""

    @abc.abstractmethod
    def stored_form(self, row: Mapping[str, Any]) -> dict[str, object]:
        """:meth:`form` of a stored row."""

    @abc.abstractmethod
    def row(self, record: R, now: datetime) -> tuple[object, ...]:
        """The stored row of ``record``: the values of :attr:`columns`, in that order."""

    @abc.abstractmethod
    def name(self, record: R) -> str:
        """The record as ``AlreadyExists`` names it (its ResourceInfo)."""


class _Item(Generic[R]):
    """One record of a batch: its index across the stream and its identity (a plain slotted
    class: a batch makes one per record, and a frozen dataclass costs several times more)."""

    __slots__ = ("_form", "identity", "index", "kind", "record")

    def __init__(self, index: int, record: R, identity: Key, kind: Kind[R]) -> None:
        self.index = index
        self.record = record
        self.identity = identity
        self.kind = kind
        self._form: dict[str, object] | None = None

    @property
    def form(self) -> dict[str, object]:
        """Built only to compare a resend with the first (the hot path never needs it)."""
        if self._form is None:
            self._form = self.kind.form(self.record)
        return self._form


def _index_of(violation: FieldViolation) -> tuple[int, str]:
    index = violation.field.partition("[")[2].partition("]")[0]
    return (int(index) if index.isdigit() else -1, violation.field)


class RecordIngest(Generic[R]):
    """Stores batches of one kind of record exactly once."""

    def __init__(self, store: Store, clock: Clock, kind: Kind[R]) -> None:
        self._store = store
        self._clock = clock
        self._kind = kind
        self._partitions = DayPartitions(store, kind.table.name)

    def check_batch_size(self, count: int, *, where: str = "") -> None:
        """``InvalidArgument`` on the batch's field beyond :data:`MAX_BATCH` records (``where``
        adds to the description, e.g. where a stream's batch starts)."""
        if count > MAX_BATCH:
            field = self._kind.batch
            raise InvalidArgument(
                FieldViolation(field, f"at most {MAX_BATCH:,} {field} per batch; got {count:,}{where}")
            )

    def report(self, records: Sequence[R]) -> BatchOutcome:
        """Store a whole batch or nothing of it."""
        self.check_batch_size(len(records))
        now = self._clock.now()
        field = self._kind.batch
        violations = [
            FieldViolation(f"{field}[{i}].{v.field}", v.description)
            for i, record in enumerate(records)
            for v in self._kind.check(record, now)
        ]
        if violations:  # name the unknown apps too, so that one answer lists every problem
            with self._store.read() as session:
                issued = _issued(session, {r.sdk_app_id for r in records})
            violations += [
                FieldViolation(f"{field}[{i}].sdk_app_id", _NO_APP)
                for i, record in enumerate(records)
                if record.sdk_app_id and record.sdk_app_id not in issued
            ]
            raise InvalidArgument(sorted(violations, key=_index_of))
        items = [self._item(i, r) for i, r in enumerate(records)]
        return self._write_with_retries(items, now, atomic=True)

    def ingest(self, records: Sequence[R], *, offset: int = 0) -> BatchOutcome:
        """Store the valid, new records of a batch; report the others, indexed from ``offset``.

        The batch is committed before this returns, so the caller may acknowledge it.
        """
        self.check_batch_size(len(records))
        now = self._clock.now()
        invalid: list[Rejection] = []
        items: list[_Item[R]] = []
        for i, record in enumerate(records):
            problems = self._kind.check(record, now)
            if problems:
                reason = "; ".join(f"{p.field}: {p.description}" for p in problems)
                fields = tuple(dict.fromkeys(p.field for p in problems))
                invalid.append(
                    Rejection(offset + i, self._kind.record_id(record), "INVALID_ARGUMENT", reason, fields)
                )
            else:
                items.append(self._item(offset + i, record))
        outcome = self._write_with_retries(items, now, atomic=False)
        outcome.rejections = sorted([*invalid, *outcome.rejections], key=lambda r: r.index)
        return outcome

    def _item(self, index: int, record: R) -> _Item[R]:
        return _Item(index, record, self._kind.identity(record), self._kind)

    def _write_with_retries(self, items: list[_Item[R]], now: datetime, *, atomic: bool) -> BatchOutcome:
        days = {utc_day(t) for t in {getattr(it.record, self._kind.time_column) for it in items}}
        self._partitions.ensure(days)
        run = functools.partial(
            run_with_retries,
            lambda: self._write(items, now, atomic=atomic),
            what=f"{self._kind.what} batch",
            policy=_RETRY,
            log=log,
        )
        try:
            return run()
        except Exception as error:
            if not missing_partition(error):
                raise
        # a partition this process knew was dropped since (retention, perhaps on another replica)
        self._partitions.forget()
        self._partitions.ensure(days)
        return run()

    def _write(self, items: list[_Item[R]], now: datetime, *, atomic: bool) -> BatchOutcome:
        outcome = BatchOutcome()
        if not items:
            return outcome
        kind = self._kind
        with self._store.write() as session:
            issued = _issued(session, {it.record.sdk_app_id for it in items})
            unknown = [it for it in items if it.record.sdk_app_id not in issued]
            if unknown and atomic:
                raise InvalidArgument(
                    [FieldViolation(f"{kind.batch}[{it.index}].sdk_app_id", _NO_APP) for it in unknown]
                )
            outcome.rejections += [
                Rejection(
                    it.index,
                    kind.record_id(it.record),
                    "INVALID_ARGUMENT",
                    f"sdk_app_id: {_NO_APP}",
                    ("sdk_app_id",),
                )
                for it in unknown
            ]
            firsts: dict[Key, _Item[R]] = {}
            for it in items:
                if it.record.sdk_app_id in issued:
                    firsts.setdefault(it.identity, it)
            rows = [kind.row(it.record, now) for it in firsts.values()]
            if kind.unique_identity:
                stored = insert_new_tuples(session, kind.table, kind.columns, len(kind.key), rows)
            else:
                stored = self._insert_unseen(session, rows)
            conflicts: list[tuple[_Item[R], tuple[str, ...]]] = []
            for it in items:
                first = firsts.get(it.identity)
                if first is None:
                    continue  # an unknown app
                if it.identity in stored:
                    known = kind.stored_form(stored[it.identity])
                elif first is it:
                    outcome.accepted += 1
                    outcome.stored.append(it.record)  # counted in real time after the commit (R21)
                    continue
                else:
                    known = first.form
                differing = tuple(name for name, value in known.items() if it.form.get(name) != value)
                if differing:
                    conflicts.append((it, differing))
                else:
                    outcome.duplicates += 1
            if conflicts and atomic:
                raise self._conflict_error(conflicts)  # rolls back what was inserted
            outcome.rejections += [self._conflict_rejection(it, fields) for it, fields in conflicts]
        outcome.rejections.sort(key=lambda r: r.index)
        return outcome

    def _insert_unseen(self, session: Session, rows: list[tuple[object, ...]]) -> dict[Key, dict[str, Any]]:
        """Insert the rows whose identity no stored row has, whatever its time; the stored rows of
        the others. Writers of the same apps wait for each other (PostgreSQL), so no identity is
        inserted twice by two concurrent batches."""
        kind = self._kind
        lock_apps(session, kind.table.name, {cast(int, row[0]) for row in rows})  # key[0]: the app
        keys = [row[: len(kind.key)] for row in rows]
        stored = read_rows(session, kind.table, kind.key, keys)
        insert_tuples(
            session,
            kind.table,
            kind.columns,
            [row for row, key in zip(rows, keys, strict=True) if key not in stored],
        )
        return stored

    def _conflict_rejection(self, it: _Item[R], fields: tuple[str, ...]) -> Rejection:
        reason = (
            f"{self._kind.what} {self._kind.name(it.record)} was already stored with another payload "
            f"(differs in {', '.join(fields)}); the first one is kept"
        )
        return Rejection(it.index, self._kind.record_id(it.record), "ALREADY_EXISTS", reason, fields)

    def _conflict_error(self, conflicts: list[tuple[_Item[R], tuple[str, ...]]]) -> AlreadyExists:
        kind = self._kind
        names = [kind.name(it.record) for it, _ in conflicts]
        described = "; ".join(
            f"{kind.batch}[{it.index}] is {kind.name(it.record)}, stored with another payload "
            f"(differs in {', '.join(fields)})"
            for it, fields in conflicts[:10]
        )
        more = f" and {len(conflicts) - 10} more" if len(conflicts) > 10 else ""
        return AlreadyExists(
            kind.what, names[0], f"{described}{more}; nothing of the batch was stored", others=names[1:]
        )


def _issued(session: Session, ids: Iterable[int]) -> set[int]:
    """The ids among ``ids`` that were ever issued (deleted apps included)."""
    # R7: users inside a disabled or deleted app's rooms stay, and their SDKs keep reporting
    return set(session.scalars(select(App.sdk_app_id).where(App.sdk_app_id.in_(sorted(ids)))))
