"""``usage-rollup`` and ``usage-ingest``: usage metering (R16) against bare SQL and DuckDB.

``usage-rollup`` (1,000,000 raw records, ``--quick`` 100,000; env
``RTC_BENCH_USAGE_RECORDS`` overrides): 100 apps × 288 windows (one day),
records in arrival (time) order. Per backend, from the same fresh state each
time (lines and days empty, every window due, ``VACUUM ANALYZE`` on
PostgreSQL): the aggregator's whole tick (``Aggregator.run_once``: claims,
advisory locks, the GROUP BY, line and day upserts, progress, billing) against
one bare ``INSERT INTO usage_lines SELECT … GROUP BY … ON CONFLICT DO UPDATE``
of the same rows in one transaction (with the same ``work_mem`` on
PostgreSQL). Goals: issue 6, at most 1.5× the bare statement (ratio ≥ 0.67);
issue 16, ratio ≥ 0.80 on PostgreSQL. Then the same GROUP BY + upsert in
DuckDB (in memory, the rows loaded from the same CSV), reported.

``usage-ingest`` (100,000 records, ``--quick`` 20,000, batches of 5,000; 20
apps, one hour): ``StreamUsage`` of ``rtc-console serve`` (own process, no
workers), one stream per pass, against, in the bench process, a COPY into a
staging table + ``INSERT … ON CONFLICT DO NOTHING`` per batch (PostgreSQL) or
a plain ``executemany`` per batch (SQLite) of the same rows (digest and window
computed before timing); then the same stream again (every record a retry)
against the first pass. Goals: PostgreSQL ≥ 0.3 of COPY and ≥ 25,000
records/s; replays ≥ 1.5× first inserts; SQLite ≥ 10,000 records/s.

Every figure is records per second; ratio > 1 means the subject is faster.
PostgreSQL: ``RTC_BENCH_POSTGRES_URL`` or ``.services.env`` (see bench_apps).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import grpc
import psycopg
from sqlalchemy import text

from bench.procs import subprocess_server
from bench.registry import BenchConfig, Row, benchmark
from bench.rtc_servers import postgres_admin_url
from bench.usage_data import CSV_COLUMNS, Loaded, libpq, load, load_raw, postgres_database, records, write_csv
from rtcconsole.v1 import ingest_service_pb2 as pb
from rtcconsole.v1 import ingest_service_pb2_grpc as pb_grpc
from rtcconsole.v1 import usage_service_pb2 as usage_pb
from rtcconsole_aggregator import DEFAULT_BATCH_WINDOWS, build_aggregator
from rtcconsole_server.domain.usage import UsageInput, window_start

__all__ = ["usage_ingest", "usage_rollup"]

RECORDS_ENV = "RTC_BENCH_USAGE_RECORDS"
BATCH = 5000
TOKEN = "bench-data-plane-token"
_CLI = (sys.executable, "-m", "rtcconsole_server.cli")
_CATEGORY = {
    "Audio": usage_pb.USAGE_CATEGORY_AUDIO,
    "SD": usage_pb.USAGE_CATEGORY_SD,
    "HD": usage_pb.USAGE_CATEGORY_HD,
    "FullHD": usage_pb.USAGE_CATEGORY_FULL_HD,
    "2K": usage_pb.USAGE_CATEGORY_2K,
    "4K": usage_pb.USAGE_CATEGORY_4K,
}
_BARE = (
    "INSERT INTO usage_lines (sdk_app_id, window_start, kind, category, account_id, seconds, revision) "
    "SELECT sdk_app_id, window_start, kind, category, {account}, SUM(seconds), 1 FROM usage_records "
    "GROUP BY sdk_app_id, window_start, kind, category "
    "ON CONFLICT (sdk_app_id, window_start, kind, category) "
    "DO UPDATE SET seconds = excluded.seconds, revision = excluded.revision"
)


def _log(text: str) -> None:
    print(f"  usage: {text}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def _backends(config: BenchConfig) -> Iterator[list[tuple[str, str]]]:
    """(label, url) of SQLite (always) and PostgreSQL (when configured); removed afterwards."""
    admin, explicit = postgres_admin_url()
    with tempfile.TemporaryDirectory(prefix="rtc-bench-usage-") as tmp, contextlib.ExitStack() as stack:
        found = [("sqlite", f"sqlite:///{Path(tmp) / 'usage.db'}")]
        if admin:
            try:
                found.append(("postgresql", stack.enter_context(postgres_database(admin))))
            except psycopg.OperationalError as error:
                if explicit:
                    raise
                _log(f"PostgreSQL rows skipped: {error}")
        yield found


def _row(
    name: str, subject: str, n: int, seconds: float, baseline: str, base_seconds: float, note: str
) -> Row:
    return Row(
        benchmark=name,
        subject=subject,
        ops_per_s=n / seconds,
        p50_ms=None,
        p99_ms=None,
        baseline=baseline,
        baseline_ops_per_s=n / base_seconds,
        note=note,
    )


def _timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


# ------------------------------------------------------------------ roll-up


def _fresh_rollup_state(loaded: Loaded) -> None:
    """No lines or days, every window due and never published, statistics current."""
    store = loaded.store
    with store.engine.begin() as conn:
        for table in ("usage_lines", "usage_days", "usage_progress", "usage_windows"):
            conn.execute(text(f"DELETE FROM {table}"))
        conn.execute(
            text(
                "INSERT INTO usage_windows (sdk_app_id, window_start, account_id, version, rolled_version, "
                "revision, first_record_at) SELECT DISTINCT sdk_app_id, window_start, :account, 1, 0, 0, "
                "window_start FROM usage_records"
            ),
            {"account": loaded.account_id},
        )
    with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE" if store.is_postgresql else "ANALYZE"))


def _bare(loaded: Loaded) -> None:
    with loaded.store.engine.begin() as conn:
        if loaded.store.is_postgresql:
            conn.execute(text("SET LOCAL work_mem = '64MB'"))
        conn.execute(text(_BARE.format(account=int(loaded.account_id))))


def _duckdb_seconds(csv_path: Path, rounds: int) -> float:
    con = duckdb.connect()
    try:
        columns = ", ".join(f"'{c}': 'VARCHAR'" for c in CSV_COLUMNS)
        con.execute(
            f"CREATE TABLE usage_records AS SELECT * FROM read_csv('{csv_path}', header = false, "
            f"columns = {{{columns}}})"
        )
        con.execute(
            "CREATE OR REPLACE TABLE usage_records AS SELECT CAST(sdk_app_id AS BIGINT) AS sdk_app_id, "
            "CAST(window_start AS TIMESTAMP) AS window_start, CAST(kind AS INTEGER) AS kind, category, "
            "CAST(seconds AS BIGINT) AS seconds FROM usage_records"
        )
        total = 0.0
        for _ in range(rounds):
            con.execute(
                "CREATE OR REPLACE TABLE usage_lines (sdk_app_id BIGINT, window_start TIMESTAMP, "
                "kind INTEGER, category VARCHAR, account_id BIGINT, seconds BIGINT, revision INTEGER, "
                "PRIMARY KEY (sdk_app_id, window_start, kind, category))"
            )
            total += _timed(lambda: con.execute(_BARE.format(account=1)))
        return total
    finally:
        con.close()


def _rollup_rows(label: str, url: str, csv_path: Path, n: int, rounds: int) -> tuple[list[Row], float]:
    loaded = load(url, n=n, apps=100, windows=288)
    try:
        _log(f"{label}: loading {n:,} raw records")
        load_raw(loaded, csv_path)
        loaded.clock.set(loaded.data.last_window_end + timedelta(minutes=20))
        times = {"bare": 0.0, "subject": 0.0}

        def tick() -> None:
            aggregator = build_aggregator(
                loaded.store,
                loaded.clock,
                watermark=timedelta(minutes=5),
                batch_windows=DEFAULT_BATCH_WINDOWS,
            )
            aggregator.run_once()

        sides: dict[str, Callable[[], object]] = {"bare": lambda: _bare(loaded), "subject": tick}
        for r in range(rounds):  # B S, S B, ...: a drift of the machine's load hits both sides alike
            for side in ("bare", "subject") if r % 2 == 0 else ("subject", "bare"):
                _fresh_rollup_state(loaded)
                times[side] += _timed(sides[side])
        subject, bare = times["subject"], times["bare"]
        note = (
            f"{n:,} records, 28,800 windows ({DEFAULT_BATCH_WINDOWS:,} per transaction), {rounds} round(s); "
            "goal ratio >= 0.67 (<= 1.5x the time); issue 16: >= 0.80 on PostgreSQL"
        )
        row = _row(
            "usage-rollup",
            f"roll-up ({label})",
            n * rounds,
            subject,
            f"bare GROUP BY+upsert ({label})",
            bare,
            note,
        )
        return [row], subject
    finally:
        loaded.store.dispose()


@benchmark("usage-rollup")
async def usage_rollup(config: BenchConfig) -> list[Row]:
    """The aggregator's roll-up of 1M raw records vs the bare GROUP BY + upsert, and vs DuckDB."""
    n = int(os.environ.get(RECORDS_ENV) or (100_000 if config.quick else 1_000_000))
    rounds = 1 if config.quick else 2
    rows: list[Row] = []
    with _backends(config) as backends, tempfile.TemporaryDirectory(prefix="rtc-bench-usage-csv-") as tmp:
        csv_path = Path(tmp) / "records.csv"
        probe = load(backends[0][1], n=n, apps=100, windows=288)  # the apps' ids, the same on every backend
        probe.store.dispose()
        await asyncio.to_thread(write_csv, probe.data, csv_path)
        await asyncio.to_thread(Path(backends[0][1].removeprefix("sqlite:///")).unlink)
        for label, url in backends:
            made, seconds = await asyncio.to_thread(_rollup_rows, label, url, csv_path, n, rounds)
            rows += made
            duck = await asyncio.to_thread(_duckdb_seconds, csv_path, rounds)
            rows.append(
                _row(
                    "usage-rollup", f"roll-up ({label})", n * rounds, seconds, "DuckDB GROUP BY+upsert", duck,
                    f"DuckDB {duckdb.__version__} in memory, same rows and statement; reported, no goal",
                )
            )  # fmt: skip
    return rows


