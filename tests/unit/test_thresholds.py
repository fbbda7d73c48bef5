"""The quality thresholds of R20 and the stall-rate levels of R21 (domain/monitor/_thresholds.py).

The tables below pin the seed's figures: each edge, and the values just either side of it
(``math.nextafter``), land in the level the seed's wording gives (``< 2 %``: 2 is not
good; ``> 5 %``: 5 is not poor; ``10フレーム以下``: 10 fps is stutter). The generic tests
then walk every band of the data, so a band added later is held to the same shape.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest

from rtcconsole_server.domain.monitor import (
    AUDIO_STALL,
    MEDIA_KINDS,
    QUALITY_THRESHOLDS,
    STALL_RATE_THRESHOLDS,
    VIDEO_STALL,
    Band,
    MetricThresholds,
    QualityLevel,
    QualityMetric,
    StallLevel,
    StallRateThresholds,
    counts_as_stall,
    level_of,
    stall_level,
    thresholds_for,
)

BEST, GOOD, FAIR, POOR, SEVERE = (
    QualityLevel.BEST,
    QualityLevel.GOOD,
    QualityLevel.FAIR,
    QualityLevel.POOR,
    QualityLevel.SEVERE,
)
LOW, HIGH, VERY_HIGH = StallLevel.LOW, StallLevel.HIGH, StallLevel.VERY_HIGH


def below(x: float) -> float:
    return math.nextafter(x, -math.inf)


def above(x: float) -> float:
    return math.nextafter(x, math.inf)


PACKET_LOSS = [
    (0.0, BEST),  # "= 0 best"
    (above(0.0), GOOD),
    (1.0, GOOD),
    (below(2.0), GOOD),  # "< 2 % good"
    (2.0, FAIR),  # the seed's gap [2, 5]: our choice
    (3.5, FAIR),
    (5.0, FAIR),
    (above(5.0), POOR),  # "> 5 % poor"
    (10.0, POOR),
    (above(10.0), SEVERE),  # "> 10 % severe congestion"
    (100.0, SEVERE),
]


@pytest.mark.parametrize("media", [*MEDIA_KINDS, None])
@pytest.mark.parametrize(("value", "level"), PACKET_LOSS)
def test_packet_loss(value: float, level: QualityLevel, media: str | None) -> None:
    assert level_of(QualityMetric.PACKET_LOSS, value, media_kind=media) is level


def test_the_loss_gap_between_good_and_poor_is_fair_chosen_and_not_marked() -> None:
    """The seed says < 2 % good and > 5 % poor, nothing about [2, 5]: FAIR, our choice."""
    (gap,) = [b for b in thresholds_for("packet_loss").bands if b.level is FAIR]
    assert (gap.lower, gap.lower_inclusive, gap.upper, gap.upper_inclusive) == (2.0, True, 5.0, True)
    assert gap.chosen and not gap.level.marked
    assert not GOOD.marked and POOR.marked and SEVERE.marked


@pytest.mark.parametrize("media", ["video", "audio", "screen_share"])
@pytest.mark.parametrize(
    ("value", "level"),
    [
        (0.0, GOOD),
        (10.0, GOOD),  # "within ±10 %"
        (above(10.0), FAIR),
        (30.0, FAIR),
        (above(30.0), POOR),  # "> 30 % fluctuation"
        (250.0, POOR),
    ],
)
def test_bitrate_change(value: float, level: QualityLevel, media: str) -> None:
    assert level_of("bitrate_change", value, media_kind=media) is level


def test_screen_share_bitrate_is_taken_over_its_longest_gop() -> None:
    assert thresholds_for("bitrate_change", media_kind="screen_share").window == timedelta(seconds=10)
    assert thresholds_for("bitrate_change", media_kind="video").window is None
    with pytest.raises(ValueError, match="differs by media kind"):
        level_of("bitrate_change", 5.0)


@pytest.mark.parametrize(
    ("value", "level"),
    [
        (0.0, POOR),
        (10.0, POOR),  # "10フレーム以下": at most 10 fps is stutter
        (above(10.0), FAIR),
        (below(15.0), FAIR),
        (15.0, GOOD),  # "15フレーム以上"
        (60.0, GOOD),
    ],
)
def test_video_frame_rate(value: float, level: QualityLevel) -> None:
    assert level_of("frame_rate", value, media_kind="video") is level


@pytest.mark.parametrize(
    ("value", "level"),
    [(0.0, POOR), (below(5.0), POOR), (5.0, GOOD), (7.0, GOOD), (10.0, GOOD), (12.0, GOOD)],
)
def test_screen_share_frame_rate_is_normal_from_5_fps(value: float, level: QualityLevel) -> None:
    """Screen share's normal is 5-10 fps: what is stutter for video is normal for it."""
    assert level_of("frame_rate", value, media_kind="screen_share") is level
    assert level_of("frame_rate", 8.0, media_kind="video") is POOR


