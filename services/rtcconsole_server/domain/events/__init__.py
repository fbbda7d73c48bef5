"""Room and media events: the vocabulary, validation, and ingest stored exactly once.

The public face of the ``events`` context: other contexts, workers and the API
import from here, never from its private modules.
"""

from __future__ import annotations

from rtcconsole_server.domain.events._ingest import MAX_BATCH, EventIngest, EventsStored
from rtcconsole_server.domain.events._queries import Entry, Presence, latest_entries
from rtcconsole_server.domain.events._vocabulary import (
    MAX_ROOM_ID,
    MAX_STR_ROOM_ID,
    MEDIA_EVENT_TYPES,
    ROOM_EVENT_TYPES,
    EventInput,
    event_group_of,
    key_violations,
    room_key,
    room_of_key,
    room_violations,
)

__all__ = [
    "MAX_BATCH",
    "MAX_ROOM_ID",
    "MAX_STR_ROOM_ID",
    "MEDIA_EVENT_TYPES",
    "ROOM_EVENT_TYPES",
    "Entry",
    "EventIngest",
    "EventInput",
    "EventsStored",
    "Presence",
    "event_group_of",
    "key_violations",
    "latest_entries",
    "room_key",
    "room_of_key",
    "room_violations",
]
