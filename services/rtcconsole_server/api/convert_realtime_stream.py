"""SubscribeRealtime (R21) between protos and the monitor context: one frame out."""

from __future__ import annotations

from rtcconsole.v1 import realtime_pb2 as pb
from rtcconsole.v1 import realtime_stream_pb2 as stream_pb
from rtcconsole_server.api.convert import timestamp
from rtcconsole_server.api.convert_realtime import figures
from rtcconsole_server.domain.events import room_of_key
from rtcconsole_server.domain.monitor import RealtimeFrame, RealtimeRoomRow
from rtcconsole_server.live import slot_start

__all__ = ["SHUTTING_DOWN", "frame_response"]

_MAX_UINT32 = 2**32 - 1


def _room(row: RealtimeRoomRow) -> pb.RealtimeRoom:
    """A top room as ListRealtimeRooms lists it."""
    message = pb.RealtimeRoom(figures=figures(row.figures))
    room = room_of_key(row.room_key)
    if isinstance(room, int):
        message.room_id = room
    else:
        message.str_room_id = room
    return message


def frame_response(frame: RealtimeFrame) -> stream_pb.SubscribeRealtimeResponse:
    """One frame as sent to one subscriber (its own ``skipped``, ``replayed`` and top rooms)."""
    start = timestamp(slot_start(frame.slot))
    found = figures(frame.figures)
    return stream_pb.SubscribeRealtimeResponse(
        sdk_app_id=frame.sdk_app_id,
        slot_start=start,
        slot_end=timestamp(slot_start(frame.slot + 1)),
        as_of=timestamp(frame.as_of),
        figures=found,
        point=pb.RealtimeSeriesPoint(slot_start=start, figures=found),
        heartbeat=frame.heartbeat,
        skipped=min(frame.skipped, _MAX_UINT32),
        replayed=frame.replayed,
        top_rooms=[_room(row) for row in frame.top_rooms or ()],
        revision=frame.revision,
    )


SHUTTING_DOWN = "the server is shutting down; resume the subscription on another replica (resume_after)"
"""The UNAVAILABLE message that ends every subscription at a graceful stop."""
