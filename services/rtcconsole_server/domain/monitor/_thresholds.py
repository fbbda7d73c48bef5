"""The quality thresholds of the full-link details (R20) and the stall-rate levels of R21, as data.

Every figure the seed gives for judging a quality metric lives in this module, once, as
frozen dataclasses: samples are marked from it, stall rates are classified by it, and
``MonitorService.GetQualityThresholds`` serves it so that no client hard-codes a figure.

Two scales, each ordered from best to worst (a higher value is worse, so ``max`` is the
worst of several)::

    QualityLevel (R20)  BEST     packet loss exactly 0: the seed's "best"
                        GOOD     the seed's normal or good range
                        FAIR     between the seed's good and its marked range, where it names
                                 neither: our choice (the band says ``chosen``)
                        POOR     what the seed marks: poor loss, congestion or jitter, stutter,
                                 too low, overloaded; drawn red (``QualityLevel.marked``)
                        SEVERE   packet loss above 10 %: the seed's severe congestion
    StallLevel (R21)    LOW (green) · HIGH (yellow) · VERY_HIGH (red)

A :class:`Band` is an interval of values with each edge stated inclusive or exclusive;
``None`` is an unbounded edge. The bands of one metric are in ascending order of value and
contiguous (each ends where the next begins, the shared edge in exactly one of them),
which is checked when the data is built, so every value of a metric's domain has exactly
one level and a value outside it (a negative loss, a loss above 100 %, NaN) is an error.

Where the seed is silent (docs/monitoring-thresholds.md gives each reason):

- packet loss in [2 %, 5 %]: FAIR. The seed calls < 2 % good and > 5 % poor; FAIR keeps
  both statements true (nothing the seed calls good is marked, nothing it calls poor is
  not) and still sets the gap apart from good;
- bitrate change in (10 %, 30 %], system CPU in [50 %, 85 %], video frame rate in
  (10, 15) fps, volume above 80 dB: FAIR, for the same reason;
- screen-share frame rate below 5 fps: POOR (its normal is 5-10 fps; "too low is marked");
- screen-share bitrate change is taken over 10 s, its longest GOP, so that the periodic
  key-frame peaks the seed calls normal are not counted as fluctuation;
- the frame-rate swing rule (> 5 fps) applies to screen share too: the seed's sentence
  follows "kept stable", which covers both.

Where the seed's own wording is sharper than RULES.md's English, the seed wins: frame rate
"10フレーム以下" is *at most* 10 fps (10 fps is stutter), "15フレーム以上" at least 15, "変動範囲
±10%以内" within ±10 % inclusive, "30%を超える" above 30 % exclusive; a stall "600msに達する"
counts from 600 ms inclusive.
"""

from __future__ import annotations

import enum
import itertools
import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Generic, TypeVar

__all__ = [
    "AUDIO_STALL",
    "MEDIA_KINDS",
    "QUALITY_THRESHOLDS",
    "STALL_RATE_THRESHOLDS",
    "VIDEO_STALL",
    "Band",
    "MetricThresholds",
    "QualityLevel",
    "QualityMetric",
    "StallLevel",
    "StallRateThresholds",
    "counts_as_stall",
    "level_of",
    "stall_level",
    "stall_rate_thresholds",
    "thresholds_for",
]

MEDIA_KINDS = ("video", "audio", "screen_share")
"""The media kinds a threshold names (R19's sub-views), in this spelling."""


class QualityLevel(enum.IntEnum):
    """How good one value of an R20 metric is; a higher value is worse."""

    BEST = 1
    GOOD = 2
    FAIR = 3
    POOR = 4
    SEVERE = 5

    @property
    def marked(self) -> bool:
        """The seed marks it on the charts (a red line): POOR and SEVERE."""
        return self >= QualityLevel.POOR


class StallLevel(enum.IntEnum):
    """The level of a stall rate (R21); a higher value is worse."""

    LOW = 1
    HIGH = 2
    VERY_HIGH = 3

    @property
    def colour(self) -> str:
        """The seed's colour of the level: green, yellow, red."""
        return ("green", "yellow", "red")[self - 1]


class QualityMetric(enum.StrEnum):
    """The R20 metrics that have thresholds. Bitrate, resolution, RTT and app CPU have none:
    they are shown, not judged (the seed gives no figure for them)."""

    PACKET_LOSS = "packet_loss"
    BITRATE_CHANGE = "bitrate_change"
    FRAME_RATE = "frame_rate"
    FRAME_RATE_SWING = "frame_rate_swing"
    SYSTEM_CPU = "system_cpu"
    SDK_TASK_TIME = "sdk_task_time"
    VOLUME = "volume"


L = TypeVar("L", QualityLevel, StallLevel)


