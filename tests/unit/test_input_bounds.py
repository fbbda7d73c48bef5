"""The pure pieces behind issue 10 §2's fixes: bounded statuses, short logs, one rule for rooms
and stored text, operation names, instants with room for date arithmetic, parseable URLs."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from google.rpc import error_details_pb2, status_pb2
from hypothesis import given, settings
from hypothesis import strategies as st

from rtcconsole.v1 import app_service_pb2 as app_pb
from rtcconsole.v1 import ingest_service_pb2 as ingest_pb
from rtcconsole_server import errors
from rtcconsole_server.api.errors import (
    MAX_DETAILS_BYTES,
    MAX_MESSAGE_BYTES,
    MAX_VALUE_CHARS,
    bounded_message,
    shorten,
    to_status,
    wire_length,
)
from rtcconsole_server.api.redact import REDACTED, redacted_text
from rtcconsole_server.domain.apps._apps import operation_id, operation_name
from rtcconsole_server.domain.common import (
    EARLIEST,
    LATEST,
    NUL_RULE,
    instant_violations,
    key_violations,
    room_violations,
    text_violations,
)
from rtcconsole_server.domain.config._rules import check_callback_url
from rtcconsole_server.errors import FieldViolation


def _trailers(status: object) -> dict[str, bytes | str]:
    return dict(status.trailing_metadata)  # type: ignore[attr-defined]


def _decoded(status: object) -> status_pb2.Status:
    raw = _trailers(status)["grpc-status-details-bin"]
    assert isinstance(raw, bytes)
    return status_pb2.Status.FromString(raw)


def _wire_bytes_of(status: object) -> int:
    """What the status takes in the trailers: grpc-message plus grpc-status-details-bin in base64."""
    raw = _trailers(status)["grpc-status-details-bin"]
    assert isinstance(raw, bytes)
    return wire_length(status.details) + len(base64.b64encode(raw))  # type: ignore[attr-defined]


# ------------------------------------------------------------------ statuses


def test_short_values_are_kept_as_they_are() -> None:
    assert shorten("x" * MAX_VALUE_CHARS) == "x" * MAX_VALUE_CHARS
    assert bounded_message("is required") == "is required"
    error = errors.InvalidArgument(FieldViolation("name", "is required"))
    status = to_status(error)
    assert status.details == "name: is required"
    bad = error_details_pb2.BadRequest()
    _decoded(status).details[0].Unpack(bad)
    assert [(v.field, v.description) for v in bad.field_violations] == [("name", "is required")]


def test_a_long_value_keeps_its_start_and_says_how_long_it_was() -> None:
    cut = shorten("中" * 10_000)
    assert len(cut) <= MAX_VALUE_CHARS and cut.startswith("中" * 100) and cut.endswith("(10000 characters)")


@settings(max_examples=200, deadline=None, database=None, derandomize=True)
@given(st.text(max_size=3000))
def test_a_message_fits_in_grpc_message_and_is_cut_on_a_character(text: str) -> None:
    cut = bounded_message(text)
    assert wire_length(cut) <= MAX_MESSAGE_BYTES
    if wire_length(text) <= MAX_MESSAGE_BYTES:
        assert cut == text
    else:
        kept = cut.rsplit("… (", 1)[0]
        assert text.startswith(kept) and cut.endswith(f"({len(text)} characters)")


def test_5000_violations_with_long_descriptions_fit_in_the_trailers() -> None:
    violations = [FieldViolation(f"events[{i}].event_id", "must be " + "很长" * 300) for i in range(5000)]
    status = to_status(errors.InvalidArgument(violations))
    assert wire_length(status.details) <= MAX_MESSAGE_BYTES
    decoded = _decoded(status)
    assert decoded.message == status.details  # the same text in both places
    assert sum(d.ByteSize() for d in decoded.details) <= MAX_DETAILS_BYTES + 64 * len(decoded.details)
    assert _wire_bytes_of(status) < 7 * 1024  # under the client's 8 KiB
    bad = error_details_pb2.BadRequest()
    decoded.details[0].Unpack(bad)
    shown = bad.field_violations
    assert 1 < len(shown) < 5000
    assert all(len(v.description) <= MAX_VALUE_CHARS for v in shown)
    assert (
        shown[-1].description
        == f"this and {5000 - len(shown)} more are not shown (a reply's size is bounded)"
    )
    assert shown[-1].field == f"events[{len(shown) - 1}].event_id"  # the first one left out


def test_an_echoed_resource_name_is_cut_in_the_message_and_the_details() -> None:
    status = to_status(errors.NotFound("tag", "k=" + "v" * 10_000))
    assert len(status.details) < MAX_VALUE_CHARS + 20
    info = error_details_pb2.ResourceInfo()
    _decoded(status).details[0].Unpack(info)
    assert len(info.resource_name) <= MAX_VALUE_CHARS and len(info.description) <= MAX_VALUE_CHARS


def test_a_conflict_naming_5000_resources_keeps_the_ones_that_fit() -> None:
    error = errors.AlreadyExists("event", "e-0", "reused", others=[f"e-{i}" * 20 for i in range(1, 5000)])
    status = to_status(error)
    decoded = _decoded(status)
    assert 1 < len(decoded.details) < 5000
    assert _wire_bytes_of(status) < 7 * 1024


def test_a_long_precondition_is_cut() -> None:
    violations = [errors.PreconditionViolation("APP_STATUS", f"apps/{i}", "x" * 1000) for i in range(100)]
    status = to_status(errors.FailedPrecondition(violations))
    assert wire_length(status.details) <= MAX_MESSAGE_BYTES
    assert _wire_bytes_of(status) < 7 * 1024


# ------------------------------------------------------------------ DEBUG logs


def test_request_logs_shorten_long_strings_bytes_and_lists_and_still_redact() -> None:
    events = [ingest_pb.RoomEvent(event_id="e" * 500, user_id="u") for _ in range(5000)]
    text = redacted_text(ingest_pb.ReportEventsRequest(events=events))
    assert len(text) < 1000
    assert "<500 characters>" in text and "[events: 5000 items, 3 logged]" in text
    material = redacted_text(app_pb.CreateMaterialRequest(sdk_app_id=1, name="n" * 64, content=b"x" * 1000))
    assert "<1000 bytes>" in material and "n" * 64 in material  # 64 characters are not long
    secret = redacted_text(app_pb.DisableAppRequest(sdk_app_id=7, secondary_auth_token="t" * 500))
    assert REDACTED in secret and "ttt" not in secret
    tags = redacted_text(app_pb.AddAppTagsRequest(tags=[app_pb.Tag(key=f"k{i}") for i in range(50)]))
    assert "tags: 50 items, 3 logged" in tags and "k3" not in tags


# ------------------------------------------------------------------ rooms, stored text, instants


@pytest.mark.parametrize(
    ("room_id", "str_room_id", "field"),
    [
        (0, None, "room_id"),
        (4_294_967_295, None, "room_id"),
        (None, "", "str_room_id"),
        (None, "x" * 65, "str_room_id"),
        (None, "a\x00b", "str_room_id"),
        (None, None, "room"),
    ],
)
def test_one_rule_for_rooms(room_id: int | None, str_room_id: str | None, field: str) -> None:
    problems = room_violations(room_id, str_room_id)
    assert [p.field for p in problems] == [field]
    key = (
        ""
        if room_id is None and str_room_id is None
        else (f"n:{room_id}" if room_id is not None else f"s:{str_room_id}")
    )
    assert key_violations(key) == problems  # a record's room key is held to the same rule


def test_valid_rooms_and_keys() -> None:
    for room_id, str_room_id in ((1, None), (4_294_967_294, None), (None, "房" * 64), (None, "1234")):
        assert room_violations(room_id, str_room_id) == []
    assert key_violations("n:42") == [] and key_violations("s:abc") == []
    assert [p.field for p in key_violations("n:\u0661")] == ["room"]  # not ASCII digits: no room


def test_stored_text_refuses_nul_and_checks_lengths() -> None:
    assert text_violations("a\x00b", "f") == [FieldViolation("f", NUL_RULE)]
    assert text_violations("", "f", min_len=1, max_len=4) == [FieldViolation("f", "must be 1-4 characters")]
    assert text_violations("abcde", "f", max_len=4) == [FieldViolation("f", "must be at most 4 characters")]
    assert text_violations("中文", "f", min_len=1, max_len=2) == []


def test_instants_keep_a_week_of_room_at_both_ends_of_the_calendar() -> None:
    assert instant_violations(None, "t") == []
    assert instant_violations(EARLIEST, "t") == [] and instant_violations(LATEST, "t") == []
    for instant in (datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, 23, 59, tzinfo=UTC)):
        assert [v.field for v in instant_violations(instant, "t")] == ["t"]
    # the arithmetic the usage rules do on an accepted instant stays in the calendar
    assert EARLIEST - timedelta(days=2) > datetime.min.replace(tzinfo=UTC)
    assert LATEST + timedelta(days=2) < datetime.max.replace(tzinfo=UTC)


# ------------------------------------------------------------------ operation names


@pytest.mark.parametrize(
    "name",
    [
        "operations/\u0661\u0662",
        "operations/\uff11",
        "operations/\u00b2",
        "operations/9223372036854775808",
        "operations/" + "9" * 20,
        "operations/01",
        "operations/0",
        "operations/-1",
        "operations/1 ",
        "operation/1",
        "operations",
    ],
)
def test_operation_names_other_than_ours_have_no_id(name: str) -> None:
    assert operation_id(name) is None


def test_operation_names_round_trip() -> None:
    for number in (1, 42, 2**63 - 1):
        assert operation_id(operation_name(number)) == number


# ------------------------------------------------------------------ callback URLs


@pytest.mark.parametrize(
    "url", ["http://0177.0.0.1/", "http://999.999.999.999/", "http://1.2.3.999/", "http://xn--zz/"]
)
def test_urls_the_http_client_cannot_parse_are_refused(url: str) -> None:
    (violation,) = check_callback_url(url, "room_event_url")
    assert "HTTP client can parse" in violation.description


@pytest.mark.parametrize(
    "url", ["https://example.com/cb", "http://xn--bcher-kva.example/", "http://203.0.113.7:8080/x?y=1"]
)
def test_urls_the_http_client_parses_are_kept(url: str) -> None:
    assert check_callback_url(url, "room_event_url") == []
