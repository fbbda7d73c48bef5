"""The calls of one app, derived from its stored room events at query time (R17, decision 0020).

One statement per page, on both backends (window functions: SQLite >= 3.25, PostgreSQL):

1. ``ev``: the app's room events 101-104 from ``floor`` on (``ix_room_events_calls``, a
   partial index on (app, event time) of those types, migration 0008), optionally of one room.
2. ``stays``: each user-entered event (103) becomes a *span* of the room, from its time to
   the same user's next entry or exit in that room (``LEAD`` over (room, user)); a room
   created (101) spans to the room's next event. A span with nothing after it is open
   (NULL end). Every span is cut at the room's next dismissal (102) at or after its start:
   a running minimum over the room's events in *reverse* order (a frame from the partition's
   start), which PostgreSQL keeps incrementally; the same frame written forwards, from the
   current row to the end, it recomputes for every row (quadratic in a room's events:
   18 s a page on 14 simulated days, ``python -m bench monitor``).
3. ``flagged`` / ``numbered``: gaps and islands. Over a room's spans in start order, a span
   starts a new call when it starts after every earlier span has ended (the running maximum
   of the ends, an open end counting as :data:`FOREVER`); a span that starts when the
   previous ones end (a hand-over at one instant) continues the call. The running sum of
   those starts numbers the calls of the room.
4. ``calls``: per (room, call number): the first start, the last end (NULL when a span is
   still open), the distinct users who entered.

Everything is ordered by event time, never by arrival (``id`` only breaks ties), so an
exit stored before its entry changes nothing. Of events at one instant, lower types come
first: a dismissal before an entry at the same instant does not end that entry's span.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, BindParameter, Integer, String, bindparam, text
from sqlalchemy.orm import Session

from rtcconsole_server.store.types import UTCDateTime

__all__ = ["FOREVER", "CallRow", "query_calls"]

FOREVER = datetime(9999, 1, 1, tzinfo=UTC)
"""Stands for the end of a span that is still open, in the running maximum."""

_EVENTS = """
ev AS (
  SELECT room_key, user_id, event_type, event_time, id
  FROM room_events
  WHERE sdk_app_id = :app AND event_time >= :floor
    AND event_type BETWEEN 101 AND 104{room}
),
ordered AS (
  SELECT room_key, user_id, event_type, event_time, id,
    LEAD(event_time) OVER (
      PARTITION BY room_key ORDER BY event_time, event_type, id) AS next_in_room,
    MIN(CASE WHEN event_type = 102 THEN event_time END) OVER (
      PARTITION BY room_key ORDER BY event_time DESC, event_type DESC, id DESC
      ROWS UNBOUNDED PRECEDING) AS next_dismissal
  FROM ev
),
presence AS (
  SELECT room_key, user_id, event_type, event_time, id, next_dismissal,
    LEAD(event_time) OVER (
      PARTITION BY room_key, user_id ORDER BY event_time, event_type, id) AS next_of_user
  FROM ordered WHERE event_type IN (103, 104)
),
raw_spans AS (
  SELECT room_key, user_id, event_time AS span_start, next_of_user AS raw_end, next_dismissal, id
  FROM presence WHERE event_type = 103
  UNION ALL
  SELECT room_key, NULL, event_time, next_in_room, next_dismissal, id
  FROM ordered WHERE event_type = 101
),
spans AS (
  SELECT room_key, user_id, span_start, id,
    CASE WHEN raw_end IS NULL THEN next_dismissal
         WHEN next_dismissal IS NULL THEN raw_end
         WHEN next_dismissal < raw_end THEN next_dismissal
         ELSE raw_end END AS span_end
  FROM raw_spans
),
flagged AS (
  SELECT room_key, user_id, span_start, span_end, id,
    CASE WHEN span_start <= MAX(COALESCE(span_end, :forever)) OVER (
           PARTITION BY room_key ORDER BY span_start, id
           ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
         THEN 0 ELSE 1 END AS starts_call
  FROM spans
),
numbered AS (
  SELECT room_key, user_id, span_start, span_end,
    SUM(starts_call) OVER (
      PARTITION BY room_key ORDER BY span_start, id ROWS UNBOUNDED PRECEDING) AS call_no
  FROM flagged
),
calls AS (
  SELECT room_key, call_no, MIN(span_start) AS call_start,
    CASE WHEN COUNT(*) = COUNT(span_end) THEN MAX(span_end) END AS call_end,
    COUNT(DISTINCT user_id) AS users,
    SUM(CASE WHEN user_id = :user THEN 1 ELSE 0 END) AS of_user
  FROM numbered GROUP BY room_key, call_no
)"""

_PAGE = """
SELECT room_key, call_start, call_end, users FROM calls
WHERE call_start >= :start AND call_start < :end{user}{after}
ORDER BY call_start DESC, room_key DESC
LIMIT :limit"""


@dataclass(frozen=True)
class CallRow:
    """A call as the query finds it."""

    room_key: str
    start: datetime
    end: datetime | None
    """None while the call goes on."""
    users: int


def query_calls(
    session: Session,
    *,
    sdk_app_id: int,
    floor: datetime,
    start: datetime,
    end: datetime,
    room_key: str | None,
    user_id: str | None,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[CallRow]:
    """At most ``limit`` calls of the app starting in [start, end), newest start first, after
    the position ``after`` (start, room key); derived from the events from ``floor`` on."""
    sql = "WITH" + _EVENTS.format(room=" AND room_key = :room" if room_key is not None else "")
    sql += _PAGE.format(
        user=" AND of_user > 0" if user_id is not None else "",
        after=(
            " AND (call_start < :after_start OR (call_start = :after_start AND room_key < :after_room))"
            if after is not None
            else ""
        ),
    )
    params: dict[str, object] = {
        "app": sdk_app_id,
        "floor": floor,
        "forever": FOREVER,
        "start": start,
        "end": end,
        "user": user_id or "",
        "limit": limit,
    }
    binds: list[BindParameter[Any]] = [
        bindparam("app", type_=BigInteger()),
        bindparam("floor", type_=UTCDateTime()),
        bindparam("forever", type_=UTCDateTime()),
        bindparam("start", type_=UTCDateTime()),
        bindparam("end", type_=UTCDateTime()),
        bindparam("user", type_=String()),
        bindparam("limit", type_=Integer()),
    ]
    if room_key is not None:
        params["room"] = room_key
        binds.append(bindparam("room", type_=String()))
    if after is not None:
        params["after_start"], params["after_room"] = after
        binds += [bindparam("after_start", type_=UTCDateTime()), bindparam("after_room", type_=String())]
    statement = (
        text(sql)
        .bindparams(*binds)
        .columns(room_key=String(), call_start=UTCDateTime(), call_end=UTCDateTime(), users=Integer())
    )
    return [
        CallRow(room, call_start, call_end, int(users))
        for room, call_start, call_end, users in session.execute(statement, params)
    ]
