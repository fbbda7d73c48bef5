"""Levels of a quality series, a column at a time (R20, decision 0022).

A series' points arrive as columns: ``steps`` (the step indexes, ascending, each once) and
``values`` (the aggregate of each). Every level comes from ``_thresholds``' bands; each
metric's bands are turned once per process into sorted edges (:func:`edges`), so that a
point's level is one ``bisect`` of its value rather than a walk of the bands:

- an edge that belongs to the band above it (``lower_inclusive``) is kept as it is, one
  that belongs to the band below it as the next float up (``math.nextafter``): for floats,
  ``v >= nextafter(e)`` is exactly ``v > e``, so ``bisect_right`` puts a value on an edge
  in the band the thresholds give it;
- a value outside the metric's domain (below the lowest band, above the highest, NaN) has
  no level, as ``MetricThresholds.level_of`` raises for it.

:func:`bitrate_levels`, :func:`frame_rate_levels` and :func:`runs` are ``_series``' rules
over those columns; their arithmetic (sums in step order, the same divisions) is the one
the per-point rules used, so a level on a threshold's edge does not move.
"""

from __future__ import annotations

import functools
import math
from bisect import bisect_right
from collections.abc import Sequence
from datetime import timedelta
from typing import NamedTuple

from rtcconsole_server.domain.monitor._thresholds import QualityLevel, QualityMetric, thresholds_for

__all__ = ["Edges", "bitrate_levels", "edges", "frame_rate_levels", "levels_of", "marked_positions", "runs"]

Level = QualityLevel | None


class Edges(NamedTuple):
    """One metric's bands for one media kind, ready for ``bisect_right``."""

    keys: tuple[float, ...]
    """The edges between the bands, ascending (see the module's comment)."""
    levels: tuple[QualityLevel, ...]
    """The bands' levels: ``levels[bisect_right(keys, v)]``."""
    low: float
    """The lowest value with a level (``-inf`` when the first band is unbounded)."""
    high: float
    """The highest value with a level (``inf`` when the last band is unbounded)."""

    def level(self, value: float) -> Level:
        """The level of one value; None outside the metric's domain (or NaN)."""
        if self.low <= value <= self.high:
            return self.levels[bisect_right(self.keys, value)]
        return None


def _up(edge: float, inclusive: bool) -> float:
    """The smallest float in a band whose lower edge is ``edge``."""
    return edge if inclusive else math.nextafter(edge, math.inf)


@functools.cache
def edges(metric: QualityMetric, media: str) -> Edges:
    """The edges of ``metric``'s bands for ``media`` (``video``, ``audio``, ``screen_share``; a
    device metric's bands apply to every kind), built once per process."""
    bands = thresholds_for(metric, media_kind=media).bands
    keys = tuple(_up(above.lower, above.lower_inclusive) for above in bands[1:] if above.lower is not None)
    first, last = bands[0], bands[-1]
    low = -math.inf if first.lower is None else _up(first.lower, first.lower_inclusive)
    high = (
        math.inf
        if last.upper is None
        else last.upper
        if last.upper_inclusive
        else math.nextafter(last.upper, -math.inf)
    )
    return Edges(keys, tuple(band.level for band in bands), low, high)


def levels_of(metric: QualityMetric, media: str, values: Sequence[float]) -> list[Level]:
    """The level of each value of a column (None outside the metric's domain)."""
    keys, levels, low, high = edges(metric, media)
    return [levels[bisect_right(keys, v)] if low <= v <= high else None for v in values]


def frame_rate_levels(
    steps: Sequence[int], values: Sequence[float], media: str
) -> tuple[list[Level], list[Level]]:
    """(each point's level, its rate's own level): the worse of the rate's band and of its
    swing from the previous step's point (none for a point whose previous step has none)."""
    rate = levels_of(QualityMetric.FRAME_RATE, media, values)
    if not values:
        return [], rate
    keys, bands, low, high = edges(QualityMetric.FRAME_RATE_SWING, media)
    levels = [rate[0]]
    append = levels.append
    for own, value, before, index, previous in zip(
        rate[1:], values[1:], values, steps[1:], steps, strict=False
    ):
        if index - previous != 1:
            append(own)
            continue
        change = abs(value - before)  # Edges.level, inline: ~1,000 points a series
        swing = bands[bisect_right(keys, change)] if low <= change <= high else None
        append(own if swing is None or (own is not None and own >= swing) else swing)  # the worse
    return levels, rate


def bitrate_levels(
    steps: Sequence[int], values: Sequence[float], step: timedelta, media: str, *, recent: timedelta
) -> list[Level]:
    """The bitrate change's level of each point: the deviation in % of the mean of the points
    (the thresholds' window when it is longer than the step, else the point itself) from the
    mean of the points of the ``recent`` steps before it; None for a point with none before."""
    window = thresholds_for(QualityMetric.BITRATE_CHANGE, media_kind=media).window
    own = max(1, math.ceil(window / step)) if window else 1  # steps the compared value averages
    back = max(1, math.ceil(recent / step))  # steps of the recent mean
    keys, bands, low, high = edges(QualityMetric.BITRATE_CHANGE, media)
    levels: list[Level] = []
    first_recent = first_own = 0  # positions of the oldest point in each window
    for here, index in enumerate(steps):
        while steps[first_recent] < index - back:
            first_recent += 1
        while steps[first_own] < index - own + 1:
            first_own += 1
        if first_recent == here:  # nothing in the recent window
            levels.append(None)
            continue
        reference = sum(values[first_recent:here]) / (here - first_recent)
        value = sum(values[first_own : here + 1]) / (here + 1 - first_own)
        change = abs(value - reference) / reference * 100 if reference else (0.0 if not value else math.inf)
        levels.append(bands[bisect_right(keys, change)] if low <= change <= high else None)
    return levels


def runs(steps: Sequence[int], positions: Sequence[int]) -> list[tuple[int, int]]:
    """The runs of ``positions`` (ascending) whose steps follow each other, as (first, last)
    positions."""
    found: list[tuple[int, int]] = []
    for here in positions:
        if found and found[-1][1] == here - 1 and steps[here] == steps[here - 1] + 1:
            found[-1] = (found[-1][0], here)
        else:
            found.append((here, here))
    return found


def marked_positions(levels: Sequence[Level]) -> list[int]:
    """The positions of the points drawn red (POOR or SEVERE)."""
    return [here for here, level in enumerate(levels) if level is not None and level.marked]
