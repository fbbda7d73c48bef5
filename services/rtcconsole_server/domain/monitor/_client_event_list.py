"""ListClientEvents (R20, R21): one user's client events in a call, in event-time order.

The events the user's SDK reported with ``event_time`` in the range (``_series_range``),
optionally only those about one peer, or only R21's abnormal events; ordered by event time,
then event id, and paged (the position is the last row's (time, id)). The read is a range of
``ix_client_events_user`` (app, room, user, event_time).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from rtcconsole_server.domain.common import Page, PageTokens, instant_position
from rtcconsole_server.domain.monitor._client_events import ABNORMAL_EVENT_TYPES
from rtcconsole_server.domain.monitor._series_range import CallScope
from rtcconsole_server.store.models_monitor import ClientEvent

__all__ = ["DEFAULT_EVENTS", "MAX_EVENTS", "ClientEventList", "ClientEventView", "list_client_events"]

DEFAULT_EVENTS = 100
MAX_EVENTS = 1000
_LIST = "client_events"


@dataclass(frozen=True)
class ClientEventView:
    """One stored client event, as reported."""

    event_id: str
    sdk_app_id: int
    room_key: str
    user_id: str
    peer_id: str
    event_type: int
    """The ClientEventType number."""
    media: int
    """The MediaKind number, 0 when none."""
    event_time: datetime
    parameters: dict[str, str]


@dataclass(frozen=True)
class ClientEventList:
    page: Page[ClientEventView]
    scope: CallScope


def list_client_events(
    session: Session,
    scope: CallScope,
    tokens: PageTokens,
    *,
    user_id: str,
    peer_id: str,
    abnormal_only: bool,
    size: int,
    page_token: str,
) -> ClientEventList:
    """A page of ``user_id``'s events in the scope's range (the module's rules)."""
    filters = {
        "call": scope.call.call_id,
        "user": user_id,
        "peer": peer_id,
        "abnormal": abnormal_only,
        "range": [scope.start.isoformat(), scope.end.isoformat()],
    }
    after = tokens.decode(page_token, _LIST, filters, instant_position)
    query = select(ClientEvent).where(
        ClientEvent.sdk_app_id == scope.sdk_app_id,
        ClientEvent.room_key == scope.room_key,
        ClientEvent.user_id == user_id,
        ClientEvent.event_time >= scope.start,
        ClientEvent.event_time < scope.end,
    )
    if peer_id:
        query = query.where(ClientEvent.peer_id == peer_id)
    if abnormal_only:
        query = query.where(ClientEvent.event_type.in_(sorted(ABNORMAL_EVENT_TYPES)))
    if after is not None:
        time, event_id = after
        query = query.where(
            or_(
                ClientEvent.event_time > time,
                and_(ClientEvent.event_time == time, ClientEvent.event_id > event_id),
            )
        )
    rows = session.scalars(query.order_by(ClientEvent.event_time, ClientEvent.event_id).limit(size + 1)).all()
    views = [
        ClientEventView(
            r.event_id, r.sdk_app_id, r.room_key, r.user_id, r.peer_id, r.event_type, r.media, r.event_time,
            dict(json.loads(r.parameters)),
        )
        for r in rows[:size]
    ]  # fmt: skip
    token = ""
    if len(rows) > size:
        last = rows[size - 1]
        token = tokens.encode(_LIST, [last.event_time.isoformat(), last.event_id], filters)
    return ClientEventList(Page(views, token), scope)
