"""``api.convert.timestamp`` by arithmetic gives what ``Timestamp.FromDatetime`` gives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from google.protobuf.timestamp_pb2 import Timestamp
from hypothesis import given
from hypothesis import strategies as st

from rtcconsole_server.api.convert import timestamp

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
