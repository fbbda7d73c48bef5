"""MonitorClient: the typed async client of ``rtcconsole.v1.MonitorService`` (R17–R21).

Here the call list (R17), call details (R18), user views and the full link (R19, R20);
room control (R7), real time (R21) and the subscriptions come from ``_monitor_live``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import grpc

from rtcconsole._monitor_live import SUBSCRIPTION_TIMEOUT, LiveMonitor, RoomLike, stamp
from rtcconsole._transport import DEFAULT_TIMEOUT, Transport, paginate
from rtcconsole.v1 import call_details_pb2 as details_pb
from rtcconsole.v1 import monitor_service_pb2 as pb
from rtcconsole.v1 import monitor_service_pb2_grpc as pb_grpc
from rtcconsole.v1 import quality_series_pb2 as series_pb

if TYPE_CHECKING:
    from rtcconsole.v1.monitor_service_pb2_grpc import MonitorServiceAsyncStub

# SUBSCRIPTION_TIMEOUT lives in _monitor_live; named here too for its callers
__all__ = ["CALL_RANGES", "SUBSCRIPTION_TIMEOUT", "MonitorClient"]

CALL_RANGES = {
    "today": pb.CALL_RANGE_TODAY,
    "yesterday": pb.CALL_RANGE_YESTERDAY,
    "6h": pb.CALL_RANGE_LAST_6_HOURS,
    "14d": pb.CALL_RANGE_LAST_14_DAYS,
}
"""The preset ranges of the call list by their short names (``rtcctl monitor calls --range``)."""


class MonitorClient(LiveMonitor):
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
            start_time=stamp(start),
            end_time=stamp(end),
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
            start_time=stamp(start),
            end_time=stamp(end),
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
            start_time=stamp(start),
            end_time=stamp(end),
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
            start_time=stamp(start),
            end_time=stamp(end),
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
            start_time=stamp(start),
            end_time=stamp(end),
            page_size=page_size,
            page_token=page_token,
        )
        return await self._transport.unary(self._stub.ListClientEvents, request, rpc_timeout)
