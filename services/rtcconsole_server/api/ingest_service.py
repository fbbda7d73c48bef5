"""IngestService: the data plane reports room and media events (R15), usage (R16), quality
samples and client events (R20, R21).

Only the data-plane token may call it (``ServicerBase.data_plane``). Protos are
converted and batches stored in the store's thread pool, so a 5,000-event batch
never blocks the event loop.

Every batch is counted in the server's metrics (``rtcconsole_ingest_records_total``
by kind and outcome): accepted, duplicate and rejected records of a committed
batch, and every record of a batch the domain refused whole (a ``Report*`` batch
with one bad record: INVALID_ARGUMENT, ALREADY_EXISTS, FAILED_PRECONDITION) as
rejected. A batch that failed otherwise (a timeout) is in the RPC counter only.

A ``Stream*`` message may arrive as ``Screened`` (``api/stream_records.py``): records of it
broke a request limit, and are rejected beside the domain's own rejections while the rest
of the batch is stored and the stream goes on.

A ``Stream*`` handler reads one message ahead (``api/read_ahead.py``): the next message is
received and screened while the current one is stored, still stored strictly in order.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import Executor
from contextlib import aclosing
from typing import Any, ParamSpec, TypeVar

from rtcconsole.v1 import ingest_service_pb2 as pb
from rtcconsole.v1 import ingest_service_pb2_grpc as pb_grpc
from rtcconsole.v1 import quality_pb2 as quality_pb
from rtcconsole.v1 import room_control_pb2 as control_pb
from rtcconsole_server.api import convert_usage
from rtcconsole_server.api.base import Context, ServicerBase
from rtcconsole_server.api.convert_events import event_input, rejected_record
from rtcconsole_server.api.convert_quality import client_event_input, sample_input
from rtcconsole_server.api.convert_room_control import command
from rtcconsole_server.api.read_ahead import read_ahead
from rtcconsole_server.api.stream_records import Batch, Screened
from rtcconsole_server.domain.common import BatchOutcome
from rtcconsole_server.domain.console import Console
from rtcconsole_server.domain.events import MAX_BATCH, EventIngest
from rtcconsole_server.domain.monitor import ClientEventIngest, QualityIngest, RecordIngest
from rtcconsole_server.domain.usage import UsageIngest
from rtcconsole_server.errors import AlreadyExists, FailedPrecondition, FieldViolation, InvalidArgument
from rtcconsole_server.observability import Metrics
from rtcconsole_server.store import GroupCommit

__all__ = ["MAX_REJECTIONS", "IngestServicer"]

MAX_REJECTIONS = 1000
"""Rejections listed in a StreamEventsResponse (the count covers them all)."""
P = ParamSpec("P")
Ingest = TypeVar("Ingest")  # an ingest of the domain
Monitored = TypeVar("Monitored", bound=RecordIngest[Any])  # an ingest of monitoring records


def _report(events: EventIngest, request: pb.ReportEventsRequest) -> BatchOutcome:
    return events.report([event_input(e) for e in request.events])


def _ingest(events: EventIngest, records: Sequence[pb.RoomEvent], offset: int) -> BatchOutcome:
    return events.ingest([event_input(e) for e in records], offset=offset)


def _report_usage(usage: UsageIngest, request: pb.ReportUsageRequest) -> BatchOutcome:
    return usage.report([convert_usage.usage_input(r) for r in request.records])


def _ingest_usage(usage: UsageIngest, records: Sequence[pb.UsageRecord], offset: int) -> BatchOutcome:
    return usage.record([convert_usage.usage_input(r) for r in records], offset=offset)


def _report_quality(quality: QualityIngest, request: pb.ReportQualityRequest) -> BatchOutcome:
    return quality.report([sample_input(s) for s in request.samples])


def _ingest_quality(
    quality: QualityIngest, records: Sequence[quality_pb.QualitySample], offset: int
) -> BatchOutcome:
    return quality.ingest([sample_input(s) for s in records], offset=offset)


def _report_client_events(events: ClientEventIngest, request: pb.ReportClientEventsRequest) -> BatchOutcome:
    return events.report([client_event_input(e) for e in request.events])


def _ingest_client_events(
    events: ClientEventIngest, records: Sequence[quality_pb.ClientEvent], offset: int
) -> BatchOutcome:
    return events.ingest([client_event_input(e) for e in records], offset=offset)


_ClientEventsItem = pb.StreamClientEventsRequest | Screened[pb.StreamClientEventsRequest]
_Tallied = (
    pb.StreamEventsResponse
    | pb.StreamUsageResponse
    | pb.StreamQualityResponse
    | pb.StreamClientEventsResponse
)


def _tally(response: _Tallied, outcome: BatchOutcome) -> None:
    """Add one committed batch to a streaming response (rejections listed up to MAX_REJECTIONS)."""
    response.accepted += outcome.accepted
    response.duplicates += outcome.duplicates
    response.rejected += len(outcome.rejections)
    room = max(MAX_REJECTIONS - len(response.rejections), 0)
    response.rejections.extend(rejected_record(r) for r in outcome.rejections[:room])


class IngestServicer(ServicerBase, pb_grpc.IngestServiceServicer):
    def __init__(
        self,
        console: Console,
        executor: Executor,
        *,
        metrics: Metrics | None = None,
        writes: GroupCommit | None = None,
    ) -> None:
        super().__init__(console, executor, writes=writes)
        self._metrics = metrics if metrics is not None else Metrics()

    async def _batch(
        self,
        kind: str,
        size: int,
        fn: Callable[P, BatchOutcome],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> BatchOutcome:
        """Store one batch of ``size`` ``kind`` records in the store's pool, and count them."""
        try:
            outcome = await self.run(fn, *args, **kwargs)
        except (InvalidArgument, AlreadyExists, FailedPrecondition):  # refused whole: none was stored
            self._metrics.ingest(kind).count(0, 0, size)
            raise
        self._metrics.ingest(kind).count(outcome.accepted, outcome.duplicates, len(outcome.rejections))
        return outcome

    async def _streamed(
        self,
        kind: str,
        batch: Batch[Any],
        fn: Callable[[Ingest, Sequence[Any], int], BatchOutcome],
        ingest: Ingest,
    ) -> BatchOutcome:
        """Store one message of a request stream: the records within the contract's limits in the
        store's pool, those over a limit rejected beside the domain's rejections (in stream order,
        ``api/stream_records.py``); count them all."""
        try:
            outcome = batch.merged(await self.run(fn, ingest, batch.records, batch.offset))
        except (InvalidArgument, AlreadyExists, FailedPrecondition):  # refused whole: none was stored
            self._metrics.ingest(kind).count(0, 0, batch.size)
            raise
        self._metrics.ingest(kind).count(outcome.accepted, outcome.duplicates, len(outcome.rejections))
        return outcome

    async def _monitor_stream(
        self,
        request_iterator: AsyncIterator[Any],
        response: _Tallied,
        kind: str,
        fields: tuple[str, str],
        fn: Callable[[Monitored, Sequence[Any], int], BatchOutcome],
        ingest: Monitored,
    ) -> None:
        """A monitoring record stream (quality samples, client events) into ``response``: each
        message checked for its size, stored, counted in real time (R21, after the commit)."""
        records, id_field = fields
        offset = 0
        async with aclosing(read_ahead(request_iterator)) as items:
            async for item in items:
                batch = Batch(item, records, id_field, offset)
                ingest.check_batch_size(batch.size, where=_stream_position(offset))
                outcome = await self._streamed(kind, batch, fn, ingest)
                await self.console.realtime_counter.count(self.run, outcome.stored)
                offset += batch.size
                _tally(response, outcome)

    async def ReportEvents(
        self, request: pb.ReportEventsRequest, context: Context
    ) -> pb.ReportEventsResponse:
        await self.data_plane(context)
        outcome = await self._batch("events", len(request.events), _report, self.console.events, request)
        await self.console.realtime_counter.count(self.run, outcome.stored)  # R21, after the commit
        await self.console.room_event_stream.announce(outcome.stored)  # wake SubscribeRoomEvents
        return pb.ReportEventsResponse(accepted=outcome.accepted, duplicates=outcome.duplicates)

    async def StreamEvents(
        self,
        request_iterator: AsyncIterator[pb.StreamEventsRequest | Screened[pb.StreamEventsRequest]],
        context: Context,
    ) -> pb.StreamEventsResponse:
        await self.data_plane(context)
        response = pb.StreamEventsResponse()
        offset = 0
        async with aclosing(read_ahead(request_iterator)) as items:
            async for item in items:
                batch = Batch(item, "events", "event_id", offset)
                if batch.size > MAX_BATCH:
                    raise InvalidArgument(
                        FieldViolation(
                            "events",
                            f"a batch has at most {MAX_BATCH:,} events; the batch at stream index {offset} "
                            f"has {batch.size:,} (the batches before it were stored)",
                        )
                    )
                outcome = await self._streamed("events", batch, _ingest, self.console.events)
                await self.console.realtime_counter.count(self.run, outcome.stored)  # R21, after the commit
                await self.console.room_event_stream.announce(outcome.stored)  # wake SubscribeRoomEvents
                offset += batch.size
                _tally(response, outcome)
        return response

    async def ReportUsage(self, request: pb.ReportUsageRequest, context: Context) -> pb.ReportUsageResponse:
        await self.data_plane(context)
        outcome = await self._batch(
            "usage", len(request.records), _report_usage, self.console.usage_ingest, request
        )
        return pb.ReportUsageResponse(accepted=outcome.accepted, duplicates=outcome.duplicates)

    async def StreamUsage(
        self,
        request_iterator: AsyncIterator[pb.StreamUsageRequest | Screened[pb.StreamUsageRequest]],
        context: Context,
    ) -> pb.StreamUsageResponse:
        await self.data_plane(context)
        response = pb.StreamUsageResponse()
        offset = 0
        async with aclosing(read_ahead(request_iterator)) as items:
            async for item in items:
                batch = Batch(item, "records", "record_id", offset)
                outcome = await self._streamed("usage", batch, _ingest_usage, self.console.usage_ingest)
                offset += batch.size
                _tally(response, outcome)
        return response

    async def ReportQuality(
        self, request: pb.ReportQualityRequest, context: Context
    ) -> pb.ReportQualityResponse:
        await self.data_plane(context)
        outcome = await self._batch(
            "quality", len(request.samples), _report_quality, self.console.quality_ingest, request
        )
        await self.console.realtime_counter.count(self.run, outcome.stored)  # R21, after the commit
        return pb.ReportQualityResponse(accepted=outcome.accepted, duplicates=outcome.duplicates)

    async def StreamQuality(
        self,
        request_iterator: AsyncIterator[pb.StreamQualityRequest | Screened[pb.StreamQualityRequest]],
        context: Context,
    ) -> pb.StreamQualityResponse:
        await self.data_plane(context)
        response = pb.StreamQualityResponse()
        await self._monitor_stream(
            request_iterator,
            response,
            "quality",
            ("samples", "sample_id"),
            _ingest_quality,
            self.console.quality_ingest,
        )
        return response

    async def ReportClientEvents(
        self, request: pb.ReportClientEventsRequest, context: Context
    ) -> pb.ReportClientEventsResponse:
        await self.data_plane(context)
        outcome = await self._batch(
            "client_events",
            len(request.events),
            _report_client_events,
            self.console.client_event_ingest,
            request,
        )
        await self.console.realtime_counter.count(self.run, outcome.stored)  # R21, after the commit
        return pb.ReportClientEventsResponse(accepted=outcome.accepted, duplicates=outcome.duplicates)

    async def StreamClientEvents(
        self,
        request_iterator: AsyncIterator[_ClientEventsItem],
        context: Context,
    ) -> pb.StreamClientEventsResponse:
        await self.data_plane(context)
        response = pb.StreamClientEventsResponse()
        await self._monitor_stream(
            request_iterator,
            response,
            "client_events",
            ("events", "event_id"),
            _ingest_client_events,
            self.console.client_event_ingest,
        )
        return response

    # --- room control (R7): WatchRoomCommands

    async def WatchRoomCommands(
        self, request: control_pb.WatchRoomCommandsRequest, context: Context
    ) -> AsyncIterator[control_pb.WatchRoomCommandsResponse]:
        """Every open room command, then each new one, until the server shuts down (broadcast:
        every watcher gets every command; ``domain.monitor._command_watch``)."""
        await self.data_plane(context)
        commands = self.console.command_watch.watch(
            self.run, sdk_app_ids=list(request.sdk_app_ids), server_name=request.server_name
        )
        async for found in commands:
            yield control_pb.WatchRoomCommandsResponse(command=command(found))


def _stream_position(offset: int) -> str:
    return f" in the batch at stream index {offset} (the batches before it were stored)"
