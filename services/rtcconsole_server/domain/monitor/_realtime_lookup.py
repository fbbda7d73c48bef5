"""What real-time counting reads from the store: the apps' editions and the users' attributes.

A breakdown (R21: country, province, network, device, SDK version, carrier) needs the session
attributes of the user behind every sample, and those arrive once, with the user's
USER_ENTERED event, which the store keeps (``room_events.session``). They are not copied into
the live state (decision 0026): the store is their one truth, and a copy per slot would cost
memory for every online user. Instead :class:`AttributeCache` keeps them in process, filled
as this process ingests USER_ENTERED and, on a miss, from one batched read of the latest
stored entry per (app, room, user) (``ix_room_events_entries``: one index descent each).
Entries live :data:`ATTRIBUTE_TTL` (a user who entered again through another replica with
another network shows it within a minute) and at most :data:`MAX_CACHED` are held.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from sqlalchemy import BigInteger, Integer, String, column, literal_column, select, values
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnClause

from rtcconsole_server.domain.monitor._realtime_keys import Edition
from rtcconsole_server.store.models import Account, App, RoomEvent

__all__ = ["ATTRIBUTE_TTL", "MAX_CACHED", "AttributeCache", "UserKey", "paid_editions", "stored_attributes"]

UserKey = tuple[int, str, str]
"""(sdk_app_id, room_key, user_id)."""
ATTRIBUTE_TTL = timedelta(seconds=60)
"""How long a user's attributes are trusted in process: 60 s."""
MAX_CACHED = 100_000
"""Users whose attributes one process holds; the oldest entry goes first beyond it."""
_USER_ENTERED: ColumnClause[int] = literal_column("103", Integer())
_CHUNK = {"sqlite": 240, "postgresql": 10_000}
"""Users per statement, 4 parameters each: under SQLite's 999 and PostgreSQL's 65,535."""


def paid_editions(session: Session, sdk_app_ids: Iterable[int]) -> dict[int, Edition]:
    """The edition of each app whose account has a paid one (basic, advanced); free apps are absent."""
    rows = session.execute(
        select(App.sdk_app_id, Account.edition)
        .join(Account, Account.id == App.account_id)
        .where(App.sdk_app_id.in_(sorted(set(sdk_app_ids))), Account.edition != Edition.FREE.value)
    )
    return {app_id: Edition(edition) for app_id, edition in rows if edition in set(Edition)}


def _attributes(session_json: str | None) -> dict[str, str]:
    try:
        found = json.loads(session_json or "{}")
    except ValueError:
        return {}
    return {k: v for k, v in found.items() if isinstance(v, str)} if isinstance(found, dict) else {}


def _chunk(session: Session, users: Sequence[UserKey]) -> dict[UserKey, dict[str, str]]:
    wanted = (
        values(
            column("sdk_app_id", BigInteger()),
            column("room_key", String()),
            column("user_id", String()),
            column("n", Integer()),
            name="wanted",
        )
        .data([(app, room, user, n) for n, (app, room, user) in enumerate(users)])
        .cte("wanted")
    )
    latest = (
        select(RoomEvent.session)
        .where(
            RoomEvent.sdk_app_id == wanted.c.sdk_app_id,
            RoomEvent.room_key == wanted.c.room_key,
            RoomEvent.user_id == wanted.c.user_id,
            RoomEvent.event_type == _USER_ENTERED,
        )
        .order_by(RoomEvent.event_time.desc(), RoomEvent.id.desc())
        .limit(1)
        .correlate(wanted)
        .scalar_subquery()
    )
    rows = session.execute(select(wanted.c.n, latest))
    return {users[n]: _attributes(found) for n, found in rows if found is not None}


def stored_attributes(session: Session, users: Sequence[UserKey]) -> dict[UserKey, dict[str, str]]:
    """The session attributes of each user's latest stored entry (absent: no entry stored)."""
    size = _CHUNK.get(session.get_bind().dialect.name, _CHUNK["sqlite"])
    found: dict[UserKey, dict[str, str]] = {}
    for start in range(0, len(users), size):
        found.update(_chunk(session, users[start : start + size]))
    return found


class AttributeCache:
    """Users' session attributes held in process for :data:`ATTRIBUTE_TTL` (see the module)."""

    def __init__(self, *, max_entries: int = MAX_CACHED, ttl: timedelta = ATTRIBUTE_TTL) -> None:
        self._entries: dict[UserKey, tuple[Mapping[str, str], datetime]] = {}
        self._max = max_entries
        self._ttl = ttl

    def __len__(self) -> int:
        return len(self._entries)

    def put(self, user: UserKey, attributes: Mapping[str, str], now: datetime) -> None:
        """Remember ``user``'s attributes as of ``now`` (an empty mapping: none reported or stored)."""
        self._entries.pop(user, None)
        while len(self._entries) >= self._max:
            del self._entries[next(iter(self._entries))]
        self._entries[user] = (attributes, now)

    def get(self, user: UserKey, now: datetime) -> Mapping[str, str] | None:
        """The attributes remembered for ``user``, or None when unknown or older than the TTL."""
        found = self._entries.get(user)
        if found is None or now - found[1] >= self._ttl:
            return None
        return found[0]
