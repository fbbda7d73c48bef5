"""The call details (R18) between protos and the monitor context: views out as messages."""

from __future__ import annotations

from datetime import timedelta

from google.protobuf.duration_pb2 import Duration

from rtcconsole.v1 import call_details_pb2 as pb
from rtcconsole_server.api.convert import timestamp
from rtcconsole_server.domain.monitor import CallInfo, CallUserList, CallUserView

__all__ = ["call_info", "call_user", "call_users_response"]


def _duration(value: timedelta) -> Duration:
    duration = Duration()
    duration.FromTimedelta(value)
    return duration


def call_info(info: CallInfo) -> pb.GetCallResponse:
    view = info.call
    message = pb.GetCallResponse(
        call_id=view.call_id,
        sdk_app_id=info.sdk_app_id,
        app_name=info.app_name,
        user_count=view.users,
        start_time=timestamp(view.start),
        end_time=timestamp(view.end),
        duration=_duration(view.duration),
        as_of=timestamp(info.as_of),
    )
    if isinstance(view.room, int):
        message.room_id = view.room
    else:
        message.str_room_id = view.room
    return message


def call_user(view: CallUserView) -> pb.CallUser:
    return pb.CallUser(
        user_id=view.user_id,
        role=view.role,  # type: ignore[arg-type]
        roles=[pb.RoleChange(time=timestamp(t), role=r) for t, r in view.roles],  # type: ignore[arg-type]
        upstream=view.upstream,
        downstream=view.downstream,
        region=view.region,
        presence=[
            pb.PresenceInterval(enter_time=timestamp(p.enter), exit_time=timestamp(p.exit))
            for p in view.presence
        ],
        first_join_time=timestamp(view.first_join),
        last_leave_time=timestamp(view.last_leave),
        total_stay=_duration(view.total_stay),
        sdk_version=view.sdk_version,
        platform=view.platform,
        device_model=view.device_model,
        network_type=view.network_type,
        last_join_time=timestamp(view.last_join),
    )


def call_users_response(found: CallUserList) -> pb.ListCallUsersResponse:
    return pb.ListCallUsersResponse(
        users=[call_user(v) for v in found.page.items],
        next_page_token=found.page.next_page_token,
        call_id=found.call_id,
        start_time=timestamp(found.start),
        end_time=timestamp(found.end),
        as_of=timestamp(found.as_of),
        total_users=found.total,
    )
