"""Usage records' fast validity check agrees with the full one (R16 ingest, issue 16's hot path).

``plainly_valid`` may only say True for a record ``validate`` finds nothing wrong with; when it says
False the record goes through ``validate``, so a False for a valid record is allowed (only slower).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from rtcconsole.usage import CATEGORIES
from rtcconsole_server.domain.usage import UsageInput
from rtcconsole_server.domain.usage._validate import MAX_AGE, MAX_AHEAD, plainly_valid, validate

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
_text = st.one_of(
    st.text(max_size=4),
    st.text(min_size=120, max_size=140),
    st.sampled_from(["", "a", "a\x00b", "x" * 128, "x" * 129, "\x00"]),
)
_room = st.one_of(
    st.sampled_from(
        ["n:1", "n:0", "n:4294967294", "n:4294967295", "n:", "n:01", "n:-1", "n:١", "n:00000000001"]
    ),
    st.integers(min_value=-5, max_value=2**33).map(lambda n: f"n:{n}"),
    st.text(max_size=70).map(lambda t: f"s:{t}"),
    st.sampled_from(["s:", "s:\x00", "s:" + "r" * 64, "s:" + "r" * 65, "", "x:1", "n", ":1"]),
)
_records = st.builds(
    UsageInput,
    record_id=_text,
    sdk_app_id=st.sampled_from([0, 1, 1_400_000_001]),
    room_key=_room,
    user_id=_text,
    kind=st.sampled_from([0, 1, 2, 3]),
    category=st.sampled_from([*CATEGORIES, "", "hd", "8K"]),
    start_time=st.sampled_from(
        [
            NOW - MAX_AGE - timedelta(microseconds=1),
            NOW - MAX_AGE,
            NOW,
            NOW + MAX_AHEAD,
            NOW + MAX_AHEAD + timedelta(microseconds=1),
        ]
    ),
    seconds=st.sampled_from([-1, 0, 1, 600, 86_400, 86_401]),
)


@settings(max_examples=3000, deadline=None)
@given(record=_records)
def test_plainly_valid_only_for_records_without_violations(record: UsageInput) -> None:
    if plainly_valid(record, NOW - MAX_AGE, NOW + MAX_AHEAD):
        assert validate(record, NOW) == []


def test_the_usual_records_take_the_fast_path() -> None:
    earliest, latest = NOW - MAX_AGE, NOW + MAX_AHEAD
    for room in ("n:1", "n:4294967294", "s:room-1", "s:" + "r" * 64):
        record = UsageInput("r1", 1_400_000_001, room, "u1", 1, "HD", NOW, 60)
        assert validate(record, NOW) == []
        assert plainly_valid(record, earliest, latest)