@dataclass(frozen=True)
class Band(Generic[L]):
    """The values between two edges, and their level."""

    level: L
    lower: float | None
    """Lower edge, in the metric's unit; ``None``: unbounded below."""
    upper: float | None
    """Upper edge, in the metric's unit; ``None``: unbounded above."""
    lower_inclusive: bool
    """The lower edge itself is in the band (ignored when unbounded)."""
    upper_inclusive: bool
    """The upper edge itself is in the band (ignored when unbounded)."""
    chosen: bool = False
    """The seed is silent about these values: the level is our choice (docs/monitoring-thresholds.md)."""

    def __post_init__(self) -> None:
        if self.lower is not None and self.upper is not None:
            single = self.lower == self.upper and self.lower_inclusive and self.upper_inclusive
            if not (self.lower < self.upper or single):
                raise ValueError(f"empty band {self!r}")

    def __contains__(self, value: float) -> bool:
        low, high = self.lower, self.upper
        above_low = low is None or value > low or (value == low and self.lower_inclusive)
        below_high = high is None or value < high or (value == high and self.upper_inclusive)
        return above_low and below_high


def _check_contiguous(bands: tuple[Band[L], ...], what: str) -> None:
    """Each band ends where the next begins, the shared edge belonging to exactly one of them."""
    if not bands:
        raise ValueError(f"{what}: no bands")
    for below, above in itertools.pairwise(bands):
        meets = below.upper is not None and below.upper == above.lower
        if not meets or below.upper_inclusive == above.lower_inclusive:
            raise ValueError(f"{what}: {below!r} and {above!r} are not contiguous")


def _classify(bands: tuple[Band[L], ...], value: float, what: str) -> L:
    if not math.isnan(value):
        for band in bands:
            if value in band:
                return band.level
    raise ValueError(f"{what}: {value!r} is outside every band")


def _check_media(media_kind: str) -> None:
    if media_kind not in MEDIA_KINDS:
        raise ValueError(f"unknown media kind {media_kind!r}: one of {', '.join(MEDIA_KINDS)}")


@dataclass(frozen=True)
class MetricThresholds:
    """The bands of one R20 metric for the media kinds they apply to."""

    metric: QualityMetric
    unit: str
    """``%``, ``fps``, ``ms`` or ``dB``."""
    media: tuple[str, ...]
    """The media kinds of :data:`MEDIA_KINDS` these bands apply to; empty for a device metric
    (CPU, SDK task time), which applies whatever the media kind of the sample."""
    bands: tuple[Band[QualityLevel], ...]
    description: str
    """What the value is, in a sentence."""
    window: timedelta | None = None
    """When set, the value is taken over a window this long before it is classified."""

    def __post_init__(self) -> None:
        _check_contiguous(self.bands, f"{self.metric} {'/'.join(self.media) or 'device'}")
        for kind in self.media:
            _check_media(kind)

    def applies_to(self, media_kind: str | None) -> bool:
        """These bands judge the metric for ``media_kind`` (``None``: the metric's only set)."""
        return not self.media or media_kind in self.media

    def level_of(self, value: float) -> QualityLevel:
        """The level of ``value``; ``ValueError`` outside the metric's domain (or NaN)."""
        return _classify(self.bands, value, f"{self.metric} in {self.unit}")


@dataclass(frozen=True)
class StallRateThresholds:
    """The stall-rate levels of one media kind and what counts as a stall (R21)."""

    media: str
    """``video`` or ``audio``."""
    minimum_stall: timedelta
    """A stall counts into the stall time once it lasts this long (inclusive)."""
    bands: tuple[Band[StallLevel], ...]
    """Levels of the stall rate, in % of the media's total time."""

    def __post_init__(self) -> None:
        _check_contiguous(self.bands, f"{self.media} stall rate")
        _check_media(self.media)

    def level_of(self, rate: float) -> StallLevel:
        """The level of a stall rate in %; ``ValueError`` outside [0, 100] (or NaN)."""
        return _classify(self.bands, rate, f"{self.media} stall rate in %")

    def counts_as_stall(self, duration: timedelta) -> bool:
        """A freeze of ``duration`` counts into the stall time."""
        return duration >= self.minimum_stall


_BITRATE_BANDS = (  # R20: "normal within ±10 %; a sudden drop or > 30 % fluctuation: congestion or jitter"
    Band(QualityLevel.GOOD, 0.0, 10.0, lower_inclusive=True, upper_inclusive=True),
    Band(QualityLevel.FAIR, 10.0, 30.0, lower_inclusive=False, upper_inclusive=True, chosen=True),
    Band(QualityLevel.POOR, 30.0, None, lower_inclusive=False, upper_inclusive=False),
)
_BITRATE_CHANGE = (
    "deviation of the bitrate from the stream's recent mean, in % of that mean (a drop counts as a rise)"
)

