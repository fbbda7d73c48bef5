"""``rtcctl monitor call``: one call's details (R18).

    rtcctl monitor call CALL_ID [--from T --to T] [--users a,b] [--page-size N] [--page-token T]
                        [--all] [--json]

``CALL_ID`` is what ``rtcctl monitor calls`` prints (``{sdk_app_id}_{room}_{start_unix}``).
It prints the room info (``MonitorService.GetCall``: app, room, cumulative users, start,
end, duration: an ongoing call shows ``-`` as its end and its duration so far), then the
users over a range (``ListCallUsers``): one row each, latest entry first, with the role
(``audience→anchor`` when it switched), whether the user sent (UP) and received (DOWN),
region, first join, last leave (``-`` while in), total stay and the SDK, platform, device
and network of their latest entry; then each stay inside the range (``-`` as the exit while
the user is in) and, when any role switched, the role changes.

``--from``/``--to`` (both or neither, at most 5 hours apart) take what
:func:`rtcconsole.times.parse_instant` reads; without them the call's whole life if it lasts
at most 5 hours, else its last 5 hours. By default the 6 most recent users; ``--users``
names up to 20, ``--page-size`` at most 20, ``--all`` follows the pages. ``--json`` prints
both answers as one ``CallDetails`` message in proto-JSON.
"""

from __future__ import annotations

from rtcconsole.cli import _render as render
from rtcconsole.cli._framework import Commands, Invocation, Output, UsageError, add_paging, instant
from rtcconsole.v1 import call_details_pb2 as pb
from rtcconsole.v1 import ingest_service_pb2 as ingest_pb

__all__ = ["call_text", "register"]


def register(monitor: Commands) -> None:
    """Add ``monitor call`` to the ``monitor`` group."""
    call = monitor.command("call", "one call's room info and users (R18)", _call)
    call.add_argument("call_id", metavar="CALL_ID", help="as `rtcctl monitor calls` prints it")
    call.add_argument("--from", dest="start", type=instant, metavar="T", help="range start")
    call.add_argument("--to", dest="end", type=instant, metavar="T", help="range end, exclusive")
    call.add_argument("--users", default="", metavar="A,B", help="only these users (at most 20)")
    add_paging(call)


def _role(role: int) -> str:
    return render.label(ingest_pb.Role, role).lower()


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _roles(user: pb.CallUser) -> str:
    return "→".join(_role(r.role) for r in user.roles) if len(user.roles) > 1 else _role(user.role)


def _user_row(user: pb.CallUser) -> tuple[str, ...]:
    return (
        user.user_id,
        _roles(user),
        _yes(user.upstream),
        _yes(user.downstream),
        user.region or "-",
        render.when(user.first_join_time),
        render.when(user.last_leave_time),
        render.span(user.total_stay),
        user.sdk_version or "-",
        user.platform or "-",
        user.device_model or "-",
        user.network_type or "-",
    )


_HEADERS = (
    "USER",
    "ROLE",
    "UP",
    "DOWN",
    "REGION",
    "FIRST_JOIN",
    "LAST_LEAVE",
    "TOTAL_STAY",
    "SDK",
    "PLATFORM",
    "DEVICE",
    "NETWORK",
)


def call_text(details: pb.CallDetails) -> str:
    """The room info, the users' table, their stays in the range, and the role changes if any."""
    call, users = details.call, details.users
    lines = [
        f"call {call.call_id}: app {call.sdk_app_id} ({call.app_name}), room {render.room(call)}",
        f"start {render.when(call.start_time)}  end {render.when(call.end_time)}  "
        f"duration {render.span(call.duration)}  users {call.user_count}  as of {render.when(call.as_of)}",
        "",
        f"users {render.when(users.start_time)} to {render.when(users.end_time)} (UTC): "
        f"{len(users.users)} of {users.total_users}, latest entry first",
    ]
    if not users.users:
        return "\n".join([*lines, "no users"])
    lines.append(render.table(_HEADERS, [_user_row(u) for u in users.users]))
    stays = [
        (u.user_id, render.when(p.enter_time), render.when(p.exit_time))
        for u in users.users
        for p in u.presence
    ]
    lines += ["", "stays in the range", render.table(("USER", "ENTER", "EXIT"), stays)]
    changes = [
        (u.user_id, render.when(r.time), _role(r.role))
        for u in users.users
        if len(u.roles) > 1
        for r in u.roles
    ]
    if changes:
        lines += ["", "role changes", render.table(("USER", "FROM", "ROLE"), changes)]
    return "\n".join(lines) + render.next_page(users.next_page_token)


async def _call(run: Invocation) -> Output:
    a = run.args
    if (a.start is None) != (a.end is None):
        raise UsageError("--from and --to go together")
    user_ids = [u.strip() for u in a.users.split(",") if u.strip()]
    console = await run.console()
    call = await console.monitor.get_call(a.call_id)
    query = {"start": a.start, "end": a.end, "user_ids": user_ids, "page_size": a.page_size}
    users = await console.monitor.list_call_users(a.call_id, **query, page_token=a.page_token)
    if a.all:
        token = users.next_page_token
        while token:
            page = await console.monitor.list_call_users(a.call_id, **query, page_token=token)
            users.users.extend(page.users)
            token = page.next_page_token
        users.next_page_token = ""
    details = pb.CallDetails(call=call, users=users)
    return Output(details, call_text(details))
