"""Synthetic quality samples, the baseline's scratch table and bytes per stored sample, for
``bench/bench_quality.py``.

The data is a pure function of the batch number (no randomness), so the subject and the
baseline store exactly the same rows: 10,000 streams (200 rooms × 5 users; each user sends
video and audio and receives both from its 4 peers) in :data:`GROUPS` groups of 1,000; batch
``n`` is group ``n % GROUPS`` at tick ``n // GROUPS`` (:data:`TICK` apart, from
:data:`START_AGO` before the run), so every key is new and inserts land at 10,000 places of the
key's B-tree, as a steady state of 1,000 users in calls does. Each sample carries the metrics
its side and media kind allow (``docs/monitoring.md``), floats exact in 4 bytes.
"""

from __future__ import annotations

import contextlib
import itertools
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

import psycopg
from sqlalchemy import Table
from sqlalchemy.engine import make_url

from rtcconsole.v1 import quality_pb2
from rtcconsole_server.store.models_monitor import QualitySample

__all__ = [
    "BATCH",
    "COLUMNS",
    "GROUPS",
    "PLAIN_TABLE",
    "SQLITE_INSTANT",
    "START_AGO",
    "STREAMS",
    "TABLE",
    "TICK",
    "Footprint",
    "Messages",
    "PlainRows",
    "Stream",
    "file_size",
    "groups",
    "libpq",
    "postgres_differences",
    "postgres_footprint",
    "postgres_scratch",
    "sqlite_differences",
    "sqlite_footprint",
    "sqlite_scratch",
]

BATCH = 1000
"""Samples per batch: one StreamQuality message, one executemany / COPY."""
GROUPS = 10
"""Batches per tick."""
STREAMS = BATCH * GROUPS
_ROOMS_PER_GROUP = 20
_USERS_PER_ROOM = 5  # 20 rooms × 5 users × (2 up + 4 peers × 2 down) = 1,000 streams
TICK = timedelta(seconds=2)
"""The SDKs' statistics period: a stream's next sample."""
START_AGO = timedelta(hours=6)
"""The first tick, before the run's start (the ingest accepts 35 days back, 5 minutes ahead)."""
TABLE = "quality_samples"
PLAIN_TABLE = "quality_samples_plain"
"""The PostgreSQL baseline's scratch table (on SQLite, ``quality_samples`` of a scratch file)."""
COLUMNS: tuple[str, ...] = tuple(cast(Table, QualitySample.__table__).columns.keys())
"""The stored row as ``models_monitor`` (migration 0007) defines it: the key (sdk_app_id,
room_key, user_id, peer_id, media, sample_time), interval_ms, then the metrics."""
SQLITE_INSTANT = "%Y-%m-%d %H:%M:%S.%f"
"""How the store writes an instant (UTC) to SQLite."""
_METRIC_COLUMNS = COLUMNS[7:]
_INTERVAL_MS = 2000  # a sample that sends no interval: the default
_VIDEO, _AUDIO = quality_pb2.MEDIA_KIND_VIDEO, quality_pb2.MEDIA_KIND_AUDIO
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def libpq(url: str) -> str:
    """The libpq form of a SQLAlchemy PostgreSQL URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


# ------------------------------------------------------------------ the samples


@dataclass(frozen=True)
class Stream:
    room_id: int
    user_id: str
    peer_id: str
    """Empty: the user's upstream; else the downstream received from that peer."""
    media: int
    metrics: dict[str, float | int]
    """The measured metrics (every other one is "not measured")."""


def _metrics(i: int, upstream: bool, media: int) -> dict[str, float | int]:
    """Plausible values for stream ``i``, only where R20 has them; floats exact in 4 bytes."""
    video = media == _VIDEO
    values: dict[str, float | int] = {
        "packet_loss_percent": (i % 9) * 0.25,
        "bitrate_kbps": 900 + 37 * (i % 23) if video else 32 + i % 33,
        "rtt_ms": 20 + i % 180,
        "app_cpu_percent": 8.5 + (i % 24) * 0.5,
        "system_cpu_percent": 20.0 + (i % 40) * 0.75,
        "sdk_task_time_ms": 2 + i % 40,
    }
    if video:
        values["width"], values["height"] = (1280, 720) if i % 3 else (640, 360)
        if upstream:
            values["capture_fps"], values["encode_fps"] = 30, 30 - i % 3
        else:
            values["decode_fps"], values["render_fps"] = 30 - i % 4, 30 - i % 5
    else:
        values["volume_db"] = 40 + i % 40
    if not upstream:
        values["stall_ms"] = 0 if i % 11 else 120 + i % 600
    return values


