"""MonitorService: the monitoring dashboard (R17-R21); protos to domain and back.

Today it serves the call list (R17), the quality thresholds (R20) and stall-rate levels
(R21) of ``domain.monitor``; the call details and the real-time RPCs will join them here.
"""

from __future__ import annotations

from rtcconsole.v1 import monitor_service_pb2 as pb
from rtcconsole.v1 import monitor_service_pb2_grpc as pb_grpc
from rtcconsole_server.api.base import Context, ServicerBase
from rtcconsole_server.api.convert import optional_instant
from rtcconsole_server.api.convert_calls import call_range, calls_response
from rtcconsole_server.api.convert_monitor import thresholds_response

__all__ = ["MonitorServicer"]


class MonitorServicer(ServicerBase, pb_grpc.MonitorServiceServicer):
    async def GetQualityThresholds(
        self, request: pb.GetQualityThresholdsRequest, context: Context
    ) -> pb.GetQualityThresholdsResponse:
        await self.caller(context)  # any account may read them; an unknown key may not
        return thresholds_response()

    async def ListCalls(self, request: pb.ListCallsRequest, context: Context) -> pb.ListCallsResponse:
        caller = await self.caller(context)
        which = request.WhichOneof("room")
        found = await self.read(
            self.console.calls.list,
            caller,
            sdk_app_id=request.sdk_app_id,
            preset=call_range(request.range),
            start=optional_instant(request, "start_time"),
            end=optional_instant(request, "end_time"),
            room_id=request.room_id if which == "room_id" else None,
            str_room_id=request.str_room_id if which == "str_room_id" else None,
            user_id=request.user_id,
            page_size_requested=request.page_size,
            page_token=request.page_token,
        )
        return calls_response(found)
