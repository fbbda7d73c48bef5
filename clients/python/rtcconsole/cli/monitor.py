"""``rtcctl monitor``: the monitoring dashboard (R17-R21).

    rtcctl monitor thresholds [--json]

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

from collections.abc import Iterable

from google.protobuf.duration_pb2 import Duration

from rtcconsole.cli import _render as render
from rtcconsole.cli._framework import Commands, Invocation, Output
from rtcconsole.v1 import monitor_service_pb2 as pb
from rtcconsole.v1 import quality_pb2

__all__ = ["media_text", "range_text", "register", "thresholds_text"]


def register(commands: Commands) -> None:
    """Add ``monitor …`` to the command line."""
    monitor = commands.group("monitor", "monitoring dashboard: quality thresholds")
    monitor.command("thresholds", "the bands that judge quality (R20) and stall rates (R21)", _thresholds)


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
