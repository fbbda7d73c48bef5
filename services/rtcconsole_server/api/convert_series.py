"""User views (R19), quality series (R20) and client events between protos and the monitor context."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import timedelta

from google.protobuf.duration_pb2 import Duration

from rtcconsole.v1 import monitor_service_pb2 as pb
from rtcconsole.v1 import quality_pb2, quality_series_pb2
from rtcconsole_server.api.convert import epoch_parts, timestamp
from rtcconsole_server.api.series_points import Frames, fill_points, varint
from rtcconsole_server.domain.events import room_of_key
from rtcconsole_server.domain.monitor import (
    SERIES_METRICS,
    SIDES,
    SUSTAINED_FOR,
    ClientEventList,
    ClientEventView,
    Flag,
    QualityLevel,
    Series,
    SeriesResult,
    StreamView,
    UserView,
    UserViews,
)
from rtcconsole_server.errors import FieldViolation, InvalidArgument

__all__ = [
    "client_events_response",
    "metric_names",
    "quality_series_response",
    "sides",
    "user_view_response",
]

_METRIC_NUMBER = {spec.name: number for number, spec in enumerate(SERIES_METRICS, start=1)}
"""SeriesMetric numbers follow SERIES_METRICS' order."""
_AGGREGATE = {
    "mean": quality_series_pb2.SERIES_AGGREGATE_MEAN,
    "max": quality_series_pb2.SERIES_AGGREGATE_MAX,
    "sum": quality_series_pb2.SERIES_AGGREGATE_SUM,
}
_FLAG = {
    "sustained_loss": quality_series_pb2.QUALITY_FLAG_KIND_SUSTAINED_LOSS,
    "low_frame_rate": quality_series_pb2.QUALITY_FLAG_KIND_LOW_FRAME_RATE,
}
_SIDE = {"receiver": quality_series_pb2.VIEW_SIDE_RECEIVER, "sender": quality_series_pb2.VIEW_SIDE_SENDER}
_SUB_VIEW = {
    "all": pb.SUB_VIEW_KIND_ALL,
    "video": pb.SUB_VIEW_KIND_VIDEO,
    "audio": pb.SUB_VIEW_KIND_AUDIO,
    "screen_share": pb.SUB_VIEW_KIND_SCREEN_SHARE,
}


def metric_names(numbers: Sequence[int]) -> list[str]:
    """The domain names of ``SeriesMetric`` numbers; an unknown number is ``InvalidArgument``."""
    names = {number: name for name, number in _METRIC_NUMBER.items()}
    problems = [
        FieldViolation(f"metrics[{i}]", "must be a SeriesMetric")
        for i, n in enumerate(numbers)
        if n not in names
    ]
    if problems:
        raise InvalidArgument(problems)
    return [names[n] for n in numbers]


def sides(number: int) -> tuple[str, ...]:
    """The sides a ``ViewSide`` asks for: unspecified is both, receiver first."""
    if number == quality_series_pb2.VIEW_SIDE_UNSPECIFIED:
        return SIDES
    for name, side in _SIDE.items():
        if side == number:
            return (name,)
    raise InvalidArgument(FieldViolation("side", "must be RECEIVER, SENDER or unspecified (both)"))


def _duration(value: timedelta) -> Duration:
    duration = Duration()
    duration.FromTimedelta(value)
    return duration


def _level(level: QualityLevel | None) -> pb.QualityLevel.ValueType:
    return pb.QualityLevel.ValueType(int(level)) if level is not None else pb.QUALITY_LEVEL_UNSPECIFIED


_LEVEL_NUMBER: dict[QualityLevel | None, int] = {
    None: pb.QUALITY_LEVEL_UNSPECIFIED,
    **{q: int(q) for q in QualityLevel},
}
_SECOND = timedelta(seconds=1)


def _series(series: Series) -> pb.QualitySeries:
    """The series as a proto, its points filled from the columns in bulk (``series_points``:
    the step is whole seconds, so a point's time is the range start's nanos and seconds
    ``start + step × index``); point by point, each added in place, only when they do not fit
    that (no ``datetime`` nor ``Timestamp`` per point either way)."""
    spec = series.spec
    message = pb.QualitySeries(
        metric=_METRIC_NUMBER[spec.name],  # type: ignore[arg-type]
        unit=spec.unit,
        aggregate=_AGGREGATE[spec.aggregate],
        judged_by=[pb.QualityMetric.Value(f"QUALITY_METRIC_{m.name}") for m in spec.judged_by],
    )
    base, nanos = epoch_parts(series.start)
    step_s, part = divmod(series.step, _SECOND)
    levels = bytes(map(_LEVEL_NUMBER.__getitem__, series.levels))
    if not part:
        seconds = [base + step_s * i for i in series.steps]
        if fill_points(message, seconds, nanos, series.values, levels, series.counts):
            return message
    add = message.points.add
    for point, level in zip(series.points, levels, strict=True):
        added = add(value=point.value, level=level, sample_count=point.samples)
        added.time.seconds, added.time.nanos = epoch_parts(point.time)
    return message


