"""One roll-up transaction: claim due windows, recompute their lines from the raw rows, publish.

Everything below happens in ONE transaction (``roll_up_batch``), so it either
all commits or leaves no trace:

1. **Claim** up to ``limit`` due windows (``rolled_version < version`` and
   closed by ``due_through``) with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL
   (SQLite has one writer at a time: ``BEGIN IMMEDIATE``), marking them in the
   same statement: ``rolled_version = version`` (the version read under the
   lock), ``revision + 1`` and a random ``claim_token`` that names the batch.
2. On PostgreSQL, take a transaction advisory lock per touched (app, UTC day)
   in ascending key order, so two replicas that claimed windows of the same
   day take turns on that day's ``usage_days`` rows instead of deadlocking.
3. Subtract the claimed windows' current lines from their day sums.
4. **Recompute** the claimed windows' lines with one ``GROUP BY`` over the raw
   rows of their window starts, joined to the claimed windows, and upsert them
   (``INSERT … SELECT … ON CONFLICT DO UPDATE``): the lines are overwritten,
   never incremented.
5. Add the new lines to their day sums.

PostgreSQL runs these steps in three statements plus the locks (``rollup_pg``):
the claim returns what the batch needs, and steps 4 and 5 are one statement
that adds the recomputed rows themselves to the day sums. SQLite runs them as
written here.

Why the numbers are exact (docs/usage.md has the long form): ingest inserts a
window's records and bumps that window's ``version`` in one transaction, and
the bump needs the window row's lock. While this transaction holds the lock no
batch touching the window can commit, so the records our ``GROUP BY`` sees are
exactly those of the batches counted in the ``version`` we copied; a batch
that commits later bumps the version again and the window is due again. A
crashed or killed roll-up rolls back whole; a paused one keeps its locks, so
nobody else can publish those windows meanwhile, and what it publishes when it
resumes is still exact.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, literal, select, text, tuple_, update
from sqlalchemy.orm import Session

from rtcconsole_aggregator import rollup_pg
from rtcconsole_server.domain.usage import DAY, day_start
from rtcconsole_server.store.models_usage import UsageDay, UsageLine, UsageRecord, UsageWindow
from rtcconsole_server.store.types import UTCDateTime
from rtcconsole_server.store.upsert import insert_for

__all__ = ["Batch", "day_lock_key", "roll_up_batch"]

log = logging.getLogger("rtcconsole_aggregator")

W, L, R, D = UsageWindow, UsageLine, UsageRecord, UsageDay
_LINE_KEY = ["sdk_app_id", "window_start", "kind", "category"]
_DAY_KEY = ["sdk_app_id", "day", "kind", "category"]


@dataclass(frozen=True)
class Batch:
    """What one roll-up transaction published."""

    windows: int
    """Windows published."""
    accounts: frozenset[int]
    """Accounts whose usage changed (their billing state is due for evaluation)."""
    starts: tuple[datetime, ...]
    """Distinct window starts, ascending."""


def day_lock_key(sdk_app_id: int, day: datetime) -> int:
    """The signed 64-bit advisory-lock key of one (app, UTC day)."""
    digest = hashlib.sha256(f"rtc-usage-day:{sdk_app_id}:{day.date().isoformat()}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _claim(session: Session, *, due_through: datetime, limit: int, now: datetime, token: int) -> int:
    """Mark up to ``limit`` due windows as published by ``token``; returns how many."""
    due = (
        select(W.sdk_app_id, W.window_start)
        .where(W.rolled_version < W.version, W.window_start <= due_through)
        .order_by(W.window_start, W.sdk_app_id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    result = session.execute(
        update(W)
        .where(W.rolled_version < W.version, tuple_(W.sdk_app_id, W.window_start).in_(due))
        .values(rolled_version=W.version, revision=W.revision + 1, rolled_at=now, claim_token=token)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def _lock_days(session: Session, apps: set[int], days: list[datetime]) -> None:
    """Every (app, day) the batch may touch (a superset is harmless), in ascending key order, so that
    two replicas never wait for each other in a cycle: PostgreSQL evaluates a volatile function of
    the select list after the ORDER BY (since 9.6)."""
    keys = sorted({day_lock_key(app, day) for app in apps for day in days})
    session.execute(
        text("SELECT pg_advisory_xact_lock(k) FROM unnest(CAST(:keys AS bigint[])) AS t(k) ORDER BY k"),
        {"keys": keys},
    )


def _add_to_days(session: Session, token: int, day: datetime, sign: int) -> None:
    """Add ``sign`` × the claimed windows' current lines of one day to the day's sums.

    PostgreSQL finds the batch's windows of the day by claim token and their lines by primary key
    (the planner is told so, see ``_BY_INDEX``). SQLite takes the day's claimed window keys as an
    ``IN (subquery)`` list and probes their lines by primary key: joined to the windows instead, its
    plan depends on statistics of claim tokens (stale by nature) and may probe the lines once per
    window and start.
    """
    of_day = (W.claim_token == token, W.window_start >= day, W.window_start < day + DAY)
    if session.get_bind().dialect.name == "postgresql":
        _add_lines_to_days(session, day, sign, of_day, join_windows=True)
        return
    keys = select(W.sdk_app_id, W.window_start).where(*of_day)
    _add_lines_to_days(
        session, day, sign, (tuple_(L.sdk_app_id, L.window_start).in_(keys),), join_windows=False
    )


def _add_lines_to_days(
    session: Session, day: datetime, sign: int, where: tuple[Any, ...], *, join_windows: bool
) -> None:
    totals = (
        select(
            L.sdk_app_id,
            literal(day, UTCDateTime()),
            L.kind,
            L.category,
            L.account_id,
            func.sum(L.seconds) * sign,
            func.max(L.revision) if sign > 0 else literal(0),
        )
        .where(*where)
        .group_by(L.sdk_app_id, L.kind, L.category, L.account_id)
        .order_by(L.sdk_app_id, L.kind, L.category)
    )
    if join_windows:
        totals = totals.join(W, and_(W.sdk_app_id == L.sdk_app_id, W.window_start == L.window_start))
    statement = insert_for(session, D).from_select([*_DAY_KEY, "account_id", "seconds", "revision"], totals)
    statement = statement.on_conflict_do_update(
        index_elements=_DAY_KEY,
        set_={
            "seconds": D.seconds + statement.excluded.seconds,
            "revision": case(
                (statement.excluded.revision > D.revision, statement.excluded.revision), else_=D.revision
            ),
        },
    )
    session.execute(statement)


def _recompute_lines(session: Session, token: int, starts: list[datetime]) -> None:
    """One GROUP BY over the raw rows of the claimed windows, upserted over their lines.

    The records of the batch's window starts (a few index ranges: records arrive
    in time order) are summed per (app, window, kind, category) first, and only
    the sums are joined to the claimed windows: the join sees one row per line,
    not one per record. The filter depends only on the group's key, so this is
    the same as filtering first.
    """
    sums = (
        select(R.sdk_app_id, R.window_start, R.kind, R.category, func.sum(R.seconds).label("seconds"))
        .where(R.window_start.in_(starts))
        .group_by(R.sdk_app_id, R.window_start, R.kind, R.category)
        .subquery("sums")
    )
    grouped = (
        select(
            sums.c.sdk_app_id,
            sums.c.window_start,
            sums.c.kind,
            sums.c.category,
            W.account_id,
            sums.c.seconds,
            W.revision,
        )
        .join(W, and_(W.sdk_app_id == sums.c.sdk_app_id, W.window_start == sums.c.window_start))
        .where(W.claim_token == token)  # a WHERE also keeps SQLite from reading ON CONFLICT as a join's ON
    )
    statement = insert_for(session, L).from_select([*_LINE_KEY, "account_id", "seconds", "revision"], grouped)
    statement = statement.on_conflict_do_update(
        index_elements=_LINE_KEY,
        set_={"seconds": statement.excluded.seconds, "revision": statement.excluded.revision},
    )
    session.execute(statement)


def roll_up_batch(session: Session, *, due_through: datetime, limit: int, now: datetime) -> Batch | None:
    """Publish up to ``limit`` due windows starting at or before ``due_through``, inside ``session``'s
    transaction (the caller commits). None when no window was due and free.
    """
    token = secrets.randbits(62) + 1
    if session.get_bind().dialect.name == "postgresql":
        return _roll_up_postgresql(session, due_through=due_through, limit=limit, now=now, token=token)
    claimed = _claim(session, due_through=due_through, limit=limit, now=now, token=token)
    if not claimed:
        return None
    log.debug("aggregator: claimed %d window(s)", claimed)
    mine = W.claim_token == token
    revisions = dict(
        session.execute(
            select(W.window_start, func.max(W.revision)).where(mine).group_by(W.window_start)
        ).all()
    )
    owners = session.execute(select(W.sdk_app_id, W.account_id).where(mine).distinct()).all()
    starts = sorted(revisions)
    for day in _republished_days(revisions):
        _add_to_days(session, token, day, -1)  # published before: take the old lines out
    _recompute_lines(session, token, starts)
    for day in sorted({day_start(start) for start in starts}):
        _add_to_days(session, token, day, +1)
    return Batch(claimed, frozenset(account for _, account in owners), tuple(starts))


def _roll_up_postgresql(
    session: Session, *, due_through: datetime, limit: int, now: datetime, token: int
) -> Batch | None:
    """The same steps in fewer statements (``rollup_pg``): claim, locks, old lines out, publish."""
    rollup_pg.plan(session, _BY_DUE_INDEX)
    claimed = rollup_pg.claim(session, due_through=due_through, limit=limit, now=now, token=token)
    if not claimed.windows:
        return None
    log.debug("aggregator: claimed %d window(s)", claimed.windows)
    starts = sorted(claimed.revisions)
    days = sorted({day_start(start) for start in starts})
    _lock_days(session, {app for app, _ in claimed.owners}, days)
    republished = _republished_days(claimed.revisions)
    if republished:
        rollup_pg.plan(session, _BY_INDEX)
        for day in republished:
            _add_to_days(session, token, day, -1)  # published before: take the old lines out
    rollup_pg.plan(session, _BY_HASH)
    rollup_pg.publish(session, token, starts)
    return Batch(claimed.windows, frozenset(account for _, account in claimed.owners), tuple(starts))


def _republished_days(revisions: dict[datetime, int]) -> list[datetime]:
    """UTC days of the window starts whose lines were published before (revision > 1), ascending."""
    return sorted({day_start(start) for start, revision in revisions.items() if revision > 1})


# PostgreSQL's planner estimates a fresh claim token at one row, and the lines
# and days tables may have been analyzed when they were nearly empty; left
# alone it can pick plans that are fine for one window and quadratic for
# thousands (a nested loop over a sequential scan). So each step of a batch
# says how it wants to be run, for this transaction only (``set_config(…, true)``,
# i.e. SET LOCAL; SQLite's statements are shaped so that its planner probes by
# key whatever its statistics say, see ``_add_to_days``):
_BY_DUE_INDEX = {"enable_seqscan": "off", "enable_sort": "off", "jit": "off"}
"""The claim: the oldest due windows straight off the partial index of due windows, already in order
(the LIMIT stops it early), marked by row id; never a scan and sort of every window."""
_BY_INDEX = {"enable_seqscan": "off", "enable_nestloop": "on", "enable_sort": "on"}
"""Old lines out of the day sums: windows by claim token, their lines by primary key (few rows each)."""
_BY_HASH = {
    "enable_seqscan": "on",
    "enable_nestloop": "off",
    "enable_sort": "off",
    "work_mem": "64MB",
    "jit": "off",
}
"""Lines and day sums: the batch's records (index ranges, or one scan) hash-joined and hash-aggregated
in memory. No JIT: a disabled sort (the day sums' 300-odd rows still need one) adds a huge cost
that would make PostgreSQL compile the statement, 2 s for a 0.3-s statement (EXPLAIN ANALYZE)."""
