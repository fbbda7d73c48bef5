"""The roll-up transaction on PostgreSQL: the same steps as ``rollup`` in three statements per batch.

``rollup.roll_up_batch`` documents the steps and why the numbers are exact; this
module only folds them into fewer round trips and fewer scans (profile of issue 16:
the claim and two reads of the claimed windows were three statements, the daily
sums re-read every new line by primary key, and each planner setting was a round
trip of its own):

1. :func:`claim`: one statement locks the due windows (``FOR UPDATE SKIP
   LOCKED``), marks them (``rolled_version = version``, ``revision + 1``, the
   batch's ``claim_token``) and returns what the rest of the batch needs: each
   window start with its highest revision, and each (app, account) pair.
2. The advisory locks per (app, UTC day), and, only for days with a window
   published before, the old lines taken out of their day sums (``rollup``).
3. :func:`publish`: one statement recomputes the claimed windows' lines with one
   ``GROUP BY`` over their raw records, upserts them, and adds those same rows
   (materialised once, never read back from the lines table) to their day sums.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, Integer, text
from sqlalchemy.orm import Session

from rtcconsole_server.store.types import UTCDateTime

__all__ = ["Claimed", "claim", "plan", "publish"]

_CLAIM = text(
    """
    WITH due AS (
        SELECT ctid AS tid FROM usage_windows
        WHERE rolled_version < version AND window_start <= :due_through
        ORDER BY window_start, sdk_app_id
        LIMIT :limit
        FOR UPDATE SKIP LOCKED
    ), claimed AS (
        UPDATE usage_windows AS w
        SET rolled_version = w.version, revision = w.revision + 1, rolled_at = :now, claim_token = :token
        WHERE w.ctid = ANY(ARRAY(SELECT tid FROM due)) AND w.rolled_version < w.version
        RETURNING w.sdk_app_id, w.window_start, w.account_id, w.revision
    )
    SELECT window_start, sdk_app_id, account_id, max(revision) AS revision, count(*) AS windows
    FROM claimed
    GROUP BY GROUPING SETS ((window_start), (sdk_app_id, account_id))
    """
).columns(window_start=UTCDateTime(), sdk_app_id=BigInteger(), account_id=BigInteger(), revision=Integer())
"""Claim and mark in one statement; out: one row per window start (``sdk_app_id`` NULL) and one per
(app, account) (``window_start`` NULL)."""

_PUBLISH = text(
    """
    WITH mine AS (
        SELECT sdk_app_id, window_start, account_id, revision FROM usage_windows WHERE claim_token = :token
    ), sums AS (
        SELECT sdk_app_id, window_start, kind, category, sum(seconds) AS seconds
        FROM usage_records
        WHERE window_start = ANY(CAST(:starts AS timestamptz[]))
        GROUP BY sdk_app_id, window_start, kind, category
    ), fresh AS MATERIALIZED (
        SELECT s.sdk_app_id, s.window_start, s.kind, s.category, m.account_id, s.seconds, m.revision
        FROM sums AS s
        JOIN mine AS m ON m.sdk_app_id = s.sdk_app_id AND m.window_start = s.window_start
    ), lines AS (
        INSERT INTO usage_lines (sdk_app_id, window_start, kind, category, account_id, seconds, revision)
        SELECT sdk_app_id, window_start, kind, category, account_id, seconds, revision FROM fresh
        ON CONFLICT (sdk_app_id, window_start, kind, category)
        DO UPDATE SET seconds = excluded.seconds, revision = excluded.revision
    )
    INSERT INTO usage_days (sdk_app_id, day, kind, category, account_id, seconds, revision)
    SELECT sdk_app_id, date_trunc('day', window_start, 'UTC'), kind, category, account_id,
           sum(seconds), max(revision)
    FROM fresh
    GROUP BY sdk_app_id, date_trunc('day', window_start, 'UTC'), kind, category, account_id
    ORDER BY 1, 2, 3, 4
    ON CONFLICT (sdk_app_id, day, kind, category)
    DO UPDATE SET seconds = usage_days.seconds + excluded.seconds,
                  revision = GREATEST(usage_days.revision, excluded.revision)
    """
)
"""Lines overwritten from the raw rows, never incremented; the day sums get the new lines added (the
old ones were taken out before, see ``rollup``). A data-modifying CTE always runs to completion."""


@dataclass(frozen=True)
class Claimed:
    """What :func:`claim` marked."""

    windows: int
    """Windows claimed (0: none was due and free)."""
    revisions: dict[datetime, int]
    """Highest revision (after the claim) per window start."""
    owners: list[tuple[int, int]]
    """(sdk_app_id, account_id) of the claimed windows."""


def claim(session: Session, *, due_through: datetime, limit: int, now: datetime, token: int) -> Claimed:
    """Lock and mark up to ``limit`` due windows as published by ``token``."""
    rows = session.execute(
        _CLAIM, {"due_through": due_through, "limit": limit, "now": now, "token": token}
    ).all()
    revisions: dict[datetime, int] = {}
    owners: list[tuple[int, int]] = []
    windows = 0
    for start, app, account, revision, count in rows:
        if start is not None:
            revisions[start] = revision
            windows += count
        else:
            owners.append((app, account))
    return Claimed(windows, revisions, owners)


def publish(session: Session, token: int, starts: list[datetime]) -> None:
    """Recompute and upsert the lines of the windows claimed by ``token`` (their window starts
    ``starts``), and add them to their day sums: one statement."""
    session.execute(_PUBLISH, {"token": token, "starts": starts})


def plan(session: Session, settings: dict[str, str]) -> None:
    """Planner ``settings`` for the rest of this transaction (``SET LOCAL``), in one round trip."""
    calls = ", ".join(f"set_config(:n{i}, :v{i}, true)" for i in range(len(settings)))
    params: dict[str, str] = {}
    for i, (name, value) in enumerate(settings.items()):
        params[f"n{i}"], params[f"v{i}"] = name, value
    session.execute(text(f"SELECT {calls}"), params)