QUALITY_THRESHOLDS: tuple[MetricThresholds, ...] = (
    MetricThresholds(  # R20
        metric=QualityMetric.PACKET_LOSS,
        unit="%",
        media=MEDIA_KINDS,
        description="packets lost on the link, in % of the packets sent",
        bands=(
            Band(QualityLevel.BEST, 0.0, 0.0, lower_inclusive=True, upper_inclusive=True),  # "= 0 best"
            Band(QualityLevel.GOOD, 0.0, 2.0, lower_inclusive=False, upper_inclusive=False),  # "< 2 % good"
            Band(QualityLevel.FAIR, 2.0, 5.0, lower_inclusive=True, upper_inclusive=True, chosen=True),
            Band(QualityLevel.POOR, 5.0, 10.0, lower_inclusive=False, upper_inclusive=True),  # "> 5 % poor"
            Band(QualityLevel.SEVERE, 10.0, 100.0, lower_inclusive=False, upper_inclusive=True),  # "> 10 %"
        ),
    ),
    MetricThresholds(  # R20
        metric=QualityMetric.BITRATE_CHANGE,
        unit="%",
        media=("video", "audio"),
        description=_BITRATE_CHANGE,
        bands=_BITRATE_BANDS,
    ),
    MetricThresholds(  # R20: screen share's GOP is 5-10 s, its key frames peak periodically
        metric=QualityMetric.BITRATE_CHANGE,
        unit="%",
        media=("screen_share",),
        description=_BITRATE_CHANGE + "; over 10 s, the longest GOP, so that key-frame peaks do not count",
        bands=_BITRATE_BANDS,
        window=timedelta(seconds=10),
    ),
    MetricThresholds(  # R20: "normal ≥ 15 fps"; "10 fps or below without recovering: stutter"
        metric=QualityMetric.FRAME_RATE,
        unit="fps",
        media=("video",),
        description="frames per second (capture or encode upstream, decode or render downstream)",
        bands=(
            Band(QualityLevel.POOR, 0.0, 10.0, lower_inclusive=True, upper_inclusive=True),
            Band(QualityLevel.FAIR, 10.0, 15.0, lower_inclusive=False, upper_inclusive=False, chosen=True),
            Band(QualityLevel.GOOD, 15.0, None, lower_inclusive=True, upper_inclusive=False),
        ),
    ),
    MetricThresholds(  # R20: "screen share 5-10 fps" is its normal
        metric=QualityMetric.FRAME_RATE,
        unit="fps",
        media=("screen_share",),
        description="frames per second of the screen share (its normal is 5-10 fps)",
        bands=(
            Band(QualityLevel.POOR, 0.0, 5.0, lower_inclusive=True, upper_inclusive=False, chosen=True),
            Band(QualityLevel.GOOD, 5.0, None, lower_inclusive=True, upper_inclusive=False),
        ),
    ),
    MetricThresholds(  # R20: "swings over 5 fps mean stutter"
        metric=QualityMetric.FRAME_RATE_SWING,
        unit="fps",
        media=("video", "screen_share"),
        description="change of the frame rate from the previous sample, in fps either way",
        bands=(
            Band(QualityLevel.GOOD, 0.0, 5.0, lower_inclusive=True, upper_inclusive=True),
            Band(QualityLevel.POOR, 5.0, None, lower_inclusive=False, upper_inclusive=False),
        ),
    ),
    MetricThresholds(  # R20: "system < 50 % normal, > 85 % marked"
        metric=QualityMetric.SYSTEM_CPU,
        unit="%",
        media=(),
        description="CPU usage of the whole device (not only the app), in %",
        bands=(
            Band(QualityLevel.GOOD, 0.0, 50.0, lower_inclusive=True, upper_inclusive=False),
            Band(QualityLevel.FAIR, 50.0, 85.0, lower_inclusive=True, upper_inclusive=True, chosen=True),
            Band(QualityLevel.POOR, 85.0, 100.0, lower_inclusive=False, upper_inclusive=True),
        ),
    ),
    MetricThresholds(  # R20: "> 60 ms means the device is overloaded"
        metric=QualityMetric.SDK_TASK_TIME,
        unit="ms",
        media=(),
        description="time the SDK's tasks take, in ms (judges devices whose CPU usage cannot be read)",
        bands=(
            Band(QualityLevel.GOOD, 0.0, 60.0, lower_inclusive=True, upper_inclusive=True),
            Band(QualityLevel.POOR, 60.0, None, lower_inclusive=False, upper_inclusive=False),
        ),
    ),
    MetricThresholds(  # R20: "normal 40-80 dB, < 40 dB low"
        metric=QualityMetric.VOLUME,
        unit="dB",
        media=("audio",),
        description="capture volume (sender) or playback volume (receiver), in dB",
        bands=(
            Band(QualityLevel.POOR, None, 40.0, lower_inclusive=False, upper_inclusive=False),
            Band(QualityLevel.GOOD, 40.0, 80.0, lower_inclusive=True, upper_inclusive=True),
            Band(QualityLevel.FAIR, 80.0, None, lower_inclusive=False, upper_inclusive=False, chosen=True),
        ),
    ),
)
"""Every R20 threshold: one entry per (metric, media kinds whose bands differ)."""


