"""GetQualitySeries (R20): the full link of one sender → receiver pair, or one side alone.

The pair is named by its reporter: ``user_id`` with ``peer_id`` set is the downstream
``user_id`` received from ``peer_id`` (``peer_id`` the sender); ``peer_id`` empty is
``user_id``'s own upstream. One media kind; the metrics asked for (default: every one that
applies to that side and kind). One SQL statement reads every metric's steps
(``_series_query``), fetched as columns; ``_series`` judges each column and keeps it as
such (points, levels and flags).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from rtcconsole_server.domain.monitor._samples import MEDIA_NAMES
from rtcconsole_server.domain.monitor._series import (
    SERIES_METRICS,
    Flag,
    Series,
    SeriesMetricSpec,
    applies,
    build_columns,
    step_for,
)
from rtcconsole_server.domain.monitor._series_query import query_columns
from rtcconsole_server.domain.monitor._series_range import CallScope
from rtcconsole_server.errors import FieldViolation

__all__ = ["DEFAULT_POINTS", "MAX_POINTS", "SeriesResult", "check_series_request", "read_series"]

DEFAULT_POINTS = 1000
"""Points per series when the request names no ``max_points`` (about 1,000, the issue's figure)."""
MAX_POINTS = 5000
"""The most points per series a request may ask for."""
_BY_NAME = {spec.name: spec for spec in SERIES_METRICS}


@dataclass(frozen=True)
class SeriesResult:
    scope: CallScope
    user_id: str
    peer_id: str
    media: int
    step: timedelta
    series: tuple[Series, ...]
    flags: tuple[Flag, ...]
    """By start, then kind and metric."""


def check_series_request(
    *, peer_id: str, media: int, metrics: Sequence[str], max_points: int, points_field: str = "max_points"
) -> tuple[list[FieldViolation], list[SeriesMetricSpec]]:
    """The violations of the media, metrics and point count, and the metrics to read."""
    problems: list[FieldViolation] = []
    if media not in MEDIA_NAMES:
        problems.append(FieldViolation("media", "must be a MediaKind: VIDEO, AUDIO or SCREEN_SHARE"))
    if not 0 <= max_points <= MAX_POINTS:
        problems.append(FieldViolation(points_field, f"must be 0 (meaning {DEFAULT_POINTS}) to {MAX_POINTS}"))
    if len(metrics) != len(set(metrics)):
        problems.append(FieldViolation("metrics", "names a metric twice"))
    specs: list[SeriesMetricSpec] = []
    side = "the downstream (peer_id set)" if peer_id else "the upstream (peer_id empty)"
    for i, name in enumerate(metrics):
        spec = _BY_NAME.get(name)
        if spec is None:
            problems.append(FieldViolation(f"metrics[{i}]", "must be a SeriesMetric"))
        elif media in MEDIA_NAMES and not applies(spec, downstream=bool(peer_id), media=media):
            kind = MEDIA_NAMES[media].lower().replace("_", " ")
            problems.append(
                FieldViolation(f"metrics[{i}]", f"{spec.name} is not measured on {side} of {kind}")
            )
        else:
            specs.append(spec)
    if not metrics and media in MEDIA_NAMES:
        specs = [s for s in SERIES_METRICS if applies(s, downstream=bool(peer_id), media=media)]
    return problems, specs


def read_series(
    session: Session,
    scope: CallScope,
    *,
    user_id: str,
    peer_id: str,
    media: int,
    specs: Sequence[SeriesMetricSpec],
    max_points: int,
) -> SeriesResult:
    """The series of ``specs`` for the stream (user_id, peer_id, media) over the scope's range."""
    step = step_for(scope.end - scope.start, max_points or DEFAULT_POINTS)
    columns = query_columns(
        session,
        sdk_app_id=scope.sdk_app_id,
        room_key=scope.room_key,
        user_id=user_id,
        peer_id=peer_id,
        media=media,
        start=scope.start,
        end=scope.end,
        step=step,
        columns={spec.column: spec.aggregate for spec in specs},
    )
    series: list[Series] = []
    flags: list[Flag] = []
    for spec in specs:
        column = columns[spec.column]
        one, found = build_columns(
            spec, column.steps, column.values, column.counts, media=media, start=scope.start, step=step
        )
        series.append(one)
        flags += found
    flags.sort(key=lambda f: (f.start, f.kind, f.metric))
    return SeriesResult(scope, user_id, peer_id, media, step, tuple(series), tuple(flags))
