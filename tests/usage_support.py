"""Helpers of the usage tests (R16, R6): records, ingest, the aggregator's tick, the UsageService stub."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import cast

from google.protobuf.timestamp_pb2 import Timestamp

from rtcconsole.v1 import usage_service_pb2 as usage_pb
from rtcconsole.v1 import usage_service_pb2_grpc as usage_grpc
from rtcconsole_server.domain.common import BatchOutcome
from rtcconsole_server.domain.usage import UsageIngest, UsageInput
from rtcconsole_server.server import Server
from tests.support import Tenant

_ids = itertools.count(1)


def record(
    sdk_app_id: int,
    start: datetime,
    seconds: int,
    *,
    category: str = "HD",
    kind: int = 1,
    record_id: str | None = None,
    user: str = "u1",
) -> UsageInput:
    """A usage record; ids are unique unless given."""
    return UsageInput(
        record_id or f"rec-{next(_ids)}", sdk_app_id, "n:1001", user, kind, category, start, seconds
    )


def aggregator_step(server: Server) -> Callable[[], int]:
    """The aggregator worker's step (one tick), as the in-process worker calls it."""
    (worker,) = [w for w in server.workers.workers if w.name == "aggregator"]
    return cast(Callable[[], int], worker.step)


async def tick(server: Server) -> int:
    """Run one aggregator tick off the event loop; returns the windows published."""
    return await asyncio.to_thread(aggregator_step(server))


async def ingest(server: Server, records: Sequence[UsageInput]) -> BatchOutcome:
    """Store records through the domain's exactly-once ingest (what ReportUsage calls)."""
    ingest = UsageIngest(server.console.store, server.console.clock)
    outcome = await asyncio.to_thread(ingest.record, list(records))
    assert not outcome.rejections, outcome.rejections
    return outcome


def stamp(value: datetime) -> Timestamp:
    result = Timestamp()
    result.FromDatetime(value)
    return result


def usage_stub(tenant: Tenant) -> usage_grpc.UsageServiceAsyncStub:
    return usage_grpc.UsageServiceStub(tenant.channel)


async def get_usage(
    tenant: Tenant,
    start: datetime,
    end: datetime,
    *,
    kind: int = usage_pb.USAGE_KIND_INTERACTIVE_AV,
    sdk_app_id: int = 0,
    granularity: int = usage_pb.GRANULARITY_UNSPECIFIED,
) -> usage_pb.GetUsageResponse:
    request = usage_pb.GetUsageRequest(
        kind=kind,  # type: ignore[arg-type]
        sdk_app_id=sdk_app_id,
        start_time=stamp(start),
        end_time=stamp(end),
        granularity=granularity,  # type: ignore[arg-type]
    )
    return await usage_stub(tenant).GetUsage(request, metadata=tenant.metadata)


async def billing_state(tenant: Tenant) -> usage_pb.GetBillingStateResponse:
    return await usage_stub(tenant).GetBillingState(
        usage_pb.GetBillingStateRequest(), metadata=tenant.metadata
    )
