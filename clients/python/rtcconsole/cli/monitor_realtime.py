"""``rtcctl monitor realtime``: real-time monitoring in 10-second slots (R21).

    rtcctl monitor realtime overview  [--sdk-app-id ID] [--json | --csv]
    rtcctl monitor realtime series    [--sdk-app-id ID] [--minutes N | --from T --to T] [--json | --csv]
    rtcctl monitor realtime rooms     [--sdk-app-id ID] [--order-by KEY] [--ascending]
                                      [--page-size N] [--page-token T] [--json | --csv]
    rtcctl monitor realtime breakdown DIMENSION [--sdk-app-id ID] [--top N] [--json | --csv]

Every answer names the slot it describes and ``as_of``. Stall rates print as a percentage and
their level (low, high, very high; ``-`` when nothing was received). ``--csv`` prints the rows
(one per slot, room or value; the breakdown's rest as value ``(rest)``), ``--json`` every field.
The account needs the basic or advanced dashboard edition (a free one is FAILED_PRECONDITION,
``EDITION_REQUIRED``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

from rtcconsole.cli import _render as render
from rtcconsole.cli._framework import Commands, Invocation, Output, UsageError, add_paging, instant, uint64
from rtcconsole.v1 import realtime_pb2 as pb

__all__ = ["register"]

_ORDERS = {
    "online-users": pb.REALTIME_ROOM_ORDER_ONLINE_USERS,
    "abnormal-users": pb.REALTIME_ROOM_ORDER_ABNORMAL_USERS,
    "video-stall": pb.REALTIME_ROOM_ORDER_VIDEO_STALL_RATE,
    "audio-stall": pb.REALTIME_ROOM_ORDER_AUDIO_STALL_RATE,
    "room": pb.REALTIME_ROOM_ORDER_ROOM,
}
_DIMENSIONS = {
    "country": pb.REALTIME_DIMENSION_COUNTRY,
    "province": pb.REALTIME_DIMENSION_PROVINCE,
    "network": pb.REALTIME_DIMENSION_NETWORK,
    "device": pb.REALTIME_DIMENSION_DEVICE,
    "sdk-version": pb.REALTIME_DIMENSION_SDK_VERSION,
    "carrier": pb.REALTIME_DIMENSION_CARRIER,
}
_FIGURES = ("ONLINE USERS", "ABNORMAL USERS", "ONLINE ROOMS", "VIDEO STALL", "AUDIO STALL")


def register(monitor: Commands) -> None:
    """Add ``monitor realtime …`` to the ``monitor`` group."""
    realtime = monitor.group(
        "realtime", "real-time figures in 10-second slots (R21; basic or advanced edition)"
    )
    overview = realtime.command("overview", "the latest data: the last closed 10-second slot", _overview)
    series = realtime.command("series", "the scale and quality charts, one point per 10 s", _series)
    series.add_argument("--minutes", type=int, metavar="N", help="the last N minutes (default 60)")
    series.add_argument("--from", dest="start", type=instant, metavar="T", help="range start")
    series.add_argument("--to", dest="end", type=instant, metavar="T", help="range end, exclusive")
    rooms = realtime.command("rooms", "rooms not yet ended, with their figures", _rooms)
    rooms.add_argument("--order-by", choices=list(_ORDERS), default="online-users")
    rooms.add_argument("--ascending", action="store_true", help="smallest first")
    add_paging(rooms)
    breakdown = realtime.command("breakdown", "one dimension's values: top N and the rest", _breakdown)
    breakdown.add_argument(
        "dimension", nargs="?", choices=list(_DIMENSIONS), help="the dimension (default: country)"
    )
    breakdown.add_argument(
        "--dimension", dest="dimension_flag", choices=list(_DIMENSIONS), metavar="NAME",
        help="the same, as an option",
    )  # fmt: skip
    breakdown.add_argument("--top", type=int, default=0, metavar="N", help="values listed (default 10)")
    for command in (overview, series, rooms, breakdown):
        command.add_argument(
            "--sdk-app-id", type=uint64, default=0, metavar="ID", help="the app (default: newest)"
        )
        command.add_argument("--csv", action="store_true", help="print the rows as CSV")


def _rate(rate: pb.RealtimeStallRate) -> str:
    if not rate.total_ms:
        return "-"
    level = render.label(pb.RealtimeStallLevel, rate.level).lower().replace("_", " ")
    return f"{rate.percent:.2f} % ({level})"


def _cells(figures: pb.RealtimeFigures) -> list[str]:
    return [
        str(figures.online_users),
        str(figures.abnormal_users),
        str(figures.online_rooms),
        _rate(figures.video_stall_rate),
        _rate(figures.audio_stall_rate),
    ]


def _csv_cells(figures: pb.RealtimeFigures) -> list[str]:
    video, audio = figures.video_stall_rate, figures.audio_stall_rate
    return [
        str(figures.online_users),
        str(figures.abnormal_users),
        str(figures.online_rooms),
        f"{video.percent:g}",
        str(video.stall_ms),
        str(video.total_ms),
        f"{audio.percent:g}",
        str(audio.stall_ms),
        str(audio.total_ms),
    ]


_CSV_FIGURES = [
    "online_users",
    "abnormal_users",
    "online_rooms",
    "video_stall_percent",
    "video_stall_ms",
    "video_total_ms",
    "audio_stall_percent",
    "audio_stall_ms",
    "audio_total_ms",
]


def _csv(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(headers)
    writer.writerows(rows)
    return out.getvalue().rstrip("\n")


def _slot(start: object, end: object, as_of: object) -> str:
    return f"slot {render.when(start)} – {render.when(end)} (as of {render.when(as_of)})"  # type: ignore[arg-type]


def _check(run: Invocation) -> None:
    if run.args.csv and run.args.json:
        raise UsageError("--csv and --json exclude each other")


async def _overview(run: Invocation) -> Output:
    _check(run)
    console = await run.console()
    r = await console.monitor.get_realtime_overview(sdk_app_id=run.args.sdk_app_id)
    if run.args.csv:
        return Output(
            r, _csv(["slot_start", *_CSV_FIGURES], [[render.when(r.slot_start), *_csv_cells(r.figures)]])
        )
    pairs = [("APP", str(r.sdk_app_id)), ("SLOT", _slot(r.slot_start, r.slot_end, r.as_of))]
    return Output(r, render.fields([*pairs, *zip(_FIGURES, _cells(r.figures), strict=True)]))


async def _series(run: Invocation) -> Output:
    _check(run)
    a = run.args
    if (a.start is None) != (a.end is None):
        raise UsageError("--from and --to go together")
    if a.minutes is not None and a.start is not None:
        raise UsageError("--minutes excludes --from/--to")
    start, end = a.start, a.end
    if a.minutes is not None:
        if a.minutes < 1:
            raise UsageError("--minutes must be at least 1")
        end = datetime.now(UTC)
        start = end - timedelta(minutes=a.minutes)
    console = await run.console()
    r = await console.monitor.get_realtime_series(sdk_app_id=a.sdk_app_id, start=start, end=end)
    if a.csv:
        rows = [[render.when(p.slot_start), *_csv_cells(p.figures)] for p in r.points]
        return Output(r, _csv(["slot_start", *_CSV_FIGURES], rows))
    head = f"app {r.sdk_app_id}: {len(r.points)} points of 10 s, {_slot(r.start_time, r.end_time, r.as_of)}"
    table = render.table(
        ["SLOT", *_FIGURES], [[render.when(p.slot_start), *_cells(p.figures)] for p in r.points]
    )
    return Output(r, f"{head}\n{table}")


async def _rooms(run: Invocation) -> Output:
    _check(run)
    a = run.args
    console = await run.console()
    r = await console.monitor.list_realtime_rooms(
        sdk_app_id=a.sdk_app_id,
        order_by=_ORDERS[a.order_by],
        ascending=a.ascending,
        page_size=a.page_size,
        page_token=a.page_token,
    )
    if a.csv:
        rows = [[render.room(room), *_csv_cells(room.figures)] for room in r.rooms]
        return Output(r, _csv(["room", *_CSV_FIGURES], rows))
    headers = ["ROOM", "ONLINE USERS", "ABNORMAL USERS", "VIDEO STALL", "AUDIO STALL"]
    rows_text = [[render.room(room), *(_cells(room.figures)[i] for i in (0, 1, 3, 4))] for room in r.rooms]
    more = f"\nnext page: --page-token {r.next_page_token}" if r.next_page_token else ""
    cut = " (more than 10,000 rooms: the first 10,000 ranked)" if r.truncated else ""
    head = f"app {r.sdk_app_id}: {r.total_size} rooms{cut}, {_slot(r.slot_start, r.slot_end, r.as_of)}"
    return Output(r, f"{head}\n{render.table(headers, rows_text)}{more}")


async def _breakdown(run: Invocation) -> Output:
    _check(run)
    a = run.args
    if a.dimension and a.dimension_flag and a.dimension != a.dimension_flag:
        raise UsageError("name the dimension once (positional or --dimension)")
    a.dimension = a.dimension or a.dimension_flag or "country"
    console = await run.console()
    r = await console.monitor.get_realtime_breakdown(
        _DIMENSIONS[a.dimension], sdk_app_id=a.sdk_app_id, top=a.top
    )
    values = [(v.value, v.figures) for v in r.values]
    if len(r.values) < r.value_count:
        values.append(("(rest)", r.rest.figures))
    if a.csv:
        return Output(r, _csv(["value", *_CSV_FIGURES], [[v, *_csv_cells(f)] for v, f in values]))
    headers = [a.dimension.upper(), "ONLINE USERS", "ABNORMAL USERS", "VIDEO STALL", "AUDIO STALL"]
    rows = [[v or "(none)", *(_cells(f)[i] for i in (0, 1, 3, 4))] for v, f in values]
    head = f"app {r.sdk_app_id}: {r.value_count} values, {_slot(r.slot_start, r.slot_end, r.as_of)}"
    return Output(r, f"{head}\n{render.table(headers, rows)}")
