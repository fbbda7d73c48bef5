"""The monitor context's data to proto messages: the quality thresholds (R20) and stall levels (R21).

Nothing here decides anything: every figure comes from ``domain.monitor``; this module only
spells its levels, metrics, bands and durations the way ``monitor_service.proto`` does.
"""

from __future__ import annotations

from datetime import timedelta

from google.protobuf.duration_pb2 import Duration

from rtcconsole.v1 import monitor_service_pb2 as pb
from rtcconsole.v1 import quality_pb2
from rtcconsole_server.domain.monitor import (
    QUALITY_THRESHOLDS,
    STALL_RATE_THRESHOLDS,
    Band,
    MetricThresholds,
    QualityLevel,
    QualityMetric,
    StallLevel,
    StallRateThresholds,
)

__all__ = ["MEDIA_KIND", "QUALITY_LEVEL", "QUALITY_METRIC", "STALL_LEVEL", "thresholds_response"]

MEDIA_KIND = {
    "video": quality_pb2.MEDIA_KIND_VIDEO,
    "audio": quality_pb2.MEDIA_KIND_AUDIO,
    "screen_share": quality_pb2.MEDIA_KIND_SCREEN_SHARE,
}
"""The thresholds' media kinds (``domain.monitor.MEDIA_KINDS``) → ``MediaKind``."""
QUALITY_LEVEL = {
    QualityLevel.BEST: pb.QUALITY_LEVEL_BEST,
    QualityLevel.GOOD: pb.QUALITY_LEVEL_GOOD,
    QualityLevel.FAIR: pb.QUALITY_LEVEL_FAIR,
    QualityLevel.POOR: pb.QUALITY_LEVEL_POOR,
    QualityLevel.SEVERE: pb.QUALITY_LEVEL_SEVERE,
}
STALL_LEVEL = {
    StallLevel.LOW: pb.STALL_LEVEL_LOW,
    StallLevel.HIGH: pb.STALL_LEVEL_HIGH,
    StallLevel.VERY_HIGH: pb.STALL_LEVEL_VERY_HIGH,
}
QUALITY_METRIC = {
    QualityMetric.PACKET_LOSS: pb.QUALITY_METRIC_PACKET_LOSS,
    QualityMetric.BITRATE_CHANGE: pb.QUALITY_METRIC_BITRATE_CHANGE,
    QualityMetric.FRAME_RATE: pb.QUALITY_METRIC_FRAME_RATE,
    QualityMetric.FRAME_RATE_SWING: pb.QUALITY_METRIC_FRAME_RATE_SWING,
    QualityMetric.SYSTEM_CPU: pb.QUALITY_METRIC_SYSTEM_CPU,
    QualityMetric.SDK_TASK_TIME: pb.QUALITY_METRIC_SDK_TASK_TIME,
    QualityMetric.VOLUME: pb.QUALITY_METRIC_VOLUME,
}


def _duration(value: timedelta | None) -> Duration | None:
    if value is None:
        return None
    duration = Duration()
    duration.FromTimedelta(value)
    return duration


def _range(band: Band[QualityLevel] | Band[StallLevel]) -> pb.ThresholdRange:
    return pb.ThresholdRange(
        lower=band.lower,
        lower_inclusive=band.lower_inclusive,
        upper=band.upper,
        upper_inclusive=band.upper_inclusive,
    )


def _metric(thresholds: MetricThresholds) -> pb.MetricThresholds:
    return pb.MetricThresholds(
        metric=QUALITY_METRIC[thresholds.metric],
        unit=thresholds.unit,
        media=[MEDIA_KIND[kind] for kind in thresholds.media],
        bands=[
            pb.QualityBand(level=QUALITY_LEVEL[b.level], range=_range(b), chosen=b.chosen)
            for b in thresholds.bands
        ],
        description=thresholds.description,
        window=_duration(thresholds.window),
    )


def _stall(thresholds: StallRateThresholds) -> pb.StallRateThresholds:
    return pb.StallRateThresholds(
        media=MEDIA_KIND[thresholds.media],
        minimum_stall=_duration(thresholds.minimum_stall),
        bands=[
            pb.StallBand(level=STALL_LEVEL[b.level], range=_range(b), color=b.level.colour)
            for b in thresholds.bands
        ],
    )


def thresholds_response() -> pb.GetQualityThresholdsResponse:
    """Every threshold of ``domain.monitor``, in its order."""
    return pb.GetQualityThresholdsResponse(
        metrics=[_metric(t) for t in QUALITY_THRESHOLDS],
        stall_rates=[_stall(t) for t in STALL_RATE_THRESHOLDS],
    )
