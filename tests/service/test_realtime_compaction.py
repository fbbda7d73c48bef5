"""Compaction of the app's total sets (R21, decision 0036), on SQLite and PostgreSQL stores and on
every live state (in process, one Redis, a Redis Cluster), on the injected clock.

Once a slot is 11 minutes old its online-user, abnormal-user and room sets are replaced by their
sizes; every read (overview, series, frames, a resume) gives the same figures before and after.
A record more than 10 minutes late adds to its slot's stall and total time only. Compaction runs
after ingest batches of any app (no subscriber needed), once per slot per app across replicas.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from rtcconsole.v1 import realtime_pb2 as rt
from rtcconsole.v1 import realtime_stream_pb2 as pb
from rtcconsole_server.clock import ManualClock
from rtcconsole_server.domain.common import Caller
from rtcconsole_server.domain.monitor import (
    ClientEventInput,
    RealtimeCounter,
    RealtimeFigures,
    RealtimeReads,
    RealtimeScope,
    RealtimeStream,
    SampleInput,
)
from rtcconsole_server.domain.monitor._realtime_frames import build_frames
from rtcconsole_server.domain.monitor._realtime_keys import app_sets
from rtcconsole_server.live import LiveState, MemoryLiveState, slot_of, slot_start
from rtcconsole_server.server import Server
from tests.live_support import MakeLive
from tests.realtime_support import NOW, SLOT, monitor, paid, report_samples, sample
from tests.support import Tenant

PREV = NOW - SLOT
LATER = timedelta(minutes=12)
"""Past the compaction age (11 minutes), within every look-back."""


@pytest.fixture
def now(clock: ManualClock) -> ManualClock:
    clock.set(NOW)
    return clock


async def _scope(server: Server, tenant: Tenant, name: str = "live") -> RealtimeScope:
    app = (await tenant.create_app(name)).sdk_app_id
    await paid(server, tenant, "advanced")
    reads = server.console.realtime
    return await asyncio.to_thread(reads.scope, Caller(tenant.account_id, "test"), app)


def _sample(app: int, user: str, room: int, *, stall: int = 0, at: datetime = PREV) -> SampleInput:
    return SampleInput(f"{user}{room}{stall}{at}", app, f"n:{room}", user, "peer", 1, at, stall_ms=stall)


def _abnormal(app: int, user: str, room: int) -> ClientEventInput:
    return ClientEventInput(f"cpu-{user}{room}", app, f"n:{room}", user, "", 101, PREV)


class _Reader:
    """Every read of one slot's figures: the series point, the frame, a resumed stream's frame."""

    def __init__(self, server: Server, clock: ManualClock, live: LiveState, scope: RealtimeScope) -> None:
        self.reads = RealtimeReads(server.console.store, clock, live, tokens=server.console.realtime._tokens)
        self.stream = RealtimeStream(clock, live)
        self.clock, self.live, self.scope = clock, live, scope

    async def figures(self, slot: int) -> list[RealtimeFigures]:
        series = await self.reads.series(self.scope, None, None)
        point = dict(series.points)[slot]
        (frame,) = await build_frames(self.live, self.scope.sdk_app_id, self.scope.look_back, [slot], NOW)
        frames = self.stream.subscribe(self.scope, resume_after=slot_start(slot) - SLOT)
        try:
            resumed = await anext(frames)
        finally:
            await frames.aclose()
        assert resumed.slot == slot and resumed.replayed
        return [point, frame.figures, resumed.figures]


async def test_reads_are_the_same_before_and_after_compaction(
    server: Server, tenant: Tenant, now: ManualClock, make_live: MakeLive
) -> None:
    scope = await _scope(server, tenant)
    app, live = scope.sdk_app_id, make_live()
    counter, reader = RealtimeCounter(server.console.store, now, live), _Reader(server, now, live, scope)
    records = [_sample(app, "alice", 42, stall=700), _sample(app, "alice", 43), _sample(app, "bob", 42)]
    await counter.count(asyncio.to_thread, [*records, _abnormal(app, "bob", 42)])
    slot = slot_of(PREV)
    overview = (await reader.reads.overview(scope)).figures
    assert (overview.online_users, overview.abnormal_users, overview.online_rooms) == (3, 1, 2)
    before = await reader.figures(slot)
    assert before == [overview] * 3

    now.advance(LATER)
    await counter.count(asyncio.to_thread, [_sample(app, "carol", 7, at=now.now() - SLOT)])
    assert counter.compactor is not None and counter.compactor.compacted == 1
    users, abnormal, rooms = app_sets(app)
    for key in (users, abnormal, rooms):
        assert await live.set_members(key, slot, retention=scope.look_back) == set()  # compacted
    assert await reader.figures(slot) == before


async def test_a_record_more_than_ten_minutes_late_adds_time_only(
    server: Server, tenant: Tenant, now: ManualClock, make_live: MakeLive
) -> None:
    scope = await _scope(server, tenant)
    app, live = scope.sdk_app_id, make_live()
    counter, reader = RealtimeCounter(server.console.store, now, live), _Reader(server, now, live, scope)
    await counter.count(asyncio.to_thread, [_sample(app, "alice", 42)])
    slot = slot_of(PREV)
    now.advance(minutes=10, seconds=1)  # the slot's sets are closed, not yet compacted
    await counter.count(asyncio.to_thread, [_sample(app, "bob", 43, stall=700), _abnormal(app, "bob", 43)])
    point, *_ = await reader.figures(slot)
    assert (point.online_users, point.abnormal_users, point.online_rooms) == (1, 0, 1)
    assert (point.video.stall_ms, point.video.total_ms) == (700, 4000)
    assert counter.late == 2
    now.advance(minutes=2)  # compacted now: a late record still adds its time, never a member
    await counter.count(asyncio.to_thread, [_sample(app, "carol", 44, stall=900)])
    assert counter.compactor is not None and counter.compactor.compacted == 1
    after, *_ = await reader.figures(slot)
    assert (after.online_users, after.abnormal_users, after.online_rooms) == (1, 0, 1)
    assert (after.video.stall_ms, after.video.total_ms) == (1600, 6000)


async def test_an_app_whose_ingest_stopped_is_compacted_by_the_next_batch_of_another(
    server: Server, tenant: Tenant, now: ManualClock, make_live: MakeLive
) -> None:
    quiet, busy = await _scope(server, tenant, "quiet"), await _scope(server, tenant, "busy")
    live = make_live()
    counter = RealtimeCounter(server.console.store, now, live)
    await counter.count(asyncio.to_thread, [_sample(quiet.sdk_app_id, "alice", 1)])
    assert counter.compactor is not None and counter.compactor.pending() == 1
    for _ in range(6 * 12):  # 12 minutes of the other app only, no subscriber anywhere
        now.advance(SLOT)
        await counter.count(asyncio.to_thread, [_sample(busy.sdk_app_id, "bob", 2, at=now.now() - SLOT)])
    users = app_sets(quiet.sdk_app_id)[0]
    assert await live.set_members(users, slot_of(PREV), retention=quiet.look_back) == set()
    assert await live.set_sizes(users, [slot_of(PREV)], retention=quiet.look_back) == [1]
    assert counter.compactor.compacted == 1 + 7  # the quiet slot and the busy app's first ones
    assert counter.compactor.pending() == 65  # the busy app's slots of the last 11 minutes: sets


async def test_one_replica_compacts_each_slot(
    server: Server, tenant: Tenant, now: ManualClock, make_live: MakeLive
) -> None:
    scope = await _scope(server, tenant)
    app, first, second = scope.sdk_app_id, make_live(), make_live()
    replicas = [RealtimeCounter(server.console.store, now, live) for live in (first, second)]
    for counter, user in zip(replicas, ("alice", "bob"), strict=True):  # ingest through both
        await counter.count(asyncio.to_thread, [_sample(app, user, 42)])
    now.advance(LATER)
    await asyncio.gather(*(c.count(asyncio.to_thread, [_sample(app, "x", 1, at=NOW)]) for c in replicas))
    compacted = [c.compactor.compacted for c in replicas if c.compactor is not None]
    if isinstance(first, MemoryLiveState):  # in process two objects share nothing: each its own
        assert compacted == [1, 1]
    else:  # one Redis (or cluster): the claim lets one replica compact the slot
        assert sorted(compacted) == [0, 1]
        users = app_sets(app)[0]
        assert await second.set_sizes(users, [slot_of(PREV)], retention=scope.look_back) == [2]


async def test_series_and_resume_through_the_api_are_unchanged_by_compaction(
    server: Server, tenant: Tenant, now: ManualClock
) -> None:
    app = (await tenant.create_app("api")).sdk_app_id
    await paid(server, tenant, "advanced")
    await report_samples(tenant, [sample(app, PREV, "1"), sample(app, PREV, "2", user="bob", room=7)])
    stub, md = monitor(tenant), tenant.metadata

    async def read() -> tuple[rt.RealtimeFigures, rt.RealtimeFigures]:
        request = rt.GetRealtimeSeriesRequest(sdk_app_id=app)
        request.start_time.FromDatetime(PREV)
        request.end_time.FromDatetime(NOW)
        point = (await stub.GetRealtimeSeries(request, metadata=md)).points[0]  # PREV's slot
        subscribe = pb.SubscribeRealtimeRequest(sdk_app_id=app)
        subscribe.resume_after.FromDatetime(PREV - SLOT)
        call = stub.SubscribeRealtime(subscribe, metadata=md)
        try:
            frame = await asyncio.wait_for(call.read(), 10.0)
        finally:
            call.cancel()
        assert isinstance(frame, pb.SubscribeRealtimeResponse)
        return point.figures, frame.figures

    before = await read()
    assert (before[0].online_users, before[0].online_rooms) == (2, 2) and before[0] == before[1]
    now.advance(LATER)
    await report_samples(tenant, [sample(app, now.now() - SLOT, "3")])  # the next ingest compacts
    compactor = server.console.realtime_counter.compactor
    assert compactor is not None and compactor.compacted == 1
    assert await read() == before
