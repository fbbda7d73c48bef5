"""Each app's room-event sequence (R21's ``SubscribeRoomEvents``; decision 0028).

Every event the ingest stores gets the next number of its app, from the app's row of
``room_event_heads`` (the last number handed out), bumped at the start of the storing
transaction: one ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` per app of the batch, in app
order. On PostgreSQL that row stays locked until the commit, so two batches of one app number
and commit one after the other: a reader that sees number *n* committed also sees every lower
number that will ever exist (PostgreSQL's own sequences give no such promise: a transaction
that took 10 may commit after the one that took 11). On SQLite the single writer does the same.
The price is that one app's event batches are stored one at a time (other apps' run alongside).

The statement is prebuilt text, the same on both backends (``INSERT … ON CONFLICT … RETURNING``:
PostgreSQL, SQLite ≥ 3.35): building the dialect's insert construct per batch cost 2 ms of a
25 ms batch (issue 16).

A batch's candidates (the first event of each id) are numbered in batch order before the
insert, so one that proves a duplicate of a stored event leaves its number unused: numbers
are strictly increasing and never reused, but not gap-free. A batch rolled back (a lost race
run again) returns its numbers with it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.orm import Session

from rtcconsole_server.domain.events._vocabulary import EventInput

__all__ = ["claim_sequences"]

Key = tuple[int, str]
_BUMP = text(
    "INSERT INTO room_event_heads (sdk_app_id, last_sequence) VALUES (:app, :count) "
    "ON CONFLICT (sdk_app_id) DO UPDATE SET last_sequence = room_event_heads.last_sequence "
    "+ excluded.last_sequence RETURNING last_sequence"
)
"""An app's head moved on by ``count`` numbers (created at ``count``); the new last number."""


def claim_sequences(session: Session, events: Sequence[EventInput]) -> dict[Key, int]:
    """The sequence number of each of ``events`` (keys unique; numbered in the given order).

    Locks each app's head until the transaction ends (PostgreSQL).
    """
    wanted = Counter(event.sdk_app_id for event in events)
    next_of: dict[int, int] = {}
    for app_id in sorted(wanted):
        last = int(session.execute(_BUMP, {"app": app_id, "count": wanted[app_id]}).scalar_one())
        next_of[app_id] = last - wanted[app_id] + 1
    numbers: dict[Key, int] = {}
    for event in events:
        numbers[(event.sdk_app_id, event.event_id)] = next_of[event.sdk_app_id]
        next_of[event.sdk_app_id] += 1
    return numbers
