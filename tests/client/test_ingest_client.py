"""IngestClient against the real server (SQLite and PostgreSQL): events, usage, quality samples and
client events, batch and stream."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from datetime import datetime, timedelta
from typing import Any

import pytest

from rtcconsole import (
    AlreadyExists,
    DeadlineExceeded,
    IngestClient,
    InvalidArgument,
    PermissionDenied,
    RtcConsole,
    Unauthenticated,
    Unavailable,
)
from rtcconsole.v1 import ingest_service_pb2 as pb
from rtcconsole.v1 import quality_pb2 as quality_pb
from rtcconsole.v1 import usage_service_pb2 as usage_pb
from rtcconsole_server.clock import ManualClock
from rtcconsole_server.server import Server
from tests.support import Tenant

TOKEN = "data-plane-test-token"
"""The server fixture's ``--data-plane-token``."""


def _event(event_id: str, sdk_app_id: int, at: datetime, **fields: Any) -> pb.RoomEvent:
    values: dict[str, Any] = {
        "event_id": event_id,
        "sdk_app_id": sdk_app_id,
        "room_id": 42,
        "user_id": "alice",
        "type": pb.EVENT_TYPE_USER_ENTERED,
        "role": pb.ROLE_ANCHOR,
    } | fields
    event = pb.RoomEvent(**values)
    event.event_time.FromDatetime(at)
    return event


def _usage(record_id: str, sdk_app_id: int, at: datetime, **fields: Any) -> pb.UsageRecord:
    values: dict[str, Any] = {
        "record_id": record_id,
        "sdk_app_id": sdk_app_id,
        "str_room_id": "lobby",
        "user_id": "alice",
        "kind": usage_pb.USAGE_KIND_INTERACTIVE_AV,
        "category": usage_pb.USAGE_CATEGORY_HD,
        "seconds": 60,
    } | fields
    record = pb.UsageRecord(**values)
    record.start_time.FromDatetime(at)
    return record


@pytest.fixture
async def ingest(server: Server) -> AsyncIterator[IngestClient]:
    async with await IngestClient.connect(server.target, data_plane_token=TOKEN, timeout=10) as client:
        yield client


async def test_report_events_counts_a_retry_once_and_refuses_a_bad_batch_whole(
    ingest: IngestClient, tenant: Tenant, clock: ManualClock
) -> None:
    app = await tenant.create_app("reported")
    now = clock.now()
    batch = [_event(f"e{i}", app.sdk_app_id, now, user_id=f"u{i}") for i in range(3)]
    first = await ingest.report_events(batch)
    assert (first.accepted, first.duplicates) == (3, 0)
    again = await ingest.report_events(iter(batch))  # any iterable
    assert (again.accepted, again.duplicates) == (0, 3)

    late = _event("late", app.sdk_app_id, now + timedelta(hours=1))
    with pytest.raises(InvalidArgument) as invalid:
        await ingest.report_events([_event("fresh", app.sdk_app_id, now), late])
    assert [v.field for v in invalid.value.field_violations] == ["events[1].event_time"]
    with pytest.raises(AlreadyExists) as conflict:
        await ingest.report_events([_event("e0", app.sdk_app_id, now, user_id="mallory")])
    assert conflict.value.resource_info.resource_name == f"{app.sdk_app_id}/e0"
    fresh = await ingest.report_events([_event("fresh", app.sdk_app_id, now)])
    assert fresh.accepted == 1  # nothing of the refused batch was stored


async def test_stream_events_takes_lists_or_an_async_generator_and_reports_per_event(
    ingest: IngestClient, tenant: Tenant, clock: ManualClock
) -> None:
    app = await tenant.create_app("streamed")
    now = clock.now()
    tally = await ingest.stream_events(
        [[_event("a", app.sdk_app_id, now), _event("b", app.sdk_app_id, now, user_id="bob")], []]
    )
    assert (tally.accepted, tally.duplicates, tally.rejected) == (2, 0, 0)

    async def batches() -> AsyncIterator[Iterable[pb.RoomEvent]]:
        yield [_event("a", app.sdk_app_id, now)]
        await asyncio.sleep(0)  # a reporter that waits for more
        yield (e for e in [_event("c", app.sdk_app_id, now + timedelta(hours=1))])
        yield [_event("d", app.sdk_app_id, now, user_id="dan")]

    tally = await ingest.stream_events(batches())
    assert (tally.accepted, tally.duplicates, tally.rejected) == (1, 1, 1)
    [rejection] = tally.rejections
    assert (rejection.index, rejection.id, rejection.code, list(rejection.fields)) == (
        1,
        "c",
        "INVALID_ARGUMENT",
        ["event_time"],
    )


async def test_usage_batch_and_stream(ingest: IngestClient, tenant: Tenant, clock: ManualClock) -> None:
    app = await tenant.create_app("metered")
    now = clock.now()
    records = [_usage(f"r{i}", app.sdk_app_id, now - timedelta(minutes=i)) for i in range(3)]
    reported = await ingest.report_usage(records)
    assert (reported.accepted, reported.duplicates) == (3, 0)
    with pytest.raises(InvalidArgument) as invalid:
        await ingest.report_usage([_usage("zero", app.sdk_app_id, now, seconds=0)])
    assert [v.field for v in invalid.value.field_violations] == ["records[0].seconds"]

    streamed = await ingest.stream_usage(
        [records[:2], [_usage("r9", app.sdk_app_id, now), _usage("r0", app.sdk_app_id, now, seconds=5)]]
    )
    assert (streamed.accepted, streamed.duplicates, streamed.rejected) == (1, 2, 1)
    assert [(r.index, r.code) for r in streamed.rejections] == [(3, "ALREADY_EXISTS")]


