"""``quality-ingest``: quality samples through StreamQuality vs. a plain executemany / COPY (issue 12).

Rows, per database backend (SQLite always; PostgreSQL when configured, as in
``bench_apps``: ``RTC_BENCH_POSTGRES_URL`` or ``.services.env``; a fresh
database, dropped at the end):

- ``StreamQuality sqlite`` vs ``executemany`` and ``StreamQuality postgresql``
  vs ``COPY``: ``rtc-console serve`` in its own process (no workers), one
  ``IngestClient.stream_quality`` call per batch of 1,000 new samples, one
  stream at a time; against, in a thread of the bench process, the same 1,000
  rows the plainest way into a table of the same shape (the migrated
  ``quality_samples`` DDL run in a scratch SQLite file; ``CREATE TABLE
  quality_samples_plain (LIKE quality_samples INCLUDING ALL)`` on PostgreSQL),
  committed per batch with the server's durability settings (SQLite: WAL,
  ``synchronous=FULL``, ``BEGIN IMMEDIATE``). Segments alternate
  (``compare_load``, concurrency 1, segments of at least 0.5 s); ops/s counts
  samples. After the run the first batch's rows are compared between the two
  tables: a difference fails the benchmark.
- Notes: samples/s of both sides, the per-batch p50, and **bytes per stored
  sample** after the run (``bench.quality_data``): ``pg_total_relation_size``
  (table + indexes) ÷ rows on PostgreSQL; on SQLite the pages of the table's
  B-trees in ``dbstat`` ÷ rows, or the file's growth ÷ rows where ``dbstat``
  is not compiled in (the note says which); the baseline table's figure beside.

Data: ``bench.quality_data`` (10,000 streams, batches of one tick of 1,000).
Issue goals, reported and never asserted: ≥ 0.3 of the baseline, and ≥ 15,000
samples/s on PostgreSQL. ``--quick`` only shortens the run (the harness's
duration): a batch stays 1,000 samples and both backends run.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import grpc
import psycopg
from sqlalchemy.engine import make_url

from bench import quality_data as data
from bench.load import LoadResult, compare_load
from bench.procs import subprocess_server
from bench.registry import BenchConfig, Row, benchmark
from bench.rtc_servers import (
    CLI,
    PORT_LINE,
    Backend,
    Metadata,
    create_accounts,
    migrate,
    on_each_backend,
)
from rtcconsole.client import IngestClient
from rtcconsole.v1 import app_service_pb2 as app_pb
from rtcconsole.v1 import app_service_pb2_grpc as app_grpc

__all__ = ["quality_ingest"]

NAME = "quality-ingest"
TOKEN = "bench-data-plane-token"
CALL_TIMEOUT_S = 60.0
MIN_SEGMENT_S = 0.5
"""A batch takes tens of milliseconds: shorter segments would count only a few."""
_SQLITE_BUSY_MS = 30_000


def _log(text: str) -> None:
    print(f"  {NAME}: {text}", file=sys.stderr, flush=True)


def _rounds(config: BenchConfig) -> int:
    n = max(1, round(config.duration_s / max(config.segment_s, MIN_SEGMENT_S)))
    return n + n % 2


class _Plain:
    """The baseline: a batch of plain rows into the scratch table, one commit per batch."""

    def __init__(self, backend: Backend, rows: data.PlainRows, sqlite_file: Path | None) -> None:
        self.rows = rows
        self.sqlite: sqlite3.Connection | None = None
        self.postgres: psycopg.Connection[tuple[object, ...]] | None = None
        columns = ", ".join(data.COLUMNS)
        if sqlite_file is not None:  # the server's pragmas (store/engine.py)
            self.sqlite = sqlite3.connect(sqlite_file, isolation_level=None, check_same_thread=False)
            for pragma in ("journal_mode=WAL", f"busy_timeout={_SQLITE_BUSY_MS}", "synchronous=FULL"):
                self.sqlite.execute(f"PRAGMA {pragma}")
            marks = ", ".join("?" * len(data.COLUMNS))
            self.sql = f"INSERT INTO {data.TABLE} ({columns}) VALUES ({marks})"
        else:
            self.postgres = psycopg.connect(data.libpq(backend.url))
            self.sql = f"COPY {data.PLAIN_TABLE} ({columns}) FROM STDIN"

    def batch(self) -> None:
        rows = self.rows.batch()
        if self.sqlite is not None:
            self.sqlite.execute("BEGIN IMMEDIATE")
            self.sqlite.executemany(self.sql, rows)
            self.sqlite.execute("COMMIT")
            return
        assert self.postgres is not None
        with self.postgres.cursor() as cursor, cursor.copy(self.sql) as copy:
            for row in rows:
                copy.write_row(row)
        self.postgres.commit()

    def close(self) -> None:
        for conn in (self.sqlite, self.postgres):
            if conn is not None:
                conn.close()


@contextlib.asynccontextmanager
async def _plain_side(
    backend: Backend, rows: data.PlainRows, sqlite_file: Path | None
) -> AsyncIterator[Callable[[], Awaitable[None]]]:
    """The baseline's ``call`` for ``compare_load``: one batch on its own thread, where its
    connection lives."""
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(1, thread_name_prefix="bench-quality-plain") as executor:
        plain = await loop.run_in_executor(executor, _Plain, backend, rows, sqlite_file)

        def batch() -> Awaitable[None]:
            return loop.run_in_executor(executor, plain.batch)

        try:
            yield batch
        finally:
            await loop.run_in_executor(executor, plain.close)


def _serve(url: str) -> list[str]:
    return [*CLI, "--log-level", "INFO", "serve", "--listen", "127.0.0.1:0", "--no-workers",
            "--data-plane-token", TOKEN, "--database-url", url]  # fmt: skip


async def _measure(
    config: BenchConfig, backend: Backend, owner: Metadata, plain_file: Path | None, start: datetime
) -> tuple[LoadResult, LoadResult]:
    """Start the server, make the app, run both sides in alternating segments; stop the server."""
    streams = data.groups()
    async with (
        subprocess_server(_serve(backend.url), ready_port_from=PORT_LINE) as server,
        grpc.aio.insecure_channel(server.target) as channel,
    ):
        created = await app_grpc.AppServiceStub(channel).CreateApp(
            app_pb.CreateAppRequest(name="bench_quality"), metadata=owner, timeout=CALL_TIMEOUT_S
        )
        sdk_app_id = created.app.sdk_app_id
        client = IngestClient(channel, data_plane_token=TOKEN, timeout=CALL_TIMEOUT_S)
        messages = data.Messages(sdk_app_id, streams, start)

        async def stream_batch() -> None:
            response = await client.stream_quality([messages.batch()])
            if response.accepted != data.BATCH:
                first = list(response.rejections)[:1]
                raise RuntimeError(f"accepted {response.accepted} of {data.BATCH}: {first}")

        rows = data.PlainRows(sdk_app_id, streams, start, sqlite=plain_file is not None)
        async with _plain_side(backend, rows, plain_file) as plain_batch:
            _log(f"{backend.label}: StreamQuality vs {_baseline_name(backend)}")
            return await compare_load(
                stream_batch,
                plain_batch,
                concurrency=1,
                duration_s=config.duration_s,
                warmup_s=config.warmup_s,
                rounds=_rounds(config),
            )


async def _backend_row(config: BenchConfig, backend: Backend) -> Row:
    _log(f"{backend.label}: migrate, account, app")
    await migrate(backend.url)
    (owner,) = await create_accounts(backend.url, 1)
    start = datetime.now(UTC) - data.START_AGO
    if backend.label != "sqlite":
        await asyncio.to_thread(data.postgres_scratch, backend.url)
        subject, baseline = await _measure(config, backend, owner, None, start)
        differences = await asyncio.to_thread(data.postgres_differences, backend.url, start)
        stored = await asyncio.to_thread(data.postgres_footprint, backend.url, data.TABLE)
        plain = await asyncio.to_thread(data.postgres_footprint, backend.url, data.PLAIN_TABLE)
    else:
        subject_file = Path(str(make_url(backend.url).database))
        plain_file = await asyncio.to_thread(data.sqlite_scratch, subject_file)
        sizes = [await asyncio.to_thread(data.file_size, f) for f in (subject_file, plain_file)]
        subject, baseline = await _measure(config, backend, owner, plain_file, start)
        # the server has stopped: its connections are closed, its WAL checkpointed
        differences = await asyncio.to_thread(data.sqlite_differences, subject_file, plain_file, start)
        stored = await asyncio.to_thread(data.sqlite_footprint, subject_file, sizes[0])
        plain = await asyncio.to_thread(data.sqlite_footprint, plain_file, sizes[1])
    if differences:
        raise RuntimeError(
            f"{backend.label}: the first batch's rows differ between the sides ({differences})"
        )
    return _row(backend, subject, baseline, stored, plain)


def _baseline_name(backend: Backend) -> str:
    return "executemany" if backend.label == "sqlite" else "COPY"


def _row(
    backend: Backend, subject: LoadResult, baseline: LoadResult, stored: data.Footprint, plain: data.Footprint
) -> Row:
    goal = "goal >= 0.3" if backend.label == "sqlite" else "goals >= 0.3 and >= 15,000 samples/s"
    rate, base_rate = subject.ops_per_s * data.BATCH, baseline.ops_per_s * data.BATCH
    return Row(
        benchmark=NAME,
        subject=f"StreamQuality {backend.label}",
        ops_per_s=rate,
        p50_ms=None,
        p99_ms=None,
        baseline=_baseline_name(backend),
        baseline_ops_per_s=base_rate,
        errors=subject.errors,
        baseline_errors=baseline.errors,
        first_error=subject.first_error or baseline.first_error,
        note=(
            f"{rate:,.0f} vs {base_rate:,.0f} samples/s; {stored.per_row:.1f} B per stored sample "
            f"({stored.how}; {stored.bytes:,} B / {stored.rows:,} rows), baseline table "
            f"{plain.per_row:.1f} B; batches of {data.BATCH:,} over {data.STREAMS:,} streams, one "
            f"stream per batch, one at a time; per batch p50 {subject.p50_ms:.0f} ms vs "
            f"{baseline.p50_ms:.0f} ms; {backend.note}; {goal}"
        ),
    )


@benchmark(NAME)
async def quality_ingest(config: BenchConfig) -> list[Row]:
    """Quality samples/s through StreamQuality vs executemany / COPY; bytes per stored sample."""

    async def measure(backend: Backend) -> list[Row]:
        return [await _backend_row(config, backend)]

    return await on_each_backend(NAME, measure)
