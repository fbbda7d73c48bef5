"""``rtcctl monitor view|quality|events``: one user's views, full link and client events (R19, R20).

    rtcctl monitor view CALL_ID --user U [--side receiver|sender] [--from T --to T] [--points N] [--json]
    rtcctl monitor quality CALL_ID --user U [--peer P] --media video|audio|screen
                           [--metrics loss,bitrate,…] [--from T --to T] [--points N] [--json | --csv]
    rtcctl monitor events CALL_ID --user U [--peer P] [--abnormal] [--from T --to T]
                          [--page-size N] [--page-token T] [--all] [--json]

``view`` prints the receiver view (what the user received from each peer) and/or the sender
view (its own upstream, ``(upstream)``, and what each receiver got from it): the sub-views that
have data, then one row per stream with the worst level of its loss and bitrate, its stall
time and its moments of network jitter, then those moments. ``quality`` prints one row per
point time, a column per metric with its value and level (``1.5 good``); ``--csv`` prints one
line per point (time, metric, unit, aggregate, value, level, samples). Metric names are the
``SeriesMetric`` names in lower case (``packet_loss``, ``bitrate``, ``render_fps``,
``stall_time``, …; ``loss`` is ``packet_loss``). ``events`` lists the client events, oldest
first. Levels are words (best, good, fair, poor, severe; ``-`` where a metric is not judged).
Without a range: the call's whole life if at most 5 hours, else its last 5 hours.
"""

from __future__ import annotations

import argparse
import csv
import io

from rtcconsole.cli import _render as render
from rtcconsole.cli._framework import Commands, Invocation, Output, UsageError, add_paging, instant
from rtcconsole.v1 import monitor_service_pb2 as pb
from rtcconsole.v1 import quality_pb2, quality_series_pb2

__all__ = ["events_text", "level_word", "quality_csv", "quality_text", "register_views", "view_text"]

_MEDIA = {
    "video": quality_pb2.MEDIA_KIND_VIDEO,
    "audio": quality_pb2.MEDIA_KIND_AUDIO,
    "screen": quality_pb2.MEDIA_KIND_SCREEN_SHARE,
}
_SIDES = {"receiver": quality_series_pb2.VIEW_SIDE_RECEIVER, "sender": quality_series_pb2.VIEW_SIDE_SENDER}
_ALIASES = {"loss": "packet_loss", "stall": "stall_time", "cpu": "system_cpu", "task_time": "sdk_task_time"}


def register_views(monitor: Commands) -> None:
    """Add ``monitor view``, ``monitor quality`` and ``monitor events`` to the ``monitor`` group."""
    view = monitor.command("view", "one user's receiver and sender views of a call (R19)", _view)
    _common(view)
    view.add_argument("--side", choices=list(_SIDES), help="one side (default: both)")
    view.add_argument("--points", type=int, default=0, metavar="N", help="points per overview (default 120)")
    quality = monitor.command("quality", "the full-link metrics of one stream over time (R20)", _quality)
    _common(quality)
    quality.add_argument("--peer", default="", metavar="P", help="the sender (default: the user's upstream)")
    quality.add_argument("--media", choices=list(_MEDIA), required=True, help="the media kind")
    quality.add_argument("--metrics", default="", metavar="M,…", help="metrics (default: all that apply)")
    quality.add_argument(
        "--points", type=int, default=0, metavar="N", help="points per series (default 1000)"
    )
    quality.add_argument("--csv", action="store_true", help="print one CSV line per point")
    events = monitor.command("events", "a user's client events in a call, oldest first (R20)", _events)
    _common(events)
    events.add_argument("--peer", default="", metavar="P", help="only the events about this peer")
    events.add_argument("--abnormal", action="store_true", help="only R21's abnormal events")
    add_paging(events)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("call_id", metavar="CALL_ID", help="as `rtcctl monitor calls` shows it")
    parser.add_argument("--user", required=True, metavar="U", help="the user")
    parser.add_argument("--from", dest="start", type=instant, metavar="T", help="range start")
    parser.add_argument("--to", dest="end", type=instant, metavar="T", help="range end, exclusive")