# ------------------------------------------------------------------- ingest


def _message(batch: list[UsageInput]) -> pb.StreamUsageRequest:
    request = pb.StreamUsageRequest()
    for r in batch:
        record = request.records.add(
            record_id=r.record_id,
            sdk_app_id=r.sdk_app_id,
            room_id=int(r.room_key[2:]),
            user_id=r.user_id,
            kind=r.kind,
            category=_CATEGORY[r.category],
            seconds=r.seconds,
        )
        record.start_time.FromDatetime(r.start_time)
    return request


def _plain_rows(batch: list[UsageInput], now: datetime, sqlite: bool) -> list[tuple[object, ...]]:
    def instant(value: datetime) -> object:
        return value.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else value

    return [
        (
            r.sdk_app_id, r.record_id, r.room_key, r.user_id, r.kind, r.category, instant(r.start_time),
            r.seconds, instant(window_start(r.start_time)), r.digest(), instant(now),
        )
        for r in batch
    ]  # fmt: skip


def _reset_records(url: str) -> None:
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            conn.execute("DELETE FROM usage_records")
            conn.execute("DELETE FROM usage_windows")
        return
    with psycopg.connect(libpq(url), autocommit=True) as conn:
        conn.execute("TRUNCATE usage_records, usage_windows")
        conn.execute("VACUUM ANALYZE usage_records")


