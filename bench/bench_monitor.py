"""``monitor``: ListCalls and GetQualitySeries over a simulated 14 days vs their SQL bare (issue 12).

Per database backend (SQLite always; PostgreSQL when configured, as ``quality-ingest``):

1. ``rtc-console serve`` in its own process (no workers) on a fresh database; an account, an app.
2. **Load**: ``bench.monitor_data.scenario`` (``--scale full``: 14 days, 12 rooms, about 10,500
   calls and 6.3 million quality samples; ``--scale small`` or ``--quick``: one hour of 3 rooms)
   sent by the simulator's driver through the real IngestService (StreamEvents, StreamQuality,
   StreamClientEvents, StreamUsage, batches of 1,000). Every record must be accepted.
3. Rows, each timed by :func:`alternate` (one call at a time, B S S B order):
   - ``ListCalls 14d`` (preset LAST_14_DAYS, the first page of 20) vs the same statement bare;
   - ``ListCalls 1d`` (a custom range: the last 24 hours) vs the same statement bare;
   - ``GetQualitySeries 5h`` (one pair: a receiver's video from its sender, every metric, the
     default 1,000 points) vs the store's samples statement bare (``bench.monitor_series``: a
     5-hour call of its own is loaded beside the 14 days, whose calls are minutes long).
   The bare side is the statement the domain sends for that page (``_call_query.py``), captured
   at the DB-API level with its parameters and replayed on a plain ``sqlite3`` / ``psycopg``
   connection in a thread of the bench process; ops/s counts pages per second of each side's
   own time (a page can take a second or more: no fixed-length segment would hold it).
   Goal (issue 12): each RPC takes at most 1.5x the bare query's time, a ratio >= 0.67.
4. Notes: calls and samples loaded, load rate, bytes per stored sample (``bench.quality_data``
   footprints), and the query plan (SQLite ``EXPLAIN QUERY PLAN``, PostgreSQL ``EXPLAIN``)
   with whether ``ix_room_events_calls`` is used.
"""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import make_url

from bench import monitor_data as data
from bench import monitor_series, quality_data
from bench.load import LoadResult
from bench.monitor_timing import alternate, bare_side
from bench.procs import subprocess_server
from bench.registry import BenchConfig, Row, benchmark
from bench.rtc_servers import (
    CLI,
    PORT_LINE,
    Backend,
    create_accounts,
    migrate,
    on_each_backend,
)
from rtcconsole.client import IngestClient, RtcConsole
from rtcconsole.errors import RtcConsoleError
from rtcconsole.v1 import quality_pb2

__all__ = ["monitor"]

NAME = "monitor"
TOKEN = "bench-data-plane-token"
CALL_TIMEOUT_S = 600.0
PAGE = 20
"""ListCalls' default page size."""


def _log(text: str) -> None:
    print(f"  {NAME}: {text}", file=sys.stderr, flush=True)


def _serve(url: str) -> list[str]:
    return [
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
        url,
    ]


