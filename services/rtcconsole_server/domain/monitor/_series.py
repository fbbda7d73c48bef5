"""Quality series (R20): which metrics a series shows, how a step's samples make a point, the
level of each point from the thresholds, and the rules that hold over time.

A series is one metric of one stream (a user's upstream, or what a user received from one
peer, for one media kind) over a range, in *steps*: the range ÷ the points asked for, rounded
up to a whole second. Each step's samples make one point by the metric's aggregate
(decision 0022): the mean for rates and levels (loss, bitrate, frame rates, RTT, CPU,
volume), the max for the SDK task time (the worst task of the step) and for the resolution,
the **sum** for the stall time, so that the stall time of any range is the sum of its points
whatever the step.

Levels come from ``_thresholds`` only (no figure is written here):

- packet loss, system CPU, SDK task time, volume: the point's value in the metric's bands;
- bitrate: its *bitrate change*, the deviation of the point from the mean of the points of
  the :data:`RECENT_WINDOW` before it (at least the step before), in %; for screen share the
  point is first averaged over the thresholds' window (its longest GOP) when that is longer
  than the step; the first point has no recent mean and no level;
- frame rates: the worse of the rate's band and of its swing from the previous step's point.

Rules over time (our reading of R20, decision 0022): **sustained loss** is packet loss
marked (POOR or worse) on consecutive steps covering at least :data:`SUSTAINED_FOR`; those
points become SEVERE (the seed's "> 10 % or sustained loss: severe congestion") and the
interval is flagged. **Low frame rate without recovering** is a frame rate in its POOR band
(at most 10 fps for video) on consecutive steps covering :data:`SUSTAINED_FOR`: flagged.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from rtcconsole_server.domain.monitor._samples import AUDIO, MEDIA_NAMES, METRICS, SCREEN_SHARE, VIDEO
from rtcconsole_server.domain.monitor._thresholds import QualityLevel, QualityMetric, thresholds_for

__all__ = [
    "RECENT_WINDOW",
    "SERIES_METRICS",
    "SUSTAINED_FOR",
    "Flag",
    "Point",
    "Series",
    "SeriesMetricSpec",
    "applies",
    "build_series",
    "jitter_moments",
    "media_name",
    "step_for",
]

RECENT_WINDOW = timedelta(seconds=30)
"""The bitrate's recent mean is taken over this long before each point (our choice: 15 samples)."""
SUSTAINED_FOR = timedelta(seconds=10)
"""A rule over time holds once it lasts this long (our choice: five 2-s samples)."""
_MEDIA = {VIDEO: "video", AUDIO: "audio", SCREEN_SHARE: "screen_share"}
_FPS = (QualityMetric.FRAME_RATE, QualityMetric.FRAME_RATE_SWING)


@dataclass(frozen=True)
class SeriesMetricSpec:
    """One metric a series can show (the proto's ``SeriesMetric``)."""

    name: str
    """``packet_loss``, ``bitrate``, … (the enum's name, lower case)."""
    column: str
    """The ``quality_samples`` column (and ``_samples.METRICS`` name)."""
    unit: str
    aggregate: str
    """``mean``, ``max`` or ``sum`` (``_series_query.AGGREGATES``)."""
    judged_by: tuple[QualityMetric, ...] = ()


SERIES_METRICS = (  # R20, in SeriesMetric order
    SeriesMetricSpec("packet_loss", "packet_loss_percent", "%", "mean", (QualityMetric.PACKET_LOSS,)),
    SeriesMetricSpec("bitrate", "bitrate_kbps", "kbps", "mean", (QualityMetric.BITRATE_CHANGE,)),
    SeriesMetricSpec("capture_fps", "capture_fps", "fps", "mean", _FPS),
    SeriesMetricSpec("encode_fps", "encode_fps", "fps", "mean", _FPS),
    SeriesMetricSpec("decode_fps", "decode_fps", "fps", "mean", _FPS),
    SeriesMetricSpec("render_fps", "render_fps", "fps", "mean", _FPS),
    SeriesMetricSpec("width", "width", "px", "max"),
    SeriesMetricSpec("height", "height", "px", "max"),
    SeriesMetricSpec("rtt", "rtt_ms", "ms", "mean"),
    SeriesMetricSpec("stall_time", "stall_ms", "ms", "sum"),
    SeriesMetricSpec("app_cpu", "app_cpu_percent", "%", "mean"),
    SeriesMetricSpec("system_cpu", "system_cpu_percent", "%", "mean", (QualityMetric.SYSTEM_CPU,)),
    SeriesMetricSpec("sdk_task_time", "sdk_task_time_ms", "ms", "max", (QualityMetric.SDK_TASK_TIME,)),
    SeriesMetricSpec("volume", "volume_db", "dB", "mean", (QualityMetric.VOLUME,)),
)
"""Every metric of a series, in the proto's order."""
_SAMPLE_METRICS = {m.name: m for m in METRICS}


def media_name(media: int) -> str:
    """``video``, ``audio``, ``screen_share``: the thresholds' spelling of a MediaKind number."""
    return _MEDIA[media]


def applies(spec: SeriesMetricSpec, *, downstream: bool, media: int) -> bool:
    """``spec`` is measured on that side (``downstream``: peer set) for ``media``."""
    metric = _SAMPLE_METRICS[spec.column]
    side_ok = metric.side == "both" or metric.side == ("down" if downstream else "up")
    return side_ok and media in metric.media and media in MEDIA_NAMES


class Point(NamedTuple):
    """One step of a series (a tuple: a long range has thousands, built at each read)."""

    time: datetime
    """The step's start."""
    value: float
    level: QualityLevel | None
    """None: not judged (or no recent mean yet)."""
    samples: int


