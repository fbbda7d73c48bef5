"""Room and media events: the vocabulary, validation, and ingest stored exactly once.

The public face of the ``events`` context: other contexts, workers and the API
import from here, never from its private modules.
"""

from __future__ import annotations

from rtcconsole_server.domain.events._ingest import MAX_BATCH, EventIngest, EventsStored
from rtcconsole_server.domain.events._vocabulary import (
    MEDIA_EVENT_TYPES,
    ROOM_EVENT_TYPES,
    EventInput,
    event_group_of,
    room_key,
    room_of_key,
)

__all__ = [
    "MAX_BATCH",
    "MEDIA_EVENT_TYPES",
    "ROOM_EVENT_TYPES",
    "EventIngest",
    "EventInput",
    "EventsStored",
    "event_group_of",
    "room_key",
    "room_of_key",
]
