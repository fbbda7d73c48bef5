"""Conversions from the data plane's quality samples and client events (quality.proto) to the
monitor context's inputs. Nothing is checked here: the domain does that."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime
from operator import attrgetter
from typing import cast

from rtcconsole.v1 import quality_pb2 as pb
from rtcconsole_server.api.convert import instant_of
from rtcconsole_server.clock import EPOCH
from rtcconsole_server.domain.monitor import METRICS, ClientEventInput, SampleInput

__all__ = ["client_event_input", "sample_input"]

_METRICS = tuple(m.name for m in METRICS)
"""The metric fields, in the order SampleInput takes them after ``interval_ms``."""
if tuple(f.name for f in dataclasses.fields(SampleInput))[8:] != _METRICS:  # pragma: no cover
    raise RuntimeError("SampleInput's fields after interval_ms are not METRICS in order")
_metric_values = attrgetter(*_METRICS)
_last_time: tuple[int, int, datetime] = (0, 0, EPOCH)


def _room_key(message: pb.QualitySample | pb.ClientEvent) -> str:
    which = message.WhichOneof("room")
    if which == "room_id":
        return f"n:{message.room_id}"
    return f"s:{message.str_room_id}" if which else ""


def _instant(message: pb.QualitySample | pb.ClientEvent, field: str) -> datetime | None:
    if not message.HasField(field):  # type: ignore[arg-type]
        return None
    stamp = getattr(message, field)
    return instant_of(stamp.seconds, stamp.nanos)


def sample_input(message: pb.QualitySample) -> SampleInput:
    """The domain's view of a QualitySample: unset metrics are None ("not measured"), an unset
    interval None (the default), a set one in whole milliseconds (truncated)."""
    # The hot path: every metric read in one call, and presence asked only of a zero (a value
    # other than 0 of an `optional` field is set); cheaper than ListFields' descriptor pairs.
    has = cast(Callable[[str], bool], message.HasField)
    metrics = [
        v if v or has(name) else None for name, v in zip(_METRICS, _metric_values(message), strict=True)
    ]
    interval = message.interval if has("interval") else None
    return SampleInput(
        message.sample_id,
        message.sdk_app_id,
        _room_key(message),
        message.user_id,
        message.peer_id,
        int(message.media),
        _sample_time(message) if has("sample_time") else None,
        None if interval is None else interval.seconds * 1000 + interval.nanos // 1_000_000,
        *metrics,
    )


def _sample_time(message: pb.QualitySample) -> datetime:
    """``_instant`` of a set ``sample_time``; the samples of a batch share a few instants, so the
    last one converted is kept (a tuple, replaced whole: safe across the store's threads)."""
    global _last_time
    stamp = message.sample_time
    seconds, nanos = stamp.seconds, stamp.nanos
    last = _last_time
    if last[0] == seconds and last[1] == nanos:
        return last[2]
    value = instant_of(seconds, nanos)
    _last_time = (seconds, nanos, value)
    return value


def client_event_input(message: pb.ClientEvent) -> ClientEventInput:
    """The domain's view of a ClientEvent."""
    return ClientEventInput(
        event_id=message.event_id,
        sdk_app_id=message.sdk_app_id,
        room_key=_room_key(message),
        user_id=message.user_id,
        peer_id=message.peer_id,
        event_type=int(message.type),
        event_time=_instant(message, "event_time"),
        media=int(message.media),
        parameters=dict(message.parameters),
    )
