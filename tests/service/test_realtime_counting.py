"""Real-time counting during ingest (R21), over a real server on SQLite and PostgreSQL.

Records are reported through IngestService and read back through GetRealtimeOverview (the last
closed slot) or the live state; the clock is a ManualClock moved by whole slots, never slept
for. The live-state seam (batched reads) and the counter over both live backends are at the end.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from rtcconsole.v1 import ingest_service_pb2 as ingest_pb
from rtcconsole_server.clock import ManualClock
from rtcconsole_server.domain.common import Caller
from rtcconsole_server.domain.monitor import (
    EDITION_LOOK_BACK,
    Edition,
    RealtimeCounter,
    RealtimeReads,
    SampleInput,
)
from rtcconsole_server.domain.monitor._realtime_keys import DETAIL_RETENTION, app_keys, room_keys
from rtcconsole_server.live import LiveState, slot_of
from rtcconsole_server.server import Server
from rtcconsole_server.store.models_monitor import QualitySample
from tests.callback_support import room_event
from tests.live_support import MakeLive
from tests.realtime_support import (
    AUDIO,
    NOW,
    SLOT,
    client_event,
    entered,
    overview,
    paid,
    report_client_events,
    report_events,
    report_samples,
    sample,
)
from tests.support import Tenant

PREV = NOW - SLOT
"""An instant in the last closed slot: what the overview describes."""
BASIC = EDITION_LOOK_BACK[Edition.BASIC]


@pytest.fixture
def now(clock: ManualClock) -> ManualClock:
    clock.set(NOW)
    return clock


async def _app(server: Server, tenant: Tenant, edition: str = "basic") -> int:
    app = (await tenant.create_app("live")).sdk_app_id
    await paid(server, tenant, edition)
    return app


async def test_room_events_mark_users_online_but_an_exit_does_not(
    server: Server, tenant: Tenant, now: ManualClock
) -> None:
    app = await _app(server, tenant)
    exited = room_event("out", app, at=PREV, room=43, user="bob", type=ingest_pb.EVENT_TYPE_USER_EXITED)
    await report_events(tenant, [entered(app, PREV, "in", user="alice"), exited])  # R21: no sample at all
    figures = await overview(tenant, app)
    assert (figures.online_users, figures.online_rooms) == (1, 1)  # alice in 42; bob's exit counts nowhere
    assert figures.video_stall_rate.total_ms == 0  # an event carries no media time


async def test_online_users_are_deduplicated_by_room_and_user(
    server: Server, tenant: Tenant, now: ManualClock
) -> None:
    app = await _app(server, tenant)
    await report_samples(
        tenant,
        [
            sample(app, PREV, "1"),  # alice in room 42, twice in the slot, as two streams
            sample(app, PREV + timedelta(seconds=2), "2", media=AUDIO),
            sample(app, PREV, "3", room=43),  # alice in room 43 too: counts twice (R21)
            sample(app, PREV, "4", user="bob", peer=""),  # bob's upstream: online, no stall time
            sample(app, NOW, "5", user="carol"),  # the current slot: not yet in the overview
        ],
    )
    figures = await overview(tenant, app)
    assert (figures.online_users, figures.online_rooms, figures.abnormal_users) == (3, 2, 0)
    assert figures.video_stall_rate.total_ms == 4000  # alice's two video streams, not bob's upstream
    assert figures.audio_stall_rate.total_ms == 2000
    now.advance(SLOT)
    figures = await overview(tenant, app)
    assert (figures.online_users, figures.online_rooms) == (1, 1)  # carol's slot closed


async def test_abnormal_users_are_those_with_an_abnormal_event_in_the_slot(
    server: Server, tenant: Tenant, now: ManualClock
) -> None:
    app = await _app(server, tenant)
    await report_client_events(
        tenant,
        [
            client_event(app, PREV, "e1"),  # CPU too high (101)
            client_event(app, PREV, "e2", type=102, user="bob"),  # capture fps abnormal
            client_event(app, PREV, "e3", type=1, user="carol"),  # not abnormal: online only
            client_event(app, PREV - SLOT, "e4", user="dave"),  # the slot before
        ],
    )
    figures = await overview(tenant, app)
    assert (figures.online_users, figures.abnormal_users) == (3, 2)


async def test_stalls_count_from_600_ms_video_and_200_ms_audio(
    server: Server, tenant: Tenant, now: ManualClock
) -> None:
    app = await _app(server, tenant)
    await report_samples(
        tenant,
        [
            sample(app, PREV, "v1", stall=599),
            sample(app, PREV, "v2", user="u2", stall=600),
            sample(app, PREV, "a1", media=AUDIO, stall=199),
            sample(app, PREV, "a2", user="u2", media=AUDIO, stall=200),
        ],
    )
    figures = await overview(tenant, app)
    video, audio = figures.video_stall_rate, figures.audio_stall_rate
    assert (video.stall_ms, video.total_ms, video.percent) == (600, 4000, 15.0)
    assert (audio.stall_ms, audio.total_ms, audio.percent) == (200, 4000, 5.0)
    assert video.level == audio.level == 3  # very high: video ≥ 10 %, audio ≥ 5 %


async def test_a_retried_batch_counts_once(server: Server, tenant: Tenant, now: ManualClock) -> None:
    app = await _app(server, tenant)
    batch = [sample(app, PREV, "1", stall=700), sample(app, PREV, "2", user="bob", stall=800)]
    first = await report_samples(tenant, batch)
    again = await report_samples(tenant, [*batch, sample(app, PREV, "3", user="carol")])
    assert (first.accepted, again.accepted, again.duplicates) == (2, 1, 2)
    events = [client_event(app, PREV, "e1"), client_event(app, PREV, "e1")]  # a duplicate within the batch
    await report_client_events(tenant, events)
    await report_client_events(tenant, events[:1])
    figures = await overview(tenant, app)
    assert (figures.online_users, figures.abnormal_users) == (3, 1)
    assert (figures.video_stall_rate.stall_ms, figures.video_stall_rate.total_ms) == (1500, 6000)


async def test_late_records_land_in_their_slot_and_too_late_ones_nowhere(
    server: Server, tenant: Tenant, now: ManualClock
) -> None:
    app = await _app(server, tenant)
    live = server.console.live
    assert live is not None
    late, too_late = NOW - timedelta(hours=2), NOW - BASIC - SLOT
    await report_samples(
        tenant, [sample(app, late, "late", stall=900), sample(app, too_late, "old", stall=900)]
    )
    keys = app_keys(app)
    assert await live.get_counts(keys.video_stall, [slot_of(late)], retention=BASIC) == [900]
    assert await live.get_counts(keys.video_stall, [slot_of(too_late)], retention=BASIC) == [0]
    assert server.console.realtime_counter.too_late == 1

    def stored() -> int:
        with server.console.store.read() as session:
            return session.query(QualitySample).filter_by(sdk_app_id=app).count()

    assert await asyncio.to_thread(stored) == 2  # both are history (R20)


async def test_slots_expire_with_their_retention(server: Server, tenant: Tenant, now: ManualClock) -> None:
    app = await _app(server, tenant)
    live = server.console.live
    assert live is not None
    await report_samples(tenant, [sample(app, PREV, "1")])
    slot, keys, room = slot_of(PREV), app_keys(app), room_keys(app, "n:42")
    now.advance(DETAIL_RETENTION)  # the room's figures are gone, the app's totals kept
    assert await live.set_size(room.users, slot, retention=DETAIL_RETENTION) == 0
    assert await live.set_size(keys.users, slot, retention=BASIC) == 1
    now.advance(BASIC - DETAIL_RETENTION)
    assert await live.set_size(keys.users, slot, retention=BASIC) == 0


async def test_free_apps_are_not_counted_and_an_upgrade_counts_from_then_on(
    server: Server, tenant: Tenant, now: ManualClock
) -> None:
    app = (await tenant.create_app("free")).sdk_app_id
    await report_samples(tenant, [sample(app, PREV, "1")])
    await paid(server, tenant, "advanced")
    now.advance(timedelta(seconds=10))  # the edition is trusted 10 s (EDITION_TTL)
    await report_samples(tenant, [sample(app, NOW, "2", user="bob")])
    figures = await overview(tenant, app)  # the slot of NOW is now the last closed one
    assert figures.online_users == 1
    live = server.console.live
    assert live is not None
    assert await live.set_size(app_keys(app).users, slot_of(PREV), retention=BASIC) == 0


async def test_a_failing_live_state_never_fails_the_ingest(
    server: Server, tenant: Tenant, now: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = await _app(server, tenant)
    live = server.console.live
    assert live is not None

    async def down(writes: object) -> list[int]:
        raise ConnectionError("redis is down")

    monkeypatch.setattr(live, "_apply", down)
    response = await report_samples(tenant, [sample(app, PREV, "1")])
    assert response.accepted == 1
    assert server.console.realtime_counter.failures == 1


async def test_breakdowns_take_the_attributes_of_the_users_entry(
    server: Server, tenant: Tenant, now: ManualClock
) -> None:
    app = await _app(server, tenant)
    await report_events(tenant, [entered(app, PREV - SLOT, "in1", country="JP", network_type="wifi")])
    await report_samples(tenant, [sample(app, PREV, "1"), sample(app, PREV, "2", user="bob")])
    reads = server.console.realtime
    scope = await asyncio.to_thread(reads.scope, tenant_caller(tenant), app)
    country = await reads.breakdown(scope, dimension=1, top=10)
    assert [(v, f.online_users) for v, f in country.values] == [("", 1), ("JP", 1)]
    network = await reads.breakdown(scope, dimension=3, top=10)
    assert [(v, f.video.total_ms) for v, f in network.values] == [("", 2000), ("wifi", 2000)]


def tenant_caller(tenant: Tenant) -> Caller:
    return Caller(tenant.account_id, "test")


# ------------------------------------------------------------ both live-state backends


async def test_batched_reads_of_many_keys(make_live: MakeLive, clock: ManualClock) -> None:
    live = make_live()
    slot = live.current_slot()
    await live.incr("a", slot, 5)
    await live.add_to_set("s", slot, "x", "y")
    batch = live.batch()
    batch.get_count("a", slot)
    batch.set_size("s", slot)
    batch.get_count("missing", slot)
    batch.incr("a", slot, 2)
    batch.set_size("s", slot - 400)  # past the retention
    assert await batch.execute() == [5, 2, 0, 7, 0]


async def test_counting_and_reading_on_each_live_backend(
    server: Server, tenant: Tenant, now: ManualClock, make_live: MakeLive
) -> None:
    app = await _app(server, tenant)
    live: LiveState = make_live()
    counter = RealtimeCounter(server.console.store, now, live)
    reads = RealtimeReads(server.console.store, now, live, tokens=server.console.realtime._tokens)
    await report_events(tenant, [entered(app, PREV, "in1", carrier="docomo")])
    records = [
        _sample_input(app, "alice", 42, 600),
        _sample_input(app, "alice", 43, 0),
        _sample_input(app, "bob", 42, 0),
    ]
    await counter.count(asyncio.to_thread, records)
    # the counter counts what it is given: the ingest passes only what it stored now (never a
    # duplicate), so a record passed twice counts twice (alice's 600 ms stall below)
    await counter.count(asyncio.to_thread, records[:1])
    scope = await asyncio.to_thread(reads.scope, tenant_caller(tenant), app)
    figures = (await reads.overview(scope)).figures
    assert (figures.online_users, figures.online_rooms, figures.video.stall_ms) == (3, 2, 1200)
    rooms = await reads.rooms(scope, order=0, ascending=False, page_size_requested=0, page_token="")
    assert [(r.room_key, r.figures.online_users) for r in rooms.rooms] == [("n:42", 2), ("n:43", 1)]
    carriers = await reads.breakdown(scope, dimension=6, top=1)
    assert [(v, f.online_users) for v, f in carriers.values] == [("", 2)]
    assert carriers.rest.online_users == 1 and carriers.value_count == 2


def _sample_input(app: int, user: str, room: int, stall: int) -> SampleInput:
    return SampleInput(
        sample_id=f"{user}{room}{stall}",
        sdk_app_id=app,
        room_key=f"n:{room}",
        user_id=user,
        peer_id="peer",
        media=1,
        sample_time=PREV,
        stall_ms=stall,
    )
