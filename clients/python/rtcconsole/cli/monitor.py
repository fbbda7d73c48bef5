"""``rtcctl monitor``: the monitoring dashboard (R17-R21).

    rtcctl monitor calls [--sdk-app-id ID] [--range today|yesterday|6h|14d | --from T --to T]
                         [--room R] [--user U] [--page-size N] [--page-token T] [--all] [--json | --csv]
    rtcctl monitor thresholds [--json]

``calls`` lists the calls (R17) of an app, newest start first: one life of a room each,
from its first user in to its last user out. Without ``--sdk-app-id`` the account's most
recently created app; without a range today (UTC). ``--from``/``--to`` take what
:func:`rtcconsole.times.parse_instant` reads (``now-3h``, ``yesterday``, ISO 8601), at
most 14 days back. ``--room`` a number is a numeric room (quote nothing: ``--room 42``), any
other text a string room. An ongoing call shows ``-`` as its end and its duration so far.
``--csv`` prints the rows as CSV (a header line, then one line per call).

``thresholds`` prints the bands the server judges quality with: one row per band of
each R20 metric (packet loss, bitrate change, frame rate and its swings, system CPU,
SDK task time, volume) per media kind where the bands differ, then R21's stall-rate
levels of video and audio with the shortest freeze that counts as a stall. Every
figure comes from the server (``MonitorService.GetQualityThresholds``); none is
written here. A range reads ``2 ≤ x ≤ 5 %``: each edge inclusive (≤) or exclusive
(<), an unbounded edge left out. POOR and SEVERE are what the seed marks red on its
charts; ``our choice`` marks a band where the seed is silent (docs/monitoring-thresholds.md
says why). ``--json`` prints the response as proto-JSON.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from google.protobuf.duration_pb2 import Duration

from rtcconsole._monitor import CALL_RANGES
from rtcconsole.cli import _render as render
from rtcconsole.cli import monitor_call, monitor_realtime, monitor_view, monitor_watch, monitor_watch_events
from rtcconsole.cli._framework import Commands, Invocation, Output, UsageError, add_paging, instant, uint64
from rtcconsole.cli._framework import room as room_argument
from rtcconsole.v1 import monitor_service_pb2 as pb
from rtcconsole.v1 import quality_pb2

__all__ = ["calls_csv", "calls_text", "media_text", "range_text", "register", "thresholds_text"]


def register(commands: Commands) -> None:
    """Add ``monitor …`` to the command line."""
    monitor = commands.group("monitor", "monitoring dashboard: call list, quality thresholds")
    calls = monitor.command("calls", "the calls of an app in a range, newest start first (R17)", _calls)
    calls.add_argument("--sdk-app-id", type=uint64, default=0, metavar="ID", help="the app (default: newest)")
    calls.add_argument(
        "--range",
        choices=list(CALL_RANGES),
        help="a preset range (default: today in the account's time zone, UTC until set)",
    )
    calls.add_argument("--from", dest="start", type=instant, metavar="T", help="custom range start")
    calls.add_argument("--to", dest="end", type=instant, metavar="T", help="custom range end, exclusive")
    calls.add_argument("--room", metavar="R", help="one room: a number, or a string room")
    calls.add_argument("--user", default="", metavar="U", help="calls this user entered")
    calls.add_argument("--csv", action="store_true", help="print the rows as CSV")
    add_paging(calls)
    monitor.command("thresholds", "the bands that judge quality (R20) and stall rates (R21)", _thresholds)
    monitor_call.register(monitor)  # monitor call CALL_ID (R18)
    monitor_view.register_views(monitor)  # monitor view|quality|events CALL_ID (R19, R20)
    monitor_realtime.register(monitor)  # monitor realtime overview|series|rooms|breakdown (R21)
    monitor_watch.register(monitor)  # monitor watch: SubscribeRealtime frames (R21)
    monitor_watch_events.register(monitor)  # monitor watch-events: SubscribeRoomEvents (R21)


def range_text(value_range: pb.ThresholdRange, unit: str) -> str:
    """``0 < x < 2 %``, ``x = 0 %``, ``x ≥ 15 fps``: the band's edges, each inclusive or not."""
    low = value_range.lower if value_range.HasField("lower") else None
    high = value_range.upper if value_range.HasField("upper") else None
    below = "≤" if value_range.upper_inclusive else "<"
    if low is None:
        return f"x {below} {high:g} {unit}" if high is not None else "any value"
    if high is None:
        return f"x {'≥' if value_range.lower_inclusive else '>'} {low:g} {unit}"
    if low == high:
        return f"x = {low:g} {unit}"
    return f"{low:g} {'≤' if value_range.lower_inclusive else '<'} x {below} {high:g} {unit}"


