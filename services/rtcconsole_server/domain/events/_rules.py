"""What a room or media event must look like, and its canonical form.

:func:`check_event` returns field violations with paths relative to the event
(``event_time``, ``session.region``); the caller prefixes ``events[i].``. The
canonical form (:func:`canonical`) is what a retry must repeat exactly: its
SHA-256 is stored with the event, and comparing two canonical forms names the
fields that differ when an id is reused with another payload.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from rtcconsole_server.clock import EPOCH
from rtcconsole_server.domain.common import NUL_RULE, has_nul, text_violations
from rtcconsole_server.domain.events._vocabulary import (
    MAX_ROOM_ID,
    MEDIA_EVENT_TYPES,
    ROOM_EVENT_TYPES,
    EventInput,
    room_violations,
)
from rtcconsole_server.errors import FieldViolation

__all__ = [
    "MAX_AGE",
    "MAX_AHEAD",
    "MAX_ROOM_ID",
    "canonical",
    "canonical_of",
    "check_event",
    "differing_fields",
    "digest",
    "digest_of",
    "micros",
]

MAX_AGE = timedelta(days=35)
"""Oldest event time accepted, before the server's clock."""
MAX_AHEAD = timedelta(minutes=5)
"""Latest event time accepted, after the server's clock."""
MAX_ID = 128
MAX_SESSION_VALUE = 64
_NO_USER_TYPES = frozenset({101, 102})  # room created / dismissed may have no user
_ROLE_TYPES = frozenset({103, 105})  # user entered / role switched need a role
_DIGESTED = ("room", "user_id", "type", "event_time", "role", "reason")


def _check_time(event_time: datetime | None, now: datetime) -> list[FieldViolation]:
    if event_time is None:
        return [FieldViolation("event_time", "is required")]
    if event_time < now - MAX_AGE:
        return [FieldViolation("event_time", "is more than 35 days before the server's clock")]
    if event_time > now + MAX_AHEAD:
        return [FieldViolation("event_time", "is more than 5 minutes after the server's clock")]
    return []


_TYPE_RULE = (
    "must be EVENT_TYPE_ and ROOM_CREATED, ROOM_DISMISSED, USER_ENTERED, USER_EXITED, ROLE_SWITCHED, "
    "VIDEO_STARTED, VIDEO_STOPPED, AUDIO_STARTED, AUDIO_STOPPED, SUBSTREAM_STARTED or SUBSTREAM_STOPPED"
)
"""Named as callers type them: the wire's enum names (101-105 and 201-206). At most 200 characters
(``api.errors.MAX_VALUE_CHARS``), or a status would cut it before its last names."""


def check_event(event: EventInput, now: datetime) -> list[FieldViolation]:
    """Every rule ``event`` breaks; empty when it is valid at ``now`` (the server's clock)."""
    problems = text_violations(event.event_id, "event_id", min_len=1, max_len=MAX_ID)
    if event.sdk_app_id == 0:
        problems.append(FieldViolation("sdk_app_id", "is required"))
    problems.extend(room_violations(event.room_id, event.str_room_id))
    known_type = event.event_type in ROOM_EVENT_TYPES or event.event_type in MEDIA_EVENT_TYPES
    if not known_type:
        problems.append(FieldViolation("type", _TYPE_RULE))
    if len(event.user_id) > MAX_ID:
        problems.append(FieldViolation("user_id", f"must be at most {MAX_ID} characters"))
    elif has_nul(event.user_id):
        problems.append(FieldViolation("user_id", NUL_RULE))
    elif not event.user_id and known_type and event.event_type not in _NO_USER_TYPES:
        problems.append(
            FieldViolation(
                "user_id", "is required except with EVENT_TYPE_ROOM_CREATED and EVENT_TYPE_ROOM_DISMISSED"
            )
        )
    problems.extend(_check_time(event.event_time, now))
    if event.role not in (0, 1, 2):
        problems.append(FieldViolation("role", "must be ROLE_ANCHOR or ROLE_AUDIENCE"))
    elif event.role == 0 and event.event_type in _ROLE_TYPES:
        problems.append(
            FieldViolation("role", "is required with EVENT_TYPE_USER_ENTERED and EVENT_TYPE_ROLE_SWITCHED")
        )
    for name, value in sorted(event.session.items()):
        if len(value) > MAX_SESSION_VALUE:
            problems.append(
                FieldViolation(f"session.{name}", f"must be at most {MAX_SESSION_VALUE} characters")
            )
    return problems


def micros(instant: datetime) -> int:
    """Whole microseconds since the epoch (a naive ``instant`` is local time, as ``astimezone``)."""
    delta = (instant if instant.tzinfo is UTC else instant.astimezone(UTC)) - EPOCH  # UTC: as is
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def canonical(
    *,
    room_key: str,
    user_id: str,
    event_type: int,
    event_time: datetime,
    role: int,
    reason: int,
    session: Mapping[str, str],
) -> dict[str, object]:
    """The payload a retry must repeat, keyed by proto field path (time in whole microseconds)."""
    return {
        "room": room_key,
        "user_id": user_id,
        "type": event_type,
        "event_time": micros(event_time),
        "role": role,
        "reason": reason,
        "session": dict(sorted(session.items())),
    }


def canonical_of(event: EventInput) -> dict[str, object]:
    assert event.event_time is not None
    return canonical(
        room_key=event.room_key,
        user_id=event.user_id,
        event_type=event.event_type,
        event_time=event.event_time,
        role=event.role,
        reason=event.reason,
        session=event.kept_session,
    )


def digest_of(event: EventInput) -> str:
    """``digest(canonical_of(event))``, without building the form (the hot path of ingest).

    The same length-prefixed text as :func:`digest`, written as one f-string (1.5 µs a call
    instead of 6, issue 16): ``tests/unit/test_event_digest.py`` holds the two to each other.
    """
    assert event.event_time is not None
    session = event.kept_session
    room = event.room_key
    user = event.user_id
    kind = str(event.event_type)
    time_us = str(micros(event.event_time))
    role = str(event.role)
    reason = str(event.reason)
    attrs = json.dumps(session, sort_keys=True, ensure_ascii=False) if session else ""
    text = (
        f"{len(room)}:{room}{len(user)}:{user}{len(kind)}:{kind}{len(time_us)}:{time_us}"
        f"{len(role)}:{role}{len(reason)}:{reason}{len(attrs)}:{attrs}"
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def digest(form: Mapping[str, object]) -> str:
    """SHA-256 (hex) of a canonical form: equal exactly when the payloads are equal.

    Each field is length-prefixed, so no choice of ids can make two payloads collide;
    the session attributes are JSON-encoded when present.
    """
    session = form["session"]
    parts = [str(form[name]) for name in _DIGESTED]
    parts.append(json.dumps(session, sort_keys=True, ensure_ascii=False) if session else "")
    return hashlib.sha256("".join(f"{len(p)}:{p}" for p in parts).encode("utf-8")).hexdigest()


def differing_fields(first: Mapping[str, object], second: Mapping[str, object]) -> tuple[str, ...]:
    """Proto paths whose values differ between two canonical forms."""
    return tuple(name for name in first if first[name] != second.get(name))
