"""IngestService: the data plane reports room and media events (R15, and later R17-R21).

Only the data-plane token may call it (``ServicerBase.data_plane``). Protos are
converted and batches stored in the store's thread pool, so a 5,000-event batch
never blocks the event loop.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from rtcconsole.v1 import ingest_service_pb2 as pb
from rtcconsole.v1 import ingest_service_pb2_grpc as pb_grpc
from rtcconsole_server.api import convert_usage
from rtcconsole_server.api.base import Context, ServicerBase
from rtcconsole_server.api.convert_events import event_input, rejected_record
from rtcconsole_server.domain.common import BatchOutcome
from rtcconsole_server.domain.events import MAX_BATCH, EventIngest
from rtcconsole_server.domain.usage import UsageIngest
from rtcconsole_server.errors import FieldViolation, InvalidArgument

__all__ = ["MAX_REJECTIONS", "IngestServicer"]

MAX_REJECTIONS = 1000
"""Rejections listed in a StreamEventsResponse (the count covers them all)."""


def _report(events: EventIngest, request: pb.ReportEventsRequest) -> BatchOutcome:
    return events.report([event_input(e) for e in request.events])


def _ingest(events: EventIngest, request: pb.StreamEventsRequest, offset: int) -> BatchOutcome:
    return events.ingest([event_input(e) for e in request.events], offset=offset)


def _report_usage(usage: UsageIngest, request: pb.ReportUsageRequest) -> BatchOutcome:
    return usage.report([convert_usage.usage_input(r) for r in request.records])


def _ingest_usage(usage: UsageIngest, request: pb.StreamUsageRequest, offset: int) -> BatchOutcome:
    return usage.record([convert_usage.usage_input(r) for r in request.records], offset=offset)


def _tally(response: pb.StreamEventsResponse | pb.StreamUsageResponse, outcome: BatchOutcome) -> None:
    """Add one committed batch to a streaming response (rejections listed up to MAX_REJECTIONS)."""
    response.accepted += outcome.accepted
    response.duplicates += outcome.duplicates
    response.rejected += len(outcome.rejections)
    room = max(MAX_REJECTIONS - len(response.rejections), 0)
    response.rejections.extend(rejected_record(r) for r in outcome.rejections[:room])


class IngestServicer(ServicerBase, pb_grpc.IngestServiceServicer):
    async def ReportEvents(
        self, request: pb.ReportEventsRequest, context: Context
    ) -> pb.ReportEventsResponse:
        await self.data_plane(context)
        outcome = await self.run(_report, self.console.events, request)
        return pb.ReportEventsResponse(accepted=outcome.accepted, duplicates=outcome.duplicates)

    async def StreamEvents(
        self, request_iterator: AsyncIterator[pb.StreamEventsRequest], context: Context
    ) -> pb.StreamEventsResponse:
        await self.data_plane(context)
        response = pb.StreamEventsResponse()
        offset = 0
        async for request in request_iterator:
            if len(request.events) > MAX_BATCH:
                raise InvalidArgument(
                    FieldViolation(
                        "events",
                        f"a batch has at most {MAX_BATCH:,} events; the batch at stream index {offset} has "
                        f"{len(request.events):,} (the batches before it were stored)",
                    )
                )
            outcome = await self.run(_ingest, self.console.events, request, offset)
            offset += len(request.events)
            _tally(response, outcome)
        return response

    async def ReportUsage(self, request: pb.ReportUsageRequest, context: Context) -> pb.ReportUsageResponse:
        await self.data_plane(context)
        outcome = await self.run(_report_usage, self.console.usage_ingest, request)
        return pb.ReportUsageResponse(accepted=outcome.accepted, duplicates=outcome.duplicates)

    async def StreamUsage(
        self, request_iterator: AsyncIterator[pb.StreamUsageRequest], context: Context
    ) -> pb.StreamUsageResponse:
        await self.data_plane(context)
        response = pb.StreamUsageResponse()
        offset = 0
        async for request in request_iterator:
            # Committed before the next batch is read: an acknowledged record is never lost.
            outcome = await self.run(_ingest_usage, self.console.usage_ingest, request, offset)
            offset += len(request.records)
            _tally(response, outcome)
        return response
