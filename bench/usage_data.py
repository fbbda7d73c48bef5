"""Synthetic usage records and the stores they are loaded into, for ``bench/bench_usage.py``.

The data is a pure function of the record number ``i`` (no randomness), so the
subject and every baseline see exactly the same rows: ``n`` records in time
order (as they arrive) over ``windows`` consecutive 5-minute windows, the
``apps`` apps interleaved round-robin (about ``n / (apps × windows)`` records
per app and window), both kinds, all six categories, 1-600 seconds each.
"""

from __future__ import annotations

import contextlib
import csv
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy import text
from sqlalchemy.engine import make_url

from rtcconsole.usage import CATEGORIES
from rtcconsole_server.clock import ManualClock
from rtcconsole_server.domain.apps import Apps
from rtcconsole_server.domain.auth import Accounts
from rtcconsole_server.domain.common import Caller
from rtcconsole_server.domain.usage import UsageInput
from rtcconsole_server.store import Store, open_store, upgrade

__all__ = [
    "FIRST_WINDOW",
    "Dataset",
    "Loaded",
    "libpq",
    "load",
    "postgres_database",
    "record",
    "records",
    "write_csv",
]

FIRST_WINDOW = datetime(2026, 1, 1, tzinfo=UTC)
"""Start of the first window of every data set."""
CSV_COLUMNS = (
    "sdk_app_id",
    "record_id",
    "room_key",
    "user_id",
    "kind",
    "category",
    "start_time",
    "seconds",
    "window_start",
    "payload_sha256",
    "received_at",
)
"""Columns of ``usage_records`` in the CSV, in order."""
_STAMP = "%Y-%m-%d %H:%M:%S.%f"  # SQLAlchemy's SQLite format; PostgreSQL reads it in UTC


@dataclass(frozen=True)
class Dataset:
    n: int
    """Records."""
    apps: tuple[int, ...]
    """SDKAppIDs the records belong to."""
    windows: int
    """Consecutive 5-minute windows from ``first``."""
    first: datetime = FIRST_WINDOW
    """Start of the first window (on a 5-minute boundary)."""

    @property
    def last_window_end(self) -> datetime:
        return self.first + self.windows * timedelta(minutes=5)

    def window_of(self, i: int) -> int:
        """Records arrive in time order, the apps interleaved."""
        return i * self.windows // self.n


def record(data: Dataset, i: int) -> UsageInput:
    """Record number ``i`` of ``data``."""
    app = data.apps[i % len(data.apps)]
    start = data.first + timedelta(minutes=5 * data.window_of(i), seconds=(i * 37) % 300)
    return UsageInput(
        f"r{i}",
        app,
        "n:1",
        f"u{i % 97}",
        2 if i % 5 == 0 else 1,
        CATEGORIES[(i * 7) % len(CATEGORIES)],
        start,
        1 + (i * 7919) % 600,
    )


def records(data: Dataset, first: int = 0, count: int | None = None) -> Iterator[UsageInput]:
    end = data.n if count is None else min(data.n, first + count)
    for i in range(first, end):
        yield record(data, i)


def write_csv(data: Dataset, path: Path) -> None:
    """The raw rows as CSV (``CSV_COLUMNS``; instants UTC, ``YYYY-MM-DD HH:MM:SS.ffffff``)."""
    windows = [(data.first + timedelta(minutes=5 * w)) for w in range(data.windows)]
    stamps = [w.strftime(_STAMP) for w in windows]
    offsets: dict[tuple[int, int], str] = {}
    with path.open("w", newline="") as sink:
        writer = csv.writer(sink)
        for i in range(data.n):  # what record(data, i) gives, without building datetimes per row
            w, second = data.window_of(i), (i * 37) % 300
            start = offsets.get((w, second))
            if start is None:
                start = offsets[(w, second)] = (windows[w] + timedelta(seconds=second)).strftime(_STAMP)
            writer.writerow(
                (
                    data.apps[i % len(data.apps)],
                    f"r{i}",
                    "n:1",
                    f"u{i % 97}",
                    2 if i % 5 == 0 else 1,
                    CATEGORIES[(i * 7) % len(CATEGORIES)],
                    start,
                    1 + (i * 7919) % 600,
                    stamps[w],
                    "-",
                    stamps[w],
                )
            )


def libpq(url: str) -> str:
    """A SQLAlchemy PostgreSQL URL as a libpq one (for psycopg)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextlib.contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    """A fresh database ``rtc_bench_<random>`` on the server of ``admin_url``, dropped at exit."""
    name = f"rtc_bench_{secrets.token_hex(6)}"
    with psycopg.connect(libpq(admin_url), autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield (
            make_url(admin_url)
            .set(drivername="postgresql+psycopg", database=name)
            .render_as_string(hide_password=False)
        )
    finally:
        with psycopg.connect(libpq(admin_url), autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@dataclass
class Loaded:
    store: Store
    clock: ManualClock
    account_id: int
    data: Dataset


def load(url: str, *, n: int, apps: int, windows: int, first: datetime = FIRST_WINDOW) -> Loaded:
    """A migrated store with one account and ``apps`` apps; no records yet."""
    store = open_store(url)
    upgrade(store)
    clock = ManualClock(first + timedelta(minutes=1))
    issued = Accounts(store, clock).create("bench")
    caller = Caller(issued.account_id, issued.key_id)
    ids = tuple(
        Apps(store, clock).create(caller, name=f"b{i}", description="").sdk_app_id for i in range(apps)
    )
    return Loaded(store, clock, issued.account_id, Dataset(n, ids, windows, first))


def load_raw(loaded: Loaded, csv_path: Path) -> None:
    """Insert the data set's raw rows and their windows (as ingest leaves them) the fastest way."""
    store, account = loaded.store, loaded.account_id
    if store.is_postgresql:
        with psycopg.connect(libpq(store.engine.url.render_as_string(hide_password=False))) as conn:
            with conn.cursor() as cursor:
                cursor.execute("SET timezone = 'UTC'")
                copy = f"COPY usage_records ({', '.join(CSV_COLUMNS)}) FROM STDIN WITH (FORMAT csv)"
                with cursor.copy(copy) as sink, csv_path.open("rb") as source:
                    while chunk := source.read(1 << 20):
                        sink.write(chunk)
            conn.execute("ANALYZE usage_records")
    else:
        with store.engine.begin() as conn, csv_path.open() as source:
            rows = csv.reader(source)
            batch: list[tuple[str, ...]] = []
            marks = ", ".join("?" * len(CSV_COLUMNS))
            statement = f"INSERT INTO usage_records ({', '.join(CSV_COLUMNS)}) VALUES ({marks})"
            for row in rows:
                batch.append(tuple(row))
                if len(batch) == 50_000:
                    conn.exec_driver_sql(statement, batch)
                    batch.clear()
            if batch:
                conn.exec_driver_sql(statement, batch)
    with store.write() as session:
        session.execute(
            text(
                "INSERT INTO usage_windows (sdk_app_id, window_start, account_id, version, rolled_version, "
                "revision, first_record_at) SELECT DISTINCT sdk_app_id, window_start, :account, 1, 0, 0, "
                "window_start FROM usage_records"
            ),
            {"account": account},
        )
