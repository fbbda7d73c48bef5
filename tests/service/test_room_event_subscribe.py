"""MonitorService.SubscribeRoomEvents (R21, decision 0028) over a real server on SQLite and
PostgreSQL: events with their per-app sequence, stored then live; a room filter; resuming
without a gap or a duplicate; PostgreSQL's concurrent commits of one app; tenancy and the
edition gate; a replica without Redis (the poll); the graceful stop; ``rtcctl monitor
watch-events``; and the 0013 migration's numbering of stored events.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime

import grpc
import pytest
from alembic import command
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from rtcconsole.cli import amain
from rtcconsole.v1 import ingest_service_pb2 as ingest_pb
from rtcconsole.v1 import monitor_service_pb2_grpc as pb_grpc
from rtcconsole.v1 import room_event_stream_pb2 as pb
from rtcconsole_server.clock import ManualClock
from rtcconsole_server.domain.events import EventIngest, EventInput
from rtcconsole_server.domain.monitor import room_events_channel
from rtcconsole_server.domain.monitor._room_event_stream import POLL_INTERVAL
from rtcconsole_server.server import Server, build_server
from rtcconsole_server.settings import Settings
from rtcconsole_server.store import Store, open_store, upgrade
from rtcconsole_server.store.migrate import alembic_config
from rtcconsole_server.store.models import RoomEvent, RoomEventHead
from tests.callback_support import report, room_event
from tests.realtime_support import paid
from tests.support import Tenant, fails, running_server

CODE = grpc.StatusCode
READ_TIMEOUT = 10.0
"""Real seconds a test waits for a message that must come (it comes in milliseconds)."""
ENTERED, EXITED = ingest_pb.EVENT_TYPE_USER_ENTERED, ingest_pb.EVENT_TYPE_USER_EXITED
Call = grpc.aio.UnaryStreamCall[pb.SubscribeRoomEventsRequest, pb.SubscribeRoomEventsResponse]


def _request(
    app: int, *, after: int | None = None, room: int | str | None = None
) -> pb.SubscribeRoomEventsRequest:
    request = pb.SubscribeRoomEventsRequest(sdk_app_id=app, after_sequence=after)
    if isinstance(room, int):
        request.room_id = room
    elif isinstance(room, str):
        request.str_room_id = room
    return request


@asynccontextmanager
async def _subscribed(
    server: Server, channel: grpc.aio.Channel, metadata: Sequence[tuple[str, str]], app: int, **kw: object
) -> AsyncIterator[Call]:
    """A subscription, once the server holds it (subscribed to the app's wake-ups)."""
    live = server.console.live
    assert live is not None
    before = live.subscriber_count(room_events_channel(app))
    call = pb_grpc.MonitorServiceStub(channel).SubscribeRoomEvents(_request(app, **kw), metadata=metadata)  # type: ignore[arg-type]
    try:
        deadline = time.monotonic() + READ_TIMEOUT
        while live.subscriber_count(room_events_channel(app)) == before:
            assert time.monotonic() < deadline and not call.done(), "the subscription never started"
            await asyncio.sleep(0.01)
        yield call
    finally:
        call.cancel()
        deadline = time.monotonic() + READ_TIMEOUT  # and gone from the server, for the next one
        while live.subscriber_count(room_events_channel(app)) > before and not live.closed:
            assert time.monotonic() < deadline, "the subscription never ended"
            await asyncio.sleep(0.01)


def _tenant_subscription(tenant: Tenant, app: int, **kw: object) -> AbstractAsyncContextManager[Call]:
    return _subscribed(tenant.server, tenant.channel, tenant.metadata, app, **kw)


async def _events(call: Call, count: int) -> list[pb.SequencedRoomEvent]:
    """The next ``count`` events (across messages); a message never holds more than asked."""
    found: list[pb.SequencedRoomEvent] = []
    while len(found) < count:
        response = await asyncio.wait_for(call.read(), READ_TIMEOUT)
        assert isinstance(response, pb.SubscribeRoomEventsResponse), response
        assert response.events and response.resume_after >= response.events[-1].sequence
        found.extend(response.events)
    assert len(found) == count, [e.event.event_id for e in found]
    return found


def _ids(events: Sequence[pb.SequencedRoomEvent]) -> list[str]:
    return [e.event.event_id for e in events]


def _increasing(events: Sequence[pb.SequencedRoomEvent]) -> bool:
    numbers = [e.sequence for e in events]
    return all(a < b for a, b in itertools.pairwise(numbers)) and numbers[0] > 0


async def test_stored_then_live_with_sequences_and_a_resume_without_gap_or_duplicate(
    tenant: Tenant, clock: ManualClock
) -> None:
    await paid(tenant.server, tenant)
    app = (await tenant.create_app("events")).sdk_app_id
    at = clock.now()
    session = ingest_pb.SessionAttributes(country="JP", platform="web")
    first = [
        room_event("e1", app, at=at, room=42, session=session),
        room_event("e2", app, at=at, room="hall", user="bob"),
        room_event("e3", app, at=at, room=42, type=EXITED, reason=3),
    ]
    await report(tenant.channel, first)
    async with _tenant_subscription(tenant, app, after=0) as call:
        stored = await _events(call, 3)
        assert _ids(stored) == ["e1", "e2", "e3"] and _increasing(stored)
        one = stored[0].event
        assert (one.sdk_app_id, one.room_id, one.user_id, one.type) == (app, 42, "alice", ENTERED)
        assert (one.session.country, one.session.platform, one.role) == ("JP", "web", ingest_pb.ROLE_ANCHOR)
        assert one.event_time.ToDatetime(tzinfo=UTC) == at
        assert stored[1].event.str_room_id == "hall" and stored[2].event.reason == 3
        await report(tenant.channel, [room_event("e4", app, at=at, user="carol")])  # live: woken, no poll
        (live,) = await _events(call, 1)
        assert live.event.event_id == "e4" and live.sequence > stored[-1].sequence
        cursor = live.sequence
    # disconnected: a retry of e1 (a duplicate), and two new events
    await report(tenant.channel, [first[0], room_event("e5", app, at=at), room_event("e6", app, at=at)])
    async with _tenant_subscription(tenant, app, after=cursor) as call:
        missed = await _events(call, 2)
        assert _ids(missed) == ["e5", "e6"] and missed[0].sequence > cursor and _increasing(missed)
        await report(tenant.channel, [room_event("e7", app, at=at)])
        assert _ids(await _events(call, 1)) == ["e7"]
    # without after_sequence: only what is stored from now on
    async with _tenant_subscription(tenant, app) as call:
        await report(tenant.channel, [room_event("e8", app, at=at)])
        assert _ids(await _events(call, 1)) == ["e8"]


async def test_a_room_filter_pages_and_a_bounded_scan(tenant: Tenant, clock: ManualClock) -> None:
    await paid(tenant.server, tenant, "advanced")
    app = (await tenant.create_app("rooms")).sdk_app_id
    other = (await tenant.create_app("other")).sdk_app_id
    at = clock.now()
    stream = tenant.server.console.room_event_stream
    stream.page_size, stream.scan = 2, 3  # small pages and scans, to see both
    events = [room_event(f"h{i}", app, at=at, room="hall", user=f"u{i}") for i in range(5)]
    events += [room_event(f"n{i}", app, at=at, room=7, user=f"u{i}") for i in range(7)]
    events += [room_event("x", other, at=at, room="hall"), room_event("h5", app, at=at, room="hall")]
    await report(tenant.channel, events)
    async with _tenant_subscription(tenant, app, after=0, room="hall") as call:
        hall = await _events(call, 6)
        assert _ids(hall) == [f"h{i}" for i in range(6)] and _increasing(hall)
    async with _tenant_subscription(tenant, app, after=0, room=7) as call:
        assert _ids(await _events(call, 7)) == [f"n{i}" for i in range(7)]
    async with _tenant_subscription(tenant, other, after=0) as call:
        (only,) = await _events(call, 1)
        assert (only.event.event_id, only.sequence) == ("x", 1)  # each app its own sequence
    page = await asyncio.to_thread(stream.read_after, app, 0, "s:hall")
    assert _ids_of(page.events) == ["h0", "h1"] and not page.caught_up
    page = await asyncio.to_thread(stream.read_after, app, 5, "s:hall")  # 6..8 are room 7's
    assert page.events == [] and page.resume_after == 8 and not page.caught_up


def _ids_of(events: Sequence[object]) -> list[str]:
    return [e.event.event_id for e in events]  # type: ignore[attr-defined]


async def test_tenancy_edition_and_arguments(tenant: Tenant, other_tenant: Tenant) -> None:
    app = (await tenant.create_app("mine")).sdk_app_id
    theirs = (await other_tenant.create_app("theirs")).sdk_app_id
    stub = pb_grpc.MonitorServiceStub(tenant.channel)

    def read(request: pb.SubscribeRoomEventsRequest) -> Awaitable[object]:
        return stub.SubscribeRoomEvents(request, metadata=tenant.metadata).read()

    failure = await fails(read(_request(app, after=0)), CODE.FAILED_PRECONDITION)  # free edition
    assert failure.details["google.rpc.ErrorInfo"].reason == "EDITION_REQUIRED"
    await paid(tenant.server, tenant)
    await fails(read(_request(theirs, after=0)), CODE.NOT_FOUND)
    failure = await fails(read(_request(app, room="")), CODE.INVALID_ARGUMENT)
    assert failure.field_violations
    await fails(read(_request(app, room=0)), CODE.INVALID_ARGUMENT)
    failure = await fails(read(_request(app, after=2**63)), CODE.INVALID_ARGUMENT)
    assert "after_sequence" in failure.field_violations
    await fails(
        pb_grpc.MonitorServiceStub(tenant.channel).SubscribeRoomEvents(_request(app)).read(),
        CODE.UNAUTHENTICATED,
    )


async def test_a_replica_without_redis_finds_the_events_by_polling(
    tenant: Tenant, clock: ManualClock, settings: Settings
) -> None:
    await paid(tenant.server, tenant)
    app = (await tenant.create_app("replicas")).sdk_app_id
    async with (
        running_server(settings, clock) as replica,
        grpc.aio.insecure_channel(replica.target) as channel,
        _subscribed(replica, channel, tenant.metadata, app, after=0) as call,
    ):
        await asyncio.wait_for(clock.wait_for_sleepers(1), READ_TIMEOUT)  # caught up, waiting
        await report(tenant.channel, [room_event("r1", app, at=clock.now())])  # through the first
        clock.advance(POLL_INTERVAL)  # in-process live states do not cross: the poll finds it
        assert _ids(await _events(call, 1)) == ["r1"]


async def test_a_graceful_stop_ends_the_stream_unavailable(settings: Settings, clock: ManualClock) -> None:
    from tests.support import new_tenant

    server = await build_server(settings, clock=clock)
    await server.start()
    async with new_tenant(server, "stopping") as tenant:
        await paid(server, tenant)
        app = (await tenant.create_app("stop")).sdk_app_id
        async with _tenant_subscription(tenant, app, after=0) as call:
            started = time.monotonic()
            await server.stop(30)  # a 30-second grace that the open subscription must not use up
            assert time.monotonic() - started < 5
            failure = await fails(call.read(), CODE.UNAVAILABLE)
            assert "after_sequence" in failure.message


async def test_rtcctl_watch_events(
    tenant: Tenant, clock: ManualClock, capsys: pytest.CaptureFixture[str]
) -> None:
    await paid(tenant.server, tenant)
    app = (await tenant.create_app("cli")).sdk_app_id
    at = clock.now()
    session = ingest_pb.SessionAttributes(country="JP")
    await report(
        tenant.channel,
        [
            room_event("c1", app, at=at, room=42, session=session),
            room_event("c2", app, at=at, room="hall", type=EXITED),
        ],
    )

    async def rtcctl(*argv: str) -> tuple[int, str, str]:
        status = await amain(["--target", tenant.server.target, "--api-key", tenant.api_key, *argv])
        out, err = capsys.readouterr()
        return status, out, err

    watch = ("monitor", "watch-events", "--sdk-app-id", str(app))
    status, out, err = await rtcctl(*watch, "--after", "0", "--count", "2")
    assert (status, err) == (0, "")
    lines = out.splitlines()
    assert len(lines) == 2
    assert lines[0].split()[0] == "1" and "room 42" in lines[0] and "USER_ENTERED" in lines[0]
    assert "country JP" in lines[0] and "role anchor" in lines[0]
    assert lines[1].split()[0] == "2" and "room hall" in lines[1] and "USER_EXITED" in lines[1]
    status, out, _ = await rtcctl(*watch, "--after", "1", "--count", "1", "--json")
    (item,) = [json.loads(line) for line in out.splitlines()]
    assert status == 0 and item["sequence"] == "2" and item["event"]["str_room_id"] == "hall"
    status, out, _ = await rtcctl(*watch, "--after", "0", "--room", "hall", "--count", "1", "--json")
    assert json.loads(out)["event"]["event_id"] == "c2"
    status, _, err = await rtcctl(*watch, "--count", "-1")
    assert status == 2 and "--count" in err


# --------------------------------------------------- PostgreSQL: concurrent commits of one app


def _input(app: int, event_id: str, at: datetime) -> EventInput:
    return EventInput(event_id, app, 42, None, "alice", 103, at, role=1)


async def test_concurrent_batches_of_one_app_commit_in_sequence_order(
    tenant: Tenant, clock: ManualClock
) -> None:
    """The hazard of numbers taken from a PostgreSQL sequence (or ids): a batch that took 11 may
    commit before the one that took 10, and a reader that read 11 then resumes "after 11" would
    never see 10. Here batch A is held open inside its transaction (after its insert) while
    batch B of the same app runs on another connection; a reader follows its cursor throughout
    and must end with every event."""
    store = tenant.server.console.store
    if not store.is_postgresql:
        pytest.skip("SQLite has one writer: batches cannot overlap")
    app = (await tenant.create_app("race")).sdk_app_id
    at = clock.now()
    inside, release = threading.Event(), threading.Event()

    def hold(session: Session, events: Sequence[EventInput], now: datetime) -> int:
        inside.set()
        assert release.wait(READ_TIMEOUT)
        return 0

    held = EventIngest(store, clock, on_stored=hold)
    plain = EventIngest(store, clock)
    stream = tenant.server.console.room_event_stream
    collected: list[str] = []
    cursor = 0

    def drain() -> None:
        nonlocal cursor
        while True:
            page = stream.read_after(app, cursor)
            collected.extend(e.event.event_id for e in page.events)
            cursor = page.resume_after
            if page.caught_up:
                return

    batch_a = [_input(app, f"a{i}", at) for i in range(3)]
    batch_b = [_input(app, f"b{i}", at) for i in range(3)]
    a = asyncio.ensure_future(asyncio.to_thread(held.ingest, batch_a))
    assert await asyncio.to_thread(inside.wait, READ_TIMEOUT)  # A has its numbers, uncommitted
    b = asyncio.ensure_future(asyncio.to_thread(plain.ingest, batch_b))
    deadline = time.monotonic() + READ_TIMEOUT
    while not b.done() and not await asyncio.to_thread(_waits_on_a_lock, store):
        assert time.monotonic() < deadline, "batch B neither finished nor waited"
        await asyncio.sleep(0.01)
    await asyncio.to_thread(drain)  # what a subscriber reads while A is open
    release.set()
    await asyncio.wait_for(asyncio.gather(a, b), READ_TIMEOUT)
    await asyncio.to_thread(drain)
    assert sorted(collected) == sorted(e.event_id for e in batch_a + batch_b)
    assert collected == [*(e.event_id for e in batch_a), *(e.event_id for e in batch_b)]


def _waits_on_a_lock(store: Store) -> bool:
    with store.read() as session:
        waiting = session.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'"
            )
        )
    return bool(waiting)


