"""What the fuzzer of issue 10 §2 found, one test each, on SQLite and PostgreSQL.

Fixed here (each failed before its fix: INTERNAL, or a reply the client refused):

- ``GetUsage`` ranges at the ends of the calendar reached date arithmetic (OverflowError);
- operation names with digits Python's ``int`` reads but the store cannot hold, or not ASCII;
- callback URLs that pass the rules but the dispatcher's HTTP client cannot parse;
- statuses that echo so much (5,000 violations, long values) that the client refuses the reply;
- a NUL in text the store keeps or searches (PostgreSQL's ``text`` cannot hold it);
- rooms of usage records held to other rules than those of events;
- DEBUG request logs that only shortened bytes.

- the verifiers' own argument errors (VerifyUserSig, VerifyPrivateMapKey, AuthorizeRoomEntry);
- a NUL in two filters (ListTags ``key``, DeleteApiKey ``key_id``) on PostgreSQL: now refused for
  every request string by api/limits.py.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from rtcconsole.v1 import app_service_pb2 as app_pb
from rtcconsole.v1 import auth_service_pb2 as auth_pb
from rtcconsole.v1 import config_service_pb2 as config_pb
from rtcconsole.v1 import config_service_pb2_grpc as config_grpc
from rtcconsole.v1 import ingest_service_pb2 as ingest_pb
from rtcconsole.v1 import usage_service_pb2 as usage_pb
from rtcconsole.v1 import usage_service_pb2_grpc as usage_grpc
from rtcconsole_server.clock import ManualClock
from tests.callback_support import DATA_PLANE, ingest_stub, room_event
from tests.fuzz.harness import MAX_MESSAGE_WIRE_BYTES, MAX_TRAILER_BYTES, wire_length
from tests.fuzz.schema import YEAR_1, YEAR_9999_END
from tests.support import Tenant, fails

CODE = grpc.StatusCode
DAY = 86_400


def _stamp(seconds: int) -> Timestamp:
    return Timestamp(seconds=seconds)


def _trailer_bytes(error: grpc.aio.AioRpcError) -> int:
    details = dict(error.trailing_metadata() or ()).get("grpc-status-details-bin", b"")
    assert isinstance(details, bytes)
    return wire_length(error.details() or "") + math.ceil(len(details) * 4 / 3)


async def _error(call: object) -> grpc.aio.AioRpcError:
    try:
        await call  # type: ignore[misc]
    except grpc.aio.AioRpcError as error:
        return error
    raise AssertionError("the call succeeded")


# ------------------------------------------------------------------ instants at the ends of time


USAGE_RANGES_OFF_THE_CALENDAR = (
    (YEAR_1, YEAR_1 + 300),  # the window before the first one does not exist
    (YEAR_1 + 1, YEAR_1 + 301),
    (YEAR_1, YEAR_1 + 2 * DAY),
    (YEAR_9999_END - 600, YEAR_9999_END),  # rounding the end up leaves the calendar
    (YEAR_9999_END - DAY, YEAR_9999_END - 1),
)


async def test_usage_ranges_at_the_ends_of_the_calendar_are_invalid_argument(tenant: Tenant) -> None:
    """Before: INTERNAL (OverflowError in the rounding to windows and days)."""
    app = await tenant.create_app("edges")
    stub = usage_grpc.UsageServiceStub(tenant.channel)
    for start, end in USAGE_RANGES_OFF_THE_CALENDAR:
        for granularity in (0, usage_pb.GRANULARITY_FIVE_MINUTES, usage_pb.GRANULARITY_DAY):
            request = usage_pb.GetUsageRequest(
                kind=usage_pb.USAGE_KIND_INTERACTIVE_AV,
                sdk_app_id=app.sdk_app_id,
                start_time=_stamp(start),
                end_time=_stamp(end),
                granularity=granularity,  # type: ignore[arg-type]
            )
            failure = await fails(stub.GetUsage(request, metadata=tenant.metadata), CODE.INVALID_ARGUMENT)
            assert set(failure.field_violations) & {"start_time", "end_time"}, (start, end)
            assert "must be between 0001-01-08 and 9999-12-24" in failure.message


async def test_usage_ranges_just_inside_the_bounds_are_answered(tenant: Tenant) -> None:
    stub = usage_grpc.UsageServiceStub(tenant.channel)
    for start in (datetime(1, 1, 8, tzinfo=UTC), datetime(9999, 12, 23, tzinfo=UTC)):
        started, ended = Timestamp(), Timestamp()
        started.FromDatetime(start)
        ended.FromDatetime(start + timedelta(days=1))
        request = usage_pb.GetUsageRequest(
            kind=usage_pb.USAGE_KIND_INTERACTIVE_AV, start_time=started, end_time=ended
        )
        response = await stub.GetUsage(request, metadata=tenant.metadata)
        assert not response.lines


async def test_records_at_the_ends_of_the_calendar_are_outside_the_ingest_window(tenant: Tenant) -> None:
    app = await tenant.create_app("edges")
    for seconds in (YEAR_1, YEAR_1 + 1, YEAR_9999_END - 1, YEAR_9999_END):
        await _report_at(tenant, app.sdk_app_id, seconds)


async def _report_at(tenant: Tenant, sdk_app_id: int, seconds: int) -> None:
    event = ingest_pb.RoomEvent(
        event_id="e",
        sdk_app_id=sdk_app_id,
        room_id=1,
        user_id="u",
        type=ingest_pb.EVENT_TYPE_USER_ENTERED,
        role=ingest_pb.ROLE_ANCHOR,
    )
    event.event_time.CopyFrom(_stamp(seconds))
    record = ingest_pb.UsageRecord(
        record_id="r",
        sdk_app_id=sdk_app_id,
        room_id=1,
        user_id="u",
        kind=usage_pb.USAGE_KIND_INTERACTIVE_AV,
        category=usage_pb.USAGE_CATEGORY_AUDIO,
        seconds=1,
    )
    record.start_time.CopyFrom(_stamp(seconds))
    ingest = ingest_stub(tenant.channel)
    failure = await fails(
        ingest.ReportEvents(ingest_pb.ReportEventsRequest(events=[event]), metadata=DATA_PLANE),
        CODE.INVALID_ARGUMENT,
    )
    assert set(failure.field_violations) == {"events[0].event_time"}
    failure = await fails(
        ingest.ReportUsage(ingest_pb.ReportUsageRequest(records=[record]), metadata=DATA_PLANE),
        CODE.INVALID_ARGUMENT,
    )
    assert set(failure.field_violations) == {"records[0].start_time"}


async def test_lifetimes_beyond_their_range_are_invalid_argument(tenant: Tenant) -> None:
    """2^63 - 1 s is refused by the Duration range (api/limits); the others by the lifetime rule."""
    app = await tenant.create_app("lifetimes")
    for seconds in (2**63 - 1, 315_576_000_000, 69 * 365 * DAY):
        await _generate_with(tenant, app.sdk_app_id, Duration(seconds=seconds))


async def _generate_with(tenant: Tenant, sdk_app_id: int, lifetime: Duration) -> None:
    failure = await fails(
        tenant.auth.GenerateUserSig(
            auth_pb.GenerateUserSigRequest(sdk_app_id=sdk_app_id, user_id="u", lifetime=lifetime),
            metadata=tenant.metadata,
        ),
        CODE.INVALID_ARGUMENT,
    )
    assert set(failure.field_violations) == {"lifetime"}
    failure = await fails(
        tenant.auth.GeneratePrivateMapKey(
            auth_pb.GeneratePrivateMapKeyRequest(
                sdk_app_id=sdk_app_id, user_id="u", room_id=1, lifetime=lifetime
            ),
            metadata=tenant.metadata,
        ),
        CODE.INVALID_ARGUMENT,
    )
    assert set(failure.field_violations) == {"lifetime"}


# ------------------------------------------------------------------ operation names


BAD_OPERATION_NAMES = (
    "operations/\u0661\u0662\u0663",  # Arabic-Indic digits: int() reads them
    "operations/\uff11\uff12",  # full-width digits
    "operations/\u00b2",  # superscript two: str.isdigit() but not int()
    "operations/9999999999999999999",  # 19 digits above 2^63 - 1: the store cannot hold it (INTERNAL before)
    "operations/" + "9" * 53,
    "operations/9223372036854775808",
    "operations/01",
    "operations/0",
    "operations/+1",
    "operations/ 1",
    "operations/",
    "apps/1",
)


async def test_operation_names_take_ascii_digits_within_the_store(tenant: Tenant) -> None:
    for name in BAD_OPERATION_NAMES:
        failure = await fails(
            tenant.apps.GetOperation(app_pb.GetOperationRequest(name=name), metadata=tenant.metadata),
            CODE.INVALID_ARGUMENT,
        )
        assert set(failure.field_violations) == {"name"}, name


async def test_operation_names_of_100000_digits_are_refused_by_the_cap(tenant: Tenant) -> None:
    request = app_pb.GetOperationRequest(name="operations/" + "1" * 100_000)
    failure = await fails(tenant.apps.GetOperation(request, metadata=tenant.metadata), CODE.INVALID_ARGUMENT)
    assert set(failure.field_violations) == {"name"}


async def test_the_largest_operation_id_is_not_found(tenant: Tenant) -> None:
    request = app_pb.GetOperationRequest(name="operations/9223372036854775807")
    await fails(tenant.apps.GetOperation(request, metadata=tenant.metadata), CODE.NOT_FOUND)


# ------------------------------------------------------------------ callback URLs


UNPARSABLE_URLS = ("http://0177.0.0.1/", "http://999.999.999.999/", "http://256.1.1.1/cb", "http://xn--zz/cb")


async def test_callback_urls_the_http_client_cannot_parse_are_refused(tenant: Tenant) -> None:
    """Before: accepted, then every delivery (and SendTestCallback) failed inside httpx."""
    app = await tenant.create_app("urls")
    stub = config_grpc.ConfigServiceStub(tenant.channel)
    for url, field in itertools.product(UNPARSABLE_URLS, ("room_event_url", "media_event_url")):
        request = config_pb.UpdateCallbackConfigRequest(sdk_app_id=app.sdk_app_id)
        setattr(request, field, url)
        failure = await fails(
            stub.UpdateCallbackConfig(request, metadata=tenant.metadata), CODE.INVALID_ARGUMENT
        )
        assert "HTTP client can parse" in failure.field_violations[field]


# ------------------------------------------------------------------ bounded statuses


async def test_a_batch_of_5000_bad_events_is_answered_within_the_metadata_limit(tenant: Tenant) -> None:
    """Before: one violation per event in the message and the details, ~1 MB of trailers, which
    the client refused (RESOURCE_EXHAUSTED "received metadata size exceeds soft limit")."""
    bad = ingest_pb.RoomEvent(event_id="中" * 128, sdk_app_id=1, room_id=0, user_id="u")  # no type
    error = await _error(
        ingest_stub(tenant.channel).ReportEvents(
            ingest_pb.ReportEventsRequest(events=[bad] * 5000), metadata=DATA_PLANE
        )
    )
    assert error.code() == CODE.INVALID_ARGUMENT, error.details()
    assert wire_length(error.details() or "") <= MAX_MESSAGE_WIRE_BYTES
    assert _trailer_bytes(error) <= MAX_TRAILER_BYTES
    failure = await fails(
        ingest_stub(tenant.channel).ReportEvents(
            ingest_pb.ReportEventsRequest(events=[bad] * 5000), metadata=DATA_PLANE
        ),
        CODE.INVALID_ARGUMENT,
    )
    violations = failure.details["google.rpc.BadRequest"].field_violations
    assert 1 < len(violations) < 5000
    assert "more are not shown" in violations[-1].description
    assert failure.message.endswith("characters)")  # cut, and says how long it was


async def test_an_echoed_mask_is_cut_in_the_status(tenant: Tenant) -> None:
    app = await tenant.create_app("masks")
    stub = config_grpc.ConfigServiceStub(tenant.channel)
    request = config_pb.UpdateCloudRecordingRequest(
        sdk_app_id=app.sdk_app_id, update_mask=FieldMask(paths=["路" * 64] * 16)
    )
    error = await _error(stub.UpdateCloudRecording(request, metadata=tenant.metadata))
    assert error.code() == CODE.INVALID_ARGUMENT
    assert wire_length(error.details() or "") <= MAX_MESSAGE_WIRE_BYTES
    assert _trailer_bytes(error) <= MAX_TRAILER_BYTES
    failure = await fails(stub.UpdateCloudRecording(request, metadata=tenant.metadata), CODE.INVALID_ARGUMENT)
    assert len(failure.field_violations["update_mask"]) <= 200


# ------------------------------------------------------------------ text the store keeps


async def test_a_nul_in_text_the_store_keeps_or_searches_is_invalid_argument(tenant: Tenant) -> None:
    """Before, on PostgreSQL: INTERNAL ("PostgreSQL text fields cannot contain NUL")."""
    app = await tenant.create_app("nul")
    meta, value, nul = tenant.metadata, "a\x00b", "must not contain NUL (U+0000)"
    deliveries = config_grpc.ConfigServiceStub(tenant.channel).ListCallbackDeliveries
    calls: dict[str, Awaitable[Any]] = {
        "request_id": tenant.apps.CreateApp(
            app_pb.CreateAppRequest(name="x", request_id=value), metadata=meta
        ),
        "name_contains": tenant.apps.ListApps(app_pb.ListAppsRequest(name_contains=value), metadata=meta),
        "tags[0].key": tenant.apps.ListApps(
            app_pb.ListAppsRequest(tags=[app_pb.Tag(key=value, value="v")]), metadata=meta
        ),
        "tags[0].value": tenant.apps.ListApps(
            app_pb.ListAppsRequest(tags=[app_pb.Tag(key="k", value=value)]), metadata=meta
        ),
        "room": deliveries(
            config_pb.ListCallbackDeliveriesRequest(sdk_app_id=app.sdk_app_id, room=value), metadata=meta
        ),
    }
    for field, call in calls.items():
        assert (await fails(call, CODE.INVALID_ARGUMENT)).field_violations == {field: nul}


async def test_a_nul_in_a_data_plane_record_is_invalid_argument(tenant: Tenant, clock: ManualClock) -> None:
    app = await tenant.create_app("nul")
    for field in ("event_id", "record_id", "user_id", "str_room_id"):
        await _report_with_nul(tenant, clock, app.sdk_app_id, field)


async def _report_with_nul(tenant: Tenant, clock: ManualClock, sdk_app_id: int, field: str) -> None:
    at = clock.now() - timedelta(minutes=1)
    event = room_event("e-1", sdk_app_id, at=at)
    record = ingest_pb.UsageRecord(
        record_id="r-1",
        sdk_app_id=sdk_app_id,
        room_id=1,
        user_id="u",
        kind=usage_pb.USAGE_KIND_INTERACTIVE_AV,
        category=usage_pb.USAGE_CATEGORY_AUDIO,
        seconds=1,
    )
    record.start_time.FromDatetime(at)
    if field != "record_id":
        setattr(event, field, "a\x00b")
    if field != "event_id":
        setattr(record, field, "a\x00b")
    ingest = ingest_stub(tenant.channel)
    if field != "record_id":
        failure = await fails(
            ingest.ReportEvents(ingest_pb.ReportEventsRequest(events=[event]), metadata=DATA_PLANE),
            CODE.INVALID_ARGUMENT,
        )
        assert failure.field_violations == {f"events[0].{field}": "must not contain NUL (U+0000)"}
    if field != "event_id":
        failure = await fails(
            ingest.ReportUsage(ingest_pb.ReportUsageRequest(records=[record]), metadata=DATA_PLANE),
            CODE.INVALID_ARGUMENT,
        )
        assert failure.field_violations == {f"records[0].{field}": "must not contain NUL (U+0000)"}


# ------------------------------------------------------------------ one room rule


ROOMS: tuple[tuple[dict[str, object], tuple[str, str] | None], ...] = (
    ({"room_id": 0}, ("room_id", "must be 1-4294967294")),
    ({"room_id": 4_294_967_295}, ("room_id", "must be 1-4294967294")),
    ({"str_room_id": ""}, ("str_room_id", "must be 1-64 characters")),
    ({"str_room_id": "a\x00b"}, ("str_room_id", "must not contain NUL (U+0000)")),
    ({}, ("room", "set room_id or str_room_id")),
    ({"room_id": 4_294_967_294}, None),
    ({"str_room_id": "房" * 64}, None),
)
"""A room, and the violation both kinds of records get for it (None: both are accepted)."""


def _set_room(record: Message, room: dict[str, object]) -> None:
    for name, value in room.items():
        setattr(record, name, value)


async def test_events_and_usage_records_hold_rooms_to_one_rule(tenant: Tenant, clock: ManualClock) -> None:
    """Before: a usage record took room_id 0 and 4294967295 and a NUL, which events refuse."""
    app = await tenant.create_app("rooms")
    at = clock.now() - timedelta(minutes=1)
    ingest = ingest_stub(tenant.channel)
    for index, (room, violation) in enumerate(ROOMS):
        event = ingest_pb.RoomEvent(
            event_id=f"e-{index}",
            sdk_app_id=app.sdk_app_id,
            user_id="u",
            type=ingest_pb.EVENT_TYPE_USER_ENTERED,
            role=ingest_pb.ROLE_ANCHOR,
        )
        _set_room(event, room)
        event.event_time.FromDatetime(at)
        record = ingest_pb.UsageRecord(
            record_id=f"r-{index}",
            sdk_app_id=app.sdk_app_id,
            user_id="u",
            kind=usage_pb.USAGE_KIND_INTERACTIVE_AV,
            category=usage_pb.USAGE_CATEGORY_AUDIO,
            seconds=1,
        )
        _set_room(record, room)
        record.start_time.FromDatetime(at)
        events = ingest.ReportEvents(ingest_pb.ReportEventsRequest(events=[event]), metadata=DATA_PLANE)
        usage = ingest.ReportUsage(ingest_pb.ReportUsageRequest(records=[record]), metadata=DATA_PLANE)
        if violation is None:
            assert (await events).accepted == 1, room
            assert (await usage).accepted == 1, room
            continue
        field, description = violation
        assert (await fails(events, CODE.INVALID_ARGUMENT)).field_violations == {
            f"events[0].{field}": description
        }, room
        assert (await fails(usage, CODE.INVALID_ARGUMENT)).field_violations == {
            f"records[0].{field}": description
        }, room


# ------------------------------------------------------------------ DEBUG request logs


async def test_debug_request_logs_shorten_every_long_field(
    tenant: Tenant, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="rtcconsole_server.rpc")
    app = await tenant.create_app("logged")
    event = room_event("e" * 128, app.sdk_app_id, at=clock.now(), user="用户" * 64)
    await ingest_stub(tenant.channel).ReportEvents(
        ingest_pb.ReportEventsRequest(events=[event] * 5000), metadata=DATA_PLANE
    )
    logged = [r.getMessage() for r in caplog.records if "ReportEvents <-" in r.getMessage()]
    assert len(logged) == 1
    line = logged[0]
    assert len(line) < 2000, len(line)
    assert "events: 5000 items, 3 logged" in line
    assert "<128 characters>" in line and "e" * 100 not in line


# ------------------------------------------------------------------ verifiers and filters


async def test_verify_user_sig_with_an_empty_user_id_is_invalid_argument(tenant: Tenant) -> None:
    app = await tenant.create_app("verify")
    request = auth_pb.VerifyUserSigRequest(sdk_app_id=app.sdk_app_id, user_id="", user_sig="eJw")
    await fails(tenant.auth.VerifyUserSig(request, metadata=tenant.metadata), CODE.INVALID_ARGUMENT)


async def test_verify_private_map_key_for_room_0_is_invalid_argument(tenant: Tenant) -> None:
    app = await tenant.create_app("verify")
    request = auth_pb.VerifyPrivateMapKeyRequest(
        sdk_app_id=app.sdk_app_id, user_id="alice", private_map_key="eJw", room_id=0
    )
    await fails(tenant.auth.VerifyPrivateMapKey(request, metadata=tenant.metadata), CODE.INVALID_ARGUMENT)


async def test_room_entry_for_a_user_id_over_1024_bytes_is_invalid_argument(tenant: Tenant) -> None:
    app = await tenant.create_app("entry")
    request = auth_pb.AuthorizeRoomEntryRequest(
        sdk_app_id=app.sdk_app_id, room_id=1, user_id="\uff11" * 342, user_sig="eJw"
    )
    await fails(tenant.auth.AuthorizeRoomEntry(request, metadata=DATA_PLANE), CODE.INVALID_ARGUMENT)


async def test_list_tags_with_a_nul_in_the_key_is_invalid_argument(tenant: Tenant) -> None:
    call = tenant.apps.ListTags(app_pb.ListTagsRequest(key="a\x00b"), metadata=tenant.metadata)
    await fails(call, CODE.INVALID_ARGUMENT)


async def test_delete_api_key_with_a_nul_in_the_id_is_not_internal(tenant: Tenant) -> None:
    call = tenant.auth.DeleteApiKey(auth_pb.DeleteApiKeyRequest(key_id="a\x00b"), metadata=tenant.metadata)
    error = await _error(call)
    assert error.code() in (CODE.INVALID_ARGUMENT, CODE.NOT_FOUND), error.details()
