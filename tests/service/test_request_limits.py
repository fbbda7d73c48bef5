"""The contract's limits hold over real gRPC, before any store work (issue 10 #1, #2)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
from google.protobuf import descriptor_pool
from google.protobuf.timestamp_pb2 import Timestamp

from rtcconsole.v1 import app_service_pb2 as pb
from rtcconsole.v1 import ingest_service_pb2 as ingest_pb
from rtcconsole.v1 import usage_service_pb2 as usage_pb
from rtcconsole_server.api.stream_records import MAX_ECHOED_ID, record_field
from rtcconsole_server.clock import ManualClock
from rtcconsole_server.server import SERVICE_NAMES, Server
from tests.callback_support import DATA_PLANE, ingest_stub, report, room_event, stream
from tests.support import Tenant, fails

CODE = grpc.StatusCode


async def test_a_huge_tags_filter_is_refused_by_its_cap(tenant: Tenant) -> None:
    tags = [pb.Tag(key=f"k{n}", value="v") for n in range(100_000)]  # the 1.8 MB request of the probe
    failure = await fails(
        tenant.apps.ListApps(pb.ListAppsRequest(tags=tags), metadata=tenant.metadata), CODE.INVALID_ARGUMENT
    )
    assert failure.field_violations == {"tags": "must hold at most 50 items (got 100000)"}


async def test_name_contains_is_capped_at_the_name_limit(tenant: Tenant) -> None:
    failure = await fails(
        tenant.apps.ListApps(pb.ListAppsRequest(name_contains="x" * 16), metadata=tenant.metadata),
        CODE.INVALID_ARGUMENT,
    )
    assert set(failure.field_violations) == {"name_contains"}


async def test_uint64_ids_beyond_the_store_are_invalid_argument(tenant: Tenant) -> None:
    for sdk_app_id in (2**63, 2**64 - 1):
        failure = await fails(
            tenant.apps.GetApp(pb.GetAppRequest(sdk_app_id=sdk_app_id), metadata=tenant.metadata),
            CODE.INVALID_ARGUMENT,
        )
        assert set(failure.field_violations) == {"sdk_app_id"}


async def test_a_stream_record_over_a_limit_is_rejected_and_the_stream_goes_on(
    tenant: Tenant, clock: ManualClock
) -> None:
    """Issue 10 #2: a record over a limit (uint64 ≥ 2^63, an over-long room id) is one
    RejectedRecord with its field; the records around it and the later batches are stored."""
    app = await tenant.create_app()
    now = clock.now()
    good = [room_event(f"e{i}", app.sdk_app_id, at=now, user=f"u{i}") for i in range(4)]
    too_big = room_event("big", 2**63, at=now)
    too_long = room_event("long", app.sdk_app_id, at=now, room="r" * 65)
    no_app = room_event("no-app", app.sdk_app_id + 1000, at=now)  # the domain's rule, not a limit
    batches = [[good[0], too_big, too_long, good[1], no_app], [good[2]], [no_app, good[3]]]
    response = await stream(tenant.channel, batches)
    assert (response.accepted, response.duplicates, response.rejected) == (4, 0, 4)
    assert [(r.index, r.id, r.code, list(r.fields)) for r in response.rejections] == [
        (1, "big", "INVALID_ARGUMENT", ["sdk_app_id"]),
        (2, "long", "INVALID_ARGUMENT", ["str_room_id"]),
        (4, "no-app", "INVALID_ARGUMENT", ["sdk_app_id"]),
        (6, "no-app", "INVALID_ARGUMENT", ["sdk_app_id"]),
    ]
    assert "at most 9223372036854775807" in response.rejections[0].reason
    again = await report(tenant.channel, good)  # all four were stored: a retry counts them once
    assert (again.accepted, again.duplicates) == (0, 4)


async def test_a_usage_record_over_a_limit_is_rejected_and_the_stream_goes_on(
    tenant: Tenant, clock: ManualClock
) -> None:
    app = await tenant.create_app()
    stamp = Timestamp()
    stamp.FromDatetime(clock.now())

    def record(record_id: str, sdk_app_id: int) -> ingest_pb.UsageRecord:
        return ingest_pb.UsageRecord(
            record_id=record_id,
            sdk_app_id=sdk_app_id,
            room_id=7,
            user_id="alice",
            kind=usage_pb.USAGE_KIND_INTERACTIVE_AV,
            category=usage_pb.USAGE_CATEGORY_HD,
            start_time=stamp,
            seconds=61,
        )

    async def batches() -> AsyncIterator[ingest_pb.StreamUsageRequest]:
        yield ingest_pb.StreamUsageRequest(
            records=[record("a", app.sdk_app_id), record("x" * 200, 2**64 - 1)]
        )
        yield ingest_pb.StreamUsageRequest(records=[record("b", app.sdk_app_id)])

    response = await ingest_stub(tenant.channel).StreamUsage(batches(), metadata=DATA_PLANE)
    assert (response.accepted, response.duplicates, response.rejected) == (2, 0, 1)
    [rejected] = response.rejections
    assert (rejected.index, rejected.code) == (1, "INVALID_ARGUMENT")
    assert list(rejected.fields) == ["record_id", "sdk_app_id"]
    assert len(rejected.id) == MAX_ECHOED_ID + 1  # the over-long id echoed shortened
    again = await ingest_stub(tenant.channel).ReportUsage(
        ingest_pb.ReportUsageRequest(records=[record("a", app.sdk_app_id), record("b", app.sdk_app_id)]),
        metadata=DATA_PLANE,
    )
    assert (again.accepted, again.duplicates) == (0, 2)


async def test_a_stream_message_over_its_own_limit_still_ends_the_stream(tenant: Tenant) -> None:
    """A limit of the message itself (more records than a batch holds) is no record's fault."""

    async def requests() -> AsyncIterator[ingest_pb.StreamEventsRequest]:
        yield ingest_pb.StreamEventsRequest(events=[ingest_pb.RoomEvent(event_id="e")] * 5001)

    failure = await fails(
        ingest_stub(tenant.channel).StreamEvents(requests(), metadata=DATA_PLANE), CODE.INVALID_ARGUMENT
    )
    assert set(failure.field_violations) == {"events"}
    assert failure.field_violations["events"].endswith("(the message at stream index 0)")


