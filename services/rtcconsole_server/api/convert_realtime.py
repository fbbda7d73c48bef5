"""Real-time monitoring (R21) between protos and the monitor context: figures and slots out."""

from __future__ import annotations

from google.protobuf.duration_pb2 import Duration

from rtcconsole.v1 import realtime_pb2 as pb
from rtcconsole_server.api.convert import timestamp
from rtcconsole_server.domain.events import room_of_key
from rtcconsole_server.domain.monitor import (
    RealtimeBreakdown,
    RealtimeFigures,
    RealtimeOverview,
    RealtimeRoomList,
    RealtimeSeries,
    RealtimeStallRate,
    StallLevel,
)
from rtcconsole_server.live import SLOT, slot_start

__all__ = ["breakdown_response", "figures", "overview_response", "rooms_response", "series_response"]

_LEVEL = {
    StallLevel.LOW: pb.REALTIME_STALL_LEVEL_LOW,
    StallLevel.HIGH: pb.REALTIME_STALL_LEVEL_HIGH,
    StallLevel.VERY_HIGH: pb.REALTIME_STALL_LEVEL_VERY_HIGH,
}


def _duration(value: object) -> Duration:
    duration = Duration()
    duration.FromTimedelta(value)  # type: ignore[arg-type]
    return duration


def stall_rate(rate: RealtimeStallRate) -> pb.RealtimeStallRate:
    level = rate.level
    return pb.RealtimeStallRate(
        percent=rate.percent,
        level=pb.REALTIME_STALL_LEVEL_UNSPECIFIED if level is None else _LEVEL[level],
        stall_ms=rate.stall_ms,
        total_ms=rate.total_ms,
    )


def figures(found: RealtimeFigures) -> pb.RealtimeFigures:
    return pb.RealtimeFigures(
        online_users=found.online_users,
        abnormal_users=found.abnormal_users,
        online_rooms=found.online_rooms,
        video_stall_rate=stall_rate(found.video),
        audio_stall_rate=stall_rate(found.audio),
    )


def overview_response(found: RealtimeOverview) -> pb.GetRealtimeOverviewResponse:
    return pb.GetRealtimeOverviewResponse(
        sdk_app_id=found.sdk_app_id,
        slot_start=timestamp(slot_start(found.slot)),
        slot_end=timestamp(slot_start(found.slot + 1)),
        as_of=timestamp(found.as_of),
        figures=figures(found.figures),
    )


def series_response(found: RealtimeSeries) -> pb.GetRealtimeSeriesResponse:
    return pb.GetRealtimeSeriesResponse(
        sdk_app_id=found.sdk_app_id,
        start_time=timestamp(slot_start(found.first_slot)),
        end_time=timestamp(slot_start(found.end_slot)),
        as_of=timestamp(found.as_of),
        step=_duration(SLOT),
        points=[
            pb.RealtimeSeriesPoint(slot_start=timestamp(slot_start(slot)), figures=figures(f))
            for slot, f in found.points
        ],
        look_back=_duration(found.look_back),
    )


def rooms_response(found: RealtimeRoomList) -> pb.ListRealtimeRoomsResponse:
    rooms = []
    for row in found.rooms:
        room = room_of_key(row.room_key)
        message = pb.RealtimeRoom(figures=figures(row.figures))
        if isinstance(room, int):
            message.room_id = room
        else:
            message.str_room_id = room
        rooms.append(message)
    return pb.ListRealtimeRoomsResponse(
        sdk_app_id=found.sdk_app_id,
        slot_start=timestamp(slot_start(found.slot)),
        slot_end=timestamp(slot_start(found.slot + 1)),
        as_of=timestamp(found.as_of),
        rooms=rooms,
        next_page_token=found.next_page_token,
        total_size=found.total_size,
        truncated=found.truncated,
    )


def breakdown_response(found: RealtimeBreakdown) -> pb.GetRealtimeBreakdownResponse:
    return pb.GetRealtimeBreakdownResponse(
        sdk_app_id=found.sdk_app_id,
        dimension=int(found.dimension),  # type: ignore[arg-type]
        slot_start=timestamp(slot_start(found.slot)),
        slot_end=timestamp(slot_start(found.slot + 1)),
        as_of=timestamp(found.as_of),
        values=[pb.RealtimeBreakdownValue(value=v, figures=figures(f)) for v, f in found.values],
        rest=pb.RealtimeBreakdownValue(value="", figures=figures(found.rest)),
        value_count=found.value_count,
    )
