"""The event vocabulary: what a room or media event is, shared by ingest, callbacks and monitoring.

Event types follow TRTC's callback numbering (R15): 101-105 are room events
(``EventGroupId`` 1), 201-206 media events (``EventGroupId`` 2). Rooms are
numeric (1 to 2^32 - 2) or strings (1-64 characters, no NUL); both are keyed in
one column as ``n:<number>`` or ``s:<string>``. :func:`room_violations` (from
``domain.common``, re-exported here) is the one definition of a valid room: events
and usage records both hold to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from rtcconsole.callbacks import EVENT_GROUP_MEDIA, EVENT_GROUP_ROOM
from rtcconsole_server.domain.common import MAX_ROOM_ID, MAX_STR_ROOM_ID, key_violations, room_violations

__all__ = [
    "MAX_ROOM_ID",
    "MAX_STR_ROOM_ID",
    "MEDIA_EVENT_TYPES",
    "ROOM_EVENT_TYPES",
    "EventInput",
    "event_group_of",
    "key_violations",
    "room_key",
    "room_of_key",
    "room_violations",
]

ROOM_EVENT_TYPES = frozenset({101, 102, 103, 104, 105})
"""Room created, dismissed, user entered, exited, role switched: ``EventGroupId`` 1."""
MEDIA_EVENT_TYPES = frozenset({201, 202, 203, 204, 205, 206})
"""Video, audio, substream started / stopped: ``EventGroupId`` 2."""
_SESSION_TYPE = 103  # session attributes are kept with user entered only


def event_group_of(event_type: int) -> int:
    """1 for room events (101-105), 2 for media events (201-206)."""
    if event_type in ROOM_EVENT_TYPES:
        return EVENT_GROUP_ROOM
    if event_type in MEDIA_EVENT_TYPES:
        return EVENT_GROUP_MEDIA
    raise ValueError(f"not a callback event type: {event_type}")


@dataclass(slots=True)
class EventInput:
    """One event as the data plane sends it (see ``RoomEvent`` in ingest_service.proto).

    Exactly one of ``room_id`` and ``str_room_id`` should be set; ``event_time`` is None
    when it was not sent. ``role`` is the proto's Role number (1 anchor, 2 audience).
    Not frozen: a frozen dataclass sets each field through ``object.__setattr__`` (3.4 µs an
    event, issue 16); nothing changes one after the proto is converted.
    """

    event_id: str
    sdk_app_id: int
    room_id: int | None
    str_room_id: str | None
    user_id: str
    event_type: int
    event_time: datetime | None
    role: int = 0
    reason: int = 0
    session: Mapping[str, str] = field(default_factory=dict)
    """Session attributes (region, country, sdk_version, ...) without empty values."""
    command_id: str = ""
    """The room command (R7) this event carries out, when the console asked for it; not digested
    (a retry may differ in it) and not stored: it acknowledges the command as the event is stored."""

    @property
    def room_key(self) -> str:
        return room_key(self.room_id, self.str_room_id)

    @property
    def kept_session(self) -> dict[str, str]:
        """The session attributes that are stored: those of a user-entered event only."""
        if self.event_type != _SESSION_TYPE or not self.session:
            return {}
        return dict(sorted(self.session.items()))


def room_key(room_id: int | None, str_room_id: str | None) -> str:
    """``n:<number>`` or ``s:<string>``: one column for both kinds of rooms."""
    return f"n:{room_id}" if room_id is not None else f"s:{str_room_id or ''}"


def room_of_key(key: str) -> int | str:
    """The room as the callback body shows it: an int for numeric rooms, else the string."""
    kind, _, value = key.partition(":")
    return int(value) if kind == "n" else value
