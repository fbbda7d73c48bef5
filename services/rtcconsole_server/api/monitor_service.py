"""MonitorService: the monitoring dashboard (R17-R21); protos to domain and back.

Today it serves the quality thresholds (R20) and stall-rate levels (R21) of
``domain.monitor``; the call history and the real-time RPCs will join them here.
"""

from __future__ import annotations

from rtcconsole.v1 import monitor_service_pb2 as pb
from rtcconsole.v1 import monitor_service_pb2_grpc as pb_grpc
from rtcconsole_server.api.base import Context, ServicerBase
from rtcconsole_server.api.convert_monitor import thresholds_response

__all__ = ["MonitorServicer"]


class MonitorServicer(ServicerBase, pb_grpc.MonitorServiceServicer):
    async def GetQualityThresholds(
        self, request: pb.GetQualityThresholdsRequest, context: Context
    ) -> pb.GetQualityThresholdsResponse:
        await self.caller(context)  # any account may read them; an unknown key may not
        return thresholds_response()
