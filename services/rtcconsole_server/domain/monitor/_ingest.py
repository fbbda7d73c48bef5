"""The two kinds of monitoring records the engine (``_engine``) stores: quality samples, keyed by
their natural key, and client events, keyed by (app, event id) (decision 0019; the table's key
adds the time, decision 0024).
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table

from rtcconsole_server.clock import Clock
from rtcconsole_server.domain.monitor._client_events import (
    ClientEventInput,
    check_client_event,
    client_event_form,
    parameters_json,
)
from rtcconsole_server.domain.monitor._engine import Kind, RecordIngest
from rtcconsole_server.domain.monitor._samples import (
    MEDIA_NAMES,
    METRICS,
    SampleInput,
    check_sample,
    float32,
    metrics_of,
    sample_form,
)
from rtcconsole_server.errors import FieldViolation
from rtcconsole_server.store import Store
from rtcconsole_server.store.bulk import Key
from rtcconsole_server.store.models_monitor import ClientEvent, QualitySample

__all__ = ["ClientEventIngest", "QualityIngest"]


def _instant(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


_SAMPLE_KEY = ("sdk_app_id", "room_key", "user_id", "peer_id", "media", "sample_time")
_SAMPLE_COLUMNS = (*_SAMPLE_KEY, "interval_ms", *(m.name for m in METRICS))
if tuple(cast(Table, QualitySample.__table__).columns.keys()) != _SAMPLE_COLUMNS:  # pragma: no cover
    raise RuntimeError("quality_samples' columns are not the key, interval_ms and METRICS in order")
_REAL_AT = tuple(i for i, m in enumerate(METRICS) if m.real)
_REALS32 = struct.Struct(f"<{len(_REAL_AT)}f")
_EVENT_KEY = ("sdk_app_id", "event_id")
_EVENT_COLUMNS = (
    *_EVENT_KEY,
    *("room_key", "user_id", "peer_id", "event_type", "media", "event_time", "parameters", "received_at"),
)
if set(cast(Table, ClientEvent.__table__).columns.keys()) != set(_EVENT_COLUMNS):  # pragma: no cover
    raise RuntimeError("client_events' columns are not those _ClientEvents.row writes")


class _Samples(Kind[SampleInput]):
    what = "quality sample"
    batch = "samples"
    table = cast(Table, QualitySample.__table__)
    key = _SAMPLE_KEY
    columns = _SAMPLE_COLUMNS
    time_column = "sample_time"

    def check(self, record: SampleInput, now: datetime) -> list[FieldViolation]:
        return check_sample(record, now)

    def record_id(self, record: SampleInput) -> str:
        return record.sample_id

    def identity(self, record: SampleInput) -> Key:
        return (
            record.sdk_app_id,
            record.room_key,
            record.user_id,
            record.peer_id,
            record.media,
            record.sample_time,
        )

    def form(self, record: SampleInput) -> dict[str, object]:
        return sample_form(record)

    def stored_form(self, row: Mapping[str, Any]) -> dict[str, object]:
        form: dict[str, object] = {"interval": row["interval_ms"]}
        for metric in METRICS:
            value = row[metric.name]
            # PostgreSQL prints a real in its shortest form (0.1), SQLite keeps the double of the
            # 4-byte value (0.10000000149…): both are the same 4-byte float
            form[metric.name] = float32(value) if metric.real and value is not None else value
        return form

    def row(self, record: SampleInput, now: datetime) -> tuple[object, ...]:
        metrics = list(metrics_of(record))
        reals = [metrics[i] for i in _REAL_AT]  # as the 4-byte floats the store keeps
        if None in reals:
            reals = [None if value is None else float32(value) for value in reals]
        else:  # every real measured, the usual case: one pack and unpack for all
            reals = list(_REALS32.unpack(_REALS32.pack(*reals)))
        for i, value in zip(_REAL_AT, reals, strict=True):
            metrics[i] = value
        return (
            record.sdk_app_id,
            record.room_key,
            record.user_id,
            record.peer_id,
            record.media,
            record.sample_time,
            record.interval,
            *metrics,
        )

    def name(self, record: SampleInput) -> str:
        assert record.sample_time is not None
        parts = (record.room_key, record.user_id, record.peer_id, MEDIA_NAMES[record.media])
        return f"{record.sdk_app_id}/{'/'.join(parts)}/{_instant(record.sample_time)}"


class _ClientEvents(Kind[ClientEventInput]):
    what = "client event"
    batch = "events"
    table = cast(Table, ClientEvent.__table__)
    key = _EVENT_KEY
    columns = _EVENT_COLUMNS
    time_column = "event_time"
    unique_identity = False  # the table's key adds event_time, its partition key (decision 0024)

    def check(self, record: ClientEventInput, now: datetime) -> list[FieldViolation]:
        return check_client_event(record, now)

    def record_id(self, record: ClientEventInput) -> str:
        return record.event_id

    def identity(self, record: ClientEventInput) -> Key:
        return (record.sdk_app_id, record.event_id)

    def form(self, record: ClientEventInput) -> dict[str, object]:
        assert record.event_time is not None
        return client_event_form(
            room_key=record.room_key,
            user_id=record.user_id,
            peer_id=record.peer_id,
            event_type=record.event_type,
            media=record.media,
            event_time=record.event_time,
            parameters=record.parameters,
        )

    def stored_form(self, row: Mapping[str, Any]) -> dict[str, object]:
        return client_event_form(
            room_key=row["room_key"],
            user_id=row["user_id"],
            peer_id=row["peer_id"],
            event_type=row["event_type"],
            media=row["media"],
            event_time=row["event_time"],
            parameters=json.loads(row["parameters"]),
        )

    def row(self, record: ClientEventInput, now: datetime) -> tuple[object, ...]:
        return (
            record.sdk_app_id,
            record.event_id,
            record.room_key,
            record.user_id,
            record.peer_id,
            record.event_type,
            record.media,
            record.event_time,
            parameters_json(record.parameters),
            now,
        )

    def name(self, record: ClientEventInput) -> str:
        return f"{record.sdk_app_id}/{record.event_id}"


class QualityIngest(RecordIngest[SampleInput]):
    """Stores batches of quality samples (R20) exactly once per natural key."""

    def __init__(self, store: Store, clock: Clock) -> None:
        super().__init__(store, clock, _Samples())


class ClientEventIngest(RecordIngest[ClientEventInput]):
    """Stores batches of client events (R20) and abnormal events (R21) exactly once per id."""

    def __init__(self, store: Store, clock: Clock) -> None:
        super().__init__(store, clock, _ClientEvents())
