"""Ingest of second-level usage records (R16), exactly once per (app, record id).

A batch is validated, split into new records, retries (same id, same payload:
counted once) and conflicts (same id, another payload: refused, the original
kept), and its new records are inserted together with a version bump of every
5-minute window they fall in, in one transaction: the aggregator recomputes
exactly the windows whose version moved. Integer seconds end to end.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from rtcconsole_server.clock import Clock, floor_instant
from rtcconsole_server.domain.common import BatchOutcome, Rejection
from rtcconsole_server.domain.usage._validate import (
    KINDS,
    MAX_AGE,
    MAX_AHEAD,
    UsageInput,
    plainly_valid,
    validate,
)
from rtcconsole_server.errors import AlreadyExists, FieldViolation, InvalidArgument
from rtcconsole_server.store import Store
from rtcconsole_server.store.bulk import insert_rows
from rtcconsole_server.store.models import App
from rtcconsole_server.store.models_usage import UsageRecord, UsageWindow
from rtcconsole_server.store.retry import Race, RetryPolicy, run_with_retries
from rtcconsole_server.store.upsert import insert_for

__all__ = [
    "KINDS",
    "MAX_BATCH",
    "WINDOW",
    "BatchOutcome",
    "Rejection",
    "UsageIngest",
    "UsageInput",
    "window_start",
]

WINDOW = timedelta(minutes=5)
"""Width of the tumbling windows, aligned on UTC."""
MAX_BATCH = 5000
"""Records in one batch."""
log = logging.getLogger("rtcconsole_server.usage")

_RETRY = RetryPolicy(attempts=3, retry_on=frozenset({Race.UNIQUE_VIOLATION, Race.DEADLOCK}))
"""A batch whose ids a concurrent batch inserted first runs again (and reads them back), and so does
one that deadlocked with a batch inserting overlapping ids in another order; 3 runs in all."""
_RECORDS = cast(Table, UsageRecord.__table__)
_WINDOWS = cast(Table, UsageWindow.__table__)
_KNOWN_OF_APP = (
    "SELECT stored.record_id, stored.payload_sha256 FROM unnest(%s::text[]) AS k(id) "
    "JOIN LATERAL (SELECT record_id, payload_sha256 FROM usage_records "
    "WHERE sdk_app_id = %s AND record_id = k.id LIMIT 1) AS stored ON true"
)
"""PostgreSQL: the stored digests of some record ids of one app, one probe of the unique index per
id whatever the table's statistics say. The plainer ``record_id = ANY(%s)`` is planned from them:
on a table that grew since its last ANALYZE (a first bulk load, a new app's backlog) PostgreSQL
expected a few rows for the app and scanned all of them, testing each against the whole array
(3.4 ms for 250 ids among an app's 5,000 rows, against 0.9 ms once analyzed; issue 16). A
``LATERAL`` subquery with a ``LIMIT`` is never flattened into a join, so each id is one index
probe on every plan (1.24-1.35 ms per 250 ids on an analyzed table, the same plan on stale
statistics; a correlated scalar subquery, the same plan shape, 1.5-2.1 ms). A row-value IN list
plans badly there too. The room events' read back is the same statement
(``domain/events/_rows.py``)."""
_KNOWN_OF_APP_SQLITE = (
    "SELECT record_id, payload_sha256 FROM usage_records WHERE sdk_app_id = ? AND record_id IN ({})"
)
"""SQLite: the same, for one chunk of ids (``{}``: that many ``?``)."""
_SQLITE_CHUNK = 500
"""Record ids per SQLite query (well below its 32,766 parameters)."""


def window_start(instant: datetime) -> datetime:
    """The start of the UTC 5-minute window containing ``instant``."""
    return floor_instant(instant, WINDOW)


class UsageIngest:
    """Stores batches of usage records, exactly once."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def record(self, records: Sequence[UsageInput], *, offset: int = 0) -> BatchOutcome:
        """Store the valid, new records of a batch; report the others (indexes start at ``offset``).

        Nothing is stored for a rejected record; the rest of the batch is. A batch
        is committed before this returns, so the caller may acknowledge it.
        """
        return self._with_retries(records, offset, atomic=False)

    def report(self, records: Sequence[UsageInput]) -> BatchOutcome:
        """Store a whole batch or nothing of it (``ReportUsage``).

        Any invalid record (or unknown app) is ``InvalidArgument`` naming every
        ``records[i].field``; any reuse of a record id with another payload is
        ``AlreadyExists`` naming every such id. Retries of stored records count as
        duplicates and do not fail the batch.
        """
        return self._with_retries(records, 0, atomic=True)

    def _with_retries(self, records: Sequence[UsageInput], offset: int, *, atomic: bool) -> BatchOutcome:
        if len(records) > MAX_BATCH:
            raise InvalidArgument(
                FieldViolation("records", f"at most {MAX_BATCH:,} records per batch; got {len(records):,}")
            )
        return run_with_retries(
            lambda: self._record_once(records, offset, atomic=atomic),
            what="usage batch",
            policy=_RETRY,
            log=log,
        )

    def _record_once(self, records: Sequence[UsageInput], offset: int, *, atomic: bool) -> BatchOutcome:
        now = self._clock.now()
        outcome = BatchOutcome()
        valid: list[tuple[int, UsageInput, str]] = []
        violations: list[FieldViolation] = []  # for an atomic batch: every problem, by field
        earliest, latest = now - MAX_AGE, now + MAX_AHEAD
        for i, record in enumerate(records):
            if plainly_valid(record, earliest, latest):
                valid.append((offset + i, record, record.digest()))
                continue
            problems = validate(record, now)
            if problems:
                violations += [
                    FieldViolation(f"records[{offset + i}].{p.field}", p.description) for p in problems
                ]
                outcome.rejections.append(
                    Rejection(
                        offset + i,
                        record.record_id,
                        "INVALID_ARGUMENT",
                        "; ".join(f"{p.field}: {p.description}" for p in problems),
                        tuple(p.field for p in problems),
                    )
                )
            else:
                valid.append((offset + i, record, record.digest()))
        with self._store.write() as session:
            owners: dict[int, int] = {
                app_id: account_id
                for app_id, account_id in session.execute(
                    select(App.sdk_app_id, App.account_id).where(
                        App.sdk_app_id.in_({r.sdk_app_id for _, r, _ in valid})
                    )
                )
            }
            known = self._known(session, [(r.sdk_app_id, r.record_id) for _, r, _ in valid])
            fresh: list[dict[str, object]] = []
            windows: dict[tuple[int, datetime], int] = {}
            for index, record, digest in valid:
                key = (record.sdk_app_id, record.record_id)
                if record.sdk_app_id not in owners:
                    violations.append(
                        FieldViolation(f"records[{index}].sdk_app_id", "no app has this sdk_app_id")
                    )
                    outcome.rejections.append(
                        Rejection(
                            index,
                            record.record_id,
                            "INVALID_ARGUMENT",
                            "no app has this sdk_app_id",
                            ("sdk_app_id",),
                        )
                    )
                    continue
                if key in known:
                    if known[key] == digest:
                        outcome.duplicates += 1
                    else:
                        outcome.rejections.append(
                            Rejection(
                                index,
                                record.record_id,
                                "ALREADY_EXISTS",
                                "record_id was already used with a different payload; the first is kept",
                            )
                        )
                    continue
                known[key] = digest
                window = window_start(record.start_time)
                windows[(record.sdk_app_id, window)] = owners[record.sdk_app_id]
                fresh.append(
                    {
                        "sdk_app_id": record.sdk_app_id,
                        "record_id": record.record_id,
                        "room_key": record.room_key,
                        "user_id": record.user_id,
                        "kind": record.kind,
                        "category": record.category,
                        "start_time": record.start_time,
                        "seconds": record.seconds,
                        "window_start": window,
                        "payload_sha256": digest,
                        "received_at": now,
                    }
                )
            if atomic and outcome.rejections:  # raising here rolls the transaction back
                if violations:
                    raise InvalidArgument(violations)
                conflicting = [r.record_id for r in outcome.rejections]
                raise AlreadyExists(
                    "usage record",
                    conflicting[0],
                    f"{len(conflicting)} record id(s) were already used with a different payload; "
                    "the first payloads are kept and nothing of this batch was stored",
                    others=conflicting[1:],
                )
            if fresh:
                insert_rows(session, _RECORDS, fresh)  # COPY on PostgreSQL
                self._bump_windows(session, windows, now)
            outcome.accepted = len(fresh)
        outcome.rejections.sort(key=lambda r: r.index)
        return outcome

    @staticmethod
    def _known(session: Session, keys: list[tuple[int, str]]) -> dict[tuple[int, str], str]:
        """Digest of every stored record among ``keys``: one indexed query per app (and 500 ids, SQLite)."""
        if not keys:
            return {}
        ids: dict[int, list[str]] = defaultdict(list)
        for app, rid in keys:
            ids[app].append(rid)
        found: dict[tuple[int, str], str] = {}
        if session.get_bind().dialect.name == "postgresql":
            # Straight on the driver (no SQLAlchemy compile per batch), and never prepared: each
            # batch is planned for its own ids (the LATERAL probe makes any plan probe per id).
            raw: Any = session.connection().connection.dbapi_connection
            for app, app_ids in ids.items():
                rows = raw.execute(_KNOWN_OF_APP, (app_ids, app), prepare=False).fetchall()
                found.update(((app, rid), digest) for rid, digest in rows)
            return found
        # SQLite: on the driver too, per app and chunk of ids (SQLAlchemy's expanding IN of 5,000
        # (app, id) tuples compiled in Python cost a third of a replayed batch; issue 16's profile).
        connection = session.connection()
        for app, app_ids in ids.items():
            for start in range(0, len(app_ids), _SQLITE_CHUNK):
                chunk = app_ids[start : start + _SQLITE_CHUNK]
                marks = ", ".join("?" * len(chunk))
                rows = connection.exec_driver_sql(
                    _KNOWN_OF_APP_SQLITE.format(marks), (app, *chunk)
                ).fetchall()
                found.update(((app, rid), digest) for rid, digest in rows)
        return found

    @staticmethod
    def _bump_windows(session: Session, windows: dict[tuple[int, datetime], int], now: datetime) -> None:
        """Create or bump (``version + 1``) every window of the batch: one statement, executed per
        window in key order (so that concurrent batches lock shared windows in the same order)."""
        upsert = insert_for(session, _WINDOWS)
        statement = upsert.on_conflict_do_update(
            index_elements=["sdk_app_id", "window_start"], set_={"version": _WINDOWS.c.version + 1}
        )
        session.execute(
            statement,
            [
                {
                    "sdk_app_id": sdk_app_id,
                    "window_start": start,
                    "account_id": account_id,
                    "version": 1,
                    "rolled_version": 0,
                    "revision": 0,
                    "first_record_at": now,
                }
                for (sdk_app_id, start), account_id in sorted(windows.items())
            ],
        )
