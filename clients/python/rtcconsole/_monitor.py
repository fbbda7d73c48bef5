"""MonitorClient: the typed async client of ``rtcconsole.v1.MonitorService`` (R17–R21)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import TYPE_CHECKING

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from rtcconsole._transport import DEFAULT_TIMEOUT, Transport, paginate
from rtcconsole.v1 import monitor_service_pb2 as pb
from rtcconsole.v1 import monitor_service_pb2_grpc as pb_grpc

if TYPE_CHECKING:
    from rtcconsole.v1.monitor_service_pb2_grpc import MonitorServiceAsyncStub

__all__ = ["CALL_RANGES", "MonitorClient"]

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
        datetimes, at most 14 days back); neither is today (UTC). ``room`` an int is a numeric room.
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
