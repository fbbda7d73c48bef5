"""``api.convert``'s Timestamps by arithmetic: ``timestamp`` gives what ``Timestamp.FromDatetime``
gives, ``instant_of`` what the ``EPOCH + timedelta`` conversion it replaced gave."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from google.protobuf.timestamp_pb2 import Timestamp
from hypothesis import given, settings
from hypothesis import strategies as st

from rtcconsole_server.api.convert import instant_of, timestamp

_ZONES = [None, UTC, timezone(timedelta(hours=9)), timezone(timedelta(hours=-5, minutes=-30))]


@given(
    wall=st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),
    zone=st.sampled_from(_ZONES),
)
def test_timestamp_is_from_datetime(wall: datetime, zone: timezone | None) -> None:
    instant = wall.replace(tzinfo=zone)
    expected = Timestamp()
    expected.FromDatetime(instant)
    assert timestamp(instant) == expected


def test_none_stays_unset() -> None:
    assert timestamp(None) is None


def _by_timedelta(seconds: int, nanos: int) -> datetime:
    """The conversion ``instant_of`` replaced (and what ``Timestamp.ToDatetime`` computes)."""
    try:
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds, microseconds=nanos // 1000)
    except OverflowError:
        return datetime(1, 1, 1, tzinfo=UTC)


@settings(max_examples=3000, deadline=None)
@given(
    seconds=st.one_of(
        st.integers(min_value=-(2**63), max_value=2**63 - 1),
        st.integers(min_value=-62_135_596_801, max_value=253_402_300_800),
        st.sampled_from([0, -1, -62_135_596_800, 253_402_300_799]),
    ),
    nanos=st.one_of(st.just(0), st.integers(min_value=-(2**31), max_value=2**31 - 1)),
)
def test_an_instant_converts_as_by_timedelta(seconds: int, nanos: int) -> None:
    assert instant_of(seconds, nanos) == _by_timedelta(seconds, nanos)
