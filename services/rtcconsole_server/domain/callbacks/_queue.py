"""Queueing callbacks of new events, inside the transaction that stores them (the outbox).

Each new event of an app with a URL in effect for its group (1 room events,
2 media events) gets a ``callback_deliveries`` row numbered by the next
per-(app, room, group) sequence. Sequences are taken with one upsert-increment
of ``room_sequences`` per room and batch (``last_sequence += n … RETURNING``):
its row lock orders concurrent batches of one room, rooms are bumped in key
order (no deadlock), and a rolled-back batch leaves no gap.

``EventInfo`` is built here, once. A user entered (103) gets its own ``UniqueId``,
``TerminalType`` and ``UserType`` (from ``session.platform``); a user exited (104)
gets those of its entry, the latest stored 103 of the same app, room and user at
or before the exit (one lookup for the whole batch: ``events.latest_entries``),
and none of the three when no entry is stored (decision 0018).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from rtcconsole_server.domain.callbacks._body import event_info
from rtcconsole_server.domain.callbacks._sessions import client_types, unique_id
from rtcconsole_server.domain.config import CallbackSection, read_section
from rtcconsole_server.domain.events import Entry, EventInput, event_group_of, latest_entries, room_of_key
from rtcconsole_server.store.models import CallbackDelivery, RoomSequence
from rtcconsole_server.store.upsert import insert_for

__all__ = ["bump_sequences", "queue_callbacks"]

_SEQUENCES = cast(Table, RoomSequence.__table__)
_DELIVERIES = cast(Table, CallbackDelivery.__table__)
RoomGroup = tuple[int, str, int]
"""(sdk_app_id, room_key, event_group)."""
_USER_ENTERED = 103
_USER_EXITED = 104


def bump_sequences(session: Session, counts: Counter[RoomGroup]) -> dict[RoomGroup, int]:
    """Add ``counts`` to each room's last sequence (a new room starts at 0); the new last values."""
    upsert = insert_for(session, _SEQUENCES)
    statement = upsert.on_conflict_do_update(
        index_elements=["sdk_app_id", "room_key", "event_group"],
        set_={"last_sequence": _SEQUENCES.c.last_sequence + upsert.excluded.last_sequence},
    ).returning(
        _SEQUENCES.c.sdk_app_id, _SEQUENCES.c.room_key, _SEQUENCES.c.event_group, _SEQUENCES.c.last_sequence
    )
    rows = [
        {"sdk_app_id": app, "room_key": room, "event_group": group, "last_sequence": n}
        for (app, room, group), n in sorted(counts.items())
    ]
    return {(app, room, group): last for app, room, group, last in session.execute(statement, rows)}


SessionFields = tuple[int | None, int | None, int | None]
"""``UniqueId``, ``TerminalType``, ``UserType`` of one event (None: not sent)."""
_NO_SESSION: SessionFields = (None, None, None)


def _session_fields(event: EventInput, entry: Entry | None) -> SessionFields:
    """A 103's own; a 104's from its entry (none without one); nothing on other events."""
    if event.event_type == _USER_ENTERED:
        entry_id, platform = event.event_id, event.session.get("platform", "")
    elif event.event_type == _USER_EXITED and entry is not None:
        entry_id, platform = entry.event_id, entry.platform
    else:
        return _NO_SESSION
    terminal_type, user_type = client_types(platform)
    return unique_id(event.sdk_app_id, entry_id), terminal_type, user_type


def _entries_of_exits(session: Session, events: Sequence[EventInput]) -> dict[int, Entry]:
    """Position in ``events`` → the entry each exit closes, for the exits whose entry is stored."""
    exits = [(i, e) for i, e in enumerate(events) if e.event_type == _USER_EXITED]
    found = latest_entries(
        session, [(e.sdk_app_id, e.room_key, e.user_id, cast(datetime, e.event_time)) for _, e in exits]
    )
    return {i: entry for (i, _), entry in zip(exits, found, strict=True) if entry is not None}


def queue_callbacks(session: Session, events: Sequence[EventInput], now: datetime) -> int:
    """Outbox rows for ``events`` (new, valid, in reported order) whose app has a URL for
    their group, due ``now``; returns how many were queued."""
    sections = {
        app: read_section(session, app, CallbackSection).effective for app in {e.sdk_app_id for e in events}
    }
    plan: list[tuple[EventInput, int, str]] = []
    for event in events:
        group = event_group_of(event.event_type)
        url = sections[event.sdk_app_id].url_for(group)
        if url:
            plan.append((event, group, url))
    if not plan:
        return 0
    counts = Counter((event.sdk_app_id, event.room_key, group) for event, group, _ in plan)
    last = bump_sequences(session, counts)
    following = {key: last[key] - n + 1 for key, n in counts.items()}
    entries = _entries_of_exits(session, [event for event, _, _ in plan])
    rows = []
    for position, (event, group, url) in enumerate(plan):
        key = (event.sdk_app_id, event.room_key, group)
        sequence, following[key] = following[key], following[key] + 1
        assert event.event_time is not None
        session_id, terminal_type, user_type = _session_fields(event, entries.get(position))
        info = event_info(
            room=room_of_key(event.room_key),
            user_id=event.user_id,
            event_type=event.event_type,
            event_time=event.event_time,
            role=event.role,
            reason=event.reason,
            unique_id=session_id,
            terminal_type=terminal_type,
            user_type=user_type,
        )
        rows.append(
            {
                "sdk_app_id": event.sdk_app_id,
                "room_key": event.room_key,
                "event_group": group,
                "room_sequence": sequence,
                "event_id": event.event_id,
                "event_type": event.event_type,
                "url": url,
                "event_info": json.dumps(info, ensure_ascii=False, separators=(",", ":")),
                "event_time": event.event_time,
                "state": "pending",
                "attempts": 0,
                "queued_at": now,
                "next_attempt_at": now,
                "finished_at": None,
            }
        )
    session.execute(insert(_DELIVERIES), rows)
    return len(rows)