def _baseline_seconds(url: str, batches: list[list[tuple[object, ...]]]) -> float:
    """The same rows the plainest way: executemany (SQLite) or COPY + INSERT ON CONFLICT (PostgreSQL)."""
    return _sqlite_baseline(url, batches) if url.startswith("sqlite") else _postgres_baseline(url, batches)


def _sqlite_baseline(url: str, batches: list[list[tuple[object, ...]]]) -> float:
    marks = ", ".join("?" * len(CSV_COLUMNS))
    insert = f"INSERT INTO usage_records ({', '.join(CSV_COLUMNS)}) VALUES ({marks})"
    with contextlib.closing(sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")  # what the server commits with (store/engine.py)

        def plain() -> None:
            for batch in batches:
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany(insert, batch)
                conn.execute("COMMIT")

        return _timed(plain)


def _postgres_baseline(url: str, batches: list[list[tuple[object, ...]]]) -> float:
    columns = ", ".join(CSV_COLUMNS)
    with psycopg.connect(libpq(url)) as conn:
        conn.execute(
            "CREATE TEMP TABLE staging (LIKE usage_records INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
        )
        conn.commit()

        def copy() -> None:
            for batch in batches:
                with conn.cursor() as cursor, cursor.copy(f"COPY staging ({columns}) FROM STDIN") as sink:
                    for row in batch:
                        sink.write_row(row)
                conn.execute(
                    f"INSERT INTO usage_records ({columns}) SELECT {columns} FROM staging "
                    "ON CONFLICT (sdk_app_id, record_id) DO NOTHING"
                )
                conn.commit()

        return _timed(copy)


async def _ingest_rows(label: str, url: str, n: int, rounds: int) -> list[Row]:
    first = window_start(datetime.now(UTC) - timedelta(hours=2))
    loaded = await asyncio.to_thread(load, url, n=n, apps=20, windows=12, first=first)
    data = loaded.data
    loaded.store.dispose()
    batches = [list(records(data, i, BATCH)) for i in range(0, n, BATCH)]
    messages = [_message(b) for b in batches]
    now = datetime.now(UTC)
    plain = [_plain_rows(b, now, label == "sqlite") for b in batches]
    serve = [*_CLI, "--log-level", "INFO", "serve", "--listen", "127.0.0.1:0", "--database-url", url,
             "--data-plane-token", TOKEN, "--no-workers"]  # fmt: skip
    first_s = replay_s = base_s = 0.0
    async with (
        subprocess_server(serve, ready_port_from=r"listening on \S+:(?P<port>\d+)") as server,
        grpc.aio.insecure_channel(server.target) as channel,
    ):
        stub = pb_grpc.IngestServiceStub(channel)

        async def stream() -> float:
            start = time.perf_counter()
            response = await stub.StreamUsage(
                iter(messages), metadata=(("authorization", f"Bearer {TOKEN}"),), timeout=600
            )
            if response.rejected:
                raise RuntimeError(f"rejections: {list(response.rejections)[:3]}")
            return time.perf_counter() - start

        for _ in range(rounds):
            await asyncio.to_thread(_reset_records, url)
            base_s += await asyncio.to_thread(_baseline_seconds, url, plain)
            await asyncio.to_thread(_reset_records, url)
            first_s += await stream()
            replay_s += await stream()
    total = n * rounds
    baseline = "COPY+INSERT ON CONFLICT" if label == "postgresql" else "executemany"
    goal = "goal >= 0.3 and >= 25,000/s" if label == "postgresql" else "goal >= 10,000/s"
    note = f"{n:,} records in batches of {BATCH:,}, 20 apps, {rounds} round(s); {goal}"
    return [
        _row("usage-ingest", f"StreamUsage ({label})", total, first_s, f"{baseline} ({label})", base_s, note),
        _row(
            "usage-ingest", f"StreamUsage replay ({label})", total, replay_s, f"StreamUsage first ({label})",
            first_s, "every record a retry (duplicate); goal >= 1.5",
        ),
    ]  # fmt: skip


@benchmark("usage-ingest")
async def usage_ingest(config: BenchConfig) -> list[Row]:
    """Usage records through StreamUsage vs COPY+INSERT ON CONFLICT / executemany; replays vs first."""
    n = 20_000 if config.quick else 100_000
    rows: list[Row] = []
    with _backends(config) as backends:
        for label, url in reversed(backends):  # PostgreSQL first: its goals are the main ones
            rows += await _ingest_rows(label, url, n, 1 if config.quick else 2)
    return rows
