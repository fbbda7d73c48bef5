"""The callback body, its signature and the receiver helpers; the event rules; the backoff."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from rtcconsole.callbacks import CallbackFormatError, parse_event, sign, verify_signature
from rtcconsole_server.domain.callbacks import callback_body, callback_headers, event_info
from rtcconsole_server.domain.callbacks._body import rfc3339_ms
from rtcconsole_server.domain.callbacks._outbox import backoff
from rtcconsole_server.domain.events import EventInput, event_group_of, room_of_key
from rtcconsole_server.domain.events._rules import canonical_of, check_event, differing_fields, digest

WHEN = datetime(2026, 5, 4, 3, 2, 1, 987_654, tzinfo=UTC)


def test_sign_is_base64_hmac_sha256_of_the_body() -> None:
    # the well-known example vector: HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog")
    expected = bytes.fromhex("f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8")
    assert sign("key", b"The quick brown fox jumps over the lazy dog") == base64.b64encode(expected).decode()


def test_verify_signature_accepts_only_the_exact_bytes_and_key() -> None:
    body = b'{"EventType":103}'
    good = sign("k1", body)
    assert verify_signature("k1", body, good)
    assert verify_signature("k1", body, f" {good} ")
    assert not verify_signature("k2", body, good)
    assert not verify_signature("k1", body + b" ", good)
    assert not verify_signature("k1", body, "")
    assert not verify_signature("k1", body, "not base64 ✓")


def _body(**overrides: object) -> bytes:
    info = event_info(room=42, user_id="u", event_type=103, event_time=WHEN, role=2, reason=1)
    options: dict[str, object] = {
        "event_group": 1,
        "event_type": 103,
        "event_id": "ev-1",
        "room_seq": 7,
        "event_time": WHEN,
        "send_time": WHEN + timedelta(seconds=1),
        "info": info,
    }
    options.update(overrides)
    return callback_body(**options)  # type: ignore[arg-type]


def test_parse_event_reads_back_what_the_server_sends() -> None:
    event = parse_event(_body())
    assert (event.event_group, event.event_type, event.type_name) == (1, 103, "user_entered")
    assert (event.event_id, event.room_seq, event.room_id, event.user_id) == ("ev-1", 7, 42, "u")
    assert (event.role, event.reason, event.test) == (21, 1, False)
    assert event.event_time == datetime(2026, 5, 4, 3, 2, 1, 987_000, tzinfo=UTC)
    assert event.send_time == event.event_time + timedelta(seconds=1)
    assert event.event_ms == 1777863721987 and event.event_ts == 1777863721
    assert event.callback_ms == event.event_ms + 1000
    assert list(event.raw) == [
        "EventGroupId",
        "EventType",
        "CallbackTs",
        "EventId",
        "RoomSeq",
        "EventTime",
        "SendTime",
        "EventInfo",
    ]


def test_string_rooms_stay_strings_and_the_body_is_utf8() -> None:
    info = event_info(room="房间-1", user_id="用户", event_type=204, event_time=WHEN, role=1, reason=0)
    body = _body(event_group=2, event_type=204, info=info)
    assert "房间-1".encode() in body  # not \\u escapes: the signature covers these exact bytes
    event = parse_event(body)
    assert event.room_id == "房间-1" and event.role is None  # Role only on 103 and 105


def test_a_plain_trtc_body_parses_too() -> None:
    trtc = {
        "EventGroupId": 2,
        "EventType": 201,
        "CallbackTs": 1687770730166,
        "EventInfo": {"RoomId": 12345, "EventTs": 1687770730, "EventMsTs": 1687770730160, "UserId": "a"},
    }
    event = parse_event(json.dumps(trtc).encode())
    assert event.event_id == "" and event.room_seq == 0 and event.reason is None
    assert event.event_time == datetime.fromtimestamp(1687770730.160, UTC)
    assert event.send_time == datetime.fromtimestamp(1687770730.166, UTC)


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"EventGroupId": 1, "EventType": 101, "CallbackTs": 1}',
        b'{"EventGroupId": 1, "EventType": 101, "CallbackTs": 1, "EventInfo": {"RoomId": true}}',
        b'{"EventGroupId": "1", "EventType": 101, "CallbackTs": 1, "EventInfo": {"RoomId": 1}}',
        b'{"EventGroupId": 1, "EventType": 101, "CallbackTs": 1, "EventTime": "yesterday",'
        b' "EventInfo": {"RoomId": 1}}',
    ],
)
def test_parse_event_refuses_other_shapes(body: bytes) -> None:
    with pytest.raises(CallbackFormatError):
        parse_event(body)


def test_headers_carry_the_app_and_a_signature_only_with_a_key() -> None:
    body = _body()
    signed = callback_headers(1400000001, "key", body)
    assert signed["SdkAppId"] == "1400000001" and verify_signature("key", body, signed["Sign"])
    assert "Sign" not in callback_headers(1400000001, "", body)


def test_times_groups_and_rooms() -> None:
    assert rfc3339_ms(WHEN) == "2026-05-04T03:02:01.987Z"
    assert rfc3339_ms(datetime(2026, 1, 1, 9, tzinfo=UTC) + timedelta(hours=0)) == "2026-01-01T09:00:00.000Z"
    assert [event_group_of(t) for t in (101, 105, 201, 206)] == [1, 1, 2, 2]
    with pytest.raises(ValueError):
        event_group_of(301)
    assert room_of_key("n:12") == 12 and room_of_key("s:12") == "12" and room_of_key("s:a:b") == "a:b"


def _event(**overrides: object) -> EventInput:
    fields: dict[str, object] = {
        "event_id": "e",
        "sdk_app_id": 1400000001,
        "room_id": 1,
        "str_room_id": None,
        "user_id": "u",
        "event_type": 103,
        "event_time": WHEN,
        "role": 1,
    }
    fields.update(overrides)
    return EventInput(**fields)  # type: ignore[arg-type]


def test_event_rules() -> None:
    assert check_event(_event(), WHEN) == []
    assert check_event(_event(event_type=101, user_id="", role=0), WHEN) == []
    assert [v.field for v in check_event(_event(event_type=104, user_id=""), WHEN)] == ["user_id"]
    assert [v.field for v in check_event(_event(room_id=None), WHEN)] == ["room"]
    assert [v.field for v in check_event(_event(room_id=None, str_room_id="x" * 65), WHEN)] == ["str_room_id"]
    assert [v.field for v in check_event(_event(event_type=999), WHEN)] == ["type"]
    assert [v.field for v in check_event(_event(role=3), WHEN)] == ["role"]
    assert [v.field for v in check_event(_event(session={"region": "r" * 65}), WHEN)] == ["session.region"]
    assert [v.field for v in check_event(_event(event_time=None), WHEN)] == ["event_time"]


def test_the_canonical_form_tells_a_retry_from_a_conflict() -> None:
    base = canonical_of(_event(session={"region": "ap-tokyo"}))
    assert digest(base) == digest(canonical_of(_event(session={"region": "ap-tokyo"})))
    # session attributes count only on user entered; elsewhere they are not kept
    exited = _event(event_type=104, session={"region": "x"})
    assert canonical_of(exited)["session"] == {}
    moved = canonical_of(_event(event_time=WHEN + timedelta(microseconds=1), user_id="v"))
    assert differing_fields(base, moved) == ("user_id", "event_time", "session")
    assert digest(base) != digest(moved)


def test_backoff_follows_the_svix_schedule_capped_with_up_to_20_percent_jitter() -> None:
    # decision 0015: 5 s, 5 min, 30 min, 2 h, 5 h, then 10 h; each at most the cap (1 h by default)
    def top(low: float, high: float) -> float:
        return high

    def bottom(low: float, high: float) -> float:
        return low

    uncapped = timedelta(hours=10)
    steps = [backoff(k, uncapped, top).total_seconds() for k in range(1, 10)]
    assert steps == [5, 300, 1800, 7200, 18000, 36000, 36000, 36000, 36000]
    capped = [backoff(k, timedelta(hours=1), top).total_seconds() for k in (1, 2, 3, 4, 5, 60)]
    assert capped == [5, 300, 1800, 3600, 3600, 3600]
    assert backoff(1, uncapped, bottom) == timedelta(seconds=4)  # 20 % earlier at most
    assert backoff(4, timedelta(hours=1), bottom) == timedelta(minutes=48)
    assert backoff(1, timedelta(0), bottom) == timedelta(milliseconds=100)  # never zero


def test_the_default_schedule_retries_for_at_least_24_hours() -> None:
    # the earliest each attempt can come (every wait 20 % short): the window still sees attempts
    cap, at, attempts = timedelta(hours=1), timedelta(0), 1
    while at < timedelta(hours=24):
        at += backoff(attempts, cap, lambda low, high: low)
        attempts += 1
    assert attempts >= 25  # an attempt at least every hour; the first one past 24 h expires it
