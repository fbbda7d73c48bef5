"""Room control (R7): DismissRoom and RemoveUsers become stored commands for the media servers.

A command is stored ``pending``; WatchRoomCommands (``_command_watch``) sends it to every
watching media server and marks it ``delivered``; the events it asks for acknowledge it as
they are ingested (``_command_acks``, called by ``Console`` in the transaction that
stores them, so the ``events`` context knows nothing of commands): the room's
ROOM_DISMISSED (102) for a dismissal, a USER_EXITED (104) of every listed user for a
removal, each carrying the command's id in ``command_id``. A command not acknowledged
:data:`COMMAND_TTL` after its creation is *expired*: judged at read time from
``expires_at`` (nothing rewrites the row), final (late events change nothing), and no
longer sent to watchers.

Tenancy as everywhere: another account's app is ``NotFound``. A disabled or stopped app's
rooms can still be dismissed (R7: dismissing is how users already inside are made to leave),
so the app's lifecycle is not looked at. Idempotency: with a ``request_id`` (1-64 characters,
unique per app) a retry returns the command created first; the same ``request_id`` with
another room, kind or users is ``AlreadyExists``. Decision 0023 says why.
"""

from __future__ import annotations

import builtins
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update

from rtcconsole_server.clock import Clock
from rtcconsole_server.domain.common import (
    Caller,
    Page,
    PageTokens,
    instant_position,
    load_app,
    page_size,
    room_violations,
    text_violations,
)
from rtcconsole_server.domain.events import room_key
from rtcconsole_server.domain.monitor._command_views import (
    CommandKind,
    CommandState,
    RoomCommandView,
    state_filter,
    views,
)
from rtcconsole_server.errors import AlreadyExists, FieldViolation, InvalidArgument
from rtcconsole_server.store import Store
from rtcconsole_server.store.models_commands import RoomCommand, RoomCommandUser
from rtcconsole_server.store.retry import Race, RetryPolicy, run_with_retries

__all__ = ["COMMAND_TTL", "MAX_REMOVED_USERS", "MAX_WATCHED", "CommandList", "Issued", "RoomCommands"]

log = logging.getLogger("rtcconsole_server.room_commands")

COMMAND_TTL = timedelta(minutes=10)
"""How long a command waits for its events before it is expired: 10 minutes."""
MAX_REMOVED_USERS = 10
"""Users one RemoveUsers may name (TRTC's RemoveUser limit)."""
MAX_WATCHED = 1000
"""Open commands one watcher's look at the store reads at most (the oldest first)."""
_LIST = "room_commands"
_RETRY = RetryPolicy(
    attempts=5, retry_on=frozenset({Race.UNIQUE_VIOLATION, Race.DEADLOCK, Race.DATABASE_LOCKED})
)
"""A create that met a concurrent one with its request id runs again and reads it back."""


@dataclass(frozen=True)
class Issued:
    """A command from DismissRoom / RemoveUsers; ``created`` is False for a retried request id."""

    command: RoomCommandView
    created: bool


@dataclass(frozen=True)
class CommandList:
    page: Page[RoomCommandView]
    as_of: datetime


def _room(room_id: int | None, str_room_id: str | None) -> list[FieldViolation]:
    return room_violations(room_id, str_room_id)


