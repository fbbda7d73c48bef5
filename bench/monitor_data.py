"""The simulated 14 days of ``bench/bench_monitor.py``, and the bare SQL of ``ListCalls``.

- :func:`scenario`: the simulator's scenario for a scale: ``full`` is 14 days of 12 rooms
  (about 10,500 calls of 2-4 users, 1-5 minutes each, and about 6.3 million quality samples);
  ``small`` one hour of 3 rooms, for the CI smoke run.
- :func:`load`: the records sent through the real IngestService with the simulator's driver
  (``StreamEvents``, ``StreamQuality``, ``StreamClientEvents``, ``StreamUsage``), as media
  servers would; the tally says how many were accepted.
- :class:`BareQuery`: the statement the server runs for a ``ListCalls`` page
  (``domain/monitor/_call_query.py``), captured at the DB-API level as SQLAlchemy sends it (the
  same text and parameters), replayed on a plain ``sqlite3`` / ``psycopg`` connection;
  :func:`explain` prints its plan and whether ``ix_room_events_calls`` is in it.
"""

from __future__ import annotations

import contextlib
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from sqlalchemy import event

from bench.monitor_timing import BareStatement
from bench.quality_data import libpq
from rtcconsole.client import IngestClient
from rtcconsole_server.domain.monitor._call_query import query_calls
from rtcconsole_server.simulate.driver import Driver, Source, Tally
from rtcconsole_server.simulate.model import Scenario, Shape, timeline
from rtcconsole_server.store import open_store

__all__ = ["CALLS_INDEX", "SCALES", "BareQuery", "Scale", "analyze", "explain", "load", "scenario"]

CALLS_INDEX = "ix_room_events_calls"
"""The partial covering index of the calls query (migration 0008)."""
_LOOK_BACK, _MARGIN = timedelta(days=14), timedelta(days=1)  # the domain's LOOK_BACK and CHAIN_MARGIN


@dataclass(frozen=True)
class Scale:
    span: timedelta
    """History written, ending at the run's start."""
    rooms: int
    users: int


SCALES = {
    "full": Scale(timedelta(days=14), rooms=12, users=100),
    "small": Scale(timedelta(hours=1), rooms=3, users=12),
}
_SHAPE = Shape(call_minutes=(1.0, 5.0), gap_minutes=(10.0, 30.0), max_users=4)
"""Short calls of few users: 14 days of 12 rooms make about 10,500 calls, 6.3 million samples."""


def scenario(sdk_app_id: int, scale: Scale, seed: int = 2026) -> Scenario:
    return Scenario(sdk_app_id=sdk_app_id, rooms=scale.rooms, users=scale.users, seed=seed, shape=_SHAPE)


async def load(client: IngestClient, simulated: Scenario, start: datetime, end: datetime) -> Tally:
    """Send the records of ``simulated`` due in [start, end) through the IngestService."""
    driver = Driver(client, batch=1000)
    await driver.backfill(Source(timeline(simulated, start)), end)
    return driver.tally


class BareQuery(BareStatement):
    """One ``ListCalls`` page's statement as the server sends it to the database, replayed bare."""

    def __init__(
        self, url: str, *, sdk_app_id: int, now: datetime, start: datetime, end: datetime, limit: int
    ) -> None:
        store = open_store(url, statement_timeout=timedelta(minutes=5))  # capture, whatever it costs
        captured: list[tuple[str, Any]] = []

        def capture(
            conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
        ) -> None:
            captured.append((statement, parameters))

        engine = store.engine
        event.listen(engine, "before_cursor_execute", capture)
        try:
            with store.read() as session:
                captured.clear()
                self.rows = len(
                    query_calls(
                        session,
                        sdk_app_id=sdk_app_id,
                        floor=min(start, now - _LOOK_BACK) - _MARGIN,
                        start=start,
                        end=end,
                        room_key=None,
                        user_id=None,
                        after=None,
                        limit=limit,
                    )
                )
        finally:
            event.remove(engine, "before_cursor_execute", capture)
            store.dispose()
        (sql, parameters), *_ = [c for c in captured if "room_events" in c[0]]

        self.replay(url, sql, parameters)


def analyze(url: str) -> None:
    """``ANALYZE`` the database: the statistics autovacuum (PostgreSQL) or ``PRAGMA optimize``
    (SQLite) would have gathered by the time a real store holds 14 days."""
    if url.startswith("sqlite"):
        with contextlib.closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as conn:
            conn.execute("ANALYZE")
    else:
        with psycopg.connect(libpq(url), autocommit=True) as conn:
            conn.execute("ANALYZE")


def explain(query: BareQuery) -> tuple[str, bool]:
    """The plan of the statement (SQLite ``EXPLAIN QUERY PLAN``, PostgreSQL ``EXPLAIN``) and
    whether it reads :data:`CALLS_INDEX`."""
    query.open()
    try:
        prefix = "EXPLAIN QUERY PLAN " if query.backend == "sqlite" else "EXPLAIN "
        with contextlib.closing(query._conn.execute(prefix + query.sql, query.parameters)) as cursor:
            rows = cursor.fetchall()
    finally:
        query.close()
    plan = "\n".join(str(row[-1]) for row in rows)
    return plan, CALLS_INDEX in plan
