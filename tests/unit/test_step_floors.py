"""Every UTC floor of the server is ``clock.floor_instant``, and gives what the hand-made ones gave.

The usage periods (``Granularity.bucket``: 5 minutes, an hour, a day), the settlement day
(``usage.day_start``) and the partition days (``store.partitions``) once each floored by hand
(``replace(minute=0, …)``, ``datetime.combine``); the formulas they replaced are written out
below, so a change of behaviour shows as a counterexample.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rtcconsole_server.clock import floor_instant
from rtcconsole_server.domain.usage import DAY, Granularity, day_start, window_start
from rtcconsole_server.store import partitions

ZONES = st.sampled_from(
    [
        UTC,
        timezone(timedelta(hours=8)),
        timezone(timedelta(hours=-5)),
        timezone(timedelta(hours=5, minutes=30)),
    ]
)
"""UTC, Beijing, New York in winter, India: whole and half-hour offsets either side of UTC."""
INSTANTS = st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(9999, 12, 30), timezones=ZONES)
UTC_INSTANTS = st.datetimes(
    min_value=datetime(1900, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
)


def _old_day_start(instant: datetime) -> datetime:
    return instant.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


@given(INSTANTS)
def test_the_settlement_day_is_the_old_one(instant: datetime) -> None:
    start = day_start(instant)
    assert start == _old_day_start(instant) and start.tzinfo is UTC
    assert start == floor_instant(instant, DAY)


@given(UTC_INSTANTS)
def test_every_granularity_buckets_as_before(instant: datetime) -> None:
    """The store reads instants back as aware UTC (``UTCDateTime``): those are what is bucketed."""
    old = {
        Granularity.FIVE_MINUTES: window_start(instant),
        Granularity.HOUR: instant.replace(minute=0, second=0, microsecond=0),
        Granularity.DAY: _old_day_start(instant),
    }
    for granularity, expected in old.items():
        bucket = granularity.bucket(instant)
        assert bucket == expected and bucket.tzinfo is UTC
        assert granularity.step == granularity.value and bucket <= instant < bucket + granularity.step


@given(INSTANTS)
def test_a_bucket_is_utc_whatever_the_zone_of_the_instant(instant: datetime) -> None:
    for granularity in Granularity:
        bucket = granularity.bucket(instant)
        assert bucket == floor_instant(instant, granularity.value) and bucket.tzinfo is UTC


@given(INSTANTS)
def test_the_partition_day_is_the_old_one(instant: datetime) -> None:
    day = partitions.utc_day(instant)
    assert day == instant.astimezone(UTC).date()
    assert partitions.day_start(day) == floor_instant(instant, DAY) == day_start(instant)


@given(st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)))
def test_a_partition_starts_at_the_old_midnight(day: date) -> None:
    start = partitions.day_start(day)
    assert start == datetime.combine(day, time(0), tzinfo=UTC) and start.tzinfo is UTC


@pytest.mark.parametrize(
    ("instant", "hour", "day"),
    [
        (
            datetime(2026, 3, 7, 13, 59, 59, 999_999, tzinfo=UTC),
            datetime(2026, 3, 7, 13, tzinfo=UTC),
            date(2026, 3, 7),
        ),
        (datetime(2026, 3, 8, 0, 0, tzinfo=UTC), datetime(2026, 3, 8, 0, tzinfo=UTC), date(2026, 3, 8)),
        (
            datetime(2026, 3, 8, 7, 30, tzinfo=timezone(timedelta(hours=8))),
            datetime(2026, 3, 7, 23, tzinfo=UTC),
            date(2026, 3, 7),
        ),
    ],
)
def test_floors_at_and_across_midnight(instant: datetime, hour: datetime, day: date) -> None:
    assert Granularity.HOUR.bucket(instant) == hour
    assert Granularity.DAY.bucket(instant) == partitions.day_start(day) == day_start(instant)
    assert partitions.utc_day(instant) == day
