"""ConfigService's domain views to proto messages and back. Nothing here decides anything.

Proto enums become the domain's strings: ``*_UNSPECIFIED`` becomes "" (not
set) and a number this server does not know becomes ``"unknown(N)"``, which
the domain refuses with a field violation.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypeVar

from google.protobuf.duration_pb2 import Duration

from rtcconsole.v1 import config_service_pb2 as pb
from rtcconsole_server.api.convert import timestamp
from rtcconsole_server.domain.callbacks import DeliveryView, TestCallbackResult
from rtcconsole_server.domain.config import (
    AppConfigView,
    CallbackView,
    CloudRecordingSection,
    PermissionControlSection,
    RelayedPushSection,
    SectionState,
)

__all__ = [
    "FILE_FORMAT",
    "MEDIA",
    "PUSH_MODE",
    "RECORDING_MODE",
    "STATE",
    "STORAGE",
    "app_config",
    "delivery",
    "domain_value",
    "test_callback",
]

E = TypeVar("E", bound=int)

PUSH_MODE: dict[str, pb.RelayedPushMode.ValueType] = {
    "specified_streams": pb.RELAYED_PUSH_MODE_SPECIFIED_STREAMS,
    "global_auto_relay": pb.RELAYED_PUSH_MODE_GLOBAL_AUTO_RELAY,
}
RECORDING_MODE: dict[str, pb.RecordingMode.ValueType] = {
    "manual": pb.RECORDING_MODE_MANUAL,
    "automatic": pb.RECORDING_MODE_AUTOMATIC,
}
MEDIA: dict[str, pb.RecordingMedia.ValueType] = {
    "audio_and_video": pb.RECORDING_MEDIA_AUDIO_AND_VIDEO,
    "audio_only": pb.RECORDING_MEDIA_AUDIO_ONLY,
    "video_only": pb.RECORDING_MEDIA_VIDEO_ONLY,
}
FILE_FORMAT: dict[str, pb.RecordingFileFormat.ValueType] = {
    "hls": pb.RECORDING_FILE_FORMAT_HLS,
    "mp4": pb.RECORDING_FILE_FORMAT_MP4,
    "flv": pb.RECORDING_FILE_FORMAT_FLV,
    "aac": pb.RECORDING_FILE_FORMAT_AAC,
}
STORAGE: dict[str, pb.RecordingStorage.ValueType] = {
    "vod": pb.RECORDING_STORAGE_VOD,
    "object_storage": pb.RECORDING_STORAGE_OBJECT_STORAGE,
}
STATE: dict[str, pb.DeliveryState.ValueType] = {
    "pending": pb.DELIVERY_STATE_PENDING,
    "delivered": pb.DELIVERY_STATE_DELIVERED,
    "expired": pb.DELIVERY_STATE_EXPIRED,
}
_GROUP: dict[int, pb.CallbackEventGroup.ValueType] = {
    1: pb.CALLBACK_EVENT_GROUP_ROOM,
    2: pb.CALLBACK_EVENT_GROUP_MEDIA,
}


def domain_value(table: Mapping[str, E], number: int) -> str:
    """The domain string of a proto enum number: "" for 0, ``unknown(N)`` if not in ``table``."""
    if number == 0:
        return ""
    for name, value in table.items():
        if value == number:
            return name
    return f"unknown({number})"


def _enum(table: Mapping[str, E], name: str, unset: E) -> E:
    """The proto number of a domain string; ``unset`` (the enum's 0) when not set."""
    return table.get(name, unset)


def _relayed_push(section: RelayedPushSection) -> pb.RelayedPushSettings:
    return pb.RelayedPushSettings(
        enabled=section.enabled, mode=_enum(PUSH_MODE, section.mode, pb.RELAYED_PUSH_MODE_UNSPECIFIED)
    )


def _recording(section: CloudRecordingSection) -> pb.CloudRecordingSettings:
    return pb.CloudRecordingSettings(
        enabled=section.enabled,
        mode=_enum(RECORDING_MODE, section.mode, pb.RECORDING_MODE_UNSPECIFIED),
        media=_enum(MEDIA, section.media, pb.RECORDING_MEDIA_UNSPECIFIED),
        file_format=_enum(FILE_FORMAT, section.file_format, pb.RECORDING_FILE_FORMAT_UNSPECIFIED),
        max_idle_time=Duration(seconds=section.max_idle_seconds),
        storage=_enum(STORAGE, section.storage, pb.RECORDING_STORAGE_UNSPECIFIED),
    )


def _permission(section: PermissionControlSection) -> pb.PermissionControlSettings:
    return pb.PermissionControlSettings(enabled=section.enabled)


def _callback(view: CallbackView) -> pb.CallbackSettings:
    return pb.CallbackSettings(
        key_set=view.key_set,
        key_hint=view.key_hint,
        room_event_url=view.room_event_url,
        media_event_url=view.media_event_url,
    )


def _pending_time(state: SectionState[Any]) -> datetime | None:
    return state.pending_effective_at if state.pending is not None else None


def app_config(view: AppConfigView) -> pb.AppConfig:
    push, recording = view.relayed_push, view.cloud_recording
    permission, callback = view.permission_control, view.callback
    return pb.AppConfig(
        sdk_app_id=view.sdk_app_id,
        relayed_push=pb.RelayedPushConfig(
            effective=_relayed_push(push.effective),
            pending=_relayed_push(push.pending) if push.pending is not None else None,
            pending_effective_time=timestamp(_pending_time(push)),
            push_domain=view.push_domain,
        ),
        cloud_recording=pb.CloudRecordingConfig(
            effective=_recording(recording.effective),
            pending=_recording(recording.pending) if recording.pending is not None else None,
            pending_effective_time=timestamp(_pending_time(recording)),
        ),
        permission_control=pb.PermissionControlConfig(
            effective=_permission(permission.effective),
            pending=_permission(permission.pending) if permission.pending is not None else None,
            pending_effective_time=timestamp(_pending_time(permission)),
        ),
        callback=pb.CallbackConfig(
            effective=_callback(callback.effective),
            pending=_callback(callback.pending) if callback.pending is not None else None,
            pending_effective_time=timestamp(_pending_time(callback)),
        ),
    )


def _millis(value: int) -> Duration:
    duration = Duration()
    duration.FromMilliseconds(value)
    return duration


def delivery(view: DeliveryView) -> pb.CallbackDelivery:
    return pb.CallbackDelivery(
        delivery_id=str(view.delivery_id),
        sdk_app_id=view.sdk_app_id,
        event_id=view.event_id,
        event_group=_GROUP.get(view.event_group, pb.CALLBACK_EVENT_GROUP_UNSPECIFIED),
        event_type=view.event_type,
        room=view.room,
        room_sequence=view.room_sequence,
        url=view.url,
        state=_enum(STATE, view.state, pb.DELIVERY_STATE_UNSPECIFIED),
        queue_time=timestamp(view.queued_at),
        next_attempt_time=timestamp(view.next_attempt_at),
        attempts=[
            pb.DeliveryAttempt(
                attempt=a.attempt,
                send_time=timestamp(a.sent_at),
                duration=_millis(a.duration_ms),
                status_code=a.status_code,
                error=a.error,
            )
            for a in view.attempts
        ],
    )


def test_callback(result: TestCallbackResult) -> pb.SendTestCallbackResponse:
    return pb.SendTestCallbackResponse(
        url=result.url,
        body=result.body,
        status_code=result.status_code,
        duration=_millis(result.duration_ms),
        error=result.error,
        response_body=result.response_body,
    )