# ------------------------------------------------------------------- the 0013 migration


_OLD_INSERT = text(
    "INSERT INTO room_events (sdk_app_id, event_id, room_key, user_id, event_type, event_time, role, "
    "reason, session, payload_sha256, received_at) "
    "VALUES (:app, :id, 'n:1', 'u', 103, :at, 1, 0, '{}', :digest, :at)"
)
"""A room event as written before 0013 (no ``seq``)."""


def test_0013_numbers_stored_events_per_app_and_downgrades(database_url: str) -> None:
    store = open_store(database_url)
    try:
        config = alembic_config()
        with store.engine.connect() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0012")
            connection.commit()
            at = datetime(2026, 3, 1)
            rows = [
                {"app": app, "id": f"e{n}", "at": at, "digest": "0" * 64}
                for n, app in enumerate([7, 8, 7, 7, 8])
            ]
            connection.execute(_OLD_INSERT, rows)
            connection.commit()
        upgrade(store)
        with store.read() as session:
            numbered = session.execute(select(RoomEvent.event_id, RoomEvent.seq).order_by(RoomEvent.id)).all()
            heads = dict(session.execute(select(RoomEventHead.sdk_app_id, RoomEventHead.last_sequence)).all())
        assert [tuple(r) for r in numbered] == [("e0", 1), ("e1", 1), ("e2", 2), ("e3", 3), ("e4", 2)]
        assert heads == {7: 3, 8: 2}
    finally:
        store.dispose()


async def test_replicas_sharing_redis_wake_each_others_subscribers(
    tenant: Tenant, clock: ManualClock, settings: Settings, redis_server_url: str, redis_key_prefix: str
) -> None:
    await paid(tenant.server, tenant)
    app = (await tenant.create_app("redis")).sdk_app_id
    shared = dataclasses.replace(settings, redis_url=redis_server_url, redis_key_prefix=redis_key_prefix)
    async with (
        running_server(shared, clock) as accepting,
        running_server(shared, clock) as watching,
        grpc.aio.insecure_channel(watching.target) as channel,
        _subscribed(watching, channel, tenant.metadata, app, after=0) as call,
    ):
        await asyncio.wait_for(clock.wait_for_sleepers(1), READ_TIMEOUT)  # caught up, waiting
        async with grpc.aio.insecure_channel(accepting.target) as other:
            await report(other, [room_event("w1", app, at=clock.now())])
        assert _ids(await _events(call, 1)) == ["w1"]  # no clock advance: woken through Redis
