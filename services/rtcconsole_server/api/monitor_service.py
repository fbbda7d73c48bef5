"""MonitorService: the monitoring dashboard (R17-R21); protos to domain and back.

Today it serves the call list (R17), the quality thresholds (R20) and stall-rate levels
(R21) of ``domain.monitor``; the call details and the real-time RPCs will join them here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from concurrent.futures import Executor
from contextlib import aclosing

import grpc

from rtcconsole.v1 import call_details_pb2 as details_pb
from rtcconsole.v1 import monitor_service_pb2 as pb
from rtcconsole.v1 import monitor_service_pb2_grpc as pb_grpc
from rtcconsole.v1 import quality_series_pb2 as series_pb
from rtcconsole.v1 import realtime_pb2 as realtime_pb
from rtcconsole.v1 import realtime_stream_pb2 as stream_pb
from rtcconsole.v1 import room_control_pb2 as control_pb
from rtcconsole.v1 import room_event_stream_pb2 as event_stream_pb
from rtcconsole_server.api import convert_room_event_stream as event_stream
from rtcconsole_server.api.base import Context, ServicerBase
from rtcconsole_server.api.convert import optional_instant
from rtcconsole_server.api.convert_call_details import call_info, call_users_response
from rtcconsole_server.api.convert_calls import call_range, calls_response
from rtcconsole_server.api.convert_monitor import thresholds_response
from rtcconsole_server.api.convert_realtime import (
    breakdown_response,
    overview_response,
    rooms_response,
    series_response,
)
from rtcconsole_server.api.convert_realtime_stream import SHUTTING_DOWN, frame_response
from rtcconsole_server.api.convert_room_control import (
    command_state,
    commands_response,
    dismiss_response,
    remove_response,
    room_of,
)
from rtcconsole_server.api.convert_series import (
    client_events_response,
    metric_names,
    quality_series_response,
    user_view_response,
)
from rtcconsole_server.api.convert_series import sides as series_sides
from rtcconsole_server.domain.console import Console
from rtcconsole_server.domain.monitor import check_after_sequence, room_event_filter
from rtcconsole_server.observability import Metrics
from rtcconsole_server.store import GroupCommit

__all__ = ["MonitorServicer"]


class MonitorServicer(ServicerBase, pb_grpc.MonitorServiceServicer):
    def __init__(
        self,
        console: Console,
        executor: Executor,
        *,
        metrics: Metrics | None = None,
        writes: GroupCommit | None = None,
    ) -> None:
        super().__init__(console, executor, writes=writes)
        subscriptions = (metrics if metrics is not None else Metrics()).subscriptions
        self._open_realtime = subscriptions.labels("realtime")  # rtcconsole_subscriptions_open
        self._open_room_events = subscriptions.labels("room_events")

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

    # --- call details (R18): GetCall, ListCallUsers

    async def GetCall(
        self, request: details_pb.GetCallRequest, context: Context
    ) -> details_pb.GetCallResponse:
        caller = await self.caller(context)
        return call_info(await self.read(self.console.call_details.get, caller, request.call_id))

    async def ListCallUsers(
        self, request: details_pb.ListCallUsersRequest, context: Context
    ) -> details_pb.ListCallUsersResponse:
        caller = await self.caller(context)
        found = await self.read(
            self.console.call_details.list_users,
            caller,
            request.call_id,
            start=optional_instant(request, "start_time"),
            end=optional_instant(request, "end_time"),
            user_ids=list(request.user_ids),
            page_size_requested=request.page_size,
            page_token=request.page_token,
        )
        return call_users_response(found)

    # --- user views and the full link (R19, R20): GetUserView, GetQualitySeries, ListClientEvents

    async def GetUserView(self, request: pb.GetUserViewRequest, context: Context) -> pb.GetUserViewResponse:
        caller = await self.caller(context)
        found = await self.read_long(
            self.console.call_quality.user_view,
            caller,
            call_id=request.call_id,
            user_id=request.user_id,
            sides=series_sides(request.side),
            start=optional_instant(request, "start_time"),
            end=optional_instant(request, "end_time"),
            max_points=request.max_points,
        )
        return user_view_response(found)

    async def GetQualitySeries(
        self, request: pb.GetQualitySeriesRequest, context: Context
    ) -> pb.GetQualitySeriesResponse:
        caller = await self.caller(context)
        metrics = metric_names(list(request.metrics))
        start, end = optional_instant(request, "start_time"), optional_instant(request, "end_time")
        series = self.console.call_quality.series

        def read() -> pb.GetQualitySeriesResponse:
            """The read and its protos (~11,000 points for 5 hours) on the same thread, off the loop."""
            found = series(
                caller,
                call_id=request.call_id,
                user_id=request.user_id,
                peer_id=request.peer_id,
                media=request.media,
                metrics=metrics,
                start=start,
                end=end,
                max_points=request.max_points,
            )
            return quality_series_response(found)

        return await self.read_long(read)

    async def ListClientEvents(
        self, request: series_pb.ListClientEventsRequest, context: Context
    ) -> series_pb.ListClientEventsResponse:
        caller = await self.caller(context)
        found = await self.read(
            self.console.call_quality.client_events,
            caller,
            call_id=request.call_id,
            user_id=request.user_id,
            peer_id=request.peer_id,
            abnormal_only=request.abnormal_only,
            start=optional_instant(request, "start_time"),
            end=optional_instant(request, "end_time"),
            page_size_requested=request.page_size,
            page_token=request.page_token,
        )
        return client_events_response(found)

    # --- room control (R7): DismissRoom, RemoveUsers, ListRoomCommands

    async def DismissRoom(
        self, request: control_pb.DismissRoomRequest, context: Context
    ) -> control_pb.DismissRoomResponse:
        caller = await self.caller(context)
        room_id, str_room_id = room_of(request)
        issued = await self.run(
            self.console.room_commands.dismiss,
            caller,
            sdk_app_id=request.sdk_app_id,
            room_id=room_id,
            str_room_id=str_room_id,
            request_id=request.request_id,
        )
        if issued.created:
            await self.console.command_watch.announce(issued.command.command_id)
        return dismiss_response(issued)

    async def RemoveUsers(
        self, request: control_pb.RemoveUsersRequest, context: Context
    ) -> control_pb.RemoveUsersResponse:
        caller = await self.caller(context)
        room_id, str_room_id = room_of(request)
        issued = await self.run(
            self.console.room_commands.remove_users,
            caller,
            sdk_app_id=request.sdk_app_id,
            room_id=room_id,
            str_room_id=str_room_id,
            user_ids=list(request.user_ids),
            request_id=request.request_id,
        )
        if issued.created:
            await self.console.command_watch.announce(issued.command.command_id)
        return remove_response(issued)

    async def ListRoomCommands(
        self, request: control_pb.ListRoomCommandsRequest, context: Context
    ) -> control_pb.ListRoomCommandsResponse:
        caller = await self.caller(context)
        room_id, str_room_id = room_of(request)
        found = await self.read(
            self.console.room_commands.list,
            caller,
            sdk_app_id=request.sdk_app_id,
            room_id=room_id,
            str_room_id=str_room_id,
            state=command_state(request.state),
            page_size_requested=request.page_size,
            page_token=request.page_token,
        )
        return commands_response(found)

    # --- real time (R21): GetRealtimeOverview, GetRealtimeSeries, ListRealtimeRooms, GetRealtimeBreakdown

    async def GetRealtimeOverview(
        self, request: realtime_pb.GetRealtimeOverviewRequest, context: Context
    ) -> realtime_pb.GetRealtimeOverviewResponse:
        caller = await self.caller(context)
        realtime = self.console.realtime
        scope = await self.read(realtime.scope, caller, request.sdk_app_id)
        return overview_response(await realtime.overview(scope))

    async def GetRealtimeSeries(
        self, request: realtime_pb.GetRealtimeSeriesRequest, context: Context
    ) -> realtime_pb.GetRealtimeSeriesResponse:
        caller = await self.caller(context)
        realtime = self.console.realtime
        start, end = optional_instant(request, "start_time"), optional_instant(request, "end_time")
        scope = await self.read(realtime.scope, caller, request.sdk_app_id)
        return series_response(await realtime.series(scope, start, end))

    async def ListRealtimeRooms(
        self, request: realtime_pb.ListRealtimeRoomsRequest, context: Context
    ) -> realtime_pb.ListRealtimeRoomsResponse:
        caller = await self.caller(context)
        realtime = self.console.realtime
        scope = await self.read(realtime.scope, caller, request.sdk_app_id)
        found = await realtime.rooms(
            scope,
            order=request.order_by,
            ascending=request.ascending,
            page_size_requested=request.page_size,
            page_token=request.page_token,
        )
        return rooms_response(found)

    async def GetRealtimeBreakdown(
        self, request: realtime_pb.GetRealtimeBreakdownRequest, context: Context
    ) -> realtime_pb.GetRealtimeBreakdownResponse:
        caller = await self.caller(context)
        realtime = self.console.realtime
        scope = await self.read(realtime.scope, caller, request.sdk_app_id)
        found = await realtime.breakdown(scope, dimension=request.dimension, top=request.top)
        return breakdown_response(found)

    # --- streaming subscriptions (R21): SubscribeRealtime, SubscribeRoomEvents

    async def SubscribeRealtime(
        self, request: stream_pb.SubscribeRealtimeRequest, context: Context
    ) -> AsyncIterator[stream_pb.SubscribeRealtimeResponse]:
        """One frame per closed slot of the app (``domain.monitor._realtime_stream``); at the
        server's shutdown the stream ends UNAVAILABLE, to resume on another replica."""
        caller = await self.caller(context)
        scope = await self.read(self.console.realtime.scope, caller, request.sdk_app_id)
        frames = self.console.realtime_stream.subscribe(
            scope, resume_after=optional_instant(request, "resume_after"), top_rooms=request.top_rooms
        )
        with self._open_realtime.track_inprogress():
            async with aclosing(frames):
                async for frame in frames:
                    yield frame_response(frame)
        await context.abort(grpc.StatusCode.UNAVAILABLE, SHUTTING_DOWN)

    async def SubscribeRoomEvents(
        self, request: event_stream_pb.SubscribeRoomEventsRequest, context: Context
    ) -> AsyncIterator[event_stream_pb.SubscribeRoomEventsResponse]:
        """The app's stored events after ``after_sequence``, then live ones, by pages
        (``domain.monitor._room_event_stream``); at the server's shutdown the stream ends
        UNAVAILABLE, to resume (from the last ``resume_after``) on another replica."""
        caller = await self.caller(context)
        room = room_event_filter(*event_stream.room_of(request))
        after = check_after_sequence(event_stream.after_sequence(request))
        stream = self.console.room_event_stream
        scope = await self.read(self.console.realtime.scope, caller, request.sdk_app_id)
        pages = stream.follow(self.run, scope, after=after, room=room)
        with self._open_room_events.track_inprogress():
            async with aclosing(pages):
                async for page in pages:
                    yield event_stream.page_response(page)
        await context.abort(grpc.StatusCode.UNAVAILABLE, event_stream.SHUTTING_DOWN)
