"""Call ids, ``{sdk_app_id}_{room}_{start_unix}`` (R17, TRTC's shape), taken apart by
``parse_call_id`` for the call details (R18) and the quality series (R20).

The middle part is the room as reported; a string room may itself hold underscores, so the
app is what comes before the first ``_`` and the start what follows the last one. A room of
digits can be the numeric room or the string room of the same text: both are candidates,
numeric first.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from rtcconsole_server.domain.events import room_key
from rtcconsole_server.domain.monitor import parse_call_id
from rtcconsole_server.errors import InvalidArgument

START = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
UNIX = int(START.timestamp())


def test_a_numeric_room_may_also_be_a_string_room() -> None:
    ref = parse_call_id(f"1400000001_42_{UNIX}")
    assert (ref.sdk_app_id, ref.start) == (1400000001, START)
    assert ref.room_keys == (room_key(42, None), room_key(None, "42"))


@pytest.mark.parametrize("room", ["lobby", "a_b_c", "0042", "4294967295", "房间"])
def test_a_string_room_is_taken_whole(room: str) -> None:
    ref = parse_call_id(f"7_{room}_{UNIX}")
    assert ref.room_keys == (room_key(None, room),)  # not a number TRTC could send as such


@pytest.mark.parametrize(
    "call_id",
    [
        "",
        "42",
        f"_{UNIX}",
        f"1400000001__{UNIX}",  # no room
        f"x_42_{UNIX}",
        "1400000001_42_soon",
        f"0_42_{UNIX}",
        f"{2**63}_42_{UNIX}",
        "1400000001_42_253402300800",  # after the year 9999
        f"1400000001_{'r' * 65}_{UNIX}",  # a room longer than 64 characters
        f"1400000001_a\x00b_{UNIX}",
        f"1400000001_42_{UNIX}" + "0" * 200,
        f"１４_42_{UNIX}",  # full-width digits are not digits here
    ],
)
def test_malformed_ids_name_the_field_and_the_shape(call_id: str) -> None:
    with pytest.raises(InvalidArgument) as raised:
        parse_call_id(call_id, field="call_id")
    [violation] = raised.value.violations
    assert violation.field == "call_id"
    assert "{sdk_app_id}_{room}_{start_unix}" in violation.description
