"""The live half of MonitorClient: room control (R7), real time (R21) and the subscriptions.

:class:`LiveMonitor` holds the methods; ``MonitorClient`` (``_monitor``) inherits them
and gives them its transport and stub. Also here: what both halves take, a room
(:data:`RoomLike`) and a datetime as a ``Timestamp`` (:func:`stamp`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from google.protobuf.timestamp_pb2 import Timestamp

from rtcconsole._transport import ResponseStream, Transport
from rtcconsole.v1 import realtime_pb2 as realtime_pb
from rtcconsole.v1 import realtime_stream_pb2 as stream_pb
from rtcconsole.v1 import room_control_pb2 as control_pb
from rtcconsole.v1 import room_event_stream_pb2 as event_stream_pb

if TYPE_CHECKING:
    from rtcconsole.v1.monitor_service_pb2_grpc import MonitorServiceAsyncStub

__all__ = ["SUBSCRIPTION_TIMEOUT", "LiveMonitor", "RoomLike", "stamp"]

SUBSCRIPTION_TIMEOUT = 24 * 3600.0
"""The default deadline of a subscription (``subscribe_realtime``): 24 hours, in seconds."""

RoomLike = int | str
"""A room as reported: a number (numeric room) or a string (string room)."""


def stamp(value: datetime | None) -> Timestamp | None:
    """``value`` (an aware datetime) as a ``Timestamp``; None stays None (the field unset)."""
    if value is None:
        return None
    result = Timestamp()
    result.FromDatetime(value)
    return result


class LiveMonitor:
    """MonitorService's room commands, real-time figures and live streams (``MonitorClient``'s)."""

    _transport: Transport
    _stub: MonitorServiceAsyncStub

    # --- room control (R7)

    async def dismiss_room(
        self, sdk_app_id: int, room: RoomLike, *, request_id: str = "", rpc_timeout: float | None = None
    ) -> control_pb.DismissRoomResponse:
        """Ask the media servers to close ``room`` by force (R7; a disabled app's rooms too); the
        stored command, PENDING until a media server takes it (``room`` an int is a numeric room).

        With ``request_id`` (1-64 characters) a retry returns the first command (``created`` False).
        """
        request = control_pb.DismissRoomRequest(sdk_app_id=sdk_app_id, request_id=request_id)
        _set_room(request, room)
        return await self._transport.unary(self._stub.DismissRoom, request, rpc_timeout)

    async def remove_users(
        self,
        sdk_app_id: int,
        room: RoomLike,
        user_ids: Sequence[str],
        *,
        request_id: str = "",
        rpc_timeout: float | None = None,
    ) -> control_pb.RemoveUsersResponse:
        """Ask the media servers to make 1-10 users leave ``room``; the stored command."""
        request = control_pb.RemoveUsersRequest(
            sdk_app_id=sdk_app_id, user_ids=list(user_ids), request_id=request_id
        )
        _set_room(request, room)
        return await self._transport.unary(self._stub.RemoveUsers, request, rpc_timeout)

    async def list_room_commands(
        self,
        sdk_app_id: int,
        *,
        room: RoomLike | None = None,
        state: int = 0,
        page_size: int = 0,
        page_token: str = "",
        rpc_timeout: float | None = None,
    ) -> control_pb.ListRoomCommandsResponse:
        """One page of the app's room commands, newest first, with their states (``state`` a
        ``RoomCommandState`` number filters; 0 keeps all)."""
        request = control_pb.ListRoomCommandsRequest(
            sdk_app_id=sdk_app_id,
            state=state,  # type: ignore[arg-type]
            page_size=page_size,
            page_token=page_token,
        )
        if room is not None:
            _set_room(request, room)
        return await self._transport.unary(self._stub.ListRoomCommands, request, rpc_timeout)

    # --- real time (R21): the basic or advanced edition; a free account is FAILED_PRECONDITION

    async def get_realtime_overview(
        self, *, sdk_app_id: int = 0, rpc_timeout: float | None = None
    ) -> realtime_pb.GetRealtimeOverviewResponse:
        """The latest data (the last closed 10-second slot): online users and rooms, abnormal users,
        video and audio stall rates with their levels, the slot and ``as_of``."""
        request = realtime_pb.GetRealtimeOverviewRequest(sdk_app_id=sdk_app_id)
        return await self._transport.unary(self._stub.GetRealtimeOverview, request, rpc_timeout)

    async def get_realtime_series(
        self,
        *,
        sdk_app_id: int = 0,
        start: datetime | None = None,
        end: datetime | None = None,
        rpc_timeout: float | None = None,
    ) -> realtime_pb.GetRealtimeSeriesResponse:
        """The scale and quality charts in 10-second points: ``start``/``end`` (both or neither,
        within the edition's look-back: 3 h basic, 12 h advanced); neither is the last 60 minutes."""
        request = realtime_pb.GetRealtimeSeriesRequest(
            sdk_app_id=sdk_app_id, start_time=stamp(start), end_time=stamp(end)
        )
        return await self._transport.unary(self._stub.GetRealtimeSeries, request, rpc_timeout)

    async def list_realtime_rooms(
        self,
        *,
        sdk_app_id: int = 0,
        order_by: int = 0,
        ascending: bool = False,
        page_size: int = 0,
        page_token: str = "",
        rpc_timeout: float | None = None,
    ) -> realtime_pb.ListRealtimeRoomsResponse:
        """One page of the rooms not yet ended in the latest slot (``order_by`` a ``RealtimeRoomOrder``
        number, 0: online users; largest first unless ``ascending``)."""
        request = realtime_pb.ListRealtimeRoomsRequest(
            sdk_app_id=sdk_app_id,
            order_by=order_by,  # type: ignore[arg-type]
            ascending=ascending,
            page_size=page_size,
            page_token=page_token,
        )
        return await self._transport.unary(self._stub.ListRealtimeRooms, request, rpc_timeout)

    async def get_realtime_breakdown(
        self, dimension: int, *, sdk_app_id: int = 0, top: int = 0, rpc_timeout: float | None = None
    ) -> realtime_pb.GetRealtimeBreakdownResponse:
        """One dimension (a ``RealtimeDimension`` number) in the latest slot: the ``top`` values
        (0: 10) with the most online users, the rest summed."""
        request = realtime_pb.GetRealtimeBreakdownRequest(
            sdk_app_id=sdk_app_id,
            dimension=dimension,  # type: ignore[arg-type]
            top=top,
        )
        return await self._transport.unary(self._stub.GetRealtimeBreakdown, request, rpc_timeout)

    def subscribe_realtime(
        self,
        *,
        sdk_app_id: int = 0,
        resume_after: datetime | None = None,
        top_rooms: int = 0,
        rpc_timeout: float = SUBSCRIPTION_TIMEOUT,
    ) -> ResponseStream[stream_pb.SubscribeRealtimeResponse]:
        """One frame per closed 10-second slot (the overview and the new series point), live,
        until the caller leaves ``async with`` or the server shuts down (UNAVAILABLE: reconnect,
        to another replica, with ``resume_after`` = the last frame's ``slot_start`` to get what
        was missed without a gap or a duplicate). ``top_rooms`` (0 to 20, default 0: none) adds
        to each frame the slot's rooms with the most online users (``frame.top_rooms``, as
        ``ListRealtimeRooms`` rows). ``rpc_timeout`` bounds the whole subscription (default 24
        hours).

        Example::

            async with console.monitor.subscribe_realtime(sdk_app_id=app) as frames:
                async for frame in frames:
                    show(frame.figures, skipped=frame.skipped)
        """
        request = stream_pb.SubscribeRealtimeRequest(
            sdk_app_id=sdk_app_id, resume_after=stamp(resume_after), top_rooms=top_rooms
        )
        return self._transport.unary_stream(self._stub.SubscribeRealtime, request, rpc_timeout)

    def subscribe_room_events(
        self,
        *,
        sdk_app_id: int = 0,
        room: RoomLike | None = None,
        after_sequence: int | None = None,
        rpc_timeout: float = SUBSCRIPTION_TIMEOUT,
    ) -> ResponseStream[event_stream_pb.SubscribeRoomEventsResponse]:
        """The app's room and media events (of ``room`` only, when given) with their per-app
        sequence: with ``after_sequence``, the stored ones numbered after it first (0: all), then
        each new one as it is ingested; without, only new ones. Each response holds up to 500
        events and ``resume_after``. Ends with UNAVAILABLE when the server shuts down: subscribe
        again (to another replica) with ``after_sequence`` = the last ``resume_after`` received,
        and nothing is missed or repeated. ``rpc_timeout`` bounds the whole subscription
        (default 24 hours).

        Example::

            async with console.monitor.subscribe_room_events(sdk_app_id=app, after_sequence=0) as s:
                async for response in s:
                    for item in response.events:
                        show(item.sequence, item.event)
        """
        request = event_stream_pb.SubscribeRoomEventsRequest(
            sdk_app_id=sdk_app_id, after_sequence=after_sequence
        )
        if room is not None:
            _set_room(request, room)
        return self._transport.unary_stream(self._stub.SubscribeRoomEvents, request, rpc_timeout)


_RoomRequest = (
    control_pb.DismissRoomRequest
    | control_pb.RemoveUsersRequest
    | control_pb.ListRoomCommandsRequest
    | event_stream_pb.SubscribeRoomEventsRequest
)


def _set_room(request: _RoomRequest, room: RoomLike) -> None:
    if isinstance(room, int):
        request.room_id = room
    else:
        request.str_room_id = room