@pytest.mark.parametrize("media", ["video", "screen_share"])
@pytest.mark.parametrize(("value", "level"), [(0.0, GOOD), (5.0, GOOD), (above(5.0), POOR), (20.0, POOR)])
def test_frame_rate_swing(value: float, level: QualityLevel, media: str) -> None:
    assert level_of("frame_rate_swing", value, media_kind=media) is level


@pytest.mark.parametrize("metric", ["frame_rate", "frame_rate_swing"])
def test_audio_has_no_frame_rate(metric: str) -> None:
    with pytest.raises(ValueError, match="does not apply to audio"):
        level_of(metric, 20.0, media_kind="audio")


@pytest.mark.parametrize("media", [*MEDIA_KINDS, None])
@pytest.mark.parametrize(
    ("value", "level"),
    [
        (0.0, GOOD),
        (below(50.0), GOOD),  # "system < 50 % normal"
        (50.0, FAIR),
        (85.0, FAIR),
        (above(85.0), POOR),  # "> 85 % marked"
        (100.0, POOR),
    ],
)
def test_system_cpu_is_a_device_metric(value: float, level: QualityLevel, media: str | None) -> None:
    assert level_of("system_cpu", value, media_kind=media) is level


@pytest.mark.parametrize(("value", "level"), [(0.0, GOOD), (60.0, GOOD), (above(60.0), POOR), (500.0, POOR)])
def test_sdk_task_time(value: float, level: QualityLevel) -> None:
    assert level_of("sdk_task_time", value) is level  # "> 60 ms: overloaded"


@pytest.mark.parametrize(
    ("value", "level"),
    [(-10.0, POOR), (below(40.0), POOR), (40.0, GOOD), (80.0, GOOD), (above(80.0), FAIR), (120.0, FAIR)],
)
def test_volume(value: float, level: QualityLevel) -> None:
    assert level_of("volume", value, media_kind="audio") is level  # "normal 40-80 dB, < 40 dB low"
    assert level_of("volume", value) is level


@pytest.mark.parametrize(
    ("metric", "value"),
    [
        ("packet_loss", -0.1),
        ("packet_loss", above(100.0)),
        ("system_cpu", 101.0),
        ("sdk_task_time", -1.0),
        ("packet_loss", math.nan),
        ("volume", math.nan),
    ],
)
def test_a_value_outside_the_domain_has_no_level(metric: str, value: float) -> None:
    with pytest.raises(ValueError, match="outside every band"):
        level_of(metric, value, media_kind="audio")


def test_unknown_names_are_refused() -> None:
    with pytest.raises(ValueError, match="rtt"):
        level_of("rtt", 100.0)
    with pytest.raises(ValueError, match="unknown media kind 'screen'"):
        level_of("packet_loss", 1.0, media_kind="screen")
    with pytest.raises(ValueError, match="does not apply to video"):
        level_of("volume", 50.0, media_kind="video")


@pytest.mark.parametrize(
    ("rate", "level"),
    [
        (0.0, LOW),
        (below(5.0), LOW),
        (5.0, HIGH),  # [5, 10 %)
        (below(10.0), HIGH),
        (10.0, VERY_HIGH),  # ≥ 10 %
        (100.0, VERY_HIGH),
    ],
)
def test_video_stall_levels(rate: float, level: StallLevel) -> None:
    assert stall_level(rate, media_kind="video") is level


@pytest.mark.parametrize(
    ("rate", "level"),
    [(0.0, LOW), (below(3.0), LOW), (3.0, HIGH), (below(5.0), HIGH), (5.0, VERY_HIGH), (100.0, VERY_HIGH)],
)
def test_audio_stall_levels(rate: float, level: StallLevel) -> None:
    assert stall_level(rate, media_kind="audio") is level