@dataclass(frozen=True)
class Flag:
    kind: str
    """``sustained_loss`` or ``low_frame_rate``."""
    metric: str
    start: datetime
    end: datetime
    """Exclusive: the last point's time + step."""


@dataclass(frozen=True)
class Series:
    spec: SeriesMetricSpec
    points: tuple[Point, ...]


def step_for(span: timedelta, max_points: int) -> timedelta:
    """The shortest whole-second step that cuts ``span`` into at most ``max_points`` steps."""
    micros = span // timedelta(microseconds=1)
    return timedelta(seconds=max(1, -(-micros // (max_points * 1_000_000))))


@functools.cache
def _bands(metric: QualityMetric, media: str) -> Callable[[float], QualityLevel]:
    """The classifier of ``metric`` for ``media`` (a device metric's bands apply to every kind),
    looked up once per process rather than once per point."""
    return thresholds_for(metric, media_kind=media).level_of


def _level(metric: QualityMetric, value: float, media: str) -> QualityLevel | None:
    try:
        return _bands(metric, media)(value)
    except ValueError:  # outside the metric's domain (a mean a hair past 100 %): not judged
        return None


def _worst(*levels: QualityLevel | None) -> QualityLevel | None:
    known = [level for level in levels if level is not None]
    return max(known) if known else None


def _bitrate_levels(values: Mapping[int, float], step: timedelta, media: str) -> dict[int, QualityLevel]:
    """The bitrate change's level of each step that has a recent mean."""
    window = thresholds_for(QualityMetric.BITRATE_CHANGE, media_kind=media).window
    own = max(1, math.ceil(window / step)) if window else 1  # steps the compared value averages
    back = max(1, math.ceil(RECENT_WINDOW / step))  # steps of the recent mean
    levels: dict[int, QualityLevel] = {}
    for index in values:
        recent = [values[i] for i in range(index - back, index) if i in values]
        if not recent:
            continue
        compared = [values[i] for i in range(index - own + 1, index + 1) if i in values]
        reference, value = sum(recent) / len(recent), sum(compared) / len(compared)
        change = abs(value - reference) / reference * 100 if reference else (0.0 if not value else math.inf)
        level = _level(QualityMetric.BITRATE_CHANGE, change, media)
        if level is not None:
            levels[index] = level
    return levels


def _runs(indexes: Sequence[int]) -> list[tuple[int, int]]:
    """Consecutive step indexes as (first, last) pairs."""
    runs: list[tuple[int, int]] = []
    for index in indexes:
        if runs and runs[-1][1] == index - 1:
            runs[-1] = (runs[-1][0], index)
        else:
            runs.append((index, index))
    return runs


def build_series(
    spec: SeriesMetricSpec,
    steps: Mapping[int, tuple[float, int]],
    *,
    media: int,
    start: datetime,
    step: timedelta,
) -> tuple[Series, list[Flag]]:
    """The points of ``spec`` from its steps (index → (aggregate, samples)), with levels and flags."""
    kind = media_name(media)
    values = {index: steps[index][0] for index in sorted(steps)}
    levels: dict[int, QualityLevel | None] = {}
    flags: list[Flag] = []
    judged = spec.judged_by[0] if spec.judged_by else None
    if judged is QualityMetric.BITRATE_CHANGE:
        levels.update(_bitrate_levels(values, step, kind))
    elif judged is QualityMetric.FRAME_RATE:
        rate = {i: _level(QualityMetric.FRAME_RATE, v, kind) for i, v in values.items()}
        for i, v in values.items():
            swing = (
                _level(QualityMetric.FRAME_RATE_SWING, abs(v - values[i - 1]), kind)
                if i - 1 in values
                else None
            )
            levels[i] = _worst(rate[i], swing)
        low = [i for i, level in rate.items() if level is QualityLevel.POOR]
        flags += _flags("low_frame_rate", spec.name, low, start, step)
    elif judged is not None:
        levels = {i: _level(judged, v, kind) for i, v in values.items()}
    if judged is QualityMetric.PACKET_LOSS:
        marked = [i for i, level in levels.items() if level is not None and level.marked]
        for flag in _flags("sustained_loss", spec.name, marked, start, step):
            flags.append(flag)
            first, last = (flag.start - start) // step, (flag.end - start) // step - 1
            levels.update({i: QualityLevel.SEVERE for i in range(first, last + 1)})
    points = tuple(
        Point(start + step * i, v, levels.get(i), steps[i][1]) for i, v in values.items()
    )  # fmt: skip
    return Series(spec, points), flags


def _flags(kind: str, metric: str, indexes: Sequence[int], start: datetime, step: timedelta) -> list[Flag]:
    return [
        Flag(kind, metric, start + step * first, start + step * (last + 1))
        for first, last in _runs(sorted(indexes))
        if step * (last - first + 1) >= SUSTAINED_FOR
    ]


def jitter_moments(loss: Series | None, bitrate: Series | None, step: timedelta) -> list[tuple[Point, str]]:
    """R19's moments of network jitter on one stream, in time order (decision 0022): bitrate
    points whose change is POOR (R20: "> 30 % fluctuation: congestion or jitter"), and loss
    points that are marked where the previous step's point was not."""
    moments = [(p, "bitrate") for p in (bitrate.points if bitrate else ()) if p.level is QualityLevel.POOR]
    if loss is not None:
        previous: Point | None = None
        for point in loss.points:
            rises = (
                previous is not None
                and point.time - previous.time == step
                and previous.level is not None
                and not previous.level.marked
                and point.level is not None
                and point.level.marked
            )
            if rises:
                moments.append((point, "packet_loss"))
            previous = point
    return sorted(moments, key=lambda m: (m[0].time, m[1]))
