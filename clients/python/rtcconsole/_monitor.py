"""MonitorClient: the typed async client of ``rtcconsole.v1.MonitorService`` (R17–R21)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from rtcconsole._transport import DEFAULT_TIMEOUT, ResponseStream, Transport, paginate
from rtcconsole.v1 import call_details_pb2 as details_pb
from rtcconsole.v1 import monitor_service_pb2 as pb
from rtcconsole.v1 import monitor_service_pb2_grpc as pb_grpc
from rtcconsole.v1 import quality_series_pb2 as series_pb
from rtcconsole.v1 import realtime_pb2 as realtime_pb
from rtcconsole.v1 import realtime_stream_pb2 as stream_pb
from rtcconsole.v1 import room_control_pb2 as control_pb
from rtcconsole.v1 import room_event_stream_pb2 as event_stream_pb

if TYPE_CHECKING:
    from rtcconsole.v1.monitor_service_pb2_grpc import MonitorServiceAsyncStub

__all__ = ["CALL_RANGES", "SUBSCRIPTION_TIMEOUT", "MonitorClient"]

SUBSCRIPTION_TIMEOUT = 24 * 3600.0
"""The default deadline of a subscription (``subscribe_realtime``): 24 hours, in seconds."""

CALL_RANGES = {
    "today": pb.CALL_RANGE_TODAY,
    "yesterday": pb.CALL_RANGE_YESTERDAY,
    "6h": pb.CALL_RANGE_LAST_6_HOURS,
    "14d": pb.CALL_RANGE_LAST_14_DAYS,
}
"""The preset ranges of the call list by their short names (``rtcctl monitor calls --range``)."""

RoomLike = int | str
"""A room as reported: a number (numeric room) or a string (string room)."""


def _stamp(value: datetime | None) -> Timestamp | None:
    if value is None:
        return None
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


class MonitorClient:
    """The monitoring dashboard: the call list (R17) and the quality thresholds that judge its figures."""

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

    async def list_calls(
        self,
        *,
        sdk_app_id: int = 0,
        range: str | int = 0,
        start: datetime | None = None,
        end: datetime | None = None,
        room: RoomLike | None = None,
        user_id: str = "",
        page_size: int = 0,
        page_token: str = "",
        rpc_timeout: float | None = None,
    ) -> pb.ListCallsResponse:
        """One page of the calls that start in a range, newest start first (R17).

        ``sdk_app_id`` 0 is the account's most recently created app; ``range`` a preset (``"today"``,
        ``"yesterday"``, ``"6h"``, ``"14d"`` or a ``CallRange`` number) or ``start``/``end`` (aware
        datetimes, at most 14 days back); neither is today (in the account's time zone). ``room`` an
        int is a numeric room.
        """
        request = pb.ListCallsRequest(
            sdk_app_id=sdk_app_id,
            range=CALL_RANGES[range] if isinstance(range, str) else range,  # type: ignore[arg-type]
            start_time=_stamp(start),
            end_time=_stamp(end),
            user_id=user_id,
            page_size=page_size,
            page_token=page_token,
        )
        if isinstance(room, int):
            request.room_id = room
        elif room is not None:
            request.str_room_id = room
        return await self._transport.unary(self._stub.ListCalls, request, rpc_timeout)

    def iter_calls(
        self,
        *,
        sdk_app_id: int = 0,
        range: str | int = 0,
        start: datetime | None = None,
        end: datetime | None = None,
        room: RoomLike | None = None,
        user_id: str = "",
        page_size: int = 0,
        page_token: str = "",
    ) -> AsyncIterator[pb.Call]:
        """Every call of :meth:`list_calls`, across pages: ``async for call in monitor.iter_calls(): …``."""

        async def fetch(token: str) -> tuple[list[pb.Call], str]:
            page = await self.list_calls(
                sdk_app_id=sdk_app_id,
                range=range,
                start=start,
                end=end,
                room=room,
                user_id=user_id,
                page_size=page_size,
                page_token=token,
            )
            return list(page.calls), page.next_page_token

        return paginate(fetch, page_token)

    # --- call details (R18)

    async def get_call(self, call_id: str, *, rpc_timeout: float | None = None) -> details_pb.GetCallResponse:
        """The room info of one call (R18): app, room, cumulative users, start, end (unset while it
        goes on) and duration (to ``as_of`` while it goes on). ``call_id`` as ``list_calls`` gives it."""
        request = details_pb.GetCallRequest(call_id=call_id)
        return await self._transport.unary(self._stub.GetCall, request, rpc_timeout)

    async def list_call_users(
        self,
        call_id: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        user_ids: Sequence[str] = (),
        page_size: int = 0,
        page_token: str = "",
        rpc_timeout: float | None = None,
    ) -> details_pb.ListCallUsersResponse:
        """One page of a call's users over ``[start, end)`` (aware datetimes, both or neither, at most
        5 hours apart; neither: the call's whole life if at most 5 hours, else its last 5 hours),
        latest entry first (R18). ``user_ids`` (at most 20) keeps only those users; ``page_size``
        0 is 6 (or every named user), at most 20."""
        request = details_pb.ListCallUsersRequest(
            call_id=call_id,
            start_time=_stamp(start),
            end_time=_stamp(end),
            user_ids=list(user_ids),
            page_size=page_size,
            page_token=page_token,
        )
        return await self._transport.unary(self._stub.ListCallUsers, request, rpc_timeout)

    # --- user views and the full link (R19, R20)

    async def get_user_view(
        self,
        call_id: str,
        user_id: str,
        *,
        side: int = 0,
        start: datetime | None = None,
        end: datetime | None = None,
        max_points: int = 0,
        rpc_timeout: float | None = None,
    ) -> pb.GetUserViewResponse:
        """One user's receiver and/or sender view of a call (R19): ``side`` a ``ViewSide`` number
        (0: both), the sub-views with data, per stream an overview (loss, bitrate, stall) of at
        most ``max_points`` points (0: 120) and its moments of network jitter. ``start``/``end``
        as :meth:`list_call_users`."""
        request = pb.GetUserViewRequest(
            call_id=call_id,
            user_id=user_id,
            side=side,  # type: ignore[arg-type]
            start_time=_stamp(start),
            end_time=_stamp(end),
            max_points=max_points,
        )
        return await self._transport.unary(self._stub.GetUserView, request, rpc_timeout)

    async def get_quality_series(
        self,
        call_id: str,
        user_id: str,
        *,
        media: int,
        peer_id: str = "",
        metrics: Sequence[int] = (),
        start: datetime | None = None,
        end: datetime | None = None,
        max_points: int = 0,
        rpc_timeout: float | None = None,
    ) -> pb.GetQualitySeriesResponse:
        """The full link (R20) of the stream ``user_id`` received from ``peer_id`` (empty: its own
        upstream) for ``media`` (a ``MediaKind`` number): a series per ``SeriesMetric`` in
        ``metrics`` (empty: every one that applies), at most ``max_points`` points each (0: 1,000),
        each point with its level, and the intervals where an R20 rule holds."""
        request = pb.GetQualitySeriesRequest(
            call_id=call_id,
            user_id=user_id,
            peer_id=peer_id,
            media=media,  # type: ignore[arg-type]
            metrics=list(metrics),  # type: ignore[arg-type]
            start_time=_stamp(start),
            end_time=_stamp(end),
            max_points=max_points,
        )
        return await self._transport.unary(self._stub.GetQualitySeries, request, rpc_timeout)

    async def list_client_events(
        self,
        call_id: str,
        user_id: str,
        *,
        peer_id: str = "",
        abnormal_only: bool = False,
        start: datetime | None = None,
        end: datetime | None = None,
        page_size: int = 0,
        page_token: str = "",
        rpc_timeout: float | None = None,
    ) -> series_pb.ListClientEventsResponse:
        """One page of a user's client events in a call (R20; R21's abnormal ones only with
        ``abnormal_only``), oldest first; ``page_size`` 0 is 100, at most 1,000."""
        request = series_pb.ListClientEventsRequest(
            call_id=call_id,
            user_id=user_id,
            peer_id=peer_id,
            abnormal_only=abnormal_only,
            start_time=_stamp(start),
            end_time=_stamp(end),
            page_size=page_size,
            page_token=page_token,
        )
        return await self._transport.unary(self._stub.ListClientEvents, request, rpc_timeout)

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
            sdk_app_id=sdk_app_id, start_time=_stamp(start), end_time=_stamp(end)
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
            sdk_app_id=sdk_app_id, resume_after=_stamp(resume_after), top_rooms=top_rooms
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