def test_stall_levels_have_the_seed_colours_and_no_screen_share() -> None:
    assert [level.colour for level in StallLevel] == ["green", "yellow", "red"]
    with pytest.raises(ValueError, match="no stall rate for 'screen_share'"):
        stall_level(1.0, media_kind="screen_share")
    for rate in (-0.5, above(100.0), math.nan):
        with pytest.raises(ValueError, match="outside every band"):
            stall_level(rate, media_kind="video")


@pytest.mark.parametrize(
    ("media", "millis", "counts"),
    [
        ("video", 599, False),
        ("video", 600, True),  # "600msに達すると": from 600 ms
        ("video", 601, True),
        ("audio", 199, False),
        ("audio", 200, True),  # from 200 ms
        ("audio", 201, True),
    ],
)
def test_stall_minimums(media: str, millis: int, counts: bool) -> None:
    assert counts_as_stall(timedelta(milliseconds=millis), media_kind=media) is counts
    just_under = (VIDEO_STALL if media == "video" else AUDIO_STALL).minimum_stall - timedelta(microseconds=1)
    assert counts_as_stall(just_under, media_kind=media) is False


def _edges_hold(bands: Sequence[Band[Any]]) -> None:
    """Each edge is in its band exactly when it is inclusive, the values just inside it are in
    the band, and an edge two bands share is in exactly one of them, its either side in each."""
    for band in bands:
        point = band.lower == band.upper
        if band.lower is not None:
            assert (band.lower in band) is band.lower_inclusive
            assert above(band.lower) in band or point
        if band.upper is not None:
            assert (band.upper in band) is band.upper_inclusive
            assert below(band.upper) in band or point
    for low, high in itertools.pairwise(bands):
        edge = low.upper
        assert edge is not None and edge == high.lower
        assert (edge in low) is not (edge in high)
        assert below(edge) in low or low.lower == low.upper
        assert above(edge) in high or high.lower == high.upper


@pytest.mark.parametrize("thresholds", QUALITY_THRESHOLDS, ids=lambda t: f"{t.metric}-{'/'.join(t.media)}")
def test_every_edge_of_every_metric_belongs_to_exactly_one_band(thresholds: MetricThresholds) -> None:
    _edges_hold(thresholds.bands)
    for band in thresholds.bands:
        for value in (band.lower, band.upper):
            if value is not None:
                assert sum(value in b for b in thresholds.bands) == 1


@pytest.mark.parametrize("thresholds", STALL_RATE_THRESHOLDS, ids=lambda t: t.media)
def test_every_edge_of_the_stall_levels_belongs_to_exactly_one_band(thresholds: StallRateThresholds) -> None:
    _edges_hold(thresholds.bands)
    assert (thresholds.bands[0].lower, thresholds.bands[-1].upper) == (0.0, 100.0)


def test_every_metric_has_thresholds_and_each_media_kind_one_set() -> None:
    for metric in QualityMetric:
        sets = [t for t in QUALITY_THRESHOLDS if t.metric is metric]
        kinds = [kind for t in sets for kind in t.media]
        assert sets and len(kinds) == len(set(kinds)), metric
    assert {t.unit for t in QUALITY_THRESHOLDS} == {"%", "fps", "ms", "dB"}


def test_the_shape_checks_are_not_vacuous() -> None:
    with pytest.raises(ValueError, match="empty band"):
        Band(GOOD, 5.0, 5.0, lower_inclusive=True, upper_inclusive=False)
    gap = (
        Band(GOOD, 0.0, 1.0, lower_inclusive=True, upper_inclusive=False),
        Band(POOR, 2.0, None, lower_inclusive=True, upper_inclusive=False),
    )
    overlap = (
        Band(GOOD, 0.0, 1.0, lower_inclusive=True, upper_inclusive=True),
        Band(POOR, 1.0, None, lower_inclusive=True, upper_inclusive=False),
    )
    for bands in (gap, overlap, ()):
        with pytest.raises(ValueError, match=r"contiguous|no bands"):
            MetricThresholds(QualityMetric.VOLUME, "dB", ("audio",), bands, "x")
    with pytest.raises(ValueError, match="unknown media kind"):
        MetricThresholds(QualityMetric.VOLUME, "dB", ("screen",), gap[:1], "x")
