"""The contract's limits hold over real gRPC, before any store work (issue 10 #1, #2)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc

from rtcconsole.v1 import app_service_pb2 as pb
from rtcconsole.v1 import ingest_service_pb2 as ingest_pb
from rtcconsole_server.server import Server
from tests.callback_support import DATA_PLANE, ingest_stub
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


async def test_a_stream_message_over_a_limit_ends_the_stream_with_invalid_argument(tenant: Tenant) -> None:
    async def requests() -> AsyncIterator[ingest_pb.StreamEventsRequest]:
        yield ingest_pb.StreamEventsRequest(events=[ingest_pb.RoomEvent(event_id="e", sdk_app_id=2**63)])

    failure = await fails(
        ingest_stub(tenant.channel).StreamEvents(requests(), metadata=DATA_PLANE), CODE.INVALID_ARGUMENT
    )
    assert set(failure.field_violations) == {"events[0].sdk_app_id"}
    assert failure.field_violations["events[0].sdk_app_id"].endswith("(the message at stream index 0)")


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
