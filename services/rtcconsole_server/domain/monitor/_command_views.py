"""Room commands (R7) as callers and media servers see them: kinds, states, views of rows.

The stored ``state`` is ``pending``, ``delivered`` or ``acknowledged``; *expired* is judged at read
time (:func:`state_of`) once ``expires_at`` has come without an acknowledgement.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.orm import Session

from rtcconsole_server.domain.events import room_of_key
from rtcconsole_server.store.models_commands import RoomCommand, RoomCommandUser

__all__ = [
    "CommandKind",
    "CommandState",
    "RoomCommandView",
    "as_delivered",
    "state_filter",
    "state_of",
    "views",
]


class CommandKind(enum.Enum):
    DISMISS = "dismiss"
    REMOVE = "remove"


class CommandState(enum.Enum):
    PENDING = "pending"
    DELIVERED = "delivered"
    ACKNOWLEDGED = "acknowledged"
    EXPIRED = "expired"


@dataclass(frozen=True)
class RoomCommandView:
    """One command as callers and media servers see it."""

    command_id: str
    sdk_app_id: int
    room: int | str
    kind: CommandKind
    state: CommandState
    user_ids: tuple[str, ...]
    """A removal's users, in request order; empty for a dismissal."""
    exited_user_ids: tuple[str, ...]
    """The listed users whose USER_EXITED with this command's id arrived (partial progress)."""
    created_at: datetime
    expires_at: datetime
    delivered_at: datetime | None
    delivered_to: str
    acknowledged_at: datetime | None
    requested_by_key_id: str
    request_id: str


def state_of(row: RoomCommand, now: datetime) -> CommandState:
    """The stored state, or *expired* once ``expires_at`` has come without an acknowledgement."""
    if row.state == CommandState.ACKNOWLEDGED.value:
        return CommandState.ACKNOWLEDGED
    if now >= row.expires_at:
        return CommandState.EXPIRED
    return CommandState(row.state)


def state_filter(state: CommandState, now: datetime) -> ColumnElement[bool]:
    column, acknowledged = RoomCommand.state, CommandState.ACKNOWLEDGED.value
    if state is CommandState.ACKNOWLEDGED:
        return column == acknowledged
    if state is CommandState.EXPIRED:
        return and_(column != acknowledged, RoomCommand.expires_at <= now)
    return and_(column == state.value, RoomCommand.expires_at > now)


def views(session: Session, rows: Sequence[RoomCommand], now: datetime) -> list[RoomCommandView]:
    """The views of ``rows``, their users read in one query."""
    users: dict[str, list[RoomCommandUser]] = {}
    ids = [r.id for r in rows if r.kind == CommandKind.REMOVE.value]
    if ids:
        query = select(RoomCommandUser).where(RoomCommandUser.command_id.in_(ids))
        for user in session.scalars(query.order_by(RoomCommandUser.command_id, RoomCommandUser.position)):
            users.setdefault(user.command_id, []).append(user)
    return [
        RoomCommandView(
            command_id=r.id,
            sdk_app_id=r.sdk_app_id,
            room=room_of_key(r.room_key),
            kind=CommandKind(r.kind),
            state=state_of(r, now),
            user_ids=tuple(u.user_id for u in users.get(r.id, ())),
            exited_user_ids=tuple(u.user_id for u in users.get(r.id, ()) if u.exited_at is not None),
            created_at=r.created_at,
            expires_at=r.expires_at,
            delivered_at=r.delivered_at,
            delivered_to=r.delivered_to,
            acknowledged_at=r.acknowledged_at,
            requested_by_key_id=r.key_id,
            request_id=r.request_id or "",
        )
        for r in rows
    ]


def as_delivered(view: RoomCommandView, now: datetime, server_name: str) -> RoomCommandView:
    """``view`` as it reads once this delivery is recorded."""
    if view.state is not CommandState.PENDING:
        return view
    return dataclasses.replace(view, state=CommandState.DELIVERED, delivered_at=now, delivered_to=server_name)
