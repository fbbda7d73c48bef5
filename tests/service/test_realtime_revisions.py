"""SubscribeRealtime's timing (R21, decision 0039) over real servers on SQLite and PostgreSQL, on
the injected clock: a slot's frame at its end + 0.5 s; a revision (revision 1) at its end + 2 s
only when late records changed it, reaching every subscriber once; none when nothing changed;
none for a frame built after the revision time; a stream that joined between the two gets it
too; ``rtcctl monitor watch`` marks it ``revised``.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from rtcconsole.cli import amain
from rtcconsole_server.clock import ManualClock
from rtcconsole_server.domain.monitor._realtime_stream import FIRST_AFTER, REVISE_AFTER
from rtcconsole_server.server import Server
from tests.realtime_support import (
    NOW,
    READ_TIMEOUT,
    SLOT,
    live_app,
    next_frame,
    overview,
    report_samples,
    sample,
    slot_at,
    subscribed,
)
from tests.support import Tenant

END = NOW - timedelta(seconds=5) + SLOT
"""The end of the slot the tests' clock starts in (NOW is 5 s into it)."""


@pytest.fixture
def now(clock: ManualClock) -> ManualClock:
    clock.set(NOW)
    return clock


async def _to(clock: ManualClock, at: datetime, sleepers: int) -> None:
    """Once the app's ticker waits on the clock (beside the server's workers), set it to ``at``."""
    await asyncio.wait_for(clock.wait_for_sleepers(sleepers), READ_TIMEOUT)
    clock.set(at)


async def test_the_first_frame_at_half_a_second_then_a_revision_of_late_records(
    server: Server, tenant: Tenant, now: ManualClock
) -> None:
    app, idle = await live_app(server, tenant), now.sleepers
    stream = server.console.realtime_stream
    async with subscribed(tenant, sdk_app_id=app) as one, subscribed(tenant, sdk_app_id=app) as two:
        await asyncio.gather(next_frame(one), next_frame(two))  # the slot before, replayed
        await report_samples(tenant, [sample(app, NOW, "a", user="a")])
        await _to(now, END + FIRST_AFTER - timedelta(microseconds=1), idle + 1)
        await _to(now, END + FIRST_AFTER, idle + 1)  # 1 µs early changed nothing: still asleep
        firsts = await asyncio.gather(next_frame(one), next_frame(two))
        assert {(slot_at(f), f.revision, f.figures.online_users, f.replayed) for f in firsts} == {
            (END - SLOT, 0, 1, False)
        }
        assert firsts[0].as_of.ToDatetime(tzinfo=UTC) == END + FIRST_AFTER  # 0.5 s after the close
        late = END - timedelta(milliseconds=1)  # its slot's last millisecond, arriving after the frame
        await report_samples(tenant, [sample(app, late, "b", user="b")])
        await _to(now, END + REVISE_AFTER, idle + 1)
        revised = await asyncio.gather(next_frame(one), next_frame(two))
        assert {(slot_at(f), f.revision, f.figures.online_users, f.replayed) for f in revised} == {
            (END - SLOT, 1, 2, False)
        }
        assert revised[0].figures == await overview(tenant, app)  # what a read of the slot says now
        assert (stream.builds, stream.revisions) == (1, 1)
        await _to(now, END + SLOT + FIRST_AFTER, idle + 1)
        following = await asyncio.gather(next_frame(one), next_frame(two))
        assert {(slot_at(f), f.revision, f.figures.online_users) for f in following} == {(END, 0, 0)}