def _check_catalogue(catalogue: tuple[MetricThresholds, ...]) -> None:
    """No media kind of a metric is judged by two sets; a device metric has one set."""
    for metric in QualityMetric:
        sets = [t for t in catalogue if t.metric is metric]
        kinds = [kind for t in sets for kind in t.media]
        if not sets or len(kinds) != len(set(kinds)) or (len(sets) > 1 and not all(t.media for t in sets)):
            raise ValueError(f"{metric}: each media kind needs exactly one set of bands")


_check_catalogue(QUALITY_THRESHOLDS)

VIDEO_STALL = StallRateThresholds(  # R21: a stall counts from 600 ms; [0, 5 %) · [5, 10 %) · ≥ 10 %
    media="video",
    minimum_stall=timedelta(milliseconds=600),
    bands=(
        Band(StallLevel.LOW, 0.0, 5.0, lower_inclusive=True, upper_inclusive=False),
        Band(StallLevel.HIGH, 5.0, 10.0, lower_inclusive=True, upper_inclusive=False),
        Band(StallLevel.VERY_HIGH, 10.0, 100.0, lower_inclusive=True, upper_inclusive=True),
    ),
)
AUDIO_STALL = StallRateThresholds(  # R21: a stall counts from 200 ms; [0, 3 %) · [3, 5 %) · ≥ 5 %
    media="audio",
    minimum_stall=timedelta(milliseconds=200),
    bands=(
        Band(StallLevel.LOW, 0.0, 3.0, lower_inclusive=True, upper_inclusive=False),
        Band(StallLevel.HIGH, 3.0, 5.0, lower_inclusive=True, upper_inclusive=False),
        Band(StallLevel.VERY_HIGH, 5.0, 100.0, lower_inclusive=True, upper_inclusive=True),
    ),
)
STALL_RATE_THRESHOLDS = (VIDEO_STALL, AUDIO_STALL)
"""R21's stall-rate levels: video and audio (screen share has no stall rate)."""


def thresholds_for(metric: QualityMetric | str, *, media_kind: str | None = None) -> MetricThresholds:
    """The bands that judge ``metric`` for ``media_kind``.

    ``media_kind`` may be left out for a metric with a single set of bands (loss, CPU, SDK task
    time, volume); a metric whose bands differ by media kind (bitrate change, frame rate) needs
    it. ``ValueError`` for an unknown metric or media kind, or one the metric does not apply to
    (the frame rate of audio).
    """
    metric = QualityMetric(metric)
    if media_kind is not None:
        _check_media(media_kind)
    sets = [t for t in QUALITY_THRESHOLDS if t.metric is metric]
    if media_kind is None:
        if len(sets) == 1:
            return sets[0]
        kinds = ", ".join(kind for t in sets for kind in t.media)
        raise ValueError(f"{metric} differs by media kind: name one of {kinds}")
    for thresholds in sets:
        if thresholds.applies_to(media_kind):
            return thresholds
    raise ValueError(f"{metric} does not apply to {media_kind}")


def level_of(metric: QualityMetric | str, value: float, *, media_kind: str | None = None) -> QualityLevel:
    """The R20 level of ``value`` (in the metric's unit) for ``media_kind``; see :func:`thresholds_for`."""
    return thresholds_for(metric, media_kind=media_kind).level_of(value)


def stall_rate_thresholds(media_kind: str) -> StallRateThresholds:
    """R21's stall levels of ``video`` or ``audio``; ``ValueError`` for anything else."""
    for thresholds in STALL_RATE_THRESHOLDS:
        if thresholds.media == media_kind:
            return thresholds
    raise ValueError(f"no stall rate for {media_kind!r}: video or audio")


def stall_level(rate: float, *, media_kind: str) -> StallLevel:
    """The R21 level of a stall rate in % (stall time ÷ total time × 100) of ``media_kind``."""
    return stall_rate_thresholds(media_kind).level_of(rate)


def counts_as_stall(duration: timedelta, *, media_kind: str) -> bool:
    """A freeze of ``duration`` counts into ``media_kind``'s stall time: ≥ 600 ms video, ≥ 200 ms audio."""
    return stall_rate_thresholds(media_kind).counts_as_stall(duration)