def _sample(sdk_app_id: int, at: datetime, **fields: Any) -> quality_pb.QualitySample:
    values: dict[str, Any] = {
        "sdk_app_id": sdk_app_id,
        "room_id": 42,
        "user_id": "bob",
        "peer_id": "alice",
        "media": quality_pb.MEDIA_KIND_AUDIO,
        "stall_ms": 0,
    } | fields
    sample = quality_pb.QualitySample(**values)
    sample.sample_time.FromDatetime(at)
    return sample


async def test_quality_batch_and_stream(ingest: IngestClient, tenant: Tenant, clock: ManualClock) -> None:
    app = await tenant.create_app("measured")
    now = clock.now()
    samples = [_sample(app.sdk_app_id, now - timedelta(seconds=2 * i)) for i in range(3)]
    reported = await ingest.report_quality(samples)
    assert (reported.accepted, reported.duplicates) == (3, 0)
    with pytest.raises(InvalidArgument) as invalid:
        await ingest.report_quality(
            [_sample(app.sdk_app_id, now, capture_fps=15)]
        )  # a receiver captures nothing
    assert [v.field for v in invalid.value.field_violations] == ["samples[0].capture_fps"]
    with pytest.raises(AlreadyExists):
        await ingest.report_quality([_sample(app.sdk_app_id, now, stall_ms=300)])

    async def batches() -> AsyncIterator[Iterable[quality_pb.QualitySample]]:
        yield samples[:2]
        yield [_sample(app.sdk_app_id, now + timedelta(seconds=2), sample_id="new")]
        yield [_sample(app.sdk_app_id, now, sample_id="changed", stall_ms=300)]

    streamed = await ingest.stream_quality(batches())
    assert (streamed.accepted, streamed.duplicates, streamed.rejected) == (1, 2, 1)
    assert [(r.index, r.id, r.code) for r in streamed.rejections] == [(3, "changed", "ALREADY_EXISTS")]


async def test_client_events_batch_and_stream(
    ingest: IngestClient, tenant: Tenant, clock: ManualClock
) -> None:
    app = await tenant.create_app("eventful")
    now = clock.now()

    def event(event_id: str, **fields: Any) -> quality_pb.ClientEvent:
        values: dict[str, Any] = {
            "event_id": event_id,
            "sdk_app_id": app.sdk_app_id,
            "room_id": 42,
            "user_id": "bob",
            "type": quality_pb.CLIENT_EVENT_TYPE_RECEIVER_RENDER_FPS_ABNORMAL,
            "peer_id": "alice",
        } | fields
        message = quality_pb.ClientEvent(**values)
        message.event_time.FromDatetime(now)
        return message

    reported = await ingest.report_client_events([event("a"), event("b")])
    assert (reported.accepted, reported.duplicates) == (2, 0)
    with pytest.raises(InvalidArgument) as invalid:
        await ingest.report_client_events([event("c", peer_id="")])
    assert [v.field for v in invalid.value.field_violations] == ["events[0].peer_id"]
    streamed = await ingest.stream_client_events([[event("a")], [event("b", peer_id="carol"), event("d")]])
    assert (streamed.accepted, streamed.duplicates, streamed.rejected) == (1, 1, 1)
    assert [(r.index, r.id, r.code, list(r.fields)) for r in streamed.rejections] == [
        (1, "b", "ALREADY_EXISTS", ["peer_id"])
    ]


async def test_only_the_data_plane_token_is_admitted(server: Server, tenant: Tenant) -> None:
    async with await IngestClient.connect(server.target, data_plane_token=tenant.api_key) as with_a_key:
        with pytest.raises(PermissionDenied):
            await with_a_key.report_events([])
        with pytest.raises(PermissionDenied):
            await with_a_key.report_quality([])
        with pytest.raises(PermissionDenied):
            await with_a_key.stream_client_events([[]])
    async with await IngestClient.connect(server.target, data_plane_token="not-the-token") as wrong:
        with pytest.raises(Unauthenticated):
            await wrong.stream_usage([[]])
        with pytest.raises(Unauthenticated):
            await wrong.stream_quality([[]])
        with pytest.raises(Unauthenticated):
            await wrong.report_client_events([])
    with pytest.raises(ValueError, match="data_plane_token"):
        await IngestClient.connect(server.target, data_plane_token=" ")


async def test_the_deadline_covers_the_whole_stream(ingest: IngestClient) -> None:
    async def stalled() -> AsyncIterator[list[pb.UsageRecord]]:
        yield []
        await asyncio.sleep(5)
        yield []  # pragma: no cover - the deadline ends the call first

    with pytest.raises(DeadlineExceeded):
        await ingest.stream_usage(stalled(), rpc_timeout=0.3)


async def test_a_channel_of_yours_is_left_open(server: Server, tenant: Tenant) -> None:
    """Built on a channel (here the one an RtcConsole uses), the client does not close it."""
    console = RtcConsole(tenant.channel, api_key=tenant.api_key)
    async with IngestClient(tenant.channel, data_plane_token=TOKEN) as ingest:
        assert (await ingest.report_events([])).accepted == 0
    assert TOKEN not in repr(ingest)
    assert (await console.apps.list_apps()).apps is not None  # the channel still works


async def test_connect_waiting_for_an_absent_server_is_unavailable(unused_tcp_port: int) -> None:
    with pytest.raises(Unavailable):
        await IngestClient.connect(
            f"127.0.0.1:{unused_tcp_port}", data_plane_token=TOKEN, timeout=0.3, wait_ready=True
        )
