"""The column-wise levels of a quality series (domain/monitor/_series_levels.py).

The series judge a column with ``bisect`` over edges built from the thresholds' bands; these
tests hold that to ``MetricThresholds.level_of`` on every edge of every band set, the values
just either side of it (``math.nextafter``), and values outside the domain (None where
``level_of`` raises).
"""

from __future__ import annotations

import math
from datetime import timedelta

import pytest

from rtcconsole_server.domain.monitor import MEDIA_KINDS, QUALITY_THRESHOLDS, MetricThresholds, QualityLevel
from rtcconsole_server.domain.monitor._series_levels import (
    bitrate_levels,
    edges,
    frame_rate_levels,
    levels_of,
    runs,
)
from rtcconsole_server.domain.monitor._thresholds import QualityMetric, level_of


def _probes(thresholds: MetricThresholds) -> list[float]:
    values = [-math.inf, -1.0, -0.0, 0.0, 1e9, math.inf, math.nan]
    for band in thresholds.bands:
        for edge in (band.lower, band.upper):
            if edge is not None:
                values += [edge, math.nextafter(edge, -math.inf), math.nextafter(edge, math.inf)]
                values += [edge - 0.5, edge + 0.5]
    return values


def _expected(thresholds: MetricThresholds, value: float) -> QualityLevel | None:
    try:
        return thresholds.level_of(value)
    except ValueError:
        return None


@pytest.mark.parametrize("thresholds", QUALITY_THRESHOLDS, ids=lambda t: f"{t.metric}-{'/'.join(t.media)}")
def test_bisect_matches_the_bands_on_every_edge(thresholds: MetricThresholds) -> None:
    for media in thresholds.media or MEDIA_KINDS:
        probes = _probes(thresholds)
        got = levels_of(thresholds.metric, media, probes)
        one = edges(thresholds.metric, media)
        for value, level in zip(probes, got, strict=True):
            assert level == _expected(thresholds, value), (thresholds.metric, media, value)
            assert one.level(value) == level


def test_bitrate_change_against_the_recent_mean() -> None:
    steps, values = [0, 1, 2, 4, 5], [1000.0, 1100.0, 1000.0, 1300.0, 1300.0]
    got = bitrate_levels(steps, values, timedelta(seconds=20), "video", recent=timedelta(seconds=30))
    # 20-s steps: the recent mean is the 2 steps before; step 4 has only step 2 before it
    changes = [None, 10.0, abs(1000 - 1050) / 1050 * 100, 30.0, 0.0]
    assert got == [
        None if c is None else level_of(QualityMetric.BITRATE_CHANGE, c, media_kind="video") for c in changes
    ]
    assert got[1] is QualityLevel.GOOD and got[3] is QualityLevel.FAIR  # 10 % and 30 % are inclusive


def test_frame_rate_takes_the_worse_of_band_and_swing_across_consecutive_steps() -> None:
    levels, rate = frame_rate_levels([0, 1, 3], [24.0, 18.0, 24.0], "video")
    assert rate == [QualityLevel.GOOD] * 3
    assert levels == [QualityLevel.GOOD, QualityLevel.POOR, QualityLevel.GOOD]  # no swing across a gap


def test_runs_need_consecutive_steps() -> None:
    assert runs([0, 1, 2, 5, 6], [0, 1, 2, 3, 4]) == [(0, 2), (3, 4)]
    assert runs([0, 1, 2, 3], [0, 2, 3]) == [(0, 0), (2, 3)]
