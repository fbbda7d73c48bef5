"""Two ``rtc-console serve`` replicas on one PostgreSQL and one Redis (R21): room events, quality
samples and client events ingested through replica A are streamed on replica B by
``SubscribeRoomEvents`` and ``SubscribeRealtime`` (the frame of the records' slot), and the
figures (B's frame with its top rooms, A's frame, A's and B's series) equal a single server's given
the same records.

Real processes on the real clock: the records are stamped in the current 10-second slot and the
test waits, with a bounded deadline, for that slot's frame (built at its end + 0.5 s). The figures
compared are those of that one slot (``GetRealtimeSeries`` over it), so where a slot boundary
falls during the test changes nothing (``GetRealtimeOverview`` shows the last closed slot, which
moves on with the wall clock). Skips without PostgreSQL or Redis; fails instead with
``RTC_REQUIRE_SERVICES=1`` (tests/infra.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import ExitStack, asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rtcconsole import IngestClient, RtcConsole
from rtcconsole.v1 import ingest_service_pb2 as pb
from rtcconsole.v1 import quality_pb2 as quality
from rtcconsole.v1 import realtime_pb2 as rt
from rtcconsole.v1 import realtime_stream_pb2 as frame_pb
from rtcconsole.v1 import room_event_stream_pb2 as stream_pb
from tests.e2e.processes import create_account, run_cli, serving
from tests.infra import PostgresDatabases

TOKEN = "replicas-data-plane-token"
READ_TIMEOUT = 30.0
"""Real seconds to wait for events and frames that must come (events through Redis in
milliseconds, the store poll of a subscriber is 5 s; a slot's frame at most 12 s after its start)."""
SLOT = timedelta(seconds=10)
LAST_START = 6.0
"""Seconds into a slot after which the test waits for the next slot before stamping its records,
so that the ingest lands well before the slot's frame is built (its end + 0.5 s)."""


def _events(app: int, at: datetime) -> list[pb.RoomEvent]:
    session = pb.SessionAttributes(country="JP", network_type="wifi")
    found = []
    for n, (room, user) in enumerate([(42, "alice"), (42, "bob"), (7, "carol")]):
        event = pb.RoomEvent(
            event_id=f"in-{n}", sdk_app_id=app, room_id=room, user_id=user, type=pb.EVENT_TYPE_USER_ENTERED
        )
        event.role = pb.ROLE_ANCHOR
        event.session.CopyFrom(session)
        event.event_time.FromDatetime(at)
        found.append(event)
    return found


def _samples(app: int, at: datetime) -> list[quality.QualitySample]:
    found = []
    for n, (room, user, peer, stall) in enumerate(
        [(42, "alice", "bob", 0), (42, "bob", "alice", 900), (7, "carol", "dave", 700)]
    ):
        sample = quality.QualitySample(
            sample_id=f"q{n}",
            sdk_app_id=app,
            room_id=room,
            user_id=user,
            peer_id=peer,
            media=quality.MEDIA_KIND_VIDEO,
            stall_ms=stall,
        )
        sample.sample_time.FromDatetime(at)
        sample.interval.FromMilliseconds(2000)
        found.append(sample)
    return found


def _client_events(app: int, at: datetime) -> list[quality.ClientEvent]:
    """carol's CPU too high (R21: abnormal) and alice's camera on (presence only)."""
    found = []
    kinds = [quality.CLIENT_EVENT_TYPE_SENDER_CPU_TOO_HIGH, quality.CLIENT_EVENT_TYPE_CAMERA_ON]
    for n, (room, user, kind) in enumerate(zip([7, 42], ["carol", "alice"], kinds, strict=True)):
        event = quality.ClientEvent(event_id=f"c{n}", sdk_app_id=app, room_id=room, user_id=user, type=kind)
        event.event_time.FromDatetime(at)
        found.append(event)
    return found


@asynccontextmanager
async def _deployment(
    url: str, tmp_path: Path, name: str, replicas: list[list[str]]
) -> AsyncIterator[tuple[str, list[str]]]:
    """A migrated database with an advanced-edition account: its API key and the targets of one
    ``serve`` per entry of ``replicas`` (each with those extra arguments)."""
    run_cli("migrate", "--database-url", url)
    _, key = create_account(url, name)
    run_cli("admin", "account", "edition", name, "advanced", "--database-url", url)
    common = ["--no-workers", "--data-plane-token", TOKEN]
    with ExitStack() as stack:
        targets = [
            stack.enter_context(serving(url, *common, *extra, log=tmp_path / f"{name}-{i}.log"))[1]
            for i, extra in enumerate(replicas)
        ]
        yield key, targets


async def _early_in_a_slot() -> datetime:
    """Now, once it is at most :data:`LAST_START` seconds into its slot (waits up to 4 s)."""
    now = datetime.now(UTC)
    into = now.second % 10 + now.microsecond / 1e6
    if into > LAST_START:
        await asyncio.sleep(10 - into + 0.05)
        now = datetime.now(UTC)
    return now


def _slot_start(at: datetime) -> datetime:
    return at.replace(second=at.second - at.second % 10, microsecond=0)


async def _ingest(target: str, app: int, at: datetime) -> None:
    async with await IngestClient.connect(target, data_plane_token=TOKEN) as ingest:
        assert (await ingest.report_events(_events(app, at))).accepted == 3
        assert (await ingest.report_quality(_samples(app, at))).accepted == 3
        assert (await ingest.report_client_events(_client_events(app, at))).accepted == 2


async def _figures(target: str, key: str, app: int, at: datetime) -> rt.RealtimeFigures:
    """The app's figures in the slot holding ``at``."""
    start = _slot_start(at)
    async with await RtcConsole.connect(target, api_key=key) as console:
        response = await console.monitor.get_realtime_series(sdk_app_id=app, start=start, end=start + SLOT)
    (point,) = response.points
    figures: rt.RealtimeFigures = point.figures
    return figures


async def _collect(stream: AsyncIterator[stream_pb.SubscribeRoomEventsResponse], count: int) -> list[str]:
    found: list[str] = []
    async for response in stream:
        found.extend(e.event.event_id for e in response.events)
        if len(found) >= count:
            break
    return found


async def _frame_of(
    frames: AsyncIterator[frame_pb.SubscribeRealtimeResponse], start: datetime
) -> frame_pb.SubscribeRealtimeResponse:
    """The first frame of the slot starting at ``start`` or later."""
    async for frame in frames:
        if frame.slot_start.ToDatetime(tzinfo=UTC) >= start:
            return frame
    raise AssertionError("the stream ended before the frame of the slot")


async def test_replica_b_streams_and_counts_what_replica_a_ingested(
    tmp_path: Path, postgres_database: PostgresDatabases, redis_server_url: str, redis_key_prefix: str
) -> None:
    shared = ["--redis-url", redis_server_url, "--redis-key-prefix", redis_key_prefix]
    async with _deployment(postgres_database(), tmp_path, "replicas", [shared, shared]) as (key, (a, b)):
        async with await RtcConsole.connect(a, api_key=key) as console:
            app = (await console.apps.create_app(name="replicas")).sdk_app_id
        async with (
            await RtcConsole.connect(a, api_key=key) as on_a,
            await RtcConsole.connect(b, api_key=key) as on_b,
            on_b.monitor.subscribe_room_events(sdk_app_id=app, after_sequence=0) as events,
            on_b.monitor.subscribe_realtime(sdk_app_id=app, top_rooms=5) as frames,
            on_a.monitor.subscribe_realtime(sdk_app_id=app) as plain,  # A ticks too: either builds
        ):
            await asyncio.wait_for(anext(plain), READ_TIMEOUT)
            first = await asyncio.wait_for(anext(frames), READ_TIMEOUT)  # at once: the latest due slot
            assert first.replayed and first.figures.online_users == 0
            at = await _early_in_a_slot()
            await _ingest(a, app, at)
            got = await asyncio.wait_for(_collect(events, 3), READ_TIMEOUT)
            frame = await asyncio.wait_for(_frame_of(frames, _slot_start(at)), READ_TIMEOUT)
            on_a_frame = await asyncio.wait_for(_frame_of(plain, _slot_start(at)), READ_TIMEOUT)
        assert got == ["in-0", "in-1", "in-2"]
        assert frame.slot_start.ToDatetime(tzinfo=UTC) == _slot_start(at) and not frame.replayed
        assert on_a_frame.figures == frame.figures and not on_a_frame.top_rooms  # A's asked for none
        rooms = [(r.room_id, r.figures.online_users, r.figures.abnormal_users) for r in frame.top_rooms]
        assert rooms == [(42, 2, 0), (7, 1, 1)]
        seen_by_a, seen_by_b = await _figures(a, key, app, at), await _figures(b, key, app, at)
    async with _deployment(postgres_database(), tmp_path, "single", [[]]) as (key, (single,)):
        async with await RtcConsole.connect(single, api_key=key) as console:
            alone = (await console.apps.create_app(name="single")).sdk_app_id
        await _ingest(single, alone, at)
        by_one = await _figures(single, key, alone, at)
    assert frame.figures == seen_by_b == seen_by_a == by_one
    assert frame.point.figures == by_one
    assert (by_one.online_users, by_one.online_rooms, by_one.abnormal_users) == (3, 2, 1)
    assert (by_one.video_stall_rate.stall_ms, by_one.video_stall_rate.total_ms) == (1600, 6000)
