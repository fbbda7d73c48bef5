"""``ingest``: events through StreamEvents vs. a plain ``executemany``; callbacks vs. bare httpx POSTs.

Rows, per database backend (SQLite always; PostgreSQL when configured, as in
``bench_apps``: ``RTC_BENCH_POSTGRES_URL`` or ``.services.env``; a fresh
database, dropped at the end):

1. **events/s ingested**: ``rtc-console serve`` in its own process (no workers,
   no callback URL), one ``StreamEvents`` call per batch of 1,000 new events,
   one stream at a time; against a plain DBAPI ``executemany`` of the same
   1,000 rows (digest included) into the same ``room_events`` table of the same
   database, committed per batch, in a thread of the bench process. Segments
   alternate (``compare_load``, concurrency 1); ops/s counts events.
2. **callbacks/s delivered**: the dispatcher against a bare ``httpx`` POST loop
   to the same local receiver (``bench/callback_load.py``).

``--quick``: SQLite only, smaller rounds.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import sqlite3
import sys
from collections.abc import AsyncIterator, Awaitable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import grpc
import psycopg
from sqlalchemy.engine import make_url

from bench.callback_load import ROOMS, callbacks_row
from bench.load import LoadResult, compare_load
from bench.procs import subprocess_server
from bench.registry import BenchConfig, Row, benchmark
from bench.rtc_servers import (
    CLI,
    PORT_LINE,
    Backend,
    postgres_backend,
    reachable_postgres,
    run_command,
    sqlite_backend,
)
from rtcconsole.v1 import app_service_pb2 as app_pb
from rtcconsole.v1 import app_service_pb2_grpc as app_grpc
from rtcconsole.v1 import ingest_service_pb2 as pb
from rtcconsole.v1 import ingest_service_pb2_grpc as pb_grpc

__all__ = ["ingest"]

NAME = "ingest"
BATCH = 1000
"""Events per StreamEvents message (and per executemany)."""
TOKEN = "bench-data-plane-token"
CALL_TIMEOUT_S = 60.0
_INSERT = (
    "INSERT INTO room_events (sdk_app_id, event_id, room_key, user_id, event_type, event_time, role, "
    "reason, session, payload_sha256, received_at) VALUES ({})"
)


async def _cli(*argv: str) -> str:
    """``rtc-console ARGV`` to completion (this interpreter); its stdout."""
    return await run_command([*CLI, "--log-level", "WARNING", *argv])


def _log(text: str) -> None:
    print(f"  {NAME}: {text}", file=sys.stderr, flush=True)


def _rounds(config: BenchConfig, segment_s: float) -> int:
    n = max(1, round(config.duration_s / segment_s))
    return n + n % 2


# ------------------------------------------------------------- ingest rows


def _events(sdk_app_id: int, prefix: str, start: int, now: datetime) -> list[pb.RoomEvent]:
    events = []
    for n in range(start, start + BATCH):
        event = pb.RoomEvent(
            event_id=f"{prefix}{n}",
            sdk_app_id=sdk_app_id,
            room_id=1 + n % ROOMS,
            user_id=f"user{n % 500}",
            type=pb.EVENT_TYPE_USER_ENTERED,
            role=pb.ROLE_ANCHOR,
        )
        event.event_time.FromDatetime(now)
        events.append(event)
    return events


def _plain_rows(sdk_app_id: int, start: int, now: datetime, sqlite: bool) -> list[tuple[object, ...]]:
    stamp: object = now.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else now
    rows: list[tuple[object, ...]] = []
    for n in range(start, start + BATCH):
        event_id = f"plain{n}"
        digest = hashlib.sha256(f"{sdk_app_id}/{event_id}/{n}".encode()).hexdigest()
        rows.append(
            (
                sdk_app_id,
                event_id,
                f"n:{1 + n % ROOMS}",
                f"user{n % 500}",
                103,
                stamp,
                1,
                0,
                "{}",
                digest,
                stamp,
            )
        )
    return rows


class _Executemany:
    """One DBAPI connection doing plain ``executemany`` + commit of 1,000 rows per call."""

    def __init__(self, url: str, sdk_app_id: int) -> None:
        parsed = make_url(url)
        self.sqlite = parsed.get_backend_name() == "sqlite"
        self.sdk_app_id = sdk_app_id
        self.counter = itertools.count(step=BATCH)
        if self.sqlite:
            self.conn: sqlite3.Connection | psycopg.Connection[object] = sqlite3.connect(
                str(parsed.database), check_same_thread=False
            )
            self.conn.execute("PRAGMA synchronous=FULL")  # what the server commits with (store/engine.py)
            self.sql = _INSERT.format(", ".join("?" * 11))
        else:
            libpq = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
            self.conn = psycopg.connect(libpq)
            self.sql = _INSERT.format(", ".join(["%s"] * 11))

    def batch(self) -> None:
        rows = _plain_rows(self.sdk_app_id, next(self.counter), datetime.now(UTC), self.sqlite)
        cursor = self.conn.cursor()
        cursor.executemany(self.sql, rows)
        self.conn.commit()

    def close(self) -> None:
        self.conn.close()


async def _ingest_row(config: BenchConfig, backend: Backend) -> Row:
    _log(f"{backend.label}: migrate, account, app")
    await _cli("migrate", "--database-url", backend.url)
    created_account = await _cli(
        "admin", "account", "create", "bench_ingest", "--json", "--database-url", backend.url
    )
    owner = (("authorization", f"Bearer {json.loads(created_account)['api_key']}"),)
    serve = [
        *CLI,
        "--log-level",
        "INFO",
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--no-workers",
        "--data-plane-token",
        TOKEN,
        "--database-url",
        backend.url,
    ]
    metadata = (("authorization", f"Bearer {TOKEN}"),)
    async with (
        subprocess_server(serve, ready_port_from=PORT_LINE) as server,
        grpc.aio.insecure_channel(server.target) as channel,
    ):
        created = await app_grpc.AppServiceStub(channel).CreateApp(
            app_pb.CreateAppRequest(name="bench_ingest"), metadata=owner, timeout=CALL_TIMEOUT_S
        )
        sdk_app_id = created.app.sdk_app_id
        stub = pb_grpc.IngestServiceStub(channel)
        counter = itertools.count(step=BATCH)

        async def stream_batch() -> pb.StreamEventsResponse:
            events = _events(sdk_app_id, "ev", next(counter), datetime.now(UTC))

            async def one() -> AsyncIterator[pb.StreamEventsRequest]:
                yield pb.StreamEventsRequest(events=events)

            response = await stub.StreamEvents(one(), metadata=metadata, timeout=CALL_TIMEOUT_S)
            if response.accepted != BATCH:
                raise RuntimeError(f"accepted {response.accepted} of {BATCH}: {response.rejections[:1]}")
            return response

        plain = await asyncio.to_thread(_Executemany, backend.url, sdk_app_id)
        executor = ThreadPoolExecutor(1, thread_name_prefix="bench-executemany")

        def plain_batch() -> Awaitable[None]:
            return asyncio.get_running_loop().run_in_executor(executor, plain.batch)

        _log(f"{backend.label}: StreamEvents vs executemany")
        try:
            subject, baseline = await compare_load(
                stream_batch,
                plain_batch,
                concurrency=1,
                duration_s=config.duration_s,
                warmup_s=config.warmup_s,
                rounds=_rounds(config, 0.5),
            )
        finally:
            await asyncio.get_running_loop().run_in_executor(executor, plain.close)
            executor.shutdown()
    return _events_row(backend, subject, baseline)


def _events_row(backend: Backend, subject: LoadResult, baseline: LoadResult) -> Row:
    return Row(
        benchmark=NAME,
        subject=f"StreamEvents ({backend.label}) events/s",
        ops_per_s=subject.ops_per_s * BATCH,
        p50_ms=None,
        p99_ms=None,
        baseline=f"executemany ({backend.label}) rows/s",
        baseline_ops_per_s=baseline.ops_per_s * BATCH,
        errors=subject.errors,
        baseline_errors=baseline.errors,
        first_error=subject.first_error or baseline.first_error,
        note=f"{backend.note}; batches of {BATCH:,}, one at a time; per batch p50 "
        f"{subject.p50_ms:.0f} ms vs {baseline.p50_ms:.0f} ms; the subject also validates, "
        "de-duplicates and checks the app",
    )


@benchmark(NAME)
async def ingest(config: BenchConfig) -> list[Row]:
    """Events/s through StreamEvents vs. executemany; callbacks/s vs. bare httpx; SQLite, PostgreSQL."""
    postgres = None if config.quick else await reachable_postgres(NAME)
    rows: list[Row] = []
    async with sqlite_backend() as backend:
        rows.append(await _ingest_row(config, backend))
    async with sqlite_backend() as backend:
        rows.append(
            await callbacks_row(config, name=NAME, label=backend.label, url=backend.url, note=backend.note)
        )
    if postgres is not None:
        async with postgres_backend(postgres) as backend:
            rows.append(await _ingest_row(config, backend))
        async with postgres_backend(postgres) as backend:
            rows.append(
                await callbacks_row(
                    config, name=NAME, label=backend.label, url=backend.url, note=backend.note
                )
            )
    return rows
