"""Domain views to proto messages and back. Nothing here decides anything."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from rtcconsole.v1 import app_service_pb2 as app_pb
from rtcconsole.v1 import auth_service_pb2 as auth_pb
from rtcconsole.v1 import common_pb2
from rtcconsole_server.clock import EPOCH
from rtcconsole_server.domain.apps import (
    AppStatus,
    AppView,
    MaterialView,
    OperationKind,
    OperationState,
    OperationView,
    StopReason,
    TagView,
    Transition,
)
from rtcconsole_server.domain.auth import ApiKeyView
from rtcconsole_server.errors import FieldViolation, InvalidArgument

__all__ = [
    "FAR_PAST",
    "STOP_REASON",
    "api_key",
    "app",
    "epoch_parts",
    "instant_of",
    "material",
    "operation",
    "optional_instant",
    "tag",
    "tag_view",
    "timestamp",
]

_STATUS = {AppStatus.NORMAL: app_pb.APP_STATUS_NORMAL, AppStatus.STOPPED: app_pb.APP_STATUS_STOPPED}
STOP_REASON = {
    StopReason.DISABLED_BY_OWNER: app_pb.STOP_REASON_DISABLED_BY_OWNER,
    StopReason.PACKAGE_USED_UP: app_pb.STOP_REASON_PACKAGE_USED_UP,
    StopReason.PACKAGE_EXPIRED: app_pb.STOP_REASON_PACKAGE_EXPIRED,
    StopReason.ARREARS: app_pb.STOP_REASON_ARREARS,
}
_TRANSITION = {
    None: app_pb.APP_TRANSITION_UNSPECIFIED,
    Transition.DISABLING: app_pb.APP_TRANSITION_DISABLING,
    Transition.ENABLING: app_pb.APP_TRANSITION_ENABLING,
    Transition.DELETING: app_pb.APP_TRANSITION_DELETING,
}
_KIND = {
    OperationKind.DISABLE_APP: common_pb2.OPERATION_KIND_DISABLE_APP,
    OperationKind.ENABLE_APP: common_pb2.OPERATION_KIND_ENABLE_APP,
    OperationKind.DELETE_APP: common_pb2.OPERATION_KIND_DELETE_APP,
}
_STATE = {
    OperationState.PENDING: common_pb2.OPERATION_STATE_PENDING,
    OperationState.SUCCEEDED: common_pb2.OPERATION_STATE_SUCCEEDED,
    OperationState.FAILED: common_pb2.OPERATION_STATE_FAILED,
}
_FORMAT = {"png": app_pb.IMAGE_FORMAT_PNG, "jpeg": app_pb.IMAGE_FORMAT_JPEG}


def epoch_parts(instant: datetime) -> tuple[int, int]:
    """``instant`` as a Timestamp's (seconds, nanos) since the Unix epoch, by arithmetic (a
    naive instant is UTC, as ``Timestamp.FromDatetime`` reads it): 0.3 µs against 1.5 µs."""
    since = (instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)) - EPOCH
    return since.days * 86_400 + since.seconds, since.microseconds * 1_000


FAR_PAST = datetime(1, 1, 1, tzinfo=UTC)
"""What an unrepresentable Timestamp of the data plane becomes: a time every window check refuses."""


def instant_of(seconds: int, nanos: int) -> datetime:
    """The inverse of :func:`epoch_parts`: what ``Timestamp.ToDatetime(tzinfo=UTC)`` gives
    (microseconds truncated), without its checks (hot path), :data:`FAR_PAST` where the instant
    is out of ``datetime``'s range. A whole second by ``fromtimestamp`` (0.26 µs against 0.56 µs
    by ``EPOCH + timedelta``), any other through ``timedelta``."""
    try:
        if nanos == 0:
            return datetime.fromtimestamp(seconds, UTC)
        return EPOCH + timedelta(seconds=seconds, microseconds=nanos // 1000)
    except (OverflowError, OSError, ValueError):
        return FAR_PAST


def timestamp(value: datetime | None) -> Timestamp | None:
    """``value`` as a Timestamp; None stays None (the field is then left unset)."""
    if value is None:
        return None
    seconds, nanos = epoch_parts(value)
    return Timestamp(seconds=seconds, nanos=nanos)


def tag(view: TagView) -> app_pb.Tag:
    return app_pb.Tag(key=view.key, value=view.value)


def tag_view(message: app_pb.Tag) -> TagView:
    return TagView(message.key, message.value)


def app(view: AppView) -> app_pb.App:
    return app_pb.App(
        sdk_app_id=view.sdk_app_id,
        name=view.name,
        description=view.description,
        create_time=timestamp(view.created_at),
        update_time=timestamp(view.updated_at),
        source=view.source,
        relayed_live_streaming=app_pb.RelayedLiveStreaming(
            enabled=view.relayed_push_enabled, push_domain=view.push_domain
        ),
        status=_STATUS[view.status],
        stop_reasons=[STOP_REASON[r] for r in view.stop_reasons],
        pending_transition=_TRANSITION[view.pending_transition],
        pending_operation=view.pending_operation or "",
        tags=[tag(t) for t in view.tags],
    )


def operation(view: OperationView) -> common_pb2.Operation:
    return common_pb2.Operation(
        name=view.name,
        kind=_KIND[view.kind],
        state=_STATE[view.state],
        sdk_app_id=view.sdk_app_id,
        accept_time=timestamp(view.accepted_at),
        effective_time=timestamp(view.effective_at),
        done=view.done,
        done_time=timestamp(view.done_at),
        error_message=view.error_message,
    )


def material(view: MaterialView) -> app_pb.Material:
    return app_pb.Material(
        sdk_app_id=view.sdk_app_id,
        material_id=view.material_id,
        name=view.name,
        format=_FORMAT[view.format],
        width=view.width,
        height=view.height,
        x_position=view.x_position,
        y_position=view.y_position,
        size_bytes=view.size_bytes,
        sha256=view.sha256,
        create_time=timestamp(view.created_at),
    )


def api_key(view: ApiKeyView) -> auth_pb.ApiKey:
    return auth_pb.ApiKey(
        key_id=view.key_id,
        display_name=view.display_name,
        create_time=timestamp(view.created_at),
        last_used_time=timestamp(view.last_used_at),
    )


def optional_instant(request: Message, field: str) -> datetime | None:
    """The UTC instant of the Timestamp ``field`` of ``request``; None when unset; a value
    outside what a datetime holds is INVALID_ARGUMENT on that field."""
    if not request.HasField(field):
        return None
    try:
        return getattr(request, field).ToDatetime(tzinfo=UTC)  # type: ignore[no-any-return]
    except (ValueError, OverflowError):
        raise InvalidArgument(FieldViolation(field, "is not a valid timestamp")) from None