_SERIES_TAG = varint(pb.GetQualitySeriesResponse.DESCRIPTOR.fields_by_name["series"].number << 3 | 2)
"""The tag of ``GetQualitySeriesResponse.series`` (length-delimited)."""


@functools.cache
def _header(name: str) -> bytes:
    """A series' fields but its points, encoded (once per metric and process)."""
    spec = SERIES_METRICS[_METRIC_NUMBER[name] - 1]
    return pb.QualitySeries(
        metric=_METRIC_NUMBER[name],  # type: ignore[arg-type]
        unit=spec.unit,
        aggregate=_AGGREGATE[spec.aggregate],
        judged_by=[pb.QualityMetric.Value(f"QUALITY_METRIC_{m.name}") for m in spec.judged_by],
    ).SerializeToString()


def _series_field(series: Series, frames: Frames) -> bytes:
    """One ``series`` field of a response, encoded: the metric's header and the points'
    records (``series_points``; the frame shared with the read's other series of the same
    steps and counts), or :func:`_series` serialised when the points do not fit the record.
    The message parsed from it is the one :func:`_series` builds."""
    base, nanos = epoch_parts(series.start)
    step_s, part = divmod(series.step, _SECOND)
    body: bytes | bytearray | None = None
    if not part:
        steps = series.steps
        body = frames.encode(
            (steps, series.counts, base, step_s, nanos),
            lambda: [base + step_s * i for i in steps],
            nanos,
            series.values,
            bytes(map(_LEVEL_NUMBER.__getitem__, series.levels)),
            series.counts,
        )
    message = _series(series).SerializeToString() if body is None else _header(series.spec.name) + body
    return _SERIES_TAG + varint(len(message)) + message


def _flag(flag: Flag) -> quality_series_pb2.QualityFlag:
    return quality_series_pb2.QualityFlag(
        kind=_FLAG[flag.kind],
        metric=_METRIC_NUMBER[flag.metric],  # type: ignore[arg-type]
        start_time=timestamp(flag.start),
        end_time=timestamp(flag.end),
    )


def quality_series_response(result: SeriesResult) -> pb.GetQualitySeriesResponse:
    """The response; its series are encoded together and parsed into it at once (11 series
    of ~1,000 points for 5 hours: built apart, each would be copied into the response)."""
    scope = result.scope
    response = pb.GetQualitySeriesResponse(
        call_id=scope.call.call_id,
        user_id=result.user_id,
        peer_id=result.peer_id,
        media=result.media,  # type: ignore[arg-type]
        start_time=timestamp(scope.start),
        end_time=timestamp(scope.end),
        step=_duration(result.step),
        flags=[_flag(f) for f in result.flags],
        sustained_for=_duration(SUSTAINED_FOR),
        as_of=timestamp(scope.as_of),
    )
    frames = Frames()
    response.MergeFromString(b"".join([_series_field(s, frames) for s in result.series]))
    return response


def _stream(stream: StreamView) -> pb.StreamOverview:
    return pb.StreamOverview(
        peer_id=stream.peer_id,
        media=stream.media,  # type: ignore[arg-type]
        series=[_series(s) for s in stream.series],
        jitter_moments=[
            pb.JitterMoment(
                time=timestamp(series.points[index].time),
                metric=_METRIC_NUMBER[series.spec.name],  # type: ignore[arg-type]
                level=_level(series.points[index].level),
            )
            for series, index in stream.jitter
        ],
    )


def _view(view: UserView) -> pb.UserView:
    return pb.UserView(
        side=_SIDE[view.side],
        sub_views=[
            pb.SubView(
                kind=_SUB_VIEW[s.kind], peer_ids=list(s.peer_ids), jitter_moment_count=s.jitter_moments
            )
            for s in view.sub_views
        ],
        streams=[_stream(s) for s in view.streams],
        peers_truncated=view.peers_truncated,
    )


def user_view_response(found: UserViews) -> pb.GetUserViewResponse:
    scope = found.scope
    return pb.GetUserViewResponse(
        call_id=scope.call.call_id,
        user_id=found.user_id,
        views=[_view(v) for v in found.views],
        start_time=timestamp(scope.start),
        end_time=timestamp(scope.end),
        step=_duration(found.step),
        as_of=timestamp(scope.as_of),
    )


def _client_event(view: ClientEventView) -> quality_pb2.ClientEvent:
    message = quality_pb2.ClientEvent(
        event_id=view.event_id,
        sdk_app_id=view.sdk_app_id,
        user_id=view.user_id,
        peer_id=view.peer_id,
        type=view.event_type,  # type: ignore[arg-type]
        media=view.media,  # type: ignore[arg-type]
        event_time=timestamp(view.event_time),
        parameters=view.parameters,
    )
    room = room_of_key(view.room_key)
    if isinstance(room, int):
        message.room_id = room
    else:
        message.str_room_id = room
    return message


def client_events_response(found: ClientEventList) -> quality_series_pb2.ListClientEventsResponse:
    return quality_series_pb2.ListClientEventsResponse(
        events=[_client_event(e) for e in found.page.items],
        next_page_token=found.page.next_page_token,
        start_time=timestamp(found.scope.start),
        end_time=timestamp(found.scope.end),
    )
