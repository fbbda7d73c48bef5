"""Retention of quality samples and client events (decision 0024), both backends.

Day partitions on PostgreSQL made for the days records arrive on, dropped once their whole UTC
day is before the cutoff; bounded batch deletes on SQLite by the same cutoff; client events
still once per (app, event id) now that the table's key holds the time; the worker in ``serve``
and alone (``rtc-console retention``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import grpc
import pytest
from sqlalchemy import select

from rtcconsole.v1 import ingest_service_pb2 as pb
from rtcconsole.v1 import ingest_service_pb2_grpc as pb_grpc
from rtcconsole_server import cli
from rtcconsole_server.clock import ManualClock
from rtcconsole_server.domain.monitor import Retention
from rtcconsole_server.server import Server, build_server
from rtcconsole_server.settings import Settings
from rtcconsole_server.store import open_store
from rtcconsole_server.store.models_monitor import ClientEvent, QualitySample
from rtcconsole_server.store.partitions import DayPartitions
from tests.callback_support import DATA_PLANE
from tests.service.test_ingest_client_events import client_event
from tests.service.test_ingest_client_events import report as report_events
from tests.service.test_ingest_quality import report as report_samples
from tests.service.test_ingest_quality import sample
from tests.support import Tenant, fails, new_tenant

CODE = grpc.StatusCode
NOW = datetime(2026, 1, 20, 12, 0, tzinfo=UTC)
CUTOFF = datetime(2026, 1, 6, tzinfo=UTC)
"""With 14 days kept, on 2026-01-20 (any time) the rows from 2026-01-06 00:00Z on are kept."""
US = timedelta(microseconds=1)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


async def _times(server: Server) -> tuple[list[datetime], list[datetime]]:
    def read() -> tuple[list[datetime], list[datetime]]:
        with server.console.store.read() as session:
            samples = session.scalars(select(QualitySample.sample_time).order_by(QualitySample.sample_time))
            events = session.scalars(select(ClientEvent.event_time).order_by(ClientEvent.event_time))
            return list(samples), list(events)

    return await asyncio.to_thread(read)


async def _store_at(tenant: Tenant, times: list[datetime]) -> None:
    app = await tenant.create_app()
    await report_samples(tenant, [sample(app.sdk_app_id, t) for t in times])
    events = [client_event(f"e{i}", app.sdk_app_id, t) for i, t in enumerate(times)]
    assert (await report_events(tenant, events)).accepted == len(times)


def _days(server: Server, table: str) -> list[date]:
    return DayPartitions(server.console.store, table).days()


async def test_a_record_finds_its_days_partition_30_days_back_and_past_midnight(
    server: Server, tenant: Tenant, clock: ManualClock
) -> None:
    clock.set(datetime(2026, 1, 20, 23, 57, tzinfo=UTC))
    times = [clock.now() - timedelta(days=30), clock.now(), clock.now() + timedelta(minutes=4)]
    await _store_at(tenant, times)  # no worker ran: the ingest made the partitions it needed
    assert await _times(server) == (times, times)
    if server.console.store.is_postgresql:
        for table in ("quality_samples", "client_events"):
            days = _days(server, table)
            assert {date(2025, 12, 21), date(2026, 1, 20), date(2026, 1, 21)} <= set(days), table


async def test_retention_removes_exactly_what_is_before_the_cutoff_day(
    server: Server, tenant: Tenant, clock: ManualClock
) -> None:
    times = [CUTOFF - timedelta(days=3), CUTOFF - US, CUTOFF, CUTOFF + timedelta(days=1), NOW]
    await _store_at(tenant, times)
    done = (await server.workers.run_once())["retention"]
    kept = [CUTOFF, CUTOFF + timedelta(days=1), NOW]
    assert await _times(server) == (kept, kept)
    postgresql = server.console.store.is_postgresql
    if postgresql:  # two days dropped in each table, and today + 2 days made ready
        assert done >= 4
        for table in ("quality_samples", "client_events"):
            days = _days(server, table)
            assert min(days) == date(2026, 1, 6) and date(2026, 1, 22) in days, (table, days)
            assert date(2026, 1, 5) not in days and date(2026, 1, 3) not in days
    else:
        assert done == 4  # two old samples, two old client events
    clock.advance(days=1)  # the cutoff moves to 2026-01-07 00:00Z
    await server.workers.run_once()
    assert await _times(server) == (kept[1:], kept[1:])
    assert (await server.workers.run_once())["retention"] == 0  # nothing left to do until tomorrow


async def test_batches_see_at_most_their_rows_and_stop_exactly_at_the_cutoff(
    server: Server, tenant: Tenant, clock: ManualClock
) -> None:
    old = [CUTOFF - timedelta(minutes=m) for m in range(10, 0, -1)] + [CUTOFF - US]
    new = [CUTOFF + m * timedelta(minutes=1) for m in range(4)]
    await _store_at(tenant, old + new)
    retention = Retention(server.console.store, clock, days=14, batch=3)
    assert retention.cutoff() == CUTOFF
    for table in retention.tables:
        deleted, after, batches = 0, None, 0
        while True:
            batch = await asyncio.to_thread(retention.delete_batch, table, CUTOFF, after)
            assert batch.deleted <= 3
            deleted, batches = deleted + batch.deleted, batches + 1
            if batch.after is None:
                break
            after = batch.after
        assert (deleted, batches) == (11, 6), table  # 15 rows, 3 keys a batch, then the end
    assert await _times(server) == (new, new)


async def test_a_retried_client_event_counts_once_whatever_its_day(
    server: Server, tenant: Tenant, clock: ManualClock
) -> None:
    app = await tenant.create_app()
    late = datetime(2026, 1, 19, 23, 59, 59, tzinfo=UTC)
    first = client_event("once", app.sdk_app_id, late)
    assert (await report_events(tenant, [first])).accepted == 1
    again = await report_events(tenant, [first])
    assert (again.accepted, again.duplicates) == (0, 1)
    next_day = client_event("once", app.sdk_app_id, late + timedelta(seconds=2))  # another partition
    failure = await fails(report_events(tenant, [next_day]), CODE.ALREADY_EXISTS)
    assert "event_time" in failure.message
    assert failure.details["google.rpc.ResourceInfo"].resource_name == f"{app.sdk_app_id}/once"

    async def requests() -> AsyncIterator[pb.StreamClientEventsRequest]:
        yield pb.StreamClientEventsRequest(events=[next_day, first])

    stub = pb_grpc.IngestServiceStub(tenant.channel)
    streamed = await stub.StreamClientEvents(requests(), metadata=DATA_PLANE)
    assert (streamed.accepted, streamed.duplicates, streamed.rejected) == (0, 1, 1)
    assert [(r.index, r.code) for r in streamed.rejections] == [(0, "ALREADY_EXISTS")]
    assert await _times(server) == ([], [late])


async def test_concurrent_resends_at_different_times_store_one_event(
    server: Server, tenant: Tenant, clock: ManualClock
) -> None:
    app = await tenant.create_app()
    sends = [client_event("race", app.sdk_app_id, NOW - timedelta(days=d)) for d in range(4)]
    outcomes = await asyncio.gather(*(report_events(tenant, [s]) for s in sends), return_exceptions=True)
    accepted = [o for o in outcomes if isinstance(o, pb.ReportClientEventsResponse)]
    refused = [o for o in outcomes if isinstance(o, grpc.aio.AioRpcError)]
    assert len(accepted) == 1 and accepted[0].accepted == 1
    assert [e.code() for e in refused] == [CODE.ALREADY_EXISTS] * 3
    assert len((await _times(server))[1]) == 1


async def test_serve_runs_retention_as_the_clock_moves(settings: Settings, clock: ManualClock) -> None:
    built = await build_server(replace(settings, run_workers=True), clock=clock)
    await built.start()
    try:
        async with asyncio.timeout(30):
            await clock.wait_for_sleepers(len(built.workers.workers))  # every first step done
        async with new_tenant(built, "kept") as tenant:
            await _store_at(tenant, [CUTOFF + timedelta(hours=1), NOW])
        clock.advance(days=1)  # the next run, an hour later, and past the day: the first row goes
        await asyncio.sleep(0)
        async with asyncio.timeout(30):
            await clock.wait_for_sleepers(len(built.workers.workers))  # every step done again
        assert await _times(built) == ([NOW], [NOW])
    finally:
        await built.stop(0)


async def test_rtc_console_retention_once_alone(
    server: Server, tenant: Tenant, clock: ManualClock, database_url: str
) -> None:
    """``rtc-console retention --once`` on the server's store, on the system clock."""
    now = datetime.now(UTC).replace(microsecond=0)
    clock.set(now)
    times = [now - timedelta(days=20), now - timedelta(minutes=1)]
    await _store_at(tenant, times)
    argv = ["retention", "--once", "--database-url", database_url, "--retention-days", "14"]
    assert await asyncio.to_thread(cli.main, argv) == 0
    assert await _times(server) == (times[1:], times[1:])
    store = open_store(database_url)
    try:
        if store.is_postgresql:  # the run made today's partition and the next two days'
            days = DayPartitions(store, "quality_samples").days()
            assert {now.date() + timedelta(days=n) for n in range(3)} <= set(days)
    finally:
        store.dispose()


async def test_a_late_record_after_its_day_was_dropped_is_stored_again(
    server: Server, tenant: Tenant, clock: ManualClock
) -> None:
    """The ingest remembers the partitions it saw; retention (another instance, maybe another
    replica) drops one; the next late record of that day makes it again."""
    app = await tenant.create_app()
    late = CUTOFF - timedelta(days=2)
    assert (await report_samples(tenant, [sample(app.sdk_app_id, late)])).accepted == 1
    await server.workers.run_once()  # the day is before the cutoff: dropped (PostgreSQL), deleted (SQLite)
    assert await _times(server) == ([], [])
    again = sample(app.sdk_app_id, late + timedelta(seconds=2))
    assert (await report_samples(tenant, [again])).accepted == 1
    assert await _times(server) == ([late + timedelta(seconds=2)], [])
