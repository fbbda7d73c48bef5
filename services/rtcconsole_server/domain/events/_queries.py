"""Reading stored events for other contexts: the entry that a user's exit closes.

:func:`latest_entries` answers a whole batch of exits with one statement (a
chunk of them on SQLite): the exits go in as a ``WITH exits(…) AS (VALUES …)``
table, and each is matched with correlated ``ORDER BY event_time DESC, id DESC
LIMIT 1`` probes of ``ix_room_events_entries``, the partial index of user-entered
events per (app, room, user, time, id): one descent of the index each, whatever
the size of the room's history. The ``event_type = 103`` of the probe is a
literal, not a parameter, so that both planners can prove it implies the index's
``WHERE`` and use it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, Integer, String, column, literal_column, select, values
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql.elements import ColumnClause
from sqlalchemy.sql.selectable import ScalarSelect

from rtcconsole_server.store.models import RoomEvent
from rtcconsole_server.store.types import UTCDateTime

__all__ = ["Entry", "Presence", "latest_entries"]

Presence = tuple[int, str, str, datetime]
"""(sdk_app_id, room_key, user_id, instant): a user in a room at an instant."""

_USER_ENTERED: ColumnClause[int] = literal_column("103", Integer())
_CHUNK = {"sqlite": 190, "postgresql": 10_000}
"""Exits per statement, 5 parameters each: under the 999 of older SQLite builds and PostgreSQL's
65,535 (a whole batch, at most 5,000 events, is one statement there)."""


@dataclass(frozen=True)
class Entry:
    """A stored user-entered event: what a later exit of the same user is paired with."""

    event_id: str
    platform: str
    """``session.platform`` as reported with the entry; "" when none was."""


def _platform(session_json: str) -> str:
    try:
        value = json.loads(session_json).get("platform", "")
    except (ValueError, AttributeError):
        return ""
    return value if isinstance(value, str) else ""


def _chunk(session: Session, lookups: Sequence[tuple[int, Presence]]) -> dict[int, Entry]:
    exits = (
        values(
            column("n", Integer()),
            column("sdk_app_id", BigInteger()),
            column("room_key", String()),
            column("user_id", String()),
            column("at", UTCDateTime()),
            name="exits",
        )
        .data([(n, app, room, user, at) for n, (app, room, user, at) in lookups])
        .cte("exits")
    )

    def latest(wanted: InstrumentedAttribute[str]) -> ScalarSelect[str]:
        return (
            select(wanted)
            .where(
                RoomEvent.sdk_app_id == exits.c.sdk_app_id,
                RoomEvent.room_key == exits.c.room_key,
                RoomEvent.user_id == exits.c.user_id,
                RoomEvent.event_type == _USER_ENTERED,
                RoomEvent.event_time <= exits.c.at,
            )
            .order_by(RoomEvent.event_time.desc(), RoomEvent.id.desc())
            .limit(1)
            .correlate(exits)
            .scalar_subquery()
        )

    # Two probes in the select list, not a join on a probe: both planners then run each
    # probe once per exit, and neither can turn it into a scan of the table.
    statement = select(exits.c.n, latest(RoomEvent.event_id), latest(RoomEvent.session))
    return {
        n: Entry(event_id, _platform(session_json))
        for n, event_id, session_json in session.execute(statement)
        if event_id is not None
    }


def latest_entries(session: Session, lookups: Sequence[Presence]) -> list[Entry | None]:
    """For each (app, room, user, instant), the latest stored user-entered event of that user
    in that room at or before the instant (of several at one instant, the one stored last),
    or None when there is none. In the caller's transaction: events it stored are seen."""
    if not lookups:
        return []
    numbered = list(enumerate(lookups))
    size = _CHUNK.get(session.get_bind().dialect.name, _CHUNK["sqlite"])
    found: dict[int, Entry] = {}
    for start in range(0, len(numbered), size):
        found.update(_chunk(session, numbered[start : start + size]))
    return [found.get(n) for n in range(len(lookups))]
