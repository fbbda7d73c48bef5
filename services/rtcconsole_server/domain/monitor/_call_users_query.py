"""The reads behind the call details (R18): one call's room events, and its quality-sample flags.

:func:`call_events` reads the events of one room over one call's life through
``ix_room_events_room`` (app, room, event time): room dismissals, user entries, exits and
role switches (102-105) and the media events (201-206), ordered by event time, then type,
then id, exactly as ``_call_query`` orders them, so stays end where the call list says they
do. :func:`sample_flags` answers, per user, whether a sender-side or a receiver-side quality
sample falls in a range: two ``LIMIT 1`` probes of the samples' key (app, room, user, peer,
media, time) per user, at most 20 users a page.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from rtcconsole_server.store.models import RoomEvent
from rtcconsole_server.store.models_monitor import QualitySample

__all__ = ["EventRow", "call_events", "sample_flags"]

_TYPES = (102, 103, 104, 105, 201, 202, 203, 204, 205, 206)
_SESSION_KEYS = ("region", "sdk_version", "platform", "device_model", "network_type")


@dataclass(frozen=True)
class EventRow:
    """One stored event of the call's room, as the details need it."""

    user_id: str
    event_type: int
    time: datetime
    role: int
    """The proto's Role number on entries (103) and switches (105); 0 otherwise."""
    session: Mapping[str, str] = field(default_factory=dict)
    """The entry's session attributes that the details show (103 only; absent keys are "")."""


def _session(text: str) -> dict[str, str]:
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k in _SESSION_KEYS if isinstance(v := data.get(k), str)}


def call_events(
    session: Session, *, sdk_app_id: int, room_key: str, start: datetime, end: datetime | None
) -> list[EventRow]:
    """The room's events 102-105 and 201-206 with ``start <= event_time`` (``<= end`` when the
    call has ended), in (event time, type, id) order."""
    query = select(
        RoomEvent.user_id, RoomEvent.event_type, RoomEvent.event_time, RoomEvent.role, RoomEvent.session
    ).where(
        RoomEvent.sdk_app_id == sdk_app_id,
        RoomEvent.room_key == room_key,
        RoomEvent.event_time >= start,
        RoomEvent.event_type.in_(_TYPES),
    )
    if end is not None:
        query = query.where(RoomEvent.event_time <= end)
    query = query.order_by(RoomEvent.event_time, RoomEvent.event_type, RoomEvent.id)
    return [
        EventRow(user, kind, time, role, _session(attrs) if kind == 103 else {})
        for user, kind, time, role, attrs in session.execute(query)
    ]


def sample_flags(
    session: Session,
    *,
    sdk_app_id: int,
    room_key: str,
    user_ids: Iterable[str],
    start: datetime,
    end: datetime,
) -> dict[str, tuple[bool, bool]]:
    """Per user: (a sender-side sample, a receiver-side sample) with ``start <= sample_time < end``."""

    def probe(user: str, sender: bool) -> bool:
        peer = QualitySample.peer_id == "" if sender else QualitySample.peer_id > ""
        found = session.scalar(
            select(
                exists().where(
                    QualitySample.sdk_app_id == sdk_app_id,
                    QualitySample.room_key == room_key,
                    QualitySample.user_id == user,
                    peer,
                    QualitySample.sample_time >= start,
                    QualitySample.sample_time < end,
                )
            )
        )
        return bool(found)

    return {user: (probe(user, True), probe(user, False)) for user in user_ids}