class RoomCommands:
    """DismissRoom, RemoveUsers and ListRoomCommands for the caller's apps, and what the
    watchers of the data plane read (:meth:`open_commands`, :meth:`mark_delivered`)."""

    def __init__(
        self, store: Store, clock: Clock, *, tokens: PageTokens | None = None, ttl: timedelta = COMMAND_TTL
    ) -> None:
        self._store = store
        self._clock = clock
        self._tokens = tokens or PageTokens.ephemeral()
        self.ttl = ttl
        """How long a command waits for its events (default :data:`COMMAND_TTL`)."""

    def dismiss(
        self,
        caller: Caller,
        *,
        sdk_app_id: int,
        room_id: int | None,
        str_room_id: str | None,
        request_id: str = "",
    ) -> Issued:
        """Store a command that closes the room by force (R7)."""
        return self._issue(caller, sdk_app_id, room_id, str_room_id, CommandKind.DISMISS, (), request_id)

    def remove_users(
        self,
        caller: Caller,
        *,
        sdk_app_id: int,
        room_id: int | None,
        str_room_id: str | None,
        user_ids: Sequence[str],
        request_id: str = "",
    ) -> Issued:
        """Store a command that makes 1-10 users leave the room."""
        violations: list[FieldViolation] = []
        if not user_ids:
            violations.append(FieldViolation("user_ids", "name 1-10 users"))
        elif len(user_ids) > MAX_REMOVED_USERS:
            violations.append(
                FieldViolation("user_ids", f"at most {MAX_REMOVED_USERS} users per call; got {len(user_ids)}")
            )
        else:
            for i, user in enumerate(user_ids):
                violations += text_violations(user, f"user_ids[{i}]", min_len=1, max_len=128)
                if user in user_ids[:i]:
                    violations.append(FieldViolation(f"user_ids[{i}]", "is listed twice"))
        if violations:
            raise InvalidArgument(violations + self._check(sdk_app_id, room_id, str_room_id, request_id))
        return self._issue(
            caller, sdk_app_id, room_id, str_room_id, CommandKind.REMOVE, tuple(user_ids), request_id
        )

    @staticmethod
    def _check(
        sdk_app_id: int, room_id: int | None, str_room_id: str | None, request_id: str
    ) -> list[FieldViolation]:
        violations = [] if sdk_app_id else [FieldViolation("sdk_app_id", "is required")]
        violations += _room(room_id, str_room_id)
        if request_id:
            violations += text_violations(request_id, "request_id", min_len=1, max_len=64)
        return violations

    def _issue(
        self,
        caller: Caller,
        sdk_app_id: int,
        room_id: int | None,
        str_room_id: str | None,
        kind: CommandKind,
        users: tuple[str, ...],
        request_id: str,
    ) -> Issued:
        violations = self._check(sdk_app_id, room_id, str_room_id, request_id)
        if violations:
            raise InvalidArgument(violations)
        key = room_key(room_id, str_room_id)
        return run_with_retries(
            lambda: self._write(caller, sdk_app_id, key, kind, users, request_id),
            what="room command",
            policy=_RETRY,
            log=log,
        )

    def _write(
        self,
        caller: Caller,
        sdk_app_id: int,
        key: str,
        kind: CommandKind,
        users: tuple[str, ...],
        request_id: str,
    ) -> Issued:
        now = self._clock.now()
        with self._store.write() as session:
            load_app(session, caller, sdk_app_id)  # any lifecycle: a disabled app's room can be dismissed
            if request_id:
                first = session.scalars(
                    select(RoomCommand).where(
                        RoomCommand.sdk_app_id == sdk_app_id, RoomCommand.request_id == request_id
                    )
                ).first()
                if first is not None:
                    view = views(session, [first], now)[0]
                    if (first.room_key, first.kind, view.user_ids) != (key, kind.value, users):
                        raise AlreadyExists(
                            "room command",
                            first.id,
                            f"request_id {request_id!r} was used for command {first.id} with another "
                            "room, kind or users; use a new request_id",
                        )
                    return Issued(view, created=False)
            row = RoomCommand(
                id=f"rc_{secrets.token_hex(12)}",
                sdk_app_id=sdk_app_id,
                room_key=key,
                kind=kind.value,
                state=CommandState.PENDING.value,
                account_id=caller.account_id,
                key_id=caller.key_id,
                request_id=request_id or None,
                created_at=now,
                expires_at=now + self.ttl,
                delivered_at=None,
                delivered_to="",
                acknowledged_at=None,
            )
            session.add(row)
            session.flush()
            session.add_all(
                RoomCommandUser(command_id=row.id, user_id=u, position=i, exited_at=None)
                for i, u in enumerate(users)
            )
            session.flush()
            return Issued(views(session, [row], now)[0], created=True)

    def list(
        self,
        caller: Caller,
        *,
        sdk_app_id: int,
        room_id: int | None = None,
        str_room_id: str | None = None,
        state: CommandState | None = None,
        page_size_requested: int = 0,
        page_token: str = "",
    ) -> CommandList:
        """A page of the app's commands, newest first, with their states as of now."""
        violations = [] if sdk_app_id else [FieldViolation("sdk_app_id", "is required")]
        if room_id is not None or str_room_id is not None:
            violations += _room(room_id, str_room_id)
        if violations:
            raise InvalidArgument(violations)
        size = page_size(page_size_requested)
        key = room_key(room_id, str_room_id) if room_id is not None or str_room_id is not None else None
        filters = {"app": sdk_app_id, "room": key, "state": state.value if state else None}
        position = self._tokens.decode(page_token, _LIST, filters, instant_position)
        now = self._clock.now()
        with self._store.read() as session:
            load_app(session, caller, sdk_app_id)
            query = select(RoomCommand).where(RoomCommand.sdk_app_id == sdk_app_id)
            if key is not None:
                query = query.where(RoomCommand.room_key == key)
            if state is not None:
                query = query.where(state_filter(state, now))
            if position is not None:
                at, last = position
                created = RoomCommand.created_at
                query = query.where(or_(created < at, and_(created == at, RoomCommand.id < last)))
            query = query.order_by(RoomCommand.created_at.desc(), RoomCommand.id.desc()).limit(size + 1)
            rows = list(session.scalars(query))
            found = views(session, rows[:size], now)
        token = ""
        if len(rows) > size:
            last_row = rows[size - 1]
            token = self._tokens.encode(_LIST, [last_row.created_at.isoformat(), last_row.id], filters)
        return CommandList(Page(found, token), now)

    def open_commands(self, sdk_app_ids: Sequence[int] = ()) -> builtins.list[RoomCommandView]:
        """The commands a watcher must have: pending or delivered, not expired, oldest first
        (at most :data:`MAX_WATCHED`); of the apps ``sdk_app_ids`` (empty: every app)."""
        now = self._clock.now()
        with self._store.read() as session:
            query = select(RoomCommand).where(
                RoomCommand.state.in_([CommandState.PENDING.value, CommandState.DELIVERED.value]),
                RoomCommand.expires_at > now,
            )
            if sdk_app_ids:
                query = query.where(RoomCommand.sdk_app_id.in_(sorted(set(sdk_app_ids))))
            query = query.order_by(RoomCommand.created_at, RoomCommand.id).limit(MAX_WATCHED)
            return views(session, list(session.scalars(query)), now)

    def mark_delivered(self, command_ids: Sequence[str], server_name: str) -> None:
        """Record that ``command_ids`` were sent to the watcher ``server_name`` (the first
        delivery of each is kept)."""
        if not command_ids:
            return
        now = self._clock.now()
        with self._store.write() as session:
            session.execute(
                update(RoomCommand)
                .where(RoomCommand.id.in_(sorted(command_ids)))
                .where(RoomCommand.state == CommandState.PENDING.value)
                .values(state=CommandState.DELIVERED.value, delivered_at=now, delivered_to=server_name)
            )