def _group(group: int) -> list[Stream]:
    """The 1,000 streams of one batch, in the stored key's order (the order the server inserts)."""
    keys: list[tuple[int, str, str, int]] = []
    for r in range(_ROOMS_PER_GROUP):
        room = group * _ROOMS_PER_GROUP + r
        users = [f"user{room * _USERS_PER_ROOM + k:05d}" for k in range(_USERS_PER_ROOM)]
        for user in users:
            for peer in ["", *(p for p in users if p != user)]:
                keys += [(1000 + room, user, peer, _VIDEO), (1000 + room, user, peer, _AUDIO)]
    keys.sort(key=lambda k: (f"n:{k[0]}", *k[1:]))
    first = group * BATCH
    return [
        Stream(room, user, peer, media, _metrics(first + i, not peer, media))
        for i, (room, user, peer, media) in enumerate(keys)
    ]


def groups() -> list[list[Stream]]:
    """Every stream, by group."""
    return [_group(g) for g in range(GROUPS)]


class _Ticks:
    """Batch n: group ``n % GROUPS`` at ``start + (n // GROUPS) × TICK``."""

    def __init__(self, start: datetime) -> None:
        self._start = start
        self._next = itertools.count()

    def next(self) -> tuple[int, datetime]:
        n = next(self._next)
        return n % GROUPS, self._start + (n // GROUPS) * TICK


class Messages:
    """Subject side: one prebuilt ``QualitySample`` per stream; a batch re-stamps one group."""

    def __init__(self, sdk_app_id: int, streams: Sequence[list[Stream]], start: datetime) -> None:
        self._ticks = _Ticks(start)
        self._groups = [
            [
                quality_pb2.QualitySample(
                    sdk_app_id=sdk_app_id,
                    room_id=s.room_id,
                    user_id=s.user_id,
                    peer_id=s.peer_id,
                    media=s.media,  # type: ignore[arg-type]
                    **s.metrics,  # type: ignore[arg-type]
                )
                for s in group
            ]
            for group in streams
        ]

    def batch(self) -> list[quality_pb2.QualitySample]:
        """The next 1,000 samples. They are reused: send them before asking for the next batch
        (``IngestClient`` copies them into its message)."""
        group, at = self._ticks.next()
        since = at - _EPOCH
        seconds, nanos = since.days * 86_400 + since.seconds, since.microseconds * 1000
        samples = self._groups[group]
        for sample in samples:
            sample.sample_time.seconds = seconds
            sample.sample_time.nanos = nanos
        return samples


class PlainRows:
    """Baseline side: the stored rows (``COLUMNS``) of each group, the instant set per batch."""

    def __init__(
        self, sdk_app_id: int, streams: Sequence[list[Stream]], start: datetime, *, sqlite: bool
    ) -> None:
        self._ticks = _Ticks(start)
        self._sqlite = sqlite
        self._groups = [
            [
                (
                    (sdk_app_id, f"n:{s.room_id}", s.user_id, s.peer_id, s.media),
                    (_INTERVAL_MS, *(s.metrics.get(name) for name in _METRIC_COLUMNS)),
                )
                for s in group
            ]
            for group in streams
        ]

    def batch(self) -> list[tuple[object, ...]]:
        group, at = self._ticks.next()
        stamp: object = at.strftime(SQLITE_INSTANT) if self._sqlite else at
        return [(*key, stamp, *rest) for key, rest in self._groups[group]]


# ------------------------------------------------------ the baseline's scratch table


def sqlite_scratch(subject: Path) -> Path:
    """A SQLite file beside ``subject`` holding only ``quality_samples``, made by the same DDL."""
    with contextlib.closing(sqlite3.connect(subject)) as conn:
        ddl = [
            statement
            for (statement,) in conn.execute(
                "SELECT sql FROM sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL "
                "ORDER BY type = 'table' DESC",
                (TABLE,),
            )
        ]
    scratch = subject.with_name("plain.db")
    with contextlib.closing(sqlite3.connect(scratch, isolation_level=None)) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        for statement in ddl:
            conn.execute(statement)
    return scratch


def postgres_scratch(url: str) -> None:
    """``quality_samples_plain``: the columns, key and indexes of ``quality_samples``."""
    with psycopg.connect(libpq(url), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {PLAIN_TABLE} (LIKE {TABLE} INCLUDING ALL)")


def sqlite_differences(subject: Path, plain: Path, at: datetime) -> int:
    """Rows at instant ``at`` that one file holds and the other does not (0: the same rows)."""
    stamp = at.strftime(SQLITE_INSTANT)
    with contextlib.closing(sqlite3.connect(subject)) as conn:
        conn.execute("ATTACH DATABASE ? AS plain", (str(plain),))
        count = 0
        for a, b in (("main", "plain"), ("plain", "main")):
            (n,) = conn.execute(
                f"SELECT count(*) FROM (SELECT * FROM {a}.{TABLE} WHERE sample_time = ? "
                f"EXCEPT SELECT * FROM {b}.{TABLE} WHERE sample_time = ?)",
                (stamp, stamp),
            ).fetchone()
            count += int(n)
        return count


def postgres_differences(url: str, at: datetime) -> int:
    """As :func:`sqlite_differences`, between ``quality_samples`` and ``quality_samples_plain``."""
    with psycopg.connect(libpq(url), autocommit=True) as conn:
        count = 0
        for a, b in ((TABLE, PLAIN_TABLE), (PLAIN_TABLE, TABLE)):
            found = conn.execute(
                f"SELECT count(*) FROM (SELECT * FROM {a} WHERE sample_time = %s "
                f"EXCEPT SELECT * FROM {b} WHERE sample_time = %s) AS d",
                (at, at),
            ).fetchone()
            assert found is not None
            count += int(found[0])
        return count


# ------------------------------------------------------------------ bytes per sample


@dataclass(frozen=True)
class Footprint:
    rows: int
    bytes: int
    how: str
    """How ``bytes`` was measured."""

    @property
    def per_row(self) -> float:
        return self.bytes / self.rows if self.rows else float("nan")


def file_size(path: Path) -> int:
    """Size of a SQLite file, its WAL checkpointed into it first."""
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path.stat().st_size


def sqlite_footprint(path: Path, size_before: int) -> Footprint:
    """Pages of the table's B-trees (``dbstat``), else the file's growth since ``size_before``."""
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as conn:
        (rows,) = conn.execute(f"SELECT count(*) FROM {TABLE}").fetchone()
        try:
            (size,) = conn.execute(
                "SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name IN "
                "(SELECT name FROM sqlite_master WHERE tbl_name = ?)",
                (TABLE,),
            ).fetchone()
        except sqlite3.OperationalError:  # built without SQLITE_ENABLE_DBSTAT_VTAB
            return Footprint(int(rows), file_size(path) - size_before, "file growth, no dbstat")
    return Footprint(int(rows), int(size), "dbstat: pages of the table's B-trees")


_PG_SIZE = (  # the leaves of a partitioned table, else the table itself
    "SELECT coalesce(sum({f}(relid)), {f}(%(t)s::regclass)) FROM pg_partition_tree(%(t)s) WHERE isleaf"
)


def postgres_footprint(url: str, table: str) -> Footprint:
    """``pg_total_relation_size`` (heap, TOAST, indexes; summed over partitions if any)."""
    with psycopg.connect(libpq(url), autocommit=True) as conn:
        counted = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
        total = conn.execute(_PG_SIZE.format(f="pg_total_relation_size"), {"t": table}).fetchone()
        indexes = conn.execute(_PG_SIZE.format(f="pg_indexes_size"), {"t": table}).fetchone()
    assert counted is not None and total is not None and indexes is not None
    rows = int(counted[0])
    split = f", indexes {int(indexes[0]) / rows:.1f} B of it" if rows else ""
    return Footprint(rows, int(total[0]), f"pg_total_relation_size: table + indexes{split}")
