"""Queueing callbacks of new events, inside the transaction that stores them (the outbox).

Each new event of an app with a URL in effect for its group (1 room events,
2 media events) gets a ``callback_deliveries`` row numbered by the next
per-(app, room, group) sequence. Sequences are taken with one upsert-increment
of ``room_sequences`` per room and batch (``last_sequence += n … RETURNING``):
its row lock orders concurrent batches of one room, rooms are bumped in key
order (no deadlock), and a rolled-back batch leaves no gap.
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
from rtcconsole_server.domain.config import CallbackSection, read_section
from rtcconsole_server.domain.events import EventInput, event_group_of, room_of_key
from rtcconsole_server.store.models import CallbackDelivery, RoomSequence
from rtcconsole_server.store.upsert import insert_for

__all__ = ["bump_sequences", "queue_callbacks"]

_SEQUENCES = cast(Table, RoomSequence.__table__)
_DELIVERIES = cast(Table, CallbackDelivery.__table__)
RoomGroup = tuple[int, str, int]
"""(sdk_app_id, room_key, event_group)."""


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
    rows = []
    for event, group, url in plan:
        key = (event.sdk_app_id, event.room_key, group)
        sequence, following[key] = following[key], following[key] + 1
        assert event.event_time is not None
        info = event_info(
            room=room_of_key(event.room_key),
            user_id=event.user_id,
            event_type=event.event_type,
            event_time=event.event_time,
            role=event.role,
            reason=event.reason,
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
