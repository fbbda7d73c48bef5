"""``realtime-count``: quality ingest with real-time counting on vs. off (issue 13, R21).

One ``rtc-console serve`` per live state (in process; Redis; a Redis Cluster), its own process,
no workers, a fresh SQLite store. Two accounts: one on the **advanced** edition (its app is
counted per 10-second slot: app totals, rooms, six breakdowns; 12 h look-back) and one on the
**free** edition (not counted: the counter skips free apps). Subject: one
``IngestClient.stream_quality`` call of 1,000 new samples into the counted app; baseline: the
same call into the free app, on the same server, segments alternating (``compare_load``,
concurrency 1). ops/s counts samples. Both apps get the same data (``bench.quality_data``,
10,000 streams), stamped from 30 s before the run so every record lands in a live slot (the
room and breakdown figures keep 10 minutes).

After the run the counted app's ``GetRealtimeSeries`` must show online users and the free
app's must be ``FAILED_PRECONDITION``: otherwise the benchmark fails (it would be measuring
nothing).

Live states: in process always; Redis when ``RTC_BENCH_REDIS_URL`` or ``RTC_TEST_REDIS_URL`` of
``.services.env`` answers (a private ``--redis-key-prefix``, its keys deleted afterwards); the
cluster likewise (``RTC_BENCH_REDIS_CLUSTER_URL`` / ``RTC_TEST_REDIS_CLUSTER_URL``). ``off``
skips one. Issue goal, reported and never asserted: ≥ 0.7 of the baseline. ``--quick`` only
shortens the run.
"""

from __future__ import annotations

import asyncio
import secrets
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy import select

from bench import quality_data as data
from bench.load import LoadResult, compare_load
from bench.procs import subprocess_server
from bench.realtime_support import delete_prefix, reachable_redis
from bench.registry import BenchConfig, Row, benchmark
from bench.rtc_servers import (
    CLI,
    PORT_LINE,
    Metadata,
    create_accounts,
    migrate,
    sqlite_backend,
)
from bench.server_cpu import server_cpu_per_call
from rtcconsole.client import IngestClient
from rtcconsole.v1 import app_service_pb2 as app_pb
from rtcconsole.v1 import app_service_pb2_grpc as app_grpc
from rtcconsole.v1 import monitor_service_pb2_grpc as monitor_grpc
from rtcconsole.v1 import realtime_pb2 as rt
from rtcconsole_server.domain.monitor import set_edition
from rtcconsole_server.store import open_store
from rtcconsole_server.store.models import Account

__all__ = ["realtime_count"]

NAME = "realtime-count"
TOKEN = "bench-data-plane-token"
CALL_TIMEOUT_S = 60.0
MIN_SEGMENT_S = 0.5
CPU_BATCHES = 20
"""Batches per side of the server-CPU measurement after the timed run (two alternating rounds,
the lower of each side kept): the figure a loaded machine disturbs least."""
START_BEFORE = timedelta(seconds=30)
"""The data's first tick, before the run: inside every retention of the real-time keys."""
LIVE_STATES = (
    ("in process", None, None),
    ("Redis", "RTC_BENCH_REDIS_URL", "RTC_TEST_REDIS_URL"),
    ("Redis Cluster", "RTC_BENCH_REDIS_CLUSTER_URL", "RTC_TEST_REDIS_CLUSTER_URL"),
)


def _log(text: str) -> None:
    print(f"  {NAME}: {text}", file=sys.stderr, flush=True)


def _rounds(config: BenchConfig) -> int:
    n = max(1, round(config.duration_s / max(config.segment_s, MIN_SEGMENT_S)))
    return n + n % 2


def _advanced(url: str) -> None:
    """Put the first of the two fresh accounts on the advanced edition (the second stays free)."""
    store = open_store(url)
    try:
        with store.read() as session:
            first = session.scalars(select(Account.id).order_by(Account.id)).first()
        assert first is not None
        set_edition(store, first, "advanced")
    finally:
        store.dispose()


def _serve(url: str, redis_url: str | None, prefix: str) -> list[str]:
    argv = [*CLI, "--log-level", "INFO", "serve", "--listen", "127.0.0.1:0", "--no-workers",
            "--data-plane-token", TOKEN, "--database-url", url]  # fmt: skip
    return [*argv, "--redis-url", redis_url, "--redis-key-prefix", prefix] if redis_url else argv