async def test_a_corrupt_stream_message_ends_the_stream(tenant: Tenant) -> None:
    method = "/rtcconsole.v1.IngestService/StreamEvents"
    raw: grpc.aio.StreamUnaryMultiCallable[bytes, bytes] = tenant.channel.stream_unary(
        method, request_serializer=None, response_deserializer=None
    )

    async def requests() -> AsyncIterator[bytes]:
        yield b"\xff\xff\xff"  # a broken tag

    failure = await fails(raw(requests(), metadata=DATA_PLANE), CODE.INVALID_ARGUMENT)
    assert set(failure.field_violations) == {"request"}


def test_every_stream_that_reports_rejections_screens_per_record() -> None:
    """A new ingest stream inherits per-record screening by its shape (api/stream_records.py)."""
    screened = {}
    for name in SERVICE_NAMES:
        service = descriptor_pool.Default().FindServiceByName(name)
        for method in service.methods:
            path = f"/{service.full_name}/{method.name}"
            if method.client_streaming and "rejections" in method.output_type.fields_by_name:
                screened[method.name] = record_field(path)
            else:
                assert record_field(path) is None, path
    assert screened == {
        "StreamEvents": "events",
        "StreamUsage": "records",
        "StreamQuality": "samples",
        "StreamClientEvents": "events",
    }


async def test_corrupt_wire_bytes_are_invalid_argument(server: Server, tenant: Tenant) -> None:
    method = "/rtcconsole.v1.AppService/GetApp"
    raw: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = tenant.channel.unary_unary(
        method, request_serializer=None, response_deserializer=None
    )
    failure = await fails(raw(b"\xff\xff\xff", metadata=tenant.metadata), CODE.INVALID_ARGUMENT)  # broken tag
    assert set(failure.field_violations) == {"request"}
    list_method = "/rtcconsole.v1.AppService/ListApps"
    bad_utf8 = b"\x1a\x02\xc3\x28"  # field 3 (name_contains), 2 bytes, invalid UTF-8
    raw_list: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = tenant.channel.unary_unary(
        list_method, request_serializer=None, response_deserializer=None
    )
    failure = await fails(raw_list(bad_utf8, metadata=tenant.metadata), CODE.INVALID_ARGUMENT)
    assert set(failure.field_violations) == {"request"}
