"""UsageService.GetUsage (R16) over a real server: line, settled and deducted minutes, periods,
freshness, late records, the 5-20-minute visibility bound over a simulated hour, and refusals.

Records go in through the domain's exactly-once ingest; the aggregator's tick
runs when the test says so, on the server's ManualClock.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import grpc

from rtcconsole.v1 import app_service_pb2 as app_pb
from rtcconsole.v1 import usage_service_pb2 as pb
from rtcconsole_server.clock import ManualClock
from rtcconsole_server.domain.usage import UsageInput, window_start
from rtcconsole_server.store.models import App
from tests.support import Tenant, fails
from tests.usage_support import get_usage, ingest, record, tick, usage_stub

CODE = grpc.StatusCode
FIVE = timedelta(minutes=5)
DAY0 = datetime(2026, 1, 1, tzinfo=UTC)  # the ManualClock's start


def _stamp(ts: object) -> datetime:
    return ts.ToDatetime(tzinfo=UTC)  # type: ignore[attr-defined, no-any-return]


async def test_lines_show_line_settled_and_deducted_minutes_side_by_side(
    tenant: Tenant, clock: ManualClock
) -> None:
    """The worked example of docs/usage.md: 90, 45, 30, 125 s in four 5-minute windows."""
    app = await tenant.create_app("example")
    clock.set(DAY0 + timedelta(hours=9))
    start = DAY0 + timedelta(hours=8)
    await ingest(
        tenant.server,
        [
            record(app.sdk_app_id, start + i * FIVE + timedelta(seconds=7), s)
            for i, s in enumerate((90, 45, 30, 125))
        ],
    )
    assert await tick(tenant.server) == 4
    response = await get_usage(tenant, start, start + timedelta(hours=1))
    assert response.granularity == pb.GRANULARITY_FIVE_MINUTES  # a range up to a day defaults to 5 minutes
    assert [(_stamp(x.period_start), x.seconds, x.minutes, x.deducted_minutes) for x in response.lines] == [
        (start, 90, 2, 2),
        (start + FIVE, 45, 1, 1),
        (start + 2 * FIVE, 30, 1, 0),
        (start + 3 * FIVE, 125, 3, 2),
    ]
    assert all(x.category == pb.USAGE_CATEGORY_HD and x.revision == 1 for x in response.lines)
    (total,) = response.totals
    assert (total.seconds, total.line_minutes, total.settled_minutes, total.deducted_minutes) == (
        290,
        7,
        5,
        5,
    )

    hourly = await get_usage(
        tenant, start, start + timedelta(hours=1), sdk_app_id=app.sdk_app_id, granularity=pb.GRANULARITY_HOUR
    )
    assert [(x.seconds, x.minutes, x.deducted_minutes) for x in hourly.lines] == [(290, 5, 5)]
    assert hourly.sdk_app_id == app.sdk_app_id

    later = await get_usage(tenant, start + 2 * FIVE, start + timedelta(hours=1))  # mid-day start
    assert [(x.seconds, x.deducted_minutes) for x in later.lines] == [(30, 0), (125, 2)]  # carries 135 s


async def test_coarse_periods_sum_seconds_first_and_ranges_over_a_day_default_to_days(
    tenant: Tenant, clock: ManualClock
) -> None:
    app = await tenant.create_app("coarse")
    clock.set(DAY0 + timedelta(days=3))
    records = [
        record(app.sdk_app_id, DAY0 + timedelta(hours=h, minutes=m), 31, category=c)
        for h in (1, 13, 25, 49)
        for m in (0, 20, 40)
        for c in ("Audio", "4K")
    ]
    await ingest(tenant.server, records)
    await tick(tenant.server)
    daily = await get_usage(tenant, DAY0, DAY0 + timedelta(days=3))
    assert daily.granularity == pb.GRANULARITY_DAY
    assert [(_stamp(x.period_start), x.category, x.seconds, x.minutes) for x in daily.lines] == [
        (DAY0, pb.USAGE_CATEGORY_AUDIO, 186, 4),
        (DAY0, pb.USAGE_CATEGORY_4K, 186, 4),
        (DAY0 + timedelta(days=1), pb.USAGE_CATEGORY_AUDIO, 93, 2),
        (DAY0 + timedelta(days=1), pb.USAGE_CATEGORY_4K, 93, 2),
        (DAY0 + timedelta(days=2), pb.USAGE_CATEGORY_AUDIO, 93, 2),
        (DAY0 + timedelta(days=2), pb.USAGE_CATEGORY_4K, 93, 2),
    ]
    assert all(x.deducted_minutes == x.minutes for x in daily.lines)  # a whole day settles as its line
    audio = daily.totals[0]
    assert (audio.seconds, audio.line_minutes, audio.settled_minutes, audio.deducted_minutes) == (
        372,
        8,
        7,
        8,
    )

    # not aligned: the first and last periods are clipped to the range, partial days read 5-minute lines
    ragged = await get_usage(
        tenant,
        DAY0 + timedelta(hours=13, minutes=7),
        DAY0 + timedelta(days=1, hours=2),
        granularity=pb.GRANULARITY_DAY,
    )
    assert _stamp(ragged.start_time) == DAY0 + timedelta(hours=13, minutes=5)
    assert [(_stamp(x.period_start), _stamp(x.period_end), x.seconds) for x in ragged.lines][::2] == [
        (DAY0 + timedelta(hours=13, minutes=5), DAY0 + timedelta(days=1), 62),
        (DAY0 + timedelta(days=1), DAY0 + timedelta(days=1, hours=2), 93),
    ]
    hourly = await get_usage(tenant, DAY0, DAY0 + timedelta(days=2), granularity=pb.GRANULARITY_HOUR)
    assert {(_stamp(x.period_start).hour, x.seconds, x.minutes) for x in hourly.lines} == {
        (1, 93, 2),
        (13, 93, 2),
    }
    line_minutes = sum(x.minutes for x in hourly.lines if x.category == pb.USAGE_CATEGORY_AUDIO)
    settled = next(t.settled_minutes for t in hourly.totals if t.category == pb.USAGE_CATEGORY_AUDIO)
    assert 0 <= line_minutes - settled <= len(hourly.lines) // 2 - 1


async def test_scope_is_one_app_or_the_whole_account_including_deleted_apps(
    tenant: Tenant, other_tenant: Tenant, clock: ManualClock
) -> None:
    first = await tenant.create_app("first")
    second = await tenant.create_app("second")
    theirs = await other_tenant.create_app("theirs")
    clock.set(DAY0 + timedelta(hours=2))
    when = DAY0 + timedelta(hours=1)
    await ingest(
        tenant.server,
        [
            record(first.sdk_app_id, when, 100),
            record(second.sdk_app_id, when, 30),
            record(second.sdk_app_id, when, 20, kind=2, category="Audio"),
            record(theirs.sdk_app_id, when, 999),
        ],
    )
    await tick(tenant.server)
    span = (DAY0, DAY0 + timedelta(hours=2))
    account = await get_usage(tenant, *span)
    assert [(x.seconds, x.minutes) for x in account.lines] == [(130, 3)]
    one = await get_usage(tenant, *span, sdk_app_id=second.sdk_app_id)
    assert [x.seconds for x in one.lines] == [30]
    recording = await get_usage(tenant, *span, kind=pb.USAGE_KIND_CLOUD_RECORDING)
    assert [(x.category, x.seconds) for x in recording.lines] == [(pb.USAGE_CATEGORY_AUDIO, 20)]

    failure = await fails(get_usage(tenant, *span, sdk_app_id=theirs.sdk_app_id), CODE.NOT_FOUND)
    assert str(theirs.sdk_app_id) in failure.message
    await fails(get_usage(tenant, *span, sdk_app_id=1), CODE.NOT_FOUND)

    with tenant.server.console.store.write() as session:  # the app is deleted (R7 done elsewhere)
        session.get_one(App, first.sdk_app_id).deleted_at = clock.now()
    await fails(tenant.get_app(first.sdk_app_id), CODE.NOT_FOUND)
    assert [x.seconds for x in (await get_usage(tenant, *span)).lines] == [130]  # still counted
    assert [x.seconds for x in (await get_usage(tenant, *span, sdk_app_id=first.sdk_app_id)).lines] == [100]


async def test_refusals_name_the_field_and_the_limit(tenant: Tenant) -> None:
    start = DAY0
    failure = await fails(
        get_usage(tenant, start, start + timedelta(days=31, seconds=1)), CODE.INVALID_ARGUMENT
    )
    assert "31 days" in failure.field_violations["end_time"]
    assert (await get_usage(tenant, start, start + timedelta(days=31))).granularity == pb.GRANULARITY_DAY
    failure = await fails(get_usage(tenant, start, start), CODE.INVALID_ARGUMENT)
    assert "after start_time" in failure.field_violations["end_time"]
    failure = await fails(get_usage(tenant, start, start - FIVE), CODE.INVALID_ARGUMENT)
    assert "end_time" in failure.field_violations
    failure = await fails(
        get_usage(tenant, start, start + FIVE, kind=pb.USAGE_KIND_UNSPECIFIED), CODE.INVALID_ARGUMENT
    )
    assert "kind" in failure.field_violations
    stub_request = pb.GetUsageRequest(kind=pb.USAGE_KIND_INTERACTIVE_AV)
    failure = await fails(
        usage_stub(tenant).GetUsage(stub_request, metadata=tenant.metadata), CODE.INVALID_ARGUMENT
    )
    assert set(failure.field_violations) == {"start_time", "end_time"}
    failure = await fails(get_usage(tenant, start, start + FIVE, granularity=9), CODE.INVALID_ARGUMENT)
    assert "granularity" in failure.field_violations
    await fails(usage_stub(tenant).GetUsage(stub_request), CODE.UNAUTHENTICATED)


async def test_late_records_reopen_a_published_window_visibly(tenant: Tenant, clock: ManualClock) -> None:
    app = await tenant.create_app("late")
    when = DAY0 + timedelta(hours=1)
    clock.set(when + timedelta(minutes=10))
    await ingest(tenant.server, [record(app.sdk_app_id, when, 59)])
    await tick(tenant.server)
    span = (DAY0, DAY0 + timedelta(hours=2))
    first = await get_usage(tenant, *span)
    assert [(x.seconds, x.minutes, x.revision) for x in first.lines] == [(59, 1, 1)]
    clock.advance(hours=3)  # hours later a straggler of that window arrives
    await ingest(tenant.server, [record(app.sdk_app_id, when + timedelta(minutes=4), 2)])
    assert [x.revision for x in (await get_usage(tenant, *span)).lines] == [1]  # until the next tick
    await tick(tenant.server)
    second = await get_usage(tenant, *span)
    assert [(x.seconds, x.minutes, x.revision) for x in second.lines] == [(61, 2, 2)]
    daily = await get_usage(tenant, DAY0, DAY0 + timedelta(days=2))
    assert [(x.seconds, x.revision) for x in daily.lines] == [(61, 2)]  # the settled day shows it too


async def test_data_through_says_how_fresh_the_lines_are(tenant: Tenant, clock: ManualClock) -> None:
    app = await tenant.create_app("fresh")
    span = (DAY0, DAY0 + timedelta(hours=2))
    assert not (await get_usage(tenant, *span)).HasField("data_through")  # never ran
    clock.set(DAY0 + timedelta(minutes=32))
    await ingest(tenant.server, [record(app.sdk_app_id, DAY0 + timedelta(minutes=21), 10)])
    await tick(tenant.server)
    response = await get_usage(tenant, *span)
    assert _stamp(response.data_through) == DAY0 + timedelta(minutes=25)  # window 20-25 due at 30
    assert [x.seconds for x in response.lines] == [10]
    clock.advance(minutes=2, seconds=59)  # 00:34:59: the window 25-30 is not due yet
    await tick(tenant.server)
    assert _stamp((await get_usage(tenant, *span)).data_through) == DAY0 + timedelta(minutes=25)


async def test_r16_every_record_appears_5_to_20_minutes_after_it_arrived(
    tenant: Tenant, clock: ManualClock
) -> None:
    """A simulated hour: a record every 10 s (each within its own window), a tick every 5 minutes."""
    app = await tenant.create_app("hour")
    rng = random.Random(16)
    clock.set(DAY0 + timedelta(hours=6, seconds=150))  # ticks fall mid-window
    begin = clock.now()
    arrivals: dict[str, tuple[datetime, datetime, int]] = {}  # id → (arrived, window, seconds)
    visible_at: dict[str, datetime] = {}
    expected: dict[datetime, int] = defaultdict(int)
    lags = []
    for step in range(1, 25 * 6 * 10 + 1):  # 10-second steps over 75 minutes (records for the first 60)
        clock.advance(seconds=10)
        now = clock.now()
        if now < begin + timedelta(hours=1):
            window = window_start(now)
            start = window + timedelta(seconds=rng.randrange(0, int((now - window).total_seconds()) + 1))
            one: UsageInput = record(app.sdk_app_id, start, rng.randint(1, 300))
            await ingest(tenant.server, [one])
            arrivals[one.record_id] = (now, window, one.seconds)
            expected[window] += one.seconds
        if step % 30 == 0:  # every 5 minutes
            await tick(tenant.server)
            response = await get_usage(tenant, begin - timedelta(minutes=10), now + FIVE)
            lags.append(now - _stamp(response.data_through))
            shown = {_stamp(x.period_start): x.seconds for x in response.lines}
            for record_id, (_arrived, window, _seconds) in arrivals.items():
                if record_id not in visible_at and shown.get(window) == expected[window]:
                    visible_at[record_id] = now
    assert set(visible_at) == set(arrivals)
    delays = [visible_at[r] - arrived for r, (arrived, _, _) in arrivals.items()]
    assert min(delays) >= timedelta(minutes=5) and max(delays) <= timedelta(minutes=20), (
        min(delays),
        max(delays),
    )
    assert all(timedelta(minutes=5) <= lag <= timedelta(minutes=20) for lag in lags), lags
    assert sum(expected.values()) == sum(s for _, _, s in arrivals.values())


async def test_an_account_without_packages_is_not_metered(tenant: Tenant, clock: ManualClock) -> None:
    """An account without packages is not metered: usage alone never stops its apps."""
    app = await tenant.create_app("unmetered")
    clock.set(DAY0 + timedelta(hours=1))
    await ingest(tenant.server, [record(app.sdk_app_id, DAY0, 86_400, category="4K")])
    await tick(tenant.server)
    assert (await tenant.get_app(app.sdk_app_id)).status == app_pb.APP_STATUS_NORMAL
