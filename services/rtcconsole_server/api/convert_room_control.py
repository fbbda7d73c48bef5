"""Room control (R7) between protos and the monitor context: commands out, states both ways."""

from __future__ import annotations

from rtcconsole.v1 import room_control_pb2 as pb
from rtcconsole_server.api.convert import timestamp
from rtcconsole_server.domain.monitor import CommandKind, CommandList, CommandState, Issued, RoomCommandView
from rtcconsole_server.errors import FieldViolation, InvalidArgument

__all__ = ["command", "command_state", "commands_response", "dismiss_response", "remove_response", "room_of"]

_KIND = {
    CommandKind.DISMISS: pb.ROOM_COMMAND_KIND_DISMISS_ROOM,
    CommandKind.REMOVE: pb.ROOM_COMMAND_KIND_REMOVE_USERS,
}
_STATE = {
    CommandState.PENDING: pb.ROOM_COMMAND_STATE_PENDING,
    CommandState.DELIVERED: pb.ROOM_COMMAND_STATE_DELIVERED,
    CommandState.ACKNOWLEDGED: pb.ROOM_COMMAND_STATE_ACKNOWLEDGED,
    CommandState.EXPIRED: pb.ROOM_COMMAND_STATE_EXPIRED,
}
_STATE_OF = {number: state for state, number in _STATE.items()}


def room_of(
    request: pb.DismissRoomRequest | pb.RemoveUsersRequest | pb.ListRoomCommandsRequest,
) -> tuple[int | None, str | None]:
    """``(room_id, str_room_id)`` of the request's ``room`` oneof (None where not set)."""
    which = request.WhichOneof("room")
    return (
        request.room_id if which == "room_id" else None,
        request.str_room_id if which == "str_room_id" else None,
    )


def command_state(number: int) -> CommandState | None:
    """The state filter of ListRoomCommands; None when unspecified."""
    if number == pb.ROOM_COMMAND_STATE_UNSPECIFIED:
        return None
    if number not in _STATE_OF:
        raise InvalidArgument(
            FieldViolation("state", "must be PENDING, DELIVERED, ACKNOWLEDGED or EXPIRED (or unspecified)")
        )
    return _STATE_OF[number]  # type: ignore[index]


def command(view: RoomCommandView) -> pb.RoomCommand:
    message = pb.RoomCommand(
        command_id=view.command_id,
        sdk_app_id=view.sdk_app_id,
        kind=_KIND[view.kind],
        state=_STATE[view.state],
        user_ids=list(view.user_ids),
        exited_user_ids=list(view.exited_user_ids),
        create_time=timestamp(view.created_at),
        deliver_time=timestamp(view.delivered_at),
        delivered_to=view.delivered_to,
        acknowledge_time=timestamp(view.acknowledged_at),
        expire_time=timestamp(view.expires_at),
        requested_by_key_id=view.requested_by_key_id,
        request_id=view.request_id,
    )
    if isinstance(view.room, int):
        message.room_id = view.room
    else:
        message.str_room_id = view.room
    return message


def dismiss_response(issued: Issued) -> pb.DismissRoomResponse:
    return pb.DismissRoomResponse(command=command(issued.command), created=issued.created)


def remove_response(issued: Issued) -> pb.RemoveUsersResponse:
    return pb.RemoveUsersResponse(command=command(issued.command), created=issued.created)


def commands_response(found: CommandList) -> pb.ListRoomCommandsResponse:
    return pb.ListRoomCommandsResponse(
        commands=[command(v) for v in found.page.items],
        next_page_token=found.page.next_page_token,
        as_of=timestamp(found.as_of),
    )
