"""``durability``: what SQLite's ``synchronous=FULL`` costs the acknowledged writes (issue 10 §6).

The store commits with ``synchronous=FULL`` (``store/engine.py``: the WAL is fsynced at every
commit, so an acknowledged record survives an OS crash or power cut). This benchmark runs two
``rtc-console serve`` processes side by side, each on a fresh SQLite file in its own temporary
directory on the same file system: the subject as shipped (FULL), the baseline started by
``bench/sqlite_sync_serve.py`` with every store connection at ``synchronous=NORMAL`` (the WAL
fsynced only at checkpoints), otherwise the same arguments (``--no-workers``). Segments alternate
(``compare_load``), so the row's ratio is FULL's throughput over NORMAL's in the same minutes.

Rows (SQLite only: PostgreSQL keeps its own ``synchronous_commit=on``):

1. ``ReportUsage`` of :data:`SMALL` new records per call, one call at a time: every call is a
   commit of its own, so each pays one fsync;
2. the same at ``--concurrency`` calls in flight: the store's group commit
   (``store/group_commit.py``) shares one commit, and one fsync, among the writes queued;
3. ``ReportEvents`` of :data:`LARGE` new events per call, one at a time: one fsync per large
   batch.

``--quick``: the first row only.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from bench.procs import subprocess_server
from bench.registry import BenchConfig, Row, benchmark
from bench.rtc_servers import CLI, PORT_LINE, migrate, run_command
from rtcconsole.v1 import app_service_pb2 as app_pb
from rtcconsole.v1 import app_service_pb2_grpc as app_grpc
from rtcconsole.v1 import ingest_service_pb2 as pb
from rtcconsole.v1 import ingest_service_pb2_grpc as pb_grpc
from rtcconsole.v1 import usage_service_pb2 as usage_pb

__all__ = ["durability"]

NAME = "durability"
SMALL = 10
"""Usage records per ReportUsage call."""
LARGE = 1000
"""Events per ReportEvents call."""
TOKEN = "bench-data-plane-token"
CALL_TIMEOUT_S = 60.0
DATA_PLANE = (("authorization", f"Bearer {TOKEN}"),)
_NORMAL = (sys.executable, "-m", "bench.sqlite_sync_serve", "NORMAL")


def _log(text: str) -> None:
    print(f"  {NAME}: {text}", file=sys.stderr, flush=True)


class _Side:
    """One server and its app: the calls of each row, with ids never used before."""

    def __init__(self, channel: grpc.aio.Channel, sdk_app_id: int, tag: str) -> None:
        self._stub = pb_grpc.IngestServiceStub(channel)
        self._app = sdk_app_id
        self._ids = itertools.count()
        self._tag = tag

    def usage(self) -> Awaitable[pb.ReportUsageResponse]:
        stamp = Timestamp()
        stamp.FromDatetime(datetime.now(UTC))
        start = next(self._ids) * SMALL
        records = [
            pb.UsageRecord(
                record_id=f"{self._tag}-u{n}",
                sdk_app_id=self._app,
                room_id=1 + n % 100,
                user_id=f"user{n % 500}",
                kind=usage_pb.USAGE_KIND_INTERACTIVE_AV,
                category=usage_pb.USAGE_CATEGORY_HD,
                start_time=stamp,
                seconds=60,
            )
            for n in range(start, start + SMALL)
        ]
        request = pb.ReportUsageRequest(records=records)
        return self._stub.ReportUsage(request, metadata=DATA_PLANE, timeout=CALL_TIMEOUT_S)

    def events(self) -> Awaitable[pb.ReportEventsResponse]:
        now = datetime.now(UTC)
        start = next(self._ids) * LARGE
        events = []
        for n in range(start, start + LARGE):
            event = pb.RoomEvent(
                event_id=f"{self._tag}-e{n}",
                sdk_app_id=self._app,
                room_id=1 + n % 100,
                user_id=f"user{n % 500}",
                type=pb.EVENT_TYPE_USER_ENTERED,
                role=pb.ROLE_ANCHOR,
            )
            event.event_time.FromDatetime(now)
            events.append(event)
        request = pb.ReportEventsRequest(events=events)
        return self._stub.ReportEvents(request, metadata=DATA_PLANE, timeout=CALL_TIMEOUT_S)


@contextlib.asynccontextmanager
async def _server(prefix: tuple[str, ...], tag: str) -> AsyncIterator[_Side]:
    """A migrated SQLite file with one account and app, served by ``prefix serve …``."""
    with tempfile.TemporaryDirectory(prefix=f"rtc-bench-{tag}-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'rtc-console.db'}"
        await migrate(url)
        created = await run_command(
            [*CLI, "--log-level", "WARNING", "admin", "account", "create", f"bench_{tag}", "--json",
             "--database-url", url]
        )  # fmt: skip
        owner = (("authorization", f"Bearer {json.loads(created)['api_key']}"),)
        serve = [*prefix, "--log-level", "INFO", "serve", "--listen", "127.0.0.1:0", "--no-workers",
                 "--data-plane-token", TOKEN, "--database-url", url]  # fmt: skip
        async with (
            subprocess_server(serve, ready_port_from=PORT_LINE) as server,
            grpc.aio.insecure_channel(server.target) as channel,
        ):
            app = await app_grpc.AppServiceStub(channel).CreateApp(
                app_pb.CreateAppRequest(name=f"bench_{tag}"), metadata=owner, timeout=CALL_TIMEOUT_S
            )
            yield _Side(channel, app.app.sdk_app_id, tag)


async def _row(
    config: BenchConfig,
    what: str,
    concurrency: int,
    full: Callable[[], Awaitable[object]],
    normal: Callable[[], Awaitable[object]],
    records: int,
) -> Row:
    _log(f"{what} c={concurrency}: FULL vs NORMAL")
    subject, baseline = await config.compare(full, normal, concurrency=concurrency)
    return Row.from_results(
        benchmark=NAME,
        subject=f"{what} synchronous=FULL c={concurrency}",
        result=subject,
        baseline=f"the same with synchronous=NORMAL c={concurrency}",
        baseline_result=baseline,
        note=f"SQLite, WAL, fresh files, --no-workers; {records:,} new records per call: "
        f"{subject.ops_per_s * records:,.0f} vs {baseline.ops_per_s * records:,.0f} records/s",
    )


@benchmark(NAME)
async def durability(config: BenchConfig) -> list[Row]:
    """SQLite synchronous=FULL (as shipped) vs NORMAL: ReportUsage c=1 and c=N, ReportEvents c=1."""
    async with _server(CLI, "full") as full, _server(_NORMAL, "normal") as normal:
        rows = [await _row(config, f"ReportUsage x{SMALL}", 1, full.usage, normal.usage, SMALL)]
        if not config.quick:
            c = config.concurrency
            rows.append(await _row(config, f"ReportUsage x{SMALL}", c, full.usage, normal.usage, SMALL))
            rows.append(await _row(config, f"ReportEvents x{LARGE}", 1, full.events, normal.events, LARGE))
    return rows
