"""The call list (R17) between protos and the monitor context: request fields in, rows out."""

from __future__ import annotations

from google.protobuf.duration_pb2 import Duration

from rtcconsole.v1 import monitor_service_pb2 as pb
from rtcconsole_server.api.convert import timestamp
from rtcconsole_server.domain.monitor import CallList, CallRange, CallView
from rtcconsole_server.errors import FieldViolation, InvalidArgument

__all__ = ["CALL_RANGE", "call", "call_range", "calls_response"]

CALL_RANGE = {
    pb.CALL_RANGE_TODAY: CallRange.TODAY,
    pb.CALL_RANGE_YESTERDAY: CallRange.YESTERDAY,
    pb.CALL_RANGE_LAST_6_HOURS: CallRange.LAST_6_HOURS,
    pb.CALL_RANGE_LAST_14_DAYS: CallRange.LAST_14_DAYS,
}
"""``CallRange`` numbers → the domain's presets."""


def call_range(number: int) -> CallRange | None:
    """The preset of ``range``; None when unspecified."""
    if number == pb.CALL_RANGE_UNSPECIFIED:
        return None
    if number not in CALL_RANGE:
        raise InvalidArgument(
            FieldViolation("range", "must be TODAY, YESTERDAY, LAST_6_HOURS or LAST_14_DAYS")
        )
    return CALL_RANGE[number]  # type: ignore[index]


def call(view: CallView) -> pb.Call:
    duration = Duration()
    duration.FromTimedelta(view.duration)
    message = pb.Call(
        call_id=view.call_id,
        start_time=timestamp(view.start),
        end_time=timestamp(view.end),
        duration=duration,
        user_count=view.users,
    )
    if isinstance(view.room, int):
        message.room_id = view.room
    else:
        message.str_room_id = view.room
    return message


def calls_response(found: CallList) -> pb.ListCallsResponse:
    return pb.ListCallsResponse(
        calls=[call(v) for v in found.page.items],
        next_page_token=found.page.next_page_token,
        sdk_app_id=found.sdk_app_id,
        start_time=timestamp(found.start),
        end_time=timestamp(found.end),
        as_of=timestamp(found.as_of),
    )
