"""MonitorClient: the typed async client of ``rtcconsole.v1.MonitorService`` (R17–R21)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import grpc

from rtcconsole._transport import DEFAULT_TIMEOUT, Transport
from rtcconsole.v1 import monitor_service_pb2 as pb
from rtcconsole.v1 import monitor_service_pb2_grpc as pb_grpc

if TYPE_CHECKING:
    from rtcconsole.v1.monitor_service_pb2_grpc import MonitorServiceAsyncStub

__all__ = ["MonitorClient"]


class MonitorClient:
    """The monitoring dashboard; today the quality thresholds that judge its figures."""

    def __init__(
        self, channel: grpc.aio.Channel, *, api_key: str, timeout: float | None = DEFAULT_TIMEOUT
    ) -> None:
        self._transport = Transport(channel, api_key=api_key, timeout=timeout)
        self._stub: MonitorServiceAsyncStub = pb_grpc.MonitorServiceStub(channel)

    def __repr__(self) -> str:
        return f"MonitorClient({self._transport!r})"

    async def get_quality_thresholds(
        self, *, rpc_timeout: float | None = None
    ) -> pb.GetQualityThresholdsResponse:
        """Every band of the R20 metrics (per media kind where they differ, with units) and R21's
        stall-rate levels with the shortest freeze that counts as a stall, as the server judges them."""
        request = pb.GetQualityThresholdsRequest()
        return await self._transport.unary(self._stub.GetQualityThresholds, request, rpc_timeout)