async def _backend_rows(config: BenchConfig, backend: Backend, scale: data.Scale) -> list[Row]:
    _log(f"{backend.label}: migrate, account, app")
    await migrate(backend.url)
    (owner,) = await create_accounts(backend.url, 1)
    api_key = owner[0][1].removeprefix("Bearer ")
    sqlite_file = Path(str(make_url(backend.url).database)) if backend.label == "sqlite" else None
    size_before = quality_data.file_size(sqlite_file) if sqlite_file else 0
    now = datetime.now(UTC)
    rows: list[Row] = []
    async with subprocess_server(_serve(backend.url), ready_port_from=PORT_LINE) as server:  # noqa: SIM117
        async with await RtcConsole.connect(
            server.target, api_key=api_key, timeout=CALL_TIMEOUT_S
        ) as console:
            sdk_app_id = int((await console.apps.create_app(name="bench_monitor")).sdk_app_id)
            simulated = data.scenario(sdk_app_id, scale)
            _log(f"{backend.label}: loading {scale.span} of {scale.rooms} rooms through the IngestService")
            started = time.monotonic()
            async with IngestClient(
                console.channel, data_plane_token=TOKEN, timeout=CALL_TIMEOUT_S
            ) as ingest:
                tally = await data.load(ingest, simulated, now - scale.span, now)
                # ending as it is loaded, so that the read's 5 hours are full of samples
                long_events, long_samples = monitor_series.long_call(sdk_app_id, datetime.now(UTC))
                assert (await ingest.report_events(long_events)).accepted == len(long_events)
                long_tally = await ingest.stream_quality(long_samples)
            took = time.monotonic() - started
            if long_tally.rejected:
                raise RuntimeError(f"{backend.label}: the long call's samples were rejected: {long_tally}")
            if tally.total("accepted") != tally.total("sent"):
                raise RuntimeError(f"{backend.label}: not every record was accepted: {tally.as_dict()}")
            samples = tally.kinds["sample"].accepted
            _log(f"{backend.label}: {tally.calls:,} calls, {samples:,} samples in {took:.0f} s")
            loaded = (
                f"{tally.calls:,} calls, {samples:,} samples, {tally.total('accepted'):,} records loaded "
                f"through the IngestService in {took:.0f} s ({tally.total('accepted') / took:,.0f}/s)"
            )
            loaded += "; " + await _first_call(console, sdk_app_id)
            await asyncio.to_thread(data.analyze, backend.url)
            for label, preset, start, end in (
                ("14d", "14d", now - timedelta(days=14), now),
                ("1d", None, now - timedelta(days=1), now),
            ):
                query = data.BareQuery(
                    backend.url,
                    sdk_app_id=sdk_app_id,
                    now=datetime.now(UTC),
                    start=start,
                    end=end,
                    limit=PAGE + 1,
                )
                plan, uses_index = data.explain(query)

                async def list_calls(
                    preset: str | None = preset, start: datetime = start, end: datetime = end
                ) -> None:
                    if preset is not None:
                        await console.monitor.list_calls(sdk_app_id=sdk_app_id, range=preset)
                    else:
                        await console.monitor.list_calls(sdk_app_id=sdk_app_id, start=start, end=end)

                async with bare_side(query) as bare:
                    _log(f"{backend.label}: ListCalls {label} vs the bare statement")
                    subject, baseline = await alternate(list_calls, bare, duration_s=config.duration_s)
                rows.append(_row(backend, label, subject, baseline, query, plan, uses_index, loaded))
            rows.append(await _series_row(config, backend, console, sdk_app_id, loaded))
    stored = (
        await asyncio.to_thread(quality_data.sqlite_footprint, sqlite_file, size_before)
        if sqlite_file
        else await asyncio.to_thread(quality_data.postgres_footprint, backend.url, quality_data.TABLE)
    )
    last = rows[-1]
    rows[-1] = Row(
        **{
            **{f: getattr(last, f) for f in last.__dataclass_fields__},
            "note": last.note + f"; {stored.per_row:.1f} B per stored sample ({stored.how}; "
            f"{stored.bytes:,} B / {stored.rows:,} rows)",
        }
    )
    return rows


