"""SubscribeRealtime (R21) over real servers on SQLite and PostgreSQL: a frame per closed slot on
the injected clock (never slept for), equal to GetRealtimeOverview; one build per app per slot
for 200 subscribers; resume without a gap or a duplicate; a slow subscriber coalesced; heartbeats;
UNAVAILABLE at a graceful stop; editions and tenancy; ``rtcctl monitor watch``; and two replicas
over one store and one Redis (ingest through one, subscribe on the other).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import random
from datetime import UTC, datetime, timedelta

import grpc
import pytest

from rtcconsole.cli import amain
from rtcconsole.v1 import ingest_service_pb2 as ingest_pb
from rtcconsole.v1 import ingest_service_pb2_grpc as ingest_grpc
from rtcconsole.v1 import monitor_service_pb2_grpc as monitor_grpc
from rtcconsole.v1 import realtime_pb2 as rt
from rtcconsole.v1 import realtime_stream_pb2 as pb
from rtcconsole_server.clock import ManualClock
from rtcconsole_server.domain.common import Caller
from rtcconsole_server.server import Server, build_server
from rtcconsole_server.settings import Settings
from tests.callback_support import DATA_PLANE
from tests.realtime_support import (
    NOW,
    READ_TIMEOUT,
    SLOT,
    live_app,
    monitor,
    next_frame,
    overview,
    paid,
    report_samples,
    sample,
    slot_at,
    subscribed,
)
from tests.support import Tenant, fails, running_server

CODE = grpc.StatusCode
PREV = NOW - SLOT


@pytest.fixture
def now(clock: ManualClock) -> ManualClock:
    clock.set(NOW)
    return clock


async def _tick(server: Server, clock: ManualClock, sleepers: int) -> None:
    """Once the app's ticker waits on the clock (beside the server's workers), move one slot on."""
    await asyncio.wait_for(clock.wait_for_sleepers(sleepers), READ_TIMEOUT)
    clock.advance(SLOT)


async def test_a_frame_per_slot_equals_the_overview_then_heartbeats(
    server: Server, tenant: Tenant, now: ManualClock
) -> None:
    app = await live_app(server, tenant)
    await report_samples(tenant, [sample(app, PREV, "a", user="a"), sample(app, PREV, "b", user="b")])
    idle = now.sleepers
    async with subscribed(tenant, sdk_app_id=app) as call:
        first = await next_frame(call)  # the latest closed slot at once, from the retained figures
        assert (slot_at(first), first.replayed, first.skipped) == (PREV - timedelta(seconds=5), True, 0)
        assert first.figures == await overview(tenant, app) and first.figures.online_users == 2
        assert first.point.figures == first.figures and first.point.slot_start == first.slot_start
        assert first.slot_end.ToDatetime(tzinfo=UTC) - slot_at(first) == SLOT
        await report_samples(tenant, [sample(app, NOW, "c", user="c")])
        await _tick(server, now, idle + 1)
        live = await next_frame(call)  # built after the slot's end: GetRealtimeOverview's slot now
        assert (slot_at(live) - slot_at(first), live.replayed, live.heartbeat) == (SLOT, False, False)
        assert live.figures == await overview(tenant, app) and live.figures.online_users == 1
        assert live.as_of.ToDatetime(tzinfo=UTC) == now.now()
        await _tick(server, now, idle + 1)
        empty = await next_frame(call)
        assert (empty.figures.online_users, empty.heartbeat) == (0, False)
        await _tick(server, now, idle + 1)
        same = await next_frame(call)  # nothing changed: a heartbeat, its figures still there
        assert (same.heartbeat, same.figures, slot_at(same) - slot_at(empty)) == (True, empty.figures, SLOT)
    assert server.console.realtime_stream.builds == 3


async def test_two_hundred_subscribers_one_build_per_slot(
    server: Server, tenant: Tenant, now: ManualClock
) -> None:
    app = await live_app(server, tenant)
    stub, idle = monitor(tenant), now.sleepers
    calls = [
        stub.SubscribeRealtime(pb.SubscribeRealtimeRequest(sdk_app_id=app), metadata=tenant.metadata)
        for _ in range(200)
    ]
    try:
        firsts = await asyncio.gather(*(next_frame(c) for c in calls))
        assert {slot_at(f) for f in firsts} == {PREV - timedelta(seconds=5)}
        stream = server.console.realtime_stream
        assert stream.ticking() == 1
        for n in range(1, 3):
            await report_samples(tenant, [sample(app, now.now(), f"s{n}", user=f"u{n}")])
            await _tick(server, now, idle + 1)
            frames = await asyncio.gather(*(next_frame(c) for c in calls))
            assert {
                (slot_at(f) - slot_at(firsts[0]), f.figures.online_users, f.replayed) for f in frames
            } == {(n * SLOT, 1, False)}
            assert stream.builds == n  # one frame built per slot, whatever the subscribers
    finally:
        for call in calls:
            call.cancel()


async def test_resume_after_a_reconnect_has_no_gap_and_no_duplicate(
    server: Server, tenant: Tenant, now: ManualClock
) -> None:
    app = await live_app(server, tenant)
    stub, idle = monitor(tenant), now.sleepers
    async with subscribed(tenant, stub=stub, sdk_app_id=app) as call:
        seen = [await next_frame(call)]
    for n in range(3):  # three slots go by while disconnected, each with its own user count
        await report_samples(
            tenant, [sample(app, now.now(), f"r{n}-{u}", user=f"u{u}") for u in range(n + 1)]
        )
        now.advance(SLOT)
    resume = pb.SubscribeRealtimeRequest(sdk_app_id=app)
    resume.resume_after.CopyFrom(seen[-1].slot_start)
    call = stub.SubscribeRealtime(resume, metadata=tenant.metadata)
    try:
        replayed = [await next_frame(call) for _ in range(3)]
        assert [(f.replayed, f.figures.online_users) for f in replayed] == [(True, 1), (True, 2), (True, 3)]
        await _tick(server, now, idle + 1)
        seen += [*replayed, await next_frame(call)]
    finally:
        call.cancel()
    assert [slot_at(f) - slot_at(seen[0]) for f in seen] == [
        n * SLOT for n in range(5)
    ]  # no gap, no duplicate
    assert not seen[-1].replayed and seen[-1].skipped == 0
    too_old = pb.SubscribeRealtimeRequest(sdk_app_id=app)  # beyond the basic look-back of 3 h
    too_old.resume_after.FromDatetime(now.now() - timedelta(hours=4))
    async with subscribed(tenant, stub=stub, resume_after=too_old.resume_after, sdk_app_id=app) as old:
        oldest = await next_frame(old)
        assert oldest.replayed and oldest.skipped > 0
        assert now.now() - slot_at(oldest) <= timedelta(hours=3)
    ahead = pb.SubscribeRealtimeRequest(sdk_app_id=app)
    ahead.resume_after.FromDatetime(now.now() + timedelta(minutes=6))
    failure = await fails(
        stub.SubscribeRealtime(ahead, metadata=tenant.metadata).read(), CODE.INVALID_ARGUMENT
    )
    assert "resume_after" in failure.field_violations


async def test_a_slow_subscriber_is_coalesced_to_the_latest_frame(
    server: Server, tenant: Tenant, now: ManualClock
) -> None:
    app = await live_app(server, tenant)
    realtime, stream = server.console.realtime, server.console.realtime_stream
    scope = realtime.scope(Caller(tenant.account_id, ""), app)
    idle = now.sleepers
    frames = stream.subscribe(scope, resume_after=None)
    try:
        first = await anext(frames)  # then the subscriber reads nothing while 3 slots go by
        for n in range(3):
            await report_samples(tenant, [sample(app, now.now(), f"x{n}", user=f"u{n}")])
            await _tick(server, now, idle + 1)
        await asyncio.wait_for(now.wait_for_sleepers(idle + 1), READ_TIMEOUT)
        assert stream.builds == 3
        latest = await asyncio.wait_for(anext(frames), READ_TIMEOUT)
        assert (latest.slot - first.slot, latest.skipped, latest.replayed) == (3, 2, False)
    finally:
        await frames.aclose()
    assert stream.ticking() == 0  # the last subscriber left: the app's ticker stopped


async def test_a_graceful_stop_ends_subscriptions_unavailable(
    settings: Settings, clock: ManualClock, tenant: Tenant, server: Server
) -> None:
    clock.set(NOW)
    app = await live_app(server, tenant)
    replica = await build_server(settings, clock=clock)
    await replica.start()
    stopped = False
    try:
        async with grpc.aio.insecure_channel(replica.target) as channel:
            stub = monitor_grpc.MonitorServiceStub(channel)
            async with subscribed(tenant, stub=stub, sdk_app_id=app) as call:
                await next_frame(call)
                await asyncio.wait_for(replica.stop(30), READ_TIMEOUT)  # the 30 s grace is not used up
                stopped = True
                await fails(asyncio.wait_for(call.read(), READ_TIMEOUT), CODE.UNAVAILABLE)
    finally:
        if not stopped:
            await replica.stop(0)


async def test_editions_and_tenancy(
    server: Server, tenant: Tenant, other_tenant: Tenant, now: ManualClock
) -> None:
    app = (await tenant.create_app("free")).sdk_app_id
    async with subscribed(tenant, sdk_app_id=app) as call:
        failure = await fails(call.read(), CODE.FAILED_PRECONDITION)
        assert failure.details["google.rpc.ErrorInfo"].reason == "EDITION_REQUIRED"
    await paid(server, other_tenant, "advanced")
    async with subscribed(other_tenant, sdk_app_id=app) as call:
        await fails(call.read(), CODE.NOT_FOUND)
    await fails(
        monitor(tenant).SubscribeRealtime(pb.SubscribeRealtimeRequest(sdk_app_id=app)).read(),
        CODE.UNAUTHENTICATED,
    )


async def test_rtcctl_monitor_watch_json_lines(
    server: Server, tenant: Tenant, now: ManualClock, capsys: pytest.CaptureFixture[str]
) -> None:
    app = await live_app(server, tenant)
    await report_samples(tenant, [sample(app, PREV, "a")])
    idle = now.sleepers
    argv = ["--target", server.target, "--api-key", tenant.api_key, "--json"]
    watch = asyncio.create_task(amain([*argv, "monitor", "watch", "--sdk-app-id", str(app), "--count", "2"]))
    await _tick(server, now, idle + 1)
    assert await asyncio.wait_for(watch, READ_TIMEOUT) == 0
    lines = capsys.readouterr().out.splitlines()
    frames = [json.loads(line) for line in lines]
    assert [f["figures"]["online_users"] for f in frames] == [1, 0]
    assert [f["replayed"] for f in frames] == [True, False]
    assert frames[1]["slot_start"] > frames[0]["slot_start"]
    text = asyncio.create_task(
        amain([*argv[:-1], "monitor", "watch", "--sdk-app-id", str(app), "--count", "1"])
    )
    assert await asyncio.wait_for(text, READ_TIMEOUT) == 0
    assert "users 0" in capsys.readouterr().out


async def test_two_replicas_over_one_store_and_one_redis(
    settings: Settings, clock: ManualClock, tenant: Tenant, server: Server, redis_server_url: str
) -> None:
    # a time of its own: the shared Redis keeps other runs' slots, never this one's
    start = datetime(2031, 1, 1, tzinfo=UTC) + timedelta(seconds=10 * random.randrange(3_000_000) + 5)
    clock.set(start)
    app = await live_app(server, tenant)
    shared = dataclasses.replace(settings, redis_url=redis_server_url)
    async with (
        running_server(shared, clock) as a,
        running_server(shared, clock) as b,
        grpc.aio.insecure_channel(a.target) as channel_a,
        grpc.aio.insecure_channel(b.target) as channel_b,
    ):
        ingest = ingest_grpc.IngestServiceStub(channel_a)
        samples = [sample(app, start - SLOT, f"p{u}", user=f"u{u}", stall=700 * u) for u in range(3)]
        await ingest.ReportQuality(ingest_pb.ReportQualityRequest(samples=samples), metadata=DATA_PLANE)
        on_a, on_b = monitor_grpc.MonitorServiceStub(channel_a), monitor_grpc.MonitorServiceStub(channel_b)
        idle = clock.sleepers
        async with (
            subscribed(tenant, stub=on_b, sdk_app_id=app) as call_b,
            subscribed(tenant, stub=on_a, sdk_app_id=app) as call_a,
        ):
            first = await next_frame(call_b)
            request = rt.GetRealtimeOverviewRequest(sdk_app_id=app)
            single = await on_a.GetRealtimeOverview(request, metadata=tenant.metadata)
            assert first.figures == single.figures and first.figures.online_users == 3
            assert first.figures.video_stall_rate.stall_ms == 700 + 1400
            await next_frame(call_a)
            now = clock.now()
            more = [sample(app, now, f"q{u}", user=f"u{u}") for u in range(2)]
            await ingest.ReportQuality(ingest_pb.ReportQualityRequest(samples=more), metadata=DATA_PLANE)
            await _tick(a, clock, idle + 2)  # a ticker on each replica
            live_b, live_a = await next_frame(call_b), await next_frame(call_a)
            assert live_b == live_a and live_b.figures.online_users == 2 and not live_b.replayed
            assert (
                live_b.figures == (await on_a.GetRealtimeOverview(request, metadata=tenant.metadata)).figures
            )
            built = a.console.realtime_stream.builds + b.console.realtime_stream.builds
            assert built == 1  # one build for the cluster: the claim's winner published it
