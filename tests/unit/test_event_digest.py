"""The ingest's fast paths for events stay equal to the plain ones (issue 16).

Digests are stored with every event and compared on each retry, so ``digest_of`` must give the
bytes it gave before, and the same as ``digest(canonical_of(...))``; ``event_input`` must give the
same event as the proto says.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

from rtcconsole.v1 import ingest_service_pb2 as pb
from rtcconsole_server.api.convert_events import event_input
from rtcconsole_server.domain.events import EventInput
from rtcconsole_server.domain.events._rules import canonical_of, digest, digest_of

WHEN = datetime(2026, 5, 4, 3, 2, 1, 987_654, tzinfo=UTC)
_CHARACTERS = ["a", "Z", "9", ":", "\\", '"', "é", "中", "😀", " ", "\t", "\n", "{", "\u2028", "\x7f"]


def _text(rng: random.Random, most: int) -> str:
    return "".join(rng.choice(_CHARACTERS) for _ in range(rng.randint(0, most)))


def _random_event(rng: random.Random) -> EventInput:
    zone = rng.choice([UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5, minutes=-30))])
    at = WHEN + timedelta(microseconds=rng.randint(-(10**15), 10**15))
    names = rng.sample(["region", "country", "sdk_version", "os", "a b", "é"], rng.randint(0, 4))
    return EventInput(
        event_id=_text(rng, 20) or "x",
        sdk_app_id=rng.randint(1, 2**40),
        room_id=rng.choice([None, rng.randint(0, 2**32)]),
        str_room_id=_text(rng, 10),
        user_id=_text(rng, 12),
        event_type=rng.choice([101, 102, 103, 104, 105, 201, 206]),
        event_time=at.astimezone(zone),
        role=rng.randint(0, 2),
        reason=rng.randint(0, 99),
        session={name: _text(rng, 8) for name in names},
        command_id=_text(rng, 3),
    )


def test_the_fast_digest_is_the_canonical_forms_digest() -> None:
    rng = random.Random(16)
    for _ in range(2000):
        event = _random_event(rng)
        assert digest_of(event) == digest(canonical_of(event)), event


def test_the_digest_of_stored_events_is_unchanged() -> None:
    # computed by the code that stored the events so far (before issue 16's second pass)
    tokyo = timezone(timedelta(hours=8))
    session = {"region": "ap-tokyo", "country": "JP", "sdk_version": "10.1"}
    cases = [
        (
            EventInput("e", 1400000001, 1, None, "u", 103, WHEN, 1),
            "2970bb2e5f0c2f4117f6f417ad99a594380ca0b2472079b34e61383bdde85936",
        ),
        (
            EventInput(
                "e", 1400000001, None, '房间 "1"', "ü\\ser", 103, WHEN.astimezone(tokyo), 2, 3, session
            ),
            "7edceaca6dd2c464e9d275af121b61a633b433bba37e6dc34a811ba471543025",
        ),
        (
            EventInput(
                "e",
                1400000001,
                4294967294,
                None,
                "",
                101,
                WHEN - timedelta(days=20000),
                0,
                0,
                {"region": "x"},
            ),
            "01fe599252f923490e4eadfe73789bea5d9a03f890abfcee2541f9e54de0f5cb",
        ),
    ]
    assert [digest_of(event) for event, _ in cases] == [expected for _, expected in cases]


def test_event_input_reads_every_field_of_the_message() -> None:
    message = pb.RoomEvent(
        event_id="e1",
        sdk_app_id=1400000001,
        str_room_id="room",
        user_id="u",
        type=pb.EVENT_TYPE_USER_ENTERED,
        role=pb.ROLE_AUDIENCE,
        reason=4,
        command_id="c",
    )
    message.event_time.FromDatetime(WHEN)
    message.session.region = "ap-tokyo"
    event = event_input(message)
    assert event == EventInput(
        event_id="e1",
        sdk_app_id=1400000001,
        room_id=None,
        str_room_id="room",
        user_id="u",
        event_type=103,
        event_time=WHEN,
        role=2,
        reason=4,
        session={"region": "ap-tokyo"},
        command_id="c",
    )
    bare = event_input(pb.RoomEvent(event_id="e2", room_id=5))
    assert (bare.room_id, bare.str_room_id, bare.event_time, bare.session) == (5, None, None, {})