async def _series_row(
    config: BenchConfig, backend: Backend, console: RtcConsole, sdk_app_id: int, loaded: str
) -> Row:
    """GetQualitySeries over the last 5 hours of the long call's pair vs its samples statement bare."""
    listed = await console.monitor.list_calls(
        sdk_app_id=sdk_app_id, range="6h", room=monitor_series.LONG_ROOM
    )
    call_id = listed.calls[0].call_id
    end = datetime.now(UTC)
    start = end - monitor_series.RANGE
    query = await asyncio.to_thread(
        monitor_series.SeriesQuery, backend.url, sdk_app_id=sdk_app_id, call_id=call_id, start=start, end=end
    )

    async def series() -> None:
        await console.monitor.get_quality_series(
            call_id,
            monitor_series.RECEIVER,
            peer_id=monitor_series.SENDER,
            media=quality_pb2.MEDIA_KIND_VIDEO,
            start=start,
            end=end,
        )

    async with bare_side(query) as bare:
        _log(f"{backend.label}: GetQualitySeries 5h vs the bare statement")
        subject, baseline = await alternate(series, bare, duration_s=config.duration_s)
    note = (
        f"one pair ({monitor_series.RECEIVER} <- {monitor_series.SENDER}, video), {query.metrics} metrics "
        f"of {query.points} points ({query.step.total_seconds():.0f}-s steps) from one statement "
        f"of {query.statements} the read runs (the app, the call, the samples: only the samples' "
        f"is the baseline); per read p50 {subject.p50_ms:.1f} ms vs {baseline.p50_ms:.1f} ms bare; "
        f"{loaded}; {backend.note}; goal ratio >= 0.67"
    )
    return Row(
        benchmark=NAME,
        subject=f"GetQualitySeries 5h {backend.label}",
        ops_per_s=subject.ops_per_s,
        p50_ms=subject.p50_ms,
        p99_ms=subject.p99_ms,
        baseline="bare SQL 5h",
        baseline_ops_per_s=baseline.ops_per_s,
        baseline_p50_ms=baseline.p50_ms,
        baseline_p99_ms=baseline.p99_ms,
        errors=subject.errors,
        baseline_errors=baseline.errors,
        first_error=subject.first_error or baseline.first_error,
        note=note,
    )


async def _first_call(console: RtcConsole, sdk_app_id: int) -> str:
    """One ListCalls 14d right after the load, before ``ANALYZE``: what a freshly loaded store
    answers (the rows are measured after it)."""
    started = time.monotonic()
    try:
        await console.monitor.list_calls(sdk_app_id=sdk_app_id, range="14d")
    except RtcConsoleError as error:
        took = time.monotonic() - started
        return f"first ListCalls 14d before ANALYZE failed after {took:.1f} s ({error.code.name})"
    took = time.monotonic() - started
    return f"first ListCalls 14d before ANALYZE {1000 * took:.0f} ms; measured after ANALYZE"


def _row(
    backend: Backend,
    label: str,
    subject: LoadResult,
    baseline: LoadResult,
    query: data.BareQuery,
    plan: str,
    uses_index: bool,
    loaded: str,
) -> Row:
    reads = [line.strip() for line in plan.splitlines() if "room_events" in line]
    shown_plan = " / ".join(reads[:2]) or plan.splitlines()[0]
    note = (
        f"{query.rows} rows per page (page of {PAGE} + 1); per page p50 {subject.p50_ms:.1f} ms vs "
        f"{baseline.p50_ms:.1f} ms bare; {data.CALLS_INDEX} used: {'yes' if uses_index else 'NO'} "
        f"(plan reads room_events: {shown_plan}); {loaded}; {backend.note}; "
        "goal ratio >= 0.67 (<= 1.5x the bare time)"
    )
    return Row(
        benchmark=NAME,
        subject=f"ListCalls {label} {backend.label}",
        ops_per_s=subject.ops_per_s,
        p50_ms=subject.p50_ms,
        p99_ms=subject.p99_ms,
        baseline=f"bare SQL {label}",
        baseline_ops_per_s=baseline.ops_per_s,
        baseline_p50_ms=baseline.p50_ms,
        baseline_p99_ms=baseline.p99_ms,
        errors=subject.errors,
        baseline_errors=baseline.errors,
        first_error=subject.first_error or baseline.first_error,
        note=note,
    )


@benchmark(NAME)
async def monitor(config: BenchConfig) -> list[Row]:
    """ListCalls (14 days, 1 day) and GetQualitySeries (5 h) on a simulated 14 days vs the same SQL
    bare; bytes per sample."""
    scale = data.SCALES["small" if config.quick or config.scale == "small" else "full"]
    return await on_each_backend(NAME, lambda backend: _backend_rows(config, backend, scale))
