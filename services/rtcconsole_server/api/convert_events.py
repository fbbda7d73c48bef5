"""Conversions between IngestService protos and the domain's events and rejections."""

from __future__ import annotations

from datetime import datetime, timedelta

from rtcconsole.v1 import ingest_service_pb2 as pb
from rtcconsole_server.api.convert import FAR_PAST
from rtcconsole_server.clock import EPOCH
from rtcconsole_server.domain.common import Rejection
from rtcconsole_server.domain.events import EventInput

__all__ = ["event_input", "rejected_record"]

_timedelta = timedelta  # (days, seconds, microseconds)
_OUT_OF_RANGE = FAR_PAST  # an unrepresentable Timestamp: fails the time window
_MIN_SECONDS, _MAX_SECONDS = -62_135_596_800, 253_402_300_799  # 0001-01-01 .. 9999-12-31 (Timestamp's range)


def _instant(seconds: int, nanos: int) -> datetime:
    """What ``Timestamp.ToDatetime(tzinfo=UTC)`` gives (microseconds truncated), without its
    Python-level checks and time-zone conversion: 6 µs of the 11 µs per event (issue 16's profile);
    :data:`_OUT_OF_RANGE` where it raises."""
    if not (_MIN_SECONDS <= seconds <= _MAX_SECONDS and 0 <= nanos < 1_000_000_000):
        return _OUT_OF_RANGE
    return EPOCH + _timedelta(0, seconds, nanos // 1000)  # positional: 0.2 µs less than by keyword


def event_input(message: pb.RoomEvent) -> EventInput:
    """The domain's view of a RoomEvent (nothing is checked here: the domain does that).

    The session's fields are listed only when the message has a session (issue 16).
    """
    which = message.WhichOneof("room")
    event_time: datetime | None = None
    if message.HasField("event_time"):
        stamp = message.event_time
        event_time = _instant(stamp.seconds, stamp.nanos)
    session = (
        {descriptor.name: str(value) for descriptor, value in message.session.ListFields() if value}
        if message.HasField("session")
        else {}
    )
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
