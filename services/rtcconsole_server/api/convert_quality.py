"""Conversions from the data plane's quality samples and client events (quality.proto) to the
monitor context's inputs. Nothing is checked here: the domain does that."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from rtcconsole.v1 import quality_pb2 as pb
from rtcconsole_server.clock import EPOCH
from rtcconsole_server.domain.monitor import ClientEventInput, SampleInput

__all__ = ["client_event_input", "sample_input"]

_FAR_PAST = datetime(1, 1, 1, tzinfo=UTC)  # an unrepresentable Timestamp: fails the time window


def _room_key(message: pb.QualitySample | pb.ClientEvent) -> str:
    which = message.WhichOneof("room")
    if which == "room_id":
        return f"n:{message.room_id}"
    return f"s:{message.str_room_id}" if which else ""


def _instant(message: pb.QualitySample | pb.ClientEvent, field: str) -> datetime | None:
    if not message.HasField(field):  # type: ignore[arg-type]
        return None
    stamp = getattr(message, field)
    try:  # what Timestamp.ToDatetime(tzinfo=UTC) gives, without its checks (hot path)
        return EPOCH + timedelta(seconds=stamp.seconds, microseconds=stamp.nanos // 1000)
    except OverflowError:
        return _FAR_PAST


def sample_input(message: pb.QualitySample) -> SampleInput:
    """The domain's view of a QualitySample: unset metrics are None ("not measured"), an unset
    interval None (the default), a set one in whole milliseconds (truncated)."""
    present: dict[str, Any] = {field.name: value for field, value in message.ListFields()}
    get = present.get
    interval = get("interval")
    return SampleInput(
        sample_id=message.sample_id,
        sdk_app_id=message.sdk_app_id,
        room_key=_room_key(message),
        user_id=message.user_id,
        peer_id=message.peer_id,
        media=int(message.media),
        sample_time=_instant(message, "sample_time"),
        interval_ms=None if interval is None else interval.seconds * 1000 + interval.nanos // 1_000_000,
        packet_loss_percent=get("packet_loss_percent"),
        bitrate_kbps=get("bitrate_kbps"),
        capture_fps=get("capture_fps"),
        encode_fps=get("encode_fps"),
        decode_fps=get("decode_fps"),
        render_fps=get("render_fps"),
        width=get("width"),
        height=get("height"),
        rtt_ms=get("rtt_ms"),
        stall_ms=get("stall_ms"),
        app_cpu_percent=get("app_cpu_percent"),
        system_cpu_percent=get("system_cpu_percent"),
        sdk_task_time_ms=get("sdk_task_time_ms"),
        volume_db=get("volume_db"),
    )


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
