"""Quality series (R20): which metrics a series shows, how a step's samples make a point, the
level of each point from the thresholds, and the rules that hold over time.

A series is one metric of one stream (a user's upstream, or what a user received from one
peer, for one media kind) over a range, in *steps*: the range ÷ the points asked for, rounded
up to a whole second. Each step's samples make one point by the metric's aggregate
(decision 0022): the mean for rates and levels (loss, bitrate, frame rates, RTT, CPU,
volume), the max for the SDK task time (the worst task of the step) and for the resolution,
the **sum** for the stall time, so that the stall time of any range is the sum of its points
whatever the step.

Levels come from ``_thresholds`` only (no figure is written here), a column at a time
(``_series_levels``: one ``bisect`` per point):

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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from rtcconsole_server.domain.monitor._samples import AUDIO, MEDIA_NAMES, METRICS, SCREEN_SHARE, VIDEO
from rtcconsole_server.domain.monitor._series_levels import (
    bitrate_levels,
    frame_rate_levels,
    levels_of,
    marked_positions,
    runs,
)
from rtcconsole_server.domain.monitor._thresholds import QualityLevel, QualityMetric

__all__ = [
    "RECENT_WINDOW",
    "SERIES_METRICS",
    "SUSTAINED_FOR",
    "Flag",
    "Point",
    "Series",
    "SeriesMetricSpec",
    "applies",
    "build_columns",
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
    """One metric of one stream, as columns: point ``k`` is step ``steps[k]`` (its time
    ``start + step × steps[k]``), ``values[k]``, ``levels[k]``, ``counts[k]``. A 5-hour read
    has 11 series of ~1,000 points: columns are built and judged in bulk, and the protos are
    filled from them (``api/convert_series``); :attr:`points` is the same as tuples."""

    spec: SeriesMetricSpec
    start: datetime
    """The range's start: step 0's."""
    step: timedelta
    steps: tuple[int, ...]
    """The step indexes that have a point, ascending."""
    values: tuple[float, ...]
    levels: tuple[QualityLevel | None, ...]
    """None: not judged (or no recent mean yet)."""
    counts: tuple[int, ...]
    """Samples that measured the metric in each step (> 0)."""

    @functools.cached_property
    def points(self) -> tuple[Point, ...]:
        """The points as tuples, in time order (built on first use, then kept)."""
        start, step = self.start, self.step
        return tuple(
            Point(start + step * i, v, level, n)
            for i, v, level, n in zip(self.steps, self.values, self.levels, self.counts, strict=True)
        )


def step_for(span: timedelta, max_points: int) -> timedelta:
    """The shortest whole-second step that cuts ``span`` into at most ``max_points`` steps."""
    micros = span // timedelta(microseconds=1)
    return timedelta(seconds=max(1, -(-micros // (max_points * 1_000_000))))


def build_series(
    spec: SeriesMetricSpec,
    steps: Mapping[int, tuple[float, int]],
    *,
    media: int,
    start: datetime,
    step: timedelta,
) -> tuple[Series, list[Flag]]:
    """The points of ``spec`` from its steps (index → (aggregate, samples)), with levels and flags."""
    ordered = sorted(steps)
    return build_columns(
        spec,
        ordered,
        [steps[i][0] for i in ordered],
        [steps[i][1] for i in ordered],
        media=media,
        start=start,
        step=step,
    )


def build_columns(
    spec: SeriesMetricSpec,
    steps: Sequence[int],
    values: Sequence[float],
    counts: Sequence[int],
    *,
    media: int,
    start: datetime,
    step: timedelta,
) -> tuple[Series, list[Flag]]:
    """The series of ``spec`` from its columns (step indexes ascending, each once; the
    aggregate and the sample count of each), with its levels and flags (the module's rules)."""
    kind = media_name(media)
    flags: list[Flag] = []
    judged = spec.judged_by[0] if spec.judged_by else None
    levels: list[QualityLevel | None]
    if judged is None:
        levels = [None] * len(steps)
    elif judged is QualityMetric.BITRATE_CHANGE:
        levels = bitrate_levels(steps, values, step, kind, recent=RECENT_WINDOW)
    elif judged is QualityMetric.FRAME_RATE:
        levels, rate = frame_rate_levels(steps, values, kind)
        low = [here for here, level in enumerate(rate) if level is QualityLevel.POOR]
        flags += _flags("low_frame_rate", spec.name, steps, low, start, step)
    else:
        levels = levels_of(judged, kind, values)
    if judged is QualityMetric.PACKET_LOSS:  # sustained loss: its points become SEVERE
        for first, last in _sustained(steps, marked_positions(levels), step):
            flags.append(_flag("sustained_loss", spec.name, steps, first, last, start, step))
            levels[first : last + 1] = [QualityLevel.SEVERE] * (last + 1 - first)
    series = Series(spec, start, step, tuple(steps), tuple(values), tuple(levels), tuple(counts))
    return series, flags


def _sustained(steps: Sequence[int], positions: Sequence[int], step: timedelta) -> list[tuple[int, int]]:
    """The runs of consecutive steps among ``positions`` that cover at least SUSTAINED_FOR."""
    return [
        (first, last) for first, last in runs(steps, positions) if step * (last - first + 1) >= SUSTAINED_FOR
    ]


def _flag(
    kind: str, metric: str, steps: Sequence[int], first: int, last: int, start: datetime, step: timedelta
) -> Flag:
    return Flag(kind, metric, start + step * steps[first], start + step * (steps[last] + 1))


def _flags(
    kind: str, metric: str, steps: Sequence[int], positions: Sequence[int], start: datetime, step: timedelta
) -> list[Flag]:
    return [
        _flag(kind, metric, steps, first, last, start, step)
        for first, last in _sustained(steps, positions, step)
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
