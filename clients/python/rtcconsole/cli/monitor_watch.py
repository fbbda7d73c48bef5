"""``rtcctl monitor watch``: SubscribeRealtime's frames, one line per 10-second slot (R21).

    rtcctl monitor watch [--sdk-app-id ID] [--count N] [--resume-after T] [--top-rooms N] [--json]

Each line is one frame: the slot, the overview's figures and what the frame says of itself
(``heartbeat``: nothing changed since the previous slot; ``replayed``: built from the retained
figures; ``skipped N``: slots this client was too slow for, coalesced; ``revised``: the slot of
the line before, read again 2 s after its end because late records changed it: it replaces that
line, and counts as a frame for ``--count``). ``--top-rooms N`` (at
most 20) adds the slot's N rooms with the most online users, one indented line each under the
frame's line (in ``--json``: the frame's ``top_rooms``). ``--json`` prints one
proto-JSON object per line (JSON lines). ``--count N`` stops after N frames; without it the
command runs until interrupted or until the server shuts down (UNAVAILABLE: run it again with
``--resume-after`` the last frame's ``slot_start``, on any replica).
"""

from __future__ import annotations

import json

from rtcconsole.cli import _render as render
from rtcconsole.cli._framework import Commands, Invocation, Output, UsageError, instant, uint64
from rtcconsole.v1 import realtime_pb2 as pb
from rtcconsole.v1 import realtime_stream_pb2 as stream_pb

__all__ = ["frame_line", "register"]


def register(monitor: Commands) -> None:
    """Add ``monitor watch`` to the ``monitor`` group."""
    watch = monitor.command(
        "watch", "real-time frames, one line per 10-second slot (R21; basic or advanced edition)", _watch
    )
    watch.add_argument("--sdk-app-id", type=uint64, default=0, metavar="ID", help="the app (default: newest)")
    watch.add_argument(
        "--count", type=int, default=0, metavar="N", help="stop after N frames (default: run on)"
    )
    watch.add_argument(
        "--resume-after",
        type=instant,
        metavar="T",
        help="the slot_start of the last frame seen: resume after it",
    )
    watch.add_argument(
        "--top-rooms",
        type=int,
        default=0,
        metavar="N",
        help="with each frame, the N rooms with the most online users (at most 20; default none)",
    )


def _rate(rate: pb.RealtimeStallRate) -> str:
    return f"{rate.percent:.2f} %" if rate.total_ms else "-"


def _room_line(room: pb.RealtimeRoom) -> str:
    f = room.figures
    name = room.str_room_id if room.WhichOneof("room") == "str_room_id" else str(room.room_id)
    return (
        f"    room {name}  users {f.online_users}  abnormal {f.abnormal_users}  "
        f"video stall {_rate(f.video_stall_rate)}  audio stall {_rate(f.audio_stall_rate)}"
    )


def frame_line(frame: stream_pb.SubscribeRealtimeResponse) -> str:
    """One frame as a line for people, then a line per top room (if any)."""
    f = frame.figures
    notes = [
        *(["revised"] if frame.revision else []),
        *(["heartbeat"] if frame.heartbeat else []),
        *(["replayed"] if frame.replayed else []),
        *([f"skipped {frame.skipped}"] if frame.skipped else []),
    ]
    return (
        f"{render.when(frame.slot_start)}  users {f.online_users}  abnormal {f.abnormal_users}  "
        f"rooms {f.online_rooms}  video stall {_rate(f.video_stall_rate)}  "
        f"audio stall {_rate(f.audio_stall_rate)}"
        + (f"  ({', '.join(notes)})" if notes else "")
        + "".join(f"\n{_room_line(room)}" for room in frame.top_rooms)
    )


def _json_line(frame: stream_pb.SubscribeRealtimeResponse) -> str:
    return json.dumps(render._as_dict(frame), ensure_ascii=False, separators=(",", ":"))


async def _watch(run: Invocation) -> Output:
    """Print each frame as it arrives (the ``--count``-th as the command's output)."""
    if run.args.count < 0:
        raise UsageError("--count must not be negative")
    if not 0 <= run.args.top_rooms <= 20:
        raise UsageError("--top-rooms must be 0 to 20")
    as_json: bool = run.args.json
    line = _json_line if as_json else frame_line
    console = await run.console()
    last: stream_pb.SubscribeRealtimeResponse | None = None
    seen = 0
    stream = console.monitor.subscribe_realtime(
        sdk_app_id=run.args.sdk_app_id, resume_after=run.args.resume_after, top_rooms=run.args.top_rooms
    )
    async with stream:
        async for frame in stream:
            last, seen = frame, seen + 1
            if seen == run.args.count:  # the last one: printed by rtcctl as the command's output
                run.args.json = False  # as text, which is already a JSON line with --json
                return Output(last, line(last))
            print(line(frame), flush=True)
    ended = "the stream ended" if last is None else f"the stream ended after {seen} frames"
    return Output(last or stream_pb.SubscribeRealtimeResponse(), ended)
