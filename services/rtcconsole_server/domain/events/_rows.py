"""Reading and bulk-inserting ``room_events`` rows, the fast way for each backend.

PostgreSQL: the new events go in with one ``INSERT … SELECT FROM json_to_recordset(:rows)
ON CONFLICT DO NOTHING RETURNING``: the whole batch is one JSON text parameter, built by
``json.dumps`` (C) and parsed by the server. Eleven array parameters (``unnest``) cost more:
psycopg dumps every array element in Python, 40 % of the server's time per batch (profile of
issue 16). Only the ids it skipped are read back, with ``event_id = ANY(array)``. A row skipped
because a concurrent batch inserted it is visible to that read (READ COMMITTED: ``ON CONFLICT``
waited for the other transaction to commit).

SQLite: ``BEGIN IMMEDIATE`` serialises writers, so the batch's ids are read first (chunks of
500) and the rest inserted with the driver's ``executemany`` of prebuilt tuples
(``store.bulk.insert_rows``: no per-value SQLAlchemy bind processing).

Rows are inserted in key order, so two batches lock index entries in the same order.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import String, Table, any_, bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from rtcconsole_server.domain.events._rules import canonical
from rtcconsole_server.domain.events._vocabulary import EventInput
from rtcconsole_server.store.bulk import insert_rows
from rtcconsole_server.store.models import RoomEvent

__all__ = ["Key", "Stored", "insert_new", "read_stored"]

Key = tuple[int, str]
"""(sdk_app_id, event_id)."""
Stored = tuple[dict[str, object], str]
"""The canonical form of a stored event and its ``payload_sha256``."""

_CHUNK = 500
_JSON_INSERT = text(
    "INSERT INTO room_events (sdk_app_id, event_id, room_key, user_id, event_type, event_time, role, "
    "reason, session, payload_sha256, received_at, seq) "
    "SELECT sdk_app_id, event_id, room_key, user_id, event_type, event_time, role, reason, session, "
    "payload_sha256, received_at, seq FROM json_to_recordset(CAST(:rows AS json)) AS r(sdk_app_id bigint, "
    "event_id varchar, room_key varchar, user_id varchar, event_type integer, event_time timestamptz, "
    "role integer, reason integer, session text, payload_sha256 varchar, received_at timestamptz, "
    "seq bigint) ORDER BY sdk_app_id, event_id "
    "ON CONFLICT (sdk_app_id, event_id) DO NOTHING RETURNING sdk_app_id, event_id"
)
"""One JSON array of row objects in, the keys inserted out (time as ISO 8601 with offset: exact µs)."""
_TABLE = cast(Table, RoomEvent.__table__)


def _session_json(session: dict[str, str]) -> str:
    return json.dumps(session, ensure_ascii=False, separators=(",", ":")) if session else "{}"


def _rows(
    events: Sequence[tuple[EventInput, str]], now: datetime, sequences: Mapping[Key, int]
) -> list[dict[str, Any]]:
    """The rows of (event, digest) pairs, in key order."""
    ordered = sorted(events, key=lambda pair: (pair[0].sdk_app_id, pair[0].event_id))
    return [
        {
            "sdk_app_id": event.sdk_app_id,
            "event_id": event.event_id,
            "room_key": event.room_key,
            "user_id": event.user_id,
            "event_type": event.event_type,
            "event_time": event.event_time,
            "role": event.role,
            "reason": event.reason,
            "session": _session_json(event.kept_session),
            "payload_sha256": digest,
            "received_at": now,
            "seq": sequences[(event.sdk_app_id, event.event_id)],
        }
        for event, digest in ordered
    ]


def _json_rows(rows: list[dict[str, Any]]) -> str:
    """``rows`` as the JSON text ``_JSON_INSERT`` takes (instants in ISO 8601, UTC offset kept)."""
    received = rows[0]["received_at"].isoformat() if rows else ""
    return json.dumps(
        [{**row, "event_time": row["event_time"].isoformat(), "received_at": received} for row in rows],
        ensure_ascii=False,
        separators=(",", ":"),
    )


def _postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def read_stored(session: Session, keys: Sequence[Key]) -> dict[Key, Stored]:
    """The events already stored under ``keys``, by key."""
    by_app: dict[int, list[str]] = defaultdict(list)
    for app_id, event_id in keys:
        by_app[app_id].append(event_id)
    found: dict[Key, Stored] = {}
    for app_id, event_ids in by_app.items():
        unique = sorted(set(event_ids))
        if _postgresql(session):
            chunks = [RoomEvent.event_id == any_(bindparam("ids", unique, type_=ARRAY(String)))]
        else:
            chunks = [RoomEvent.event_id.in_(unique[i : i + _CHUNK]) for i in range(0, len(unique), _CHUNK)]
        for condition in chunks:
            for row in session.scalars(select(RoomEvent).where(RoomEvent.sdk_app_id == app_id, condition)):
                form = canonical(
                    room_key=row.room_key,
                    user_id=row.user_id,
                    event_type=row.event_type,
                    event_time=row.event_time,
                    role=row.role,
                    reason=row.reason,
                    session=json.loads(row.session),
                )
                found[(app_id, row.event_id)] = (form, row.payload_sha256)
    return found


def insert_new(
    session: Session,
    candidates: Sequence[tuple[EventInput, str]],
    now: datetime,
    sequences: Mapping[Key, int],
) -> tuple[set[Key], dict[Key, Stored]]:
    """Insert the (event, digest) pairs whose key is not stored yet (keys unique in the batch),
    each with its app sequence number from ``sequences`` (``_sequences.claim_sequences``).

    Returns the keys inserted now, and the stored events of the others.
    """
    keys = [(event.sdk_app_id, event.event_id) for event, _ in candidates]
    if not candidates:
        return set(), {}
    if _postgresql(session):
        rows = _rows(candidates, now, sequences)
        returned = session.execute(_JSON_INSERT, {"rows": _json_rows(rows)})
        inserted = {(app, event_id) for app, event_id in returned}
        return inserted, read_stored(session, [k for k in keys if k not in inserted])
    stored = read_stored(session, keys)
    fresh = [
        (event, digest) for event, digest in candidates if (event.sdk_app_id, event.event_id) not in stored
    ]
    if fresh:
        insert_rows(session, _TABLE, _rows(fresh, now, sequences))
    return {(event.sdk_app_id, event.event_id) for event, _ in fresh}, stored
