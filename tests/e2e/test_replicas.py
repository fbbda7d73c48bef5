"""Two ``rtc-console serve`` replicas on one PostgreSQL and one Redis (R21): data ingested through
replica A is streamed by ``SubscribeRoomEvents`` on replica B, and B's real-time figures equal
A's and a single server's given the same records.

Real processes on the real clock: the figures compared are those of the 10-second slot the
records were stamped in (``GetRealtimeSeries`` over that one slot), so where a slot boundary
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
from rtcconsole.v1 import room_event_stream_pb2 as stream_pb
from tests.e2e.processes import create_account, run_cli, serving
from tests.infra import PostgresDatabases

TOKEN = "replicas-data-plane-token"
READ_TIMEOUT = 30.0
"""Real seconds to wait for events that must come (through Redis in milliseconds; the store poll
of a subscriber is 5 s)."""


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


async def _ingest(target: str, app: int, at: datetime) -> None:
    async with await IngestClient.connect(target, data_plane_token=TOKEN) as ingest:
        assert (await ingest.report_events(_events(app, at))).accepted == 3
        assert (await ingest.report_quality(_samples(app, at))).accepted == 3


async def _figures(target: str, key: str, app: int, at: datetime) -> rt.RealtimeFigures:
    """The app's figures in the slot holding ``at``."""
    start = at.replace(second=at.second - at.second % 10, microsecond=0)
    async with await RtcConsole.connect(target, api_key=key) as console:
        response = await console.monitor.get_realtime_series(
            sdk_app_id=app, start=start, end=start + timedelta(seconds=10)
        )
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


async def test_replica_b_streams_and_counts_what_replica_a_ingested(
    tmp_path: Path, postgres_database: PostgresDatabases, redis_server_url: str, redis_key_prefix: str
) -> None:
    shared = ["--redis-url", redis_server_url, "--redis-key-prefix", redis_key_prefix]
    at = datetime.now(UTC) - timedelta(seconds=1)
    async with _deployment(postgres_database(), tmp_path, "replicas", [shared, shared]) as (key, (a, b)):
        async with await RtcConsole.connect(a, api_key=key) as console:
            app = (await console.apps.create_app(name="replicas")).sdk_app_id
        async with (
            await RtcConsole.connect(b, api_key=key) as on_b,
            on_b.monitor.subscribe_room_events(sdk_app_id=app, after_sequence=0) as events,
        ):
            await _ingest(a, app, at)
            got = await asyncio.wait_for(_collect(events, 3), READ_TIMEOUT)
        assert got == ["in-0", "in-1", "in-2"]
        seen_by_a, seen_by_b = await _figures(a, key, app, at), await _figures(b, key, app, at)
    async with _deployment(postgres_database(), tmp_path, "single", [[]]) as (key, (single,)):
        async with await RtcConsole.connect(single, api_key=key) as console:
            alone = (await console.apps.create_app(name="single")).sdk_app_id
        await _ingest(single, alone, at)
        by_one = await _figures(single, key, alone, at)
    assert seen_by_b == seen_by_a == by_one
    assert (by_one.online_users, by_one.online_rooms) == (3, 2)
    assert (by_one.video_stall_rate.stall_ms, by_one.video_stall_rate.total_ms) == (1600, 6000)
