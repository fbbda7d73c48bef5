"""Room commands (R7) acknowledged by the events they cause, in the transaction that stores them.

``Console`` passes :func:`acknowledge_commands` to the events context's ``on_stored`` hook (with
the callback outbox), so ``events`` knows nothing of commands (decision 0023).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from rtcconsole_server.domain.events import EventInput
from rtcconsole_server.domain.monitor._command_views import CommandKind, CommandState
from rtcconsole_server.store.models_commands import RoomCommand, RoomCommandUser

__all__ = ["acknowledge_commands"]

_ROOM_DISMISSED, _USER_EXITED = 102, 104


def acknowledge_commands(session: Session, events: Sequence[EventInput], now: datetime) -> int:
    """Acknowledge the commands that newly stored ``events`` carry out, in their transaction;
    how many commands became acknowledged.

    Only an event with a ``command_id`` counts, of the command's app and room: a
    ROOM_DISMISSED for a dismissal, a USER_EXITED of a listed user for a removal (acknowledged
    once every listed user's exit arrived). Acknowledged and expired commands do not change.
    """
    asked = [e for e in events if e.command_id and e.event_type in (_ROOM_DISMISSED, _USER_EXITED)]
    if not asked:
        return 0
    rows = {
        row.id: row
        for row in session.scalars(
            select(RoomCommand)
            .where(
                RoomCommand.id.in_(sorted({e.command_id for e in asked})),
                RoomCommand.state != CommandState.ACKNOWLEDGED.value,
                RoomCommand.expires_at > now,
            )
            .order_by(RoomCommand.id)
            .with_for_update()
        )
    }
    done: set[str] = set()
    exits: dict[str, set[str]] = {}
    for event in asked:
        row = rows.get(event.command_id)
        if row is None or (row.sdk_app_id, row.room_key) != (event.sdk_app_id, event.room_key):
            continue
        if row.kind == CommandKind.DISMISS.value and event.event_type == _ROOM_DISMISSED:
            done.add(row.id)
        elif row.kind == CommandKind.REMOVE.value and event.event_type == _USER_EXITED:
            exits.setdefault(row.id, set()).add(event.user_id)
    users = RoomCommandUser
    for command_id, exited in sorted(exits.items()):
        session.execute(
            update(users)
            .where(users.command_id == command_id, users.user_id.in_(sorted(exited)))
            .where(users.exited_at.is_(None))
            .values(exited_at=now)
        )
        waiting = session.scalar(
            select(func.count()).where(users.command_id == command_id, users.exited_at.is_(None))
        )
        if waiting == 0:
            done.add(command_id)
    if done:
        session.execute(
            update(RoomCommand)
            .where(RoomCommand.id.in_(sorted(done)))
            .values(state=CommandState.ACKNOWLEDGED.value, acknowledged_at=now)
        )
    return len(done)