def _range(run: Invocation) -> dict[str, object]:
    if (run.args.start is None) != (run.args.end is None):
        raise UsageError("--from and --to go together")
    return {"start": run.args.start, "end": run.args.end}


def level_word(level: int) -> str:
    """``good``, ``poor``…: a QualityLevel as a word; ``-`` when unspecified (not judged)."""
    return render.label(pb.QualityLevel, level).lower()


def _metric(number: int) -> str:
    return render.label(quality_series_pb2.SeriesMetric, number).lower()


def _media(number: int) -> str:
    return render.label(quality_pb2.MediaKind, number).lower().replace("_", " ")


def _value(value: float) -> str:
    return f"{value:.6g}"


def _worst(series: pb.QualitySeries | None) -> str:
    levels = [p.level for p in series.points] if series else []
    return level_word(max(levels)) if levels else "-"


def view_text(response: pb.GetUserViewResponse) -> str:
    """Per view: its sub-views, its streams with their worst levels, its jitter moments."""
    parts = [
        f"user {response.user_id} in call {response.call_id}, {render.when(response.start_time)} to "
        f"{render.when(response.end_time)} (UTC), step {render.span(response.step)}"
    ]
    for view in response.views:
        side = render.label(quality_series_pb2.ViewSide, view.side).lower()
        if not view.sub_views:
            parts.append(f"\n{side} view: no data")
            continue
        subs = render.table(
            ("SUB_VIEW", "PEERS", "JITTER"),
            [
                (
                    render.label(pb.SubViewKind, s.kind).lower(),
                    ", ".join(p or "(upstream)" for p in s.peer_ids),
                    str(s.jitter_moment_count),
                )
                for s in view.sub_views
            ],
        )
        rows, moments = [], []
        for stream in view.streams:
            by = {s.metric: s for s in stream.series}
            stall = by.get(quality_series_pb2.SERIES_METRIC_STALL_TIME)
            peer = stream.peer_id or "(upstream)"
            rows.append(
                (
                    peer,
                    _media(stream.media),
                    _worst(by.get(quality_series_pb2.SERIES_METRIC_PACKET_LOSS)),
                    _worst(by.get(quality_series_pb2.SERIES_METRIC_BITRATE)),
                    f"{sum(p.value for p in stall.points):g}" if stall else "-",
                    str(len(stream.jitter_moments)),
                )
            )
            moments += [
                (render.when(m.time), peer, _media(stream.media), _metric(m.metric), level_word(m.level))
                for m in stream.jitter_moments
            ]
        streams = render.table(("PEER", "MEDIA", "LOSS", "BITRATE", "STALL_MS", "JITTER"), rows)
        more = "\n(more than 50 peers: the first 50 shown)" if view.peers_truncated else ""
        text = f"\n{side} view\n{subs}\n\n{streams}{more}"
        if moments:
            moments.sort()
            text += "\n\njitter moments\n" + render.table(
                ("TIME", "PEER", "MEDIA", "METRIC", "LEVEL"), moments
            )
        parts.append(text)
    return "\n".join(parts)


def quality_text(response: pb.GetQualitySeriesResponse) -> str:
    """A header, one row per point time with a ``value level`` cell per metric, then the flags."""
    pair = (
        f"{response.peer_id} → {response.user_id}" if response.peer_id else f"{response.user_id} (upstream)"
    )
    header = (
        f"{_media(response.media)} of {pair} in call {response.call_id}, "
        f"{render.when(response.start_time)} to {render.when(response.end_time)} (UTC), "
        f"step {render.span(response.step)}"
    )
    cells: dict[str, dict[int, str]] = {}
    for i, series in enumerate(response.series):
        for point in series.points:
            cell = f"{_value(point.value)} {level_word(point.level)}".removesuffix(" -")
            cells.setdefault(render.when(point.time), {})[i] = cell
    aggregate = quality_series_pb2.SeriesAggregate
    headers = ["TIME"] + [
        f"{_metric(s.metric).upper()}_{render.label(aggregate, s.aggregate)}({s.unit})"
        for s in response.series
    ]
    rows = [[time] + [cells[time].get(i, "") for i in range(len(response.series))] for time in sorted(cells)]
    body = render.table(headers, rows) if rows else "no samples"
    flags = [
        (
            render.label(quality_series_pb2.QualityFlagKind, f.kind).lower(),
            _metric(f.metric),
            render.when(f.start_time),
            render.when(f.end_time),
        )
        for f in response.flags
    ]
    if flags:
        body += f"\n\nflagged (R20, held for at least {render.span(response.sustained_for)}):\n"
        body += render.table(("RULE", "METRIC", "FROM", "TO"), flags)
    return f"{header}\n{body}"


