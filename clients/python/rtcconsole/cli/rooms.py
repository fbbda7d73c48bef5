"""``rtcctl rooms``: room control (R7), commands the media servers carry out.

    rtcctl rooms dismiss SDK_APP_ID ROOM [--request-id ID] [--json]
    rtcctl rooms remove-users SDK_APP_ID ROOM u1,u2 [--request-id ID] [--json]
    rtcctl rooms commands SDK_APP_ID [--room R] [--state S] [--page-size N] [--page-token T] [--all] [--json]

``dismiss`` closes a room by force (a disabled app's rooms too); ``remove-users`` makes 1-10
users leave it. Each prints the stored command's id and state: PENDING until a media server
watching ``IngestService.WatchRoomCommands`` takes it, DELIVERED once one has, ACKNOWLEDGED
when the events it asked for arrived (ROOM_DISMISSED, or USER_EXITED of every listed user),
EXPIRED if they did not within 10 minutes. ``commands`` lists an app's commands, newest first.
ROOM a number is a numeric room (``42``), any other text a string room. ``--request-id``
makes a retry return the command created first instead of a second one.
"""

from __future__ import annotations

import argparse

from rtcconsole.cli import _render as render
from rtcconsole.cli._framework import Commands, Invocation, Output, UsageError, add_paging, uint64
from rtcconsole.cli._framework import room as room_argument
from rtcconsole.v1 import room_control_pb2 as pb

__all__ = ["STATES", "command_fields", "commands_text", "register"]

STATES = {
    "pending": pb.ROOM_COMMAND_STATE_PENDING,
    "delivered": pb.ROOM_COMMAND_STATE_DELIVERED,
    "acknowledged": pb.ROOM_COMMAND_STATE_ACKNOWLEDGED,
    "expired": pb.ROOM_COMMAND_STATE_EXPIRED,
}
"""``--state`` words → ``RoomCommandState`` numbers."""


def register(commands: Commands) -> None:
    """Add ``rooms …`` to the command line."""
    rooms = commands.group("rooms", "room control: dismiss rooms, remove users (R7)")
    dismiss = rooms.command("dismiss", "close a room by force (a command for the media servers)", _dismiss)
    _target(dismiss)
    remove = rooms.command("remove-users", "make 1-10 users leave a room", _remove)
    _target(remove)
    remove.add_argument("users", metavar="USERS", help="comma-separated user ids: u1,u2 (at most 10)")
    for parser in (dismiss, remove):
        parser.add_argument("--request-id", default="", metavar="ID", help="idempotency key of a retry")
    listed = rooms.command("commands", "an app's room commands and their states, newest first", _commands)
    listed.add_argument("sdk_app_id", type=uint64, metavar="SDK_APP_ID")
    listed.add_argument("--room", metavar="R", help="one room: a number, or a string room")
    listed.add_argument("--state", choices=list(STATES), help="only commands in this state")
    add_paging(listed)


def _target(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sdk_app_id", type=uint64, metavar="SDK_APP_ID")
    parser.add_argument("room", metavar="ROOM", help="a number (numeric room) or text (string room)")


def command_fields(command: pb.RoomCommand, *, created: bool = True) -> str:
    """The command's id and state first, then what it asks and how far it got."""
    pairs = [
        ("command", command.command_id),
        ("state", render.label(pb.RoomCommandState, command.state)),
        ("kind", render.label(pb.RoomCommandKind, command.kind)),
        ("app", str(command.sdk_app_id)),
        ("room", render.room(command)),
    ]
    if command.user_ids:
        pairs.append(("users", ",".join(command.user_ids)))
        pairs.append(("exited", ",".join(command.exited_user_ids) or "-"))
    pairs += [
        ("created", render.when(command.create_time)),
        (
            "delivered",
            render.when(command.deliver_time)
            + (f" to {command.delivered_to}" if command.delivered_to else ""),
        ),
        ("acknowledged", render.when(command.acknowledge_time)),
        ("expires", render.when(command.expire_time)),
    ]
    if command.request_id:
        pairs.append(
            ("request id", command.request_id + ("" if created else " (a retry: not created again)"))
        )
    return render.fields(pairs)


def commands_text(response: pb.ListRoomCommandsResponse) -> str:
    """One row per command (users as ``exited/listed``), newest first."""
    if not response.commands:
        return "no room commands"
    rows = [
        (
            c.command_id,
            render.label(pb.RoomCommandKind, c.kind),
            render.room(c),
            render.label(pb.RoomCommandState, c.state),
            f"{len(c.exited_user_ids)}/{len(c.user_ids)}" if c.user_ids else "-",
            render.when(c.create_time),
            render.when(c.acknowledge_time),
        )
        for c in response.commands
    ]
    headers = ("COMMAND", "KIND", "ROOM", "STATE", "EXITED", "CREATED", "ACKNOWLEDGED")
    return render.table(headers, rows) + render.next_page(response.next_page_token)


async def _dismiss(run: Invocation) -> Output:
    a = run.args
    console = await run.console()
    room = room_argument(a.room)
    response = await console.monitor.dismiss_room(a.sdk_app_id, room, request_id=a.request_id)
    return Output(response, command_fields(response.command, created=response.created))


async def _remove(run: Invocation) -> Output:
    a = run.args
    users = [u.strip() for u in a.users.split(",") if u.strip()]
    if not users:
        raise UsageError("USERS names at least one user id: u1,u2")
    console = await run.console()
    room = room_argument(a.room)
    response = await console.monitor.remove_users(a.sdk_app_id, room, users, request_id=a.request_id)
    return Output(response, command_fields(response.command, created=response.created))


async def _commands(run: Invocation) -> Output:
    a = run.args
    console = await run.console()
    room = room_argument(a.room) if a.room is not None else None
    state = STATES[a.state] if a.state else 0
    listing = console.monitor.list_room_commands
    response = await listing(
        a.sdk_app_id, room=room, state=state, page_size=a.page_size, page_token=a.page_token
    )
    if a.all:
        while response.next_page_token:
            more = await listing(
                a.sdk_app_id,
                room=room,
                state=state,
                page_size=a.page_size,
                page_token=response.next_page_token,
            )
            response.commands.extend(more.commands)
            response.next_page_token = more.next_page_token
    return Output(response, commands_text(response))
