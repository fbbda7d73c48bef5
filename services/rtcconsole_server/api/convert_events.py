"""Conversions between IngestService protos and the domain's events and rejections."""

from __future__ import annotations

from datetime import UTC, datetime

from rtcconsole.v1 import ingest_service_pb2 as pb
from rtcconsole_server.domain.common import Rejection
from rtcconsole_server.domain.events import EventInput

__all__ = ["event_input", "rejected_record"]

_OUT_OF_RANGE = datetime(1, 1, 1, tzinfo=UTC)  # an unrepresentable Timestamp: fails the time window


def event_input(message: pb.RoomEvent) -> EventInput:
    """The domain's view of a RoomEvent (nothing is checked here: the domain does that)."""
    which = message.WhichOneof("room")
    event_time: datetime | None = None
    if message.HasField("event_time"):
        try:
            event_time = message.event_time.ToDatetime(tzinfo=UTC)
        except (ValueError, OverflowError):
            event_time = _OUT_OF_RANGE
    session = {descriptor.name: str(value) for descriptor, value in message.session.ListFields() if value}
    return EventInput(
        event_id=message.event_id,
        sdk_app_id=message.sdk_app_id,
        room_id=message.room_id if which == "room_id" else None,
        str_room_id=message.str_room_id if which == "str_room_id" else None,
        user_id=message.user_id,
        event_type=int(message.type),
        event_time=event_time,
        role=int(message.role),
        reason=message.reason,
        session=session,
        command_id=message.command_id,
    )


def rejected_record(rejection: Rejection) -> pb.RejectedRecord:
    return pb.RejectedRecord(
        index=rejection.index,
        id=rejection.record_id,
        code=rejection.code,
        reason=rejection.reason,
        fields=list(rejection.fields),
    )