def quality_csv(response: pb.GetQualitySeriesResponse) -> str:
    """One line per point: time, metric, unit, aggregate, value, level, samples."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("time", "metric", "unit", "aggregate", "value", "level", "samples"))
    for series in response.series:
        aggregate = render.label(quality_series_pb2.SeriesAggregate, series.aggregate).lower()
        for p in series.points:
            level = level_word(p.level)
            writer.writerow(
                (
                    render.when(p.time),
                    _metric(series.metric),
                    series.unit,
                    aggregate,
                    _value(p.value),
                    "" if level == "-" else level,
                    p.sample_count,
                )
            )
    return out.getvalue().rstrip("\n")


def events_text(response: quality_series_pb2.ListClientEventsResponse) -> str:
    """One row per event: time, type, peer, media, parameters."""
    if not response.events:
        return "no client events" + render.next_page(response.next_page_token)
    rows = [
        (
            render.when(e.event_time),
            render.label(quality_pb2.ClientEventType, e.type).lower(),
            e.peer_id or "-",
            _media(e.media) if e.media else "-",
            " ".join(f"{k}={v}" for k, v in sorted(e.parameters.items())) or "-",
        )
        for e in response.events
    ]
    body = render.table(("TIME", "TYPE", "PEER", "MEDIA", "PARAMETERS"), rows)
    return body + render.next_page(response.next_page_token)


async def _view(run: Invocation) -> Output:
    a = run.args
    console = await run.console()
    response = await console.monitor.get_user_view(
        a.call_id,
        a.user,
        side=_SIDES.get(a.side or "", 0),
        max_points=a.points,
        **_range(run),  # type: ignore[arg-type]
    )
    return Output(response, view_text(response))


def _metric_numbers(text: str) -> list[int]:
    numbers: list[int] = []
    for name in filter(None, (n.strip().lower() for n in text.split(","))):
        full = f"SERIES_METRIC_{_ALIASES.get(name, name).upper()}"
        if full not in quality_series_pb2.SeriesMetric.keys():  # noqa: SIM118 (an enum wrapper, not a dict)
            names = ", ".join(
                k.removeprefix("SERIES_METRIC_").lower() for k in quality_series_pb2.SeriesMetric.keys()[1:]
            )
            raise UsageError(f"unknown metric {name!r}: one of {names}")
        numbers.append(quality_series_pb2.SeriesMetric.Value(full))
    return numbers


async def _quality(run: Invocation) -> Output:
    a = run.args
    if a.csv and a.json:
        raise UsageError("--csv and --json exclude each other")
    metrics = _metric_numbers(a.metrics)
    console = await run.console()
    response = await console.monitor.get_quality_series(
        a.call_id,
        a.user,
        media=_MEDIA[a.media],
        peer_id=a.peer,
        metrics=metrics,
        max_points=a.points,
        **_range(run),  # type: ignore[arg-type]
    )
    return Output(response, quality_csv(response) if a.csv else quality_text(response))


async def _events(run: Invocation) -> Output:
    a = run.args
    console = await run.console()
    fields = {"peer_id": a.peer, "abnormal_only": a.abnormal, **_range(run)}
    response = await console.monitor.list_client_events(
        a.call_id,
        a.user,
        page_size=a.page_size,
        page_token=a.page_token,
        **fields,
    )
    if a.all:
        while response.next_page_token:
            page = await console.monitor.list_client_events(
                a.call_id,
                a.user,
                page_size=a.page_size,
                page_token=response.next_page_token,
                **fields,
            )
            response.events.extend(page.events)
            response.next_page_token = page.next_page_token
    return Output(response, events_text(response))
