"""UsageClient: the typed async client of ``rtcconsole.v1.UsageService`` (R16, R6)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import grpc
from google.protobuf import timestamp_pb2

from rtcconsole._transport import DEFAULT_TIMEOUT, Transport
from rtcconsole.v1 import usage_service_pb2 as pb
from rtcconsole.v1 import usage_service_pb2_grpc as pb_grpc

if TYPE_CHECKING:
    from rtcconsole.v1.usage_service_pb2_grpc import UsageServiceAsyncStub

__all__ = ["UsageClient"]


def _timestamp(value: datetime) -> timestamp_pb2.Timestamp:
    if value.tzinfo is None:
        raise ValueError("pass timezone-aware datetimes (usage periods are UTC)")
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(value)
    return stamp


class UsageClient:
    """Usage lines (line minutes beside settled minutes) and the account's billing state."""

    def __init__(
        self, channel: grpc.aio.Channel, *, api_key: str, timeout: float | None = DEFAULT_TIMEOUT
    ) -> None:
        self._transport = Transport(channel, api_key=api_key, timeout=timeout)
        self._stub: UsageServiceAsyncStub = pb_grpc.UsageServiceStub(channel)

    def __repr__(self) -> str:
        return f"UsageClient({self._transport!r})"

    async def get_usage(
        self,
        *,
        kind: pb.UsageKind.ValueType,
        start_time: datetime,
        end_time: datetime,
        sdk_app_id: int = 0,
        granularity: pb.Granularity.ValueType = pb.GRANULARITY_UNSPECIFIED,
        rpc_timeout: float | None = None,
    ) -> pb.GetUsageResponse:
        """Usage of one app (or every app when ``sdk_app_id`` is 0) over [start, end), at most 31 days."""
        request = pb.GetUsageRequest(
            kind=kind,
            sdk_app_id=sdk_app_id,
            start_time=_timestamp(start_time),
            end_time=_timestamp(end_time),
            granularity=granularity,
        )
        return await self._transport.unary(self._stub.GetUsage, request, rpc_timeout)

    async def get_billing_state(self, *, rpc_timeout: float | None = None) -> pb.GetBillingStateResponse:
        """Postpaid and arrears flags, the package state and every package with its used minutes (R6)."""
        request = pb.GetBillingStateRequest()
        return await self._transport.unary(self._stub.GetBillingState, request, rpc_timeout)
