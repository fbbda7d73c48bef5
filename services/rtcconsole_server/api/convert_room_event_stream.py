"""SubscribeRoomEvents (R21) between protos and the monitor context: the request in, pages out."""

from __future__ import annotations

from rtcconsole.v1 import ingest_service_pb2 as ingest_pb
from rtcconsole.v1 import room_event_stream_pb2 as pb
from rtcconsole_server.api.convert import timestamp
from rtcconsole_server.domain.events import EventInput
from rtcconsole_server.domain.monitor import RoomEventPage, SequencedRoomEvent

__all__ = ["SHUTTING_DOWN", "after_sequence", "page_response", "room_event", "room_of"]

SHUTTING_DOWN = (
    "the server is shutting down; subscribe again (on another replica) with after_sequence "
    "set to the last resume_after received"
)
"""The UNAVAILABLE message that ends every room-event subscription at a graceful stop."""


def room_of(request: pb.SubscribeRoomEventsRequest) -> tuple[int | None, str | None]:
    """``(room_id, str_room_id)`` of the request's ``room`` oneof (None where not set)."""
    which = request.WhichOneof("room")
    return (
        request.room_id if which == "room_id" else None,
        request.str_room_id if which == "str_room_id" else None,
    )


def after_sequence(request: pb.SubscribeRoomEventsRequest) -> int | None:
    """The resume point; None when not set (live events only)."""
    return request.after_sequence if request.HasField("after_sequence") else None


def room_event(event: EventInput) -> ingest_pb.RoomEvent:
    """A stored event as the data plane sent it (``command_id`` is not stored)."""
    message = ingest_pb.RoomEvent(
        event_id=event.event_id,
        sdk_app_id=event.sdk_app_id,
        user_id=event.user_id,
        type=event.event_type,  # type: ignore[arg-type]
        role=event.role,  # type: ignore[arg-type]
        reason=event.reason,
        session=ingest_pb.SessionAttributes(
            **{
                k: v
                for k, v in event.session.items()
                if k in ingest_pb.SessionAttributes.DESCRIPTOR.fields_by_name
            }
        ),
        event_time=timestamp(event.event_time),
    )
    if event.room_id is not None:
        message.room_id = event.room_id
    else:
        message.str_room_id = event.str_room_id or ""
    return message


def _sequenced(found: SequencedRoomEvent) -> pb.SequencedRoomEvent:
    return pb.SequencedRoomEvent(
        sequence=found.sequence, event=room_event(found.event), received_at=timestamp(found.received_at)
    )


def page_response(page: RoomEventPage) -> pb.SubscribeRoomEventsResponse:
    return pb.SubscribeRoomEventsResponse(
        events=[_sequenced(e) for e in page.events],
        resume_after=page.resume_after,
        as_of=timestamp(page.as_of),
    )
