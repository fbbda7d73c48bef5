"""What a room is, for every record the data plane sends about one: the one definition.

A room is numeric (1 to 2^32 - 2, TRTC's range) or a string (1-64 characters, no NUL).
Events (``RoomEvent``) and usage records (``UsageRecord``) carry it as the ``room``
oneof and are held to :func:`room_violations`; both key it in one column as
``n:<number>`` or ``s:<string>`` (:func:`key_violations` reads a key). It lives in
``common`` because the usage context (which the aggregator uses alone) and the events
context both need it and neither may depend on the other.
"""

from __future__ import annotations

from rtcconsole_server.domain.common._text import text_violations
from rtcconsole_server.errors import FieldViolation

__all__ = ["MAX_ROOM_ID", "MAX_STR_ROOM_ID", "key_violations", "room_violations"]

MAX_ROOM_ID = 4_294_967_294
"""Largest numeric room id (TRTC: 1 to 2^32 - 2)."""
MAX_STR_ROOM_ID = 64
"""Longest string room id, in characters."""


def room_violations(room_id: int | None, str_room_id: str | None) -> list[FieldViolation]:
    """What is wrong with a room given as the ``room`` oneof of a record (``room_id`` or
    ``str_room_id``, None when not set); empty when it is a valid room."""
    if room_id is None and str_room_id is None:
        return [FieldViolation("room", "set room_id or str_room_id")]
    if room_id is not None:
        return [] if 1 <= room_id <= MAX_ROOM_ID else [FieldViolation("room_id", f"must be 1-{MAX_ROOM_ID}")]
    assert str_room_id is not None
    return text_violations(str_room_id, "str_room_id", min_len=1, max_len=MAX_STR_ROOM_ID)


def key_violations(key: str) -> list[FieldViolation]:
    """:func:`room_violations` of a room given by its key (``n:<number>``, ``s:<string>``; any
    other key is a room that was not set)."""
    kind, _, value = key.partition(":")
    if kind == "n" and value.isascii() and value.isdigit():
        return room_violations(int(value), None)
    if kind == "s" and key.startswith("s:"):
        return room_violations(None, value)
    return room_violations(None, None)