async def _check_counted(channel: grpc.aio.Channel, owners: list[Metadata], apps: list[int]) -> int:
    """Online users summed over the counted app's series; the free app must be refused."""
    stub = monitor_grpc.MonitorServiceStub(channel)
    start, end = Timestamp(), Timestamp()
    start.FromDatetime(datetime.now(UTC) - timedelta(minutes=5))
    end.FromDatetime(datetime.now(UTC) + timedelta(minutes=4))
    request = rt.GetRealtimeSeriesRequest(sdk_app_id=apps[0], start_time=start, end_time=end)
    series = await stub.GetRealtimeSeries(request, metadata=owners[0], timeout=CALL_TIMEOUT_S)
    online = sum(point.figures.online_users for point in series.points)
    if online == 0:
        raise RuntimeError("the counted app shows no online users: real-time counting did not run")
    try:
        await stub.GetRealtimeSeries(
            rt.GetRealtimeSeriesRequest(sdk_app_id=apps[1]), metadata=owners[1], timeout=CALL_TIMEOUT_S
        )
    except grpc.aio.AioRpcError as error:
        if error.code() == grpc.StatusCode.FAILED_PRECONDITION:
            return online
        raise
    raise RuntimeError("the free app's real-time series answered: it should be refused")


async def _measure(config: BenchConfig, label: str, redis_url: str | None) -> Row:
    prefix = f"rtc-bench:{secrets.token_hex(4)}:"
    async with sqlite_backend() as backend:
        _log(f"{label}: migrate, two accounts (advanced, free), two apps")
        await migrate(backend.url)
        owners = await create_accounts(backend.url, 2)
        await asyncio.to_thread(_advanced, backend.url)
        start = datetime.now(UTC) - START_BEFORE
        streams = data.groups()
        try:
            async with (
                subprocess_server(
                    _serve(backend.url, redis_url, prefix), ready_port_from=PORT_LINE
                ) as server,
                grpc.aio.insecure_channel(server.target) as channel,
            ):
                apps = []
                for owner in owners:
                    created = await app_grpc.AppServiceStub(channel).CreateApp(
                        app_pb.CreateAppRequest(name="bench_realtime"), metadata=owner, timeout=CALL_TIMEOUT_S
                    )
                    apps.append(created.app.sdk_app_id)
                client = IngestClient(channel, data_plane_token=TOKEN, timeout=CALL_TIMEOUT_S)
                counted, free = (data.Messages(app, streams, start) for app in apps)

                def side(messages: data.Messages) -> Callable[[], Awaitable[None]]:
                    async def stream_batch() -> None:
                        response = await client.stream_quality([messages.batch()])
                        if response.accepted != data.BATCH:
                            first = list(response.rejections)[:1]
                            raise RuntimeError(f"accepted {response.accepted} of {data.BATCH}: {first}")

                    return stream_batch

                _log(f"{label}: counted (advanced) vs not counted (free)")
                subject, baseline = await compare_load(
                    side(counted),
                    side(free),
                    concurrency=1,
                    duration_s=config.duration_s,
                    warmup_s=config.warmup_s,
                    rounds=_rounds(config),
                )
                cpu: dict[str, list[float]] = {"counted": [], "free": []}
                for _ in range(2):
                    for name, messages in (("counted", counted), ("free", free)):
                        cpu[name].append(
                            await server_cpu_per_call(server.pid, side(messages), 1, CPU_BATCHES)
                        )
                online = await _check_counted(channel, owners, apps)
        finally:
            if redis_url:
                await delete_prefix(redis_url, prefix)
    return _row(label, subject, baseline, online, (min(cpu["counted"]), min(cpu["free"])))


def _row(
    label: str, subject: LoadResult, baseline: LoadResult, online: int, cpu_ms: tuple[float, float]
) -> Row:
    counted_ms, free_ms = cpu_ms
    rate, base_rate = subject.ops_per_s * data.BATCH, baseline.ops_per_s * data.BATCH
    return Row(
        benchmark=NAME,
        subject=f"counted, {label}",
        ops_per_s=rate,
        p50_ms=subject.p50_ms,
        p99_ms=subject.p99_ms,
        baseline="not counted (free)",
        baseline_ops_per_s=base_rate,
        baseline_p50_ms=baseline.p50_ms,
        baseline_p99_ms=baseline.p99_ms,
        errors=subject.errors,
        baseline_errors=baseline.errors,
        first_error=subject.first_error or baseline.first_error,
        note=(
            f"{rate:,.0f} vs {base_rate:,.0f} samples/s; StreamQuality batches of {data.BATCH:,} over "
            f"{data.STREAMS:,} streams, one at a time, SQLite store; per batch p50 {subject.p50_ms:.0f} ms "
            f"vs {baseline.p50_ms:.0f} ms; live state {label}; {online:,} online users summed over the "
            f"counted app's series after the run; server CPU per batch {counted_ms:.1f} ms counted vs "
            f"{free_ms:.1f} ms not (ratio {free_ms / max(counted_ms, 1e-9):.2f}; the rtc-console process "
            "only, not Redis); goal >= 0.7"
        ),
    )


@benchmark(NAME)
async def realtime_count(config: BenchConfig) -> list[Row]:
    """Quality ingest with real-time counting (advanced edition) vs without (free), per live state."""
    rows: list[Row] = []
    for label, bench_env, file_key in LIVE_STATES:
        url = None
        if bench_env is not None and file_key is not None:
            url = await reachable_redis(label, bench_env, file_key, log_as=NAME)
            if url is None:
                continue
        rows.append(await _measure(config, label, url))
    return rows