def media_text(media: Iterable[quality_pb2.MediaKind.ValueType]) -> str:
    """``video, screen share`` from ``MediaKind`` numbers; a device metric (none) applies to ``any``."""
    names = (quality_pb2.MediaKind.Name(kind).removeprefix("MEDIA_KIND_").lower() for kind in media)
    return ", ".join(name.replace("_", " ") for name in names) or "any (device)"


def _seconds(duration: Duration) -> str:
    millis = duration.ToMilliseconds()
    return f"{millis} ms" if millis < 1000 else f"{millis / 1000:g} s"


def _note(thresholds: pb.MetricThresholds, band: pb.QualityBand) -> str:
    notes = ["our choice"] if band.chosen else []
    if thresholds.HasField("window"):
        notes.append(f"over {_seconds(thresholds.window)}")
    return ", ".join(notes)


def thresholds_text(response: pb.GetQualityThresholdsResponse) -> str:
    """The quality bands, then the stall-rate levels, each a table."""
    quality = render.table(
        ("METRIC", "MEDIA", "LEVEL", "RANGE", "NOTE"),
        [
            (
                render.label(pb.QualityMetric, t.metric).lower().replace("_", " "),
                media_text(list(t.media)),
                render.label(pb.QualityLevel, band.level),
                range_text(band.range, t.unit),
                _note(t, band),
            )
            for t in response.metrics
            for band in t.bands
        ],
    )
    stalls = render.table(
        ("MEDIA", "STALL_FROM", "LEVEL", "RANGE", "COLOR"),
        [
            (
                media_text([s.media]),
                _seconds(s.minimum_stall),
                render.label(pb.StallLevel, band.level),
                range_text(band.range, "%"),
                band.color,
            )
            for s in response.stall_rates
            for band in s.bands
        ],
    )
    return (
        "quality thresholds (R20): POOR and SEVERE are marked on the charts\n"
        f"{quality}\n\n"
        "stall rates (R21): stall time ÷ total time; a freeze counts from STALL_FROM\n"
        f"{stalls}"
    )


async def _thresholds(run: Invocation) -> Output:
    console = await run.console()
    response = await console.monitor.get_quality_thresholds()
    return Output(response, thresholds_text(response))


def _duration(call: pb.Call) -> str:
    return render.span(call.duration)


_CALL_HEADERS = ("CALL_ID", "ROOM", "START", "END", "DURATION", "USERS")


def _call_row(call: pb.Call) -> tuple[str, ...]:
    return (
        call.call_id,
        render.room(call),
        render.when(call.start_time),
        render.when(call.end_time) if call.HasField("end_time") else "-",
        _duration(call),
        str(call.user_count),
    )


def calls_text(response: pb.ListCallsResponse) -> str:
    """A header naming the app and range, then one row per call (an ongoing one ends in ``-``)."""
    header = (
        f"calls of app {response.sdk_app_id} starting {render.when(response.start_time)} to "
        f"{render.when(response.end_time)} (UTC), as of {render.when(response.as_of)}"
    )
    body = (
        render.table(_CALL_HEADERS, [_call_row(c) for c in response.calls]) if response.calls else "no calls"
    )
    return f"{header}\n{body}{render.next_page(response.next_page_token)}"


def calls_csv(response: pb.ListCallsResponse) -> str:
    """The rows as CSV: a header line, then one line per call (an ongoing one with an empty end)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(h.lower() for h in _CALL_HEADERS)
    for call in response.calls:
        row = list(_call_row(call))
        row[3] = "" if row[3] == "-" else row[3]
        row[4] = f"{call.duration.ToTimedelta().total_seconds():g}"
        writer.writerow(row)
    return out.getvalue().rstrip("\n")


async def _calls(run: Invocation) -> Output:
    a = run.args
    if a.csv and a.json:
        raise UsageError("--csv and --json exclude each other")
    if a.range and (a.start or a.end):
        raise UsageError("--range excludes --from/--to")
    if (a.start is None) != (a.end is None):
        raise UsageError("--from and --to go together")
    room: int | str | None = None
    if a.room is not None:
        room = room_argument(a.room)
    console = await run.console()
    filters = {
        "sdk_app_id": a.sdk_app_id,
        "range": a.range or 0,
        "start": a.start,
        "end": a.end,
        "room": room,
        "user_id": a.user,
    }
    if a.all:
        first = await console.monitor.list_calls(**filters, page_size=a.page_size, page_token=a.page_token)
        rest = console.monitor.iter_calls(**filters, page_size=a.page_size, page_token=first.next_page_token)
        calls = list(first.calls) + ([c async for c in rest] if first.next_page_token else [])
        response = pb.ListCallsResponse()
        response.CopyFrom(first)
        del response.calls[:]
        response.calls.extend(calls)
        response.next_page_token = ""
    else:
        response = await console.monitor.list_calls(**filters, page_size=a.page_size, page_token=a.page_token)
    return Output(response, calls_csv(response) if a.csv else calls_text(response))