async def test_no_revision_when_nothing_changed(server: Server, tenant: Tenant, now: ManualClock) -> None:
    app, idle = await live_app(server, tenant), now.sleepers
    stream = server.console.realtime_stream
    async with subscribed(tenant, sdk_app_id=app) as call:
        await next_frame(call)
        await report_samples(tenant, [sample(app, NOW, "a", user="a")])
        await _to(now, END + FIRST_AFTER, idle + 1)
        first = await next_frame(call)
        await _to(now, END + REVISE_AFTER, idle + 1)  # the slot is read again: the same figures
        await _to(now, END + SLOT + FIRST_AFTER, idle + 1)
        following = await next_frame(call)  # no revision came before the next slot's frame
        assert (slot_at(first), first.revision, slot_at(following) - slot_at(first), following.revision) == (
            END - SLOT,
            0,
            SLOT,
            0,
        )
        assert (stream.builds, stream.revisions) == (2, 0)


async def test_a_frame_built_after_the_revision_time_is_not_revised(
    server: Server, tenant: Tenant, now: ManualClock
) -> None:
    app, idle = await live_app(server, tenant), now.sleepers
    stream = server.console.realtime_stream
    async with subscribed(tenant, sdk_app_id=app) as call:
        await next_frame(call)
        await report_samples(tenant, [sample(app, NOW, "a", user="a")])
        await _to(now, END + REVISE_AFTER, idle + 1)  # the ticker wakes late: its frame is final
        first = await next_frame(call)
        await report_samples(tenant, [sample(app, NOW, "b", user="b")])  # later than any frame
        await _to(now, END + SLOT + FIRST_AFTER, idle + 1)
        following = await next_frame(call)
        assert [(slot_at(f), f.revision, f.figures.online_users) for f in (first, following)] == [
            (END - SLOT, 0, 1),
            (END, 0, 0),
        ]
        assert (stream.builds, stream.revisions) == (2, 0)


async def test_a_stream_that_joins_between_the_frame_and_its_revision_gets_both(
    server: Server, tenant: Tenant, now: ManualClock
) -> None:
    app, idle = await live_app(server, tenant), now.sleepers
    async with subscribed(tenant, sdk_app_id=app) as early:
        await next_frame(early)
        await report_samples(tenant, [sample(app, NOW, "a", user="a")])
        await _to(now, END + FIRST_AFTER, idle + 1)
        await next_frame(early)
        now.set(END + timedelta(seconds=1))
        await report_samples(tenant, [sample(app, NOW, "b", user="b")])
        async with subscribed(tenant, sdk_app_id=app) as joined:
            replayed = await next_frame(joined)  # the slot as retained now (b included)
            await _to(now, END + REVISE_AFTER, idle + 1)
            revised = await next_frame(joined)
        assert [(f.replayed, f.revision, f.figures.online_users) for f in (replayed, revised)] == [
            (True, 0, 2),
            (False, 1, 2),
        ]
        assert slot_at(replayed) == slot_at(revised) == END - SLOT


async def test_rtcctl_monitor_watch_marks_a_revision(
    server: Server, tenant: Tenant, now: ManualClock, capsys: pytest.CaptureFixture[str]
) -> None:
    app, idle = await live_app(server, tenant), now.sleepers
    stream = server.console.realtime_stream
    argv = [
        "--target",
        server.target,
        "--api-key",
        tenant.api_key,
        "monitor",
        "watch",
        "--sdk-app-id",
        str(app),
    ]
    watch = asyncio.create_task(amain([*argv, "--count", "3"]))
    await report_samples(tenant, [sample(app, NOW, "a", user="a")])
    await _to(now, END + FIRST_AFTER, idle + 1)  # the ticker sleeps once the command subscribed
    async with asyncio.timeout(READ_TIMEOUT):  # the first frame built, before b is reported
        while stream.builds < 1:  # noqa: ASYNC110 - the ticker is a server task with no event to await
            await asyncio.sleep(0.005)
    await report_samples(tenant, [sample(app, NOW, "b", user="b")])
    await _to(now, END + REVISE_AFTER, idle + 1)
    assert await asyncio.wait_for(watch, READ_TIMEOUT) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [("revised" in line, "users 2" in line) for line in lines[-2:]] == [(False, False), (True, True)]
