"""Reading and bulk-inserting ``room_events`` rows, the fast way for each backend.

PostgreSQL: the new events go in with one ``INSERT … SELECT FROM ROWS FROM
(json_array_elements_text(:column), …) ON CONFLICT DO NOTHING``: each column of the batch is
one JSON array (``json.dumps`` of a list of scalars, in C), the batch's ``received_at`` one
scalar. Eleven array parameters (``unnest``) cost more: psycopg dumps every array element in
Python, 40 % of the server's time per batch (profile of issue 16); one JSON array of row
objects (``json_to_recordset``, the previous way) spelled the twelve keys in every row and built
a dict per row twice (issue 16, second pass). The statement returns nothing: when its row count
is the batch's, every event was new (the usual case). Otherwise the batch's keys are read back,
one index probe per id (:func:`_probe`), and a row that holds the sequence number this transaction
claimed for its key (``_sequences``: unique per app, never handed out twice) is one inserted
now; the others were stored before. A row skipped because a concurrent batch inserted it is
visible to that read (READ COMMITTED: ``ON CONFLICT`` waited for the other transaction to
commit).

SQLite: ``BEGIN IMMEDIATE`` serialises writers, so the batch's ids are read first (chunks of
500) and the rest inserted with the driver's ``executemany`` of prebuilt tuples
(``store.bulk.insert_tuples``: no per-value SQLAlchemy bind processing, no dict per row).

Rows are inserted in key order, so two batches lock index entries in the same order.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Select, String, Table, bindparam, func, select, text, true
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from rtcconsole_server.domain.events._rules import canonical, micros
from rtcconsole_server.domain.events._vocabulary import EventInput
from rtcconsole_server.store.bulk import insert_tuples
from rtcconsole_server.store.models import RoomEvent

__all__ = ["Key", "Stored", "insert_new", "read_stored"]

Key = tuple[int, str]
"""(sdk_app_id, event_id)."""
Stored = tuple[dict[str, object], str]
"""The canonical form of a stored event and its ``payload_sha256``."""

_CHUNK = 500
_COLUMNS = (
    "sdk_app_id",
    "event_id",
    "room_key",
    "user_id",
    "event_type",
    "event_time",
    "role",
    "reason",
    "session",
    "payload_sha256",
    "received_at",
    "seq",
)
"""The columns a new event fills, in the order of :func:`_tuples`."""
_COLUMNS_INSERT = text(
    "INSERT INTO room_events (sdk_app_id, event_id, room_key, user_id, event_type, event_time, role, "
    "reason, session, payload_sha256, received_at, seq) "
    "SELECT CAST(r.sdk_app_id AS bigint) AS sdk_app_id, r.event_id AS event_id, r.room_key, r.user_id, "
    "CAST(r.event_type AS integer), "
    "timestamptz 'epoch' + CAST(r.event_time AS bigint) / 1000000 * interval '1 second' "
    "+ CAST(r.event_time AS bigint) % 1000000 * interval '1 microsecond', CAST(r.role AS integer), "
    "CAST(r.reason AS integer), r.session, r.payload_sha256, CAST(:received_at AS timestamptz), "
    "CAST(r.seq AS bigint) "
    "FROM ROWS FROM (json_array_elements_text(CAST(:sdk_app_id AS json)), "
    "json_array_elements_text(CAST(:event_id AS json)), json_array_elements_text(CAST(:room_key AS json)), "
    "json_array_elements_text(CAST(:user_id AS json)), json_array_elements_text(CAST(:event_type AS json)), "
    "json_array_elements_text(CAST(:event_time AS json)), json_array_elements_text(CAST(:role AS json)), "
    "json_array_elements_text(CAST(:reason AS json)), json_array_elements_text(CAST(:session AS json)), "
    "json_array_elements_text(CAST(:payload_sha256 AS json)), json_array_elements_text(CAST(:seq AS json))) "
    "AS r(sdk_app_id, event_id, room_key, user_id, event_type, event_time, role, reason, session, "
    "payload_sha256, seq) "
    "ORDER BY sdk_app_id, event_id "
    "ON CONFLICT (sdk_app_id, event_id) DO NOTHING"
)
"""One JSON array per column in, the batch's ``received_at`` as one value; the row count out.
``event_time`` comes as whole microseconds since the epoch (``_rules.micros``: a third of
``isoformat``'s cost), made an instant from its seconds and microseconds apart, each product
exact in ``interval``'s arithmetic (an integer times 1 s or 1 µs, below 2^53 µs)."""
_TABLE = cast(Table, RoomEvent.__table__)
_READ = tuple(_TABLE.c[name] for name in _COLUMNS if name not in ("sdk_app_id", "received_at"))
"""What a read of stored events needs of each: its key, canonical form, digest and sequence."""


def _probe(app_id: int, event_ids: list[str]) -> Select[Any]:
    """PostgreSQL: the stored events among ``event_ids`` of one app, one probe of the unique index
    per id whatever the statistics say (``LATERAL … LIMIT 1`` is never flattened into a join).
    ``event_id = ANY(array)`` is planned from the statistics: on a table that grew since its last
    ANALYZE it read every row of the app and tested each against the array (the usage ingest's
    retry check had the same plan, ``domain/usage/_ingest.py``; issue 16)."""
    ids = func.unnest(bindparam("ids", event_ids, type_=ARRAY(String))).table_valued("id").render_derived()
    one = (
        select(*_READ)
        .where(_TABLE.c.sdk_app_id == app_id, _TABLE.c.event_id == ids.c.id)
        .limit(1)
        .lateral("stored")
    )
    return select(*one.c).select_from(ids.join(one, true()))


def _session_json(session: dict[str, str]) -> str:
    return json.dumps(session, ensure_ascii=False, separators=(",", ":")) if session else "{}"


def _dumps(values: list[Any]) -> str:
    return json.dumps(values, ensure_ascii=False, separators=(",", ":"))


def _json_columns(
    events: Sequence[tuple[EventInput, str]], now: datetime, sequences: Mapping[Key, int]
) -> dict[str, str]:
    """The parameters of ``_COLUMNS_INSERT`` for (event, digest) pairs: a JSON array per column
    (event times in whole microseconds since the epoch), ``received_at`` once (ISO 8601)."""
    evs = [event for event, _ in events]
    return {
        "sdk_app_id": _dumps([e.sdk_app_id for e in evs]),
        "event_id": _dumps([e.event_id for e in evs]),
        "room_key": _dumps([e.room_key for e in evs]),
        "user_id": _dumps([e.user_id for e in evs]),
        "event_type": _dumps([e.event_type for e in evs]),
        "event_time": _dumps([micros(e.event_time) for e in evs]),  # type: ignore[arg-type] # checked
        "role": _dumps([e.role for e in evs]),
        "reason": _dumps([e.reason for e in evs]),
        "session": _dumps([_session_json(e.kept_session) for e in evs]),
        "payload_sha256": _dumps([digest for _, digest in events]),
        "received_at": now.isoformat(),
        "seq": _dumps([sequences[(e.sdk_app_id, e.event_id)] for e in evs]),
    }


def _tuples(
    events: Sequence[tuple[EventInput, str]], now: datetime, sequences: Mapping[Key, int]
) -> list[tuple[Any, ...]]:
    """The rows of (event, digest) pairs as tuples in :data:`_COLUMNS` order, in key order."""
    ordered = sorted(events, key=lambda pair: (pair[0].sdk_app_id, pair[0].event_id))
    return [
        (
            event.sdk_app_id,
            event.event_id,
            event.room_key,
            event.user_id,
            event.event_type,
            event.event_time,
            event.role,
            event.reason,
            _session_json(event.kept_session),
            digest,
            now,
            sequences[(event.sdk_app_id, event.event_id)],
        )
        for event, digest in ordered
    ]


def _postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def read_stored(session: Session, keys: Sequence[Key]) -> dict[Key, Stored]:
    """The events already stored under ``keys``, by key."""
    return {key: (form, digest) for key, (form, digest, _) in _read(session, keys).items()}


def _read(session: Session, keys: Sequence[Key]) -> dict[Key, tuple[dict[str, object], str, int | None]]:
    """The events stored under ``keys``, by key: canonical form, ``payload_sha256``, ``seq``."""
    by_app: dict[int, list[str]] = defaultdict(list)
    for app_id, event_id in keys:
        by_app[app_id].append(event_id)
    found: dict[Key, tuple[dict[str, object], str, int | None]] = {}
    postgresql = _postgresql(session)
    for app_id, event_ids in by_app.items():
        unique = sorted(set(event_ids))
        if postgresql:
            queries = [_probe(app_id, unique)]
        else:
            queries = [
                select(*_READ).where(
                    _TABLE.c.sdk_app_id == app_id, _TABLE.c.event_id.in_(unique[i : i + _CHUNK])
                )
                for i in range(0, len(unique), _CHUNK)
            ]
        for query in queries:
            for row in session.execute(query):
                form = canonical(
                    room_key=row.room_key,
                    user_id=row.user_id,
                    event_type=row.event_type,
                    event_time=row.event_time,
                    role=row.role,
                    reason=row.reason,
                    session=json.loads(row.session),
                )
                found[(app_id, row.event_id)] = (form, row.payload_sha256, row.seq)
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
        result = session.execute(_COLUMNS_INSERT, _json_columns(candidates, now, sequences))
        if cast(Any, result).rowcount == len(keys):  # all new: nothing to read back
            return set(keys), {}
        found = _read(session, keys)
        inserted = {key for key in keys if key in found and found[key][2] == sequences[key]}
        stored = {key: (form, digest) for key, (form, digest, _) in found.items() if key not in inserted}
        return inserted, stored
    stored = read_stored(session, keys)
    fresh = [
        (event, digest) for event, digest in candidates if (event.sdk_app_id, event.event_id) not in stored
    ]
    insert_tuples(session, _TABLE, _COLUMNS, _tuples(fresh, now, sequences))
    return {(event.sdk_app_id, event.event_id) for event, _ in fresh}, stored
