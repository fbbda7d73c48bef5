"""SubscribeRealtime's top rooms (R21) over real servers on SQLite and PostgreSQL, on the injected
clock: a frame's top rooms are ListRealtimeRooms' first rows of its slot, ranked once per slot and
cut per subscriber; a frame that arrives unranked is ranked by the stream; slots older than the
per-room retention have none; a replica without such a subscriber ranks a slot another replica
(on one Redis) marked wanted; ``rtcctl monitor watch --top-rooms``.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta

import grpc
import pytest

from rtcconsole.cli import amain
from rtcconsole.v1 import ingest_service_pb2 as ingest_pb
from rtcconsole.v1 import ingest_service_pb2_grpc as ingest_grpc
from rtcconsole.v1 import realtime_pb2 as rt
from rtcconsole.v1 import realtime_stream_pb2 as pb
from rtcconsole_server.clock import ManualClock
from rtcconsole_server.domain.common import Caller
from rtcconsole_server.domain.monitor._realtime_frames import build_frames, channel, decode, encode
from rtcconsole_server.live import slot_of
from rtcconsole_server.server import Server
from rtcconsole_server.settings import Settings
from tests.callback_support import DATA_PLANE, room_event
from tests.realtime_support import (
    NOW,
    READ_TIMEOUT,
    SLOT,
    live_app,
    monitor,
    next_frame,
    report_events,
    report_samples,
    sample,
    subscribed,
)
from tests.support import Tenant, running_server

PREV = NOW - SLOT


@pytest.fixture
def now(clock: ManualClock) -> ManualClock:
    clock.set(NOW)
    return clock


def _names(rooms: list[rt.RealtimeRoom]) -> list[str]:
    return [r.str_room_id if r.WhichOneof("room") == "str_room_id" else str(r.room_id) for r in rooms]


async def _rooms_at(tenant: Tenant, app: int, at: datetime, users: dict[int | str, int]) -> None:
    """``users[room]`` users in each room at ``at`` (ids unique per room and instant)."""
    tag = int(at.timestamp())
    await report_samples(
        tenant,
        [
            sample(app, at, f"{tag}-{room}-{u}", room=room, user=f"u{u}", stall=700 * (u == 0))
            for room, count in users.items()
            for u in range(count)
        ],
    )


async def test_top_rooms_are_the_room_lists_first_rows_cut_per_subscriber(
    server: Server, tenant: Tenant, now: ManualClock
) -> None:
    app = await live_app(server, tenant)
    await _rooms_at(tenant, app, PREV, {7: 1, 42: 3, "hall": 3, 9: 2, 3: 5})
    dismissed = room_event("d3", app, at=PREV, room=3, user="", type=ingest_pb.EVENT_TYPE_ROOM_DISMISSED)
    await report_events(tenant, [dismissed])
    listed = await monitor(tenant).ListRealtimeRooms(
        rt.ListRealtimeRoomsRequest(sdk_app_id=app), metadata=tenant.metadata
    )
    assert _names(list(listed.rooms)) == ["42", "hall", "9", "7"]  # 3 was dismissed; ties by room
    async with (
        subscribed(tenant, sdk_app_id=app, top_rooms=2) as two,
        subscribed(tenant, sdk_app_id=app, top_rooms=50) as capped,
        subscribed(tenant, sdk_app_id=app) as none,
    ):
        firsts = [await next_frame(two), await next_frame(capped), await next_frame(none)]
    assert {f.slot_start.ToDatetime(tzinfo=UTC) for f in firsts} == {listed.slot_start.ToDatetime(tzinfo=UTC)}
    assert list(firsts[0].top_rooms) == list(listed.rooms[:2])  # the same rows, figures and all
    assert list(firsts[1].top_rooms) == list(listed.rooms)  # 50 is capped at 20: all four
    assert not firsts[2].top_rooms
    assert firsts[0].top_rooms[0].figures.video_stall_rate.stall_ms == 700


async def test_a_live_frame_is_ranked_once_and_cut_for_each_subscriber(
    server: Server, tenant: Tenant, now: ManualClock
) -> None:
    app = await live_app(server, tenant)
    stream, idle = server.console.realtime_stream, now.sleepers
    async with (
        subscribed(tenant, sdk_app_id=app, top_rooms=1) as one,
        subscribed(tenant, sdk_app_id=app, top_rooms=3) as three,
        subscribed(tenant, sdk_app_id=app) as none,
    ):
        for call in (one, three, none):
            assert not (await next_frame(call)).top_rooms  # nothing in the latest closed slot
        await _rooms_at(tenant, app, now.now(), {1: 2, 2: 4, 3: 1, 4: 3})
        await asyncio.wait_for(now.wait_for_sleepers(idle + 1), READ_TIMEOUT)
        now.advance(SLOT)
        frames = [await next_frame(call) for call in (one, three, none)]
    assert {(f.replayed, f.figures.online_users) for f in frames} == {(False, 10)}
    assert [_names(list(f.top_rooms)) for f in frames] == [["2"], ["2", "4", "1"], []]
    assert [r.figures.online_users for r in frames[1].top_rooms] == [4, 3, 2]
    assert (stream.builds, stream.rankings) == (1, 0)  # ranked by the builder, once


async def test_a_frame_that_arrives_unranked_is_ranked_by_the_stream(
    server: Server, tenant: Tenant, now: ManualClock
) -> None:
    app = await live_app(server, tenant)
    live, stream = server.console.live, server.console.realtime_stream
    scope = server.console.realtime.scope(Caller(tenant.account_id, ""), app)
    frames = stream.subscribe(scope, resume_after=None, top_rooms=5)
    try:
        first = await anext(frames)
        await _rooms_at(tenant, app, now.now(), {5: 1, 6: 2})
        now.advance(SLOT)
        # a frame claimed and built by a replica that had not seen a subscriber wanting top rooms
        assert live is not None
        (built,) = await build_frames(live, app, scope.look_back, [slot_of(now.now()) - 1], now.now())
        assert built.top_rooms is None
        await live.publish(channel(app), encode(built))
        ranked = await asyncio.wait_for(anext(frames), READ_TIMEOUT)
    finally:
        await frames.aclose()
    assert ranked.slot == first.slot + 1 and ranked.top_rooms is not None
    assert [(r.room_key, r.figures.online_users) for r in ranked.top_rooms] == [("n:6", 2), ("n:5", 1)]
    assert stream.rankings == 1


async def test_slots_older_than_the_room_retention_have_no_top_rooms(
    server: Server, tenant: Tenant, now: ManualClock
) -> None:
    app = await live_app(server, tenant)
    old = PREV  # reported on time (a record 10 minutes late joins no set: decision 0036)
    await _rooms_at(tenant, app, old, {42: 2})  # the app's totals are kept 3 h, rooms 10 minutes
    now.advance(minutes=12)
    latest = now.now() - SLOT
    await _rooms_at(tenant, app, latest, {42: 1})  # and the old slot's sets are compacted (12 min old)
    request = pb.SubscribeRealtimeRequest(sdk_app_id=app, top_rooms=3)
    request.resume_after.FromDatetime(old - SLOT)
    call = monitor(tenant).SubscribeRealtime(request, metadata=tenant.metadata)
    try:
        frames = [await next_frame(call) for _ in range(73)]  # 12 minutes of slots, then the latest
    finally:
        call.cancel()
    assert (frames[0].figures.online_users, list(frames[0].top_rooms)) == (2, [])
    assert frames[-1].slot_start.ToDatetime(tzinfo=UTC) == latest - timedelta(seconds=5)
    assert _names(list(frames[-1].top_rooms)) == ["42"] and frames[-1].replayed


async def test_rtcctl_monitor_watch_prints_top_rooms(
    server: Server, tenant: Tenant, now: ManualClock, capsys: pytest.CaptureFixture[str]
) -> None:
    app = await live_app(server, tenant)
    await _rooms_at(tenant, app, PREV, {42: 2, "hall": 1})
    argv = ["--target", server.target, "--api-key", tenant.api_key, "monitor", "watch"]
    argv += ["--sdk-app-id", str(app), "--count", "1"]
    assert await asyncio.wait_for(amain([*argv, "--top-rooms", "2"]), READ_TIMEOUT) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "users 3" in lines[0]
    rooms = [line.split()[:4] for line in lines[1:]]
    assert rooms == [["room", "42", "users", "2"], ["room", "hall", "users", "1"]]
    assert await amain([*argv, "--top-rooms", "21"]) == 2
    assert "--top-rooms" in capsys.readouterr().err


async def test_a_replica_ranks_a_slot_that_another_replica_marked_wanted(
    settings: Settings,
    clock: ManualClock,
    tenant: Tenant,
    server: Server,
    redis_server_url: str,
    redis_key_prefix: str,
) -> None:
    clock.set(NOW)
    app = await live_app(server, tenant)
    shared = dataclasses.replace(settings, redis_url=redis_server_url, redis_key_prefix=redis_key_prefix)
    async with (
        running_server(shared, clock) as a,
        running_server(shared, clock) as b,
        grpc.aio.insecure_channel(a.target) as channel_a,
    ):
        scope = a.console.realtime.scope(Caller(tenant.account_id, ""), app)
        wanting = b.console.realtime_stream.subscribe(scope, resume_after=None, top_rooms=2)
        await anext(wanting)  # B marked the next slot wanted with top rooms, then its only subscriber left
        await wanting.aclose()
        assert b.console.realtime_stream.ticking() == 0
        samples = [sample(app, NOW, f"w{u}", room=10 + u % 2, user=f"u{u}") for u in range(3)]
        ingest = ingest_grpc.IngestServiceStub(channel_a)
        await ingest.ReportQuality(ingest_pb.ReportQualityRequest(samples=samples), metadata=DATA_PLANE)
        live, stream, idle = a.console.live, a.console.realtime_stream, clock.sleepers
        assert live is not None
        plain = stream.subscribe(scope, resume_after=None)  # on A, without top rooms: A builds alone
        try:
            async with live.subscribe(channel(app)) as broadcast:
                await anext(plain)
                await asyncio.wait_for(clock.wait_for_sleepers(idle + 1), READ_TIMEOUT)
                clock.advance(SLOT)
                received = await asyncio.wait_for(anext(plain), READ_TIMEOUT)
                built = decode(await asyncio.wait_for(anext(broadcast), READ_TIMEOUT))
        finally:
            await plain.aclose()
    assert received.top_rooms is None and received.figures.online_users == 3
    assert built.top_rooms is not None and stream.builds == 1
    assert [(r.room_key, r.figures.online_users) for r in built.top_rooms] == [("n:10", 2), ("n:11", 1)]
