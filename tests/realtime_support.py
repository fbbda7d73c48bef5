"""Helpers of the real-time tests (R21): records to ingest, editions, reads."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc

from rtcconsole.v1 import ingest_service_pb2 as pb
from rtcconsole.v1 import ingest_service_pb2_grpc as pb_grpc
from rtcconsole.v1 import monitor_service_pb2_grpc as monitor_grpc
from rtcconsole.v1 import quality_pb2 as quality
from rtcconsole.v1 import realtime_pb2 as rt
from rtcconsole.v1 import realtime_stream_pb2 as stream_pb
from rtcconsole_server.domain.monitor import set_edition
from rtcconsole_server.server import Server
from tests.callback_support import DATA_PLANE, room_event
from tests.support import Tenant

NOW = datetime(2026, 3, 10, 12, 0, 5, tzinfo=UTC)
"""5 s into a slot: the tests' "now" (slots start on whole 10 s)."""
SLOT = timedelta(seconds=10)
VIDEO, AUDIO = quality.MEDIA_KIND_VIDEO, quality.MEDIA_KIND_AUDIO
CPU_TOO_HIGH = quality.CLIENT_EVENT_TYPE_SENDER_CPU_TOO_HIGH
READ_TIMEOUT = 10.0
"""Real seconds a test waits for a frame that the clock already made due (a bound, not a timing)."""
Stream = grpc.aio.UnaryStreamCall[stream_pb.SubscribeRealtimeRequest, stream_pb.SubscribeRealtimeResponse]


@asynccontextmanager
async def subscribed(
    tenant: Tenant, *, stub: monitor_grpc.MonitorServiceAsyncStub | None = None, **fields: object
) -> AsyncIterator[Stream]:
    """A SubscribeRealtime call of ``tenant`` (through ``stub``, default its own server's) with
    the request's ``fields``, cancelled at the end."""
    request = stream_pb.SubscribeRealtimeRequest(**fields)  # type: ignore[arg-type]
    call = (stub or monitor(tenant)).SubscribeRealtime(request, metadata=tenant.metadata)
    try:
        yield call
    finally:
        call.cancel()


async def next_frame(call: Stream) -> stream_pb.SubscribeRealtimeResponse:
    """The stream's next frame, within :data:`READ_TIMEOUT` real seconds."""
    frame = await asyncio.wait_for(call.read(), READ_TIMEOUT)
    assert isinstance(frame, stream_pb.SubscribeRealtimeResponse)
    return frame


async def paid(server: Server, tenant: Tenant, edition: str = "basic") -> None:
    await asyncio.to_thread(set_edition, server.console.store, tenant.account_id, edition)


async def live_app(server: Server, tenant: Tenant, edition: str = "basic") -> int:
    """A new app of ``tenant``, whose account is put on ``edition`` (real time needs a paid one)."""
    app = (await tenant.create_app("live")).sdk_app_id
    await paid(server, tenant, edition)
    return app


def slot_at(frame: stream_pb.SubscribeRealtimeResponse) -> datetime:
    """A frame's ``slot_start`` as an aware datetime."""
    return frame.slot_start.ToDatetime(tzinfo=UTC)


def sample(
    app: int,
    at: datetime,
    sid: str = "s",
    *,
    room: int | str = 42,
    user: str = "alice",
    peer: str = "peer",
    media: quality.MediaKind.ValueType = VIDEO,
    interval: int = 2000,
    stall: int | None = None,
) -> quality.QualitySample:
    """A downstream sample (``peer`` set; "" is upstream) of ``user`` in ``room`` at ``at``."""
    fields: dict[str, Any] = {"sample_id": sid, "sdk_app_id": app, "user_id": user, "peer_id": peer}
    fields |= {"media": media}
    fields |= {"room_id": room} if isinstance(room, int) else {"str_room_id": room}
    if stall is not None:
        fields["stall_ms"] = stall
    message = quality.QualitySample(**fields)
    message.sample_time.FromDatetime(at)
    message.interval.FromMilliseconds(interval)
    return message


def client_event(
    app: int, at: datetime, eid: str, *, type: int = CPU_TOO_HIGH, room: int = 42, user: str = "alice"
) -> quality.ClientEvent:
    message = quality.ClientEvent(event_id=eid, sdk_app_id=app, room_id=room, user_id=user, type=type)  # type: ignore[arg-type]
    message.event_time.FromDatetime(at)
    return message


def entered(
    app: int, at: datetime, eid: str, *, room: int = 42, user: str = "alice", **session: str
) -> pb.RoomEvent:
    return room_event(eid, app, at=at, room=room, user=user, session=pb.SessionAttributes(**session))


def _ingest(tenant: Tenant) -> pb_grpc.IngestServiceAsyncStub:
    return pb_grpc.IngestServiceStub(tenant.channel)


async def report_samples(tenant: Tenant, samples: list[quality.QualitySample]) -> pb.ReportQualityResponse:
    return await _ingest(tenant).ReportQuality(pb.ReportQualityRequest(samples=samples), metadata=DATA_PLANE)


async def report_client_events(
    tenant: Tenant, events: list[quality.ClientEvent]
) -> pb.ReportClientEventsResponse:
    request = pb.ReportClientEventsRequest(events=events)
    return await _ingest(tenant).ReportClientEvents(request, metadata=DATA_PLANE)


async def report_events(tenant: Tenant, events: list[pb.RoomEvent]) -> pb.ReportEventsResponse:
    return await _ingest(tenant).ReportEvents(pb.ReportEventsRequest(events=events), metadata=DATA_PLANE)


def monitor(tenant: Tenant) -> monitor_grpc.MonitorServiceAsyncStub:
    return monitor_grpc.MonitorServiceStub(tenant.channel)


async def overview(tenant: Tenant, app: int) -> rt.RealtimeFigures:
    request = rt.GetRealtimeOverviewRequest(sdk_app_id=app)
    response = await monitor(tenant).GetRealtimeOverview(request, metadata=tenant.metadata)
    return response.figures
