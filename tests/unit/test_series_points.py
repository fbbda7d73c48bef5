"""A series' points written in bulk (api/series_points.py) make the same proto as point by point."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from rtcconsole.v1 import monitor_service_pb2 as pb
from rtcconsole_server.api.convert_series import _series
from rtcconsole_server.api.series_points import fill_points
from rtcconsole_server.domain.monitor import SERIES_METRICS, QualityLevel, Series


def _one_by_one(
    seconds: list[int], nanos: int, values: list[float], levels: list[int], counts: list[int]
) -> pb.QualitySeries:
    message = pb.QualitySeries(unit="ms")
    for second, value, level, count in zip(seconds, values, levels, counts, strict=True):
        point = message.points.add(value=value, level=level, sample_count=count)
        point.time.seconds, point.time.nanos = second, nanos
    return message


@pytest.mark.parametrize("seed", range(40))
def test_bulk_points_are_the_points_one_by_one(seed: int) -> None:
    rnd = random.Random(seed)
    size = rnd.choice((0, 1, 2, 7, 1000))
    base = rnd.choice((1 << 28, 1_764_600_000, (1 << 35) - 200_000))
    step = rnd.choice((1, 18, 60))
    seconds = [base + step * i for i in sorted(rnd.sample(range(3000), size))]
    nanos = rnd.choice((0, 1, 123_456_000, 999_999_999))
    values = [
        rnd.choice((0.0, -0.0, 0.5, 1e300, rnd.random() * 1e6, float(rnd.randint(0, 10**7)))) for _ in seconds
    ]
    levels = [rnd.randint(0, 5) for _ in seconds]
    wide = (0, 1, 127, 128, 16_383, 16_384, (1 << 28) - 1)
    counts = [rnd.choice(wide) if seed % 3 == 0 else rnd.randint(1, 100) for _ in seconds]
    bulk = pb.QualitySeries(unit="ms")
    assert fill_points(bulk, seconds, nanos, values, bytes(levels), counts)
    expected = _one_by_one(seconds, nanos, values, levels, counts)
    assert bulk == expected
    assert bulk.SerializeToString(deterministic=True) == expected.SerializeToString(deterministic=True)


@pytest.mark.parametrize(
    ("seconds", "counts"), [([(1 << 28) - 1], [1]), ([1 << 35], [1]), ([1_764_600_000], [1 << 28])]
)
def test_points_outside_the_record_are_refused_untouched(seconds: list[int], counts: list[int]) -> None:
    message = pb.QualitySeries()
    assert not fill_points(message, seconds, 0, [1.0], bytes([1]), counts)
    assert len(message.points) == 0


def test_a_series_that_does_not_fit_is_added_point_by_point() -> None:
    spec = SERIES_METRICS[0]
    start = datetime(1975, 1, 1, 0, 0, 0, 250_000, tzinfo=UTC)  # seconds below 2^28
    for step in (timedelta(seconds=18), timedelta(milliseconds=1500)):
        series = Series(spec, start, step, (0, 3), (1.0, 2.0), (None, QualityLevel.SEVERE), (4, 5))
        message = _series(series)
        times = [p.time.ToDatetime(tzinfo=UTC) for p in message.points]
        assert times == [start, start + 3 * step]
        assert [(p.value, p.level, p.sample_count) for p in message.points] == [
            (1.0, pb.QUALITY_LEVEL_UNSPECIFIED, 4),
            (2.0, pb.QUALITY_LEVEL_SEVERE, 5),
        ]


def test_a_response_is_its_series_built_one_by_one() -> None:
    """``quality_series_response`` encodes every series at once, sharing a frame between series
    of the same steps and counts: the message is the one of ``_series`` per series, for
    series that share steps, that do not, that have gaps or no point, and that fall back
    (a step of a fraction of a second)."""
    from rtcconsole_server.api.convert_series import quality_series_response
    from rtcconsole_server.domain.monitor import CallView
    from rtcconsole_server.domain.monitor._series_range import CallScope
    from rtcconsole_server.domain.monitor._series_read import SeriesResult

    rnd = random.Random(7)
    start = datetime(2026, 12, 1, 10, 0, 0, 123_000, tzinfo=UTC)
    shared = tuple(range(0, 900, 1))
    counts = tuple(rnd.randint(1, 9) for _ in shared)
    levels = (None, *QualityLevel)
    for step in (timedelta(seconds=18), timedelta(milliseconds=2500)):
        series = []
        for i, spec in enumerate(SERIES_METRICS):
            steps = shared if i % 3 else tuple(sorted(rnd.sample(range(1000), rnd.choice((0, 1, 50)))))
            own = counts if i % 3 == 1 else tuple(rnd.randint(1, 300) for _ in steps)
            values = tuple(rnd.random() * 100 for _ in steps)
            series.append(
                Series(spec, start, step, steps, values, tuple(rnd.choice(levels) for _ in steps), own)
            )
        call = CallView("1_r_1", "r", start, None, timedelta(hours=1), 2)
        scope = CallScope(call, 1, "s:r", start, start + timedelta(hours=5), start + timedelta(hours=5))
        result = SeriesResult(scope, "u", "p", 1, step, tuple(series), ())
        built = quality_series_response(result)
        expected = pb.GetQualitySeriesResponse()
        expected.CopyFrom(built)
        del expected.series[:]
        expected.series.extend([_series(s) for s in series])
        assert built == expected
        assert built.SerializeToString(deterministic=True) == expected.SerializeToString(deterministic=True)
