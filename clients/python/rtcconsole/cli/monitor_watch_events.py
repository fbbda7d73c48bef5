"""``rtcctl monitor watch-events``: SubscribeRoomEvents, one line per room or media event (R21).

    rtcctl monitor watch-events [--sdk-app-id ID] [--room R] [--after SEQ] [--count N] [--json]

Each line is one event as it is ingested: its sequence in the app, the event time, the room,
the user, the type (``USER_ENTERED``, ``VIDEO_STARTED``, …), then the role, the reason and
the session attributes where set. ``--room`` keeps one room (a number is a numeric room, any
other text a string room). ``--after SEQ`` first prints the stored events numbered after SEQ
(``--after 0``: all of them), then the live ones; without it only events ingested from now on.
``--json`` prints one proto-JSON ``SequencedRoomEvent`` per line (JSON lines). ``--count N``
stops after N events; without it the command runs until interrupted or until the server shuts
down: then it says on stderr which ``--after`` resumes without a gap or a duplicate (on any
replica) and exits 1 (UNAVAILABLE).
"""

from __future__ import annotations

import json
import sys

from rtcconsole.cli import _render as render
from rtcconsole.cli._framework import Commands, Invocation, Output, UsageError, bounded_integer, uint64
from rtcconsole.cli._framework import room as room_argument
from rtcconsole.errors import Unavailable
from rtcconsole.v1 import ingest_service_pb2 as ingest_pb
from rtcconsole.v1 import room_event_stream_pb2 as pb

__all__ = ["event_line", "register"]

_MAX_AFTER = 2**63 - 1
"""The largest sequence (a signed 64-bit integer)."""


def _sequence(text: str) -> int:
    """A sequence argument: 0 to 2**63 - 1."""
    return bounded_integer(text, 0, _MAX_AFTER)


def register(monitor: Commands) -> None:
    """Add ``monitor watch-events`` to the ``monitor`` group."""
    watch = monitor.command(
        "watch-events",
        "room and media events as they are ingested, with their sequence (R21; basic or advanced edition)",
        _watch_events,
    )
    watch.add_argument("--sdk-app-id", type=uint64, default=0, metavar="ID", help="the app (default: newest)")
    watch.add_argument("--room", metavar="R", help="one room: a number, or a string room")
    watch.add_argument(
        "--after",
        type=_sequence,
        default=None,
        metavar="SEQ",
        help="print the stored events numbered after SEQ first (0: all), then live ones",
    )
    watch.add_argument(
        "--count", type=int, default=0, metavar="N", help="stop after N events (default: run on)"
    )


def event_line(item: pb.SequencedRoomEvent) -> str:
    """One event as a line for people."""
    event = item.event
    kind = ingest_pb.EventType.Name(event.type).removeprefix("EVENT_TYPE_") if event.type else "-"
    notes = []
    if event.role:
        notes.append("role " + ingest_pb.Role.Name(event.role).removeprefix("ROLE_").lower())
    if event.reason:
        notes.append(f"reason {event.reason}")
    notes.extend(f"{field.name} {value}" for field, value in event.session.ListFields())
    return (
        f"{item.sequence}  {render.when(event.event_time)}  room {render.room(event)}  "
        f"user {event.user_id or '-'}  {kind}" + (f"  ({', '.join(notes)})" if notes else "")
    )


def _json_line(item: pb.SequencedRoomEvent) -> str:
    return json.dumps(render._as_dict(item), ensure_ascii=False, separators=(",", ":"))


async def _watch_events(run: Invocation) -> Output:
    """Print each event as it arrives (the ``--count``-th as the command's output)."""
    if run.args.count < 0:
        raise UsageError("--count must not be negative")
    as_json: bool = run.args.json
    line = _json_line if as_json else event_line
    room = room_argument(run.args.room) if run.args.room else None
    console = await run.console()
    last: pb.SequencedRoomEvent | None = None
    seen = 0
    resume = run.args.after
    stream = console.monitor.subscribe_room_events(
        sdk_app_id=run.args.sdk_app_id, room=room, after_sequence=run.args.after
    )
    try:
        async with stream:
            async for response in stream:
                for item in response.events:
                    last, seen = item, seen + 1
                    if seen == run.args.count:  # the last one: printed by rtcctl as the output
                        run.args.json = False  # as text, which is already a JSON line with --json
                        return Output(last, line(last))
                    print(line(item), flush=True)
                resume = response.resume_after
    except Unavailable:
        if resume is not None:
            print(f"the server is shutting down; resume with --after {resume}", file=sys.stderr, flush=True)
        raise
    ended = "the stream ended" if last is None else f"the stream ended after {seen} events"
    return Output(last or pb.SequencedRoomEvent(), ended)
