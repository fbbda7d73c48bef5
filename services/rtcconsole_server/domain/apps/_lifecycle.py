"""R7: disable, enable and delete, each accepted now and in effect 3-5 minutes later.

Accepting writes an ``operations`` row due at ``now + delay`` and marks the app
with the pending transition, in one transaction; a conditional update makes a
second transition while one is pending fail cleanly even under races. Any
worker of any replica applies due operations (:meth:`Lifecycle.apply_due`);
claims use ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, and since everything lives
in the store a restart loses nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from rtcconsole_server.clock import Clock
from rtcconsole_server.domain.apps._queries import operation_id, operation_name
from rtcconsole_server.domain.apps._views import OperationKind, OperationState, OperationView, Transition
from rtcconsole_server.domain.common import (
    Caller,
    Page,
    PageTokens,
    int_position,
    load_app,
    page_size,
)
from rtcconsole_server.errors import (
    Aborted,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PreconditionViolation,
)
from rtcconsole_server.store import Store
from rtcconsole_server.store.models import App, Operation

__all__ = ["Lifecycle", "SecondaryCheck", "view_operation"]


class SecondaryCheck(Protocol):
    """What the lifecycle needs of secondary authentication (R7); ``auth.SecondaryAuth`` is one.

    A protocol rather than an import: ``auth`` reads app status from this context,
    so this context may not import ``auth`` back.
    """

    def require(self, caller: Caller, token: str, *, field: str = ...) -> None:
        """Raise unless ``token`` is a live secondary-authentication token of ``caller``."""
        ...


_TRANSITION = {
    OperationKind.DISABLE_APP: Transition.DISABLING,
    OperationKind.ENABLE_APP: Transition.ENABLING,
    OperationKind.DELETE_APP: Transition.DELETING,
}
# lifecycle the app must be in to accept the operation, and the one it reaches
_FROM_TO = {
    OperationKind.DISABLE_APP: ("active", "disabled"),
    OperationKind.ENABLE_APP: ("disabled", "active"),
    OperationKind.DELETE_APP: ("disabled", "deleted"),
}
_REFUSAL = {
    OperationKind.DISABLE_APP: "the app is already disabled",
    OperationKind.ENABLE_APP: "only a disabled app can be enabled",
    OperationKind.DELETE_APP: "only a disabled app can be deleted; disable it first (R7)",
}


def view_operation(row: Operation) -> OperationView:
    return OperationView(
        name=operation_name(row.id),
        kind=OperationKind(row.kind),
        state=OperationState(row.state),
        sdk_app_id=row.sdk_app_id,
        accepted_at=row.accepted_at,
        effective_at=row.effective_at,
        done_at=row.done_at,
        error_message=row.error_message,
    )


class Lifecycle:
    """Disable, enable and delete as operations, and the worker step that applies them."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        secondary: SecondaryCheck,
        *,
        delay: timedelta,
        tokens: PageTokens | None = None,
    ) -> None:
        self._tokens = tokens or PageTokens.ephemeral()
        self._store = store
        self._clock = clock
        self._secondary = secondary
        self._delay = delay

    def request(self, caller: Caller, sdk_app_id: int, kind: OperationKind, token: str) -> OperationView:
        """Accept ``kind`` on the app if its state allows, due ``delay`` from now."""
        self._secondary.require(caller, token)
        now = self._clock.now()
        with self._store.write() as session:
            app = load_app(session, caller, sdk_app_id)
            subject = f"apps/{sdk_app_id}"
            if app.pending_transition is not None:
                raise FailedPrecondition(
                    PreconditionViolation(
                        "APP_TRANSITION_PENDING",
                        subject,
                        f"{operation_name(app.pending_operation_id or 0)} ({app.pending_transition}) "
                        "is still pending; wait until it is done",
                    )
                )
            required, _ = _FROM_TO[kind]
            if app.lifecycle != required:
                raise FailedPrecondition(PreconditionViolation("APP_STATUS", subject, _REFUSAL[kind]))
            operation = Operation(
                account_id=caller.account_id,
                sdk_app_id=sdk_app_id,
                kind=kind.value,
                state=OperationState.PENDING.value,
                accepted_at=now,
                effective_at=now + self._delay,
                error_message="",
            )
            session.add(operation)
            session.flush()
            claimed = session.execute(
                update(App)
                .where(
                    App.sdk_app_id == sdk_app_id, App.pending_transition.is_(None), App.lifecycle == required
                )
                .values(pending_transition=_TRANSITION[kind].value, pending_operation_id=operation.id)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                raise Aborted("the app changed concurrently; retry")
            return view_operation(operation)

    def get(self, caller: Caller, name: str) -> OperationView:
        number = operation_id(name)
        if number is None:
            raise InvalidArgument(
                FieldViolation("name", "must look like operations/<number> (ASCII digits, as returned)")
            )
        with self._store.read() as session:
            row = session.get(Operation, number)
            if row is None or row.account_id != caller.account_id:
                raise NotFound("operation", name)
            return view_operation(row)

    def list(
        self,
        caller: Caller,
        *,
        page_size_requested: int,
        page_token: str,
        sdk_app_id: int,
        pending_only: bool,
    ) -> Page[OperationView]:
        size = page_size(page_size_requested)
        filters = {"app": sdk_app_id, "pending": pending_only}
        after = self._tokens.decode(page_token, "operations", filters, int_position)
        conditions: list[ColumnElement[bool]] = [Operation.account_id == caller.account_id]
        if sdk_app_id:
            conditions.append(Operation.sdk_app_id == sdk_app_id)
        if pending_only:
            conditions.append(Operation.state == OperationState.PENDING.value)
        if after is not None:
            conditions.append(Operation.id < after)
        with self._store.read() as session:
            rows = session.scalars(
                select(Operation).where(*conditions).order_by(Operation.id.desc()).limit(size + 1)
            ).all()
            views = [view_operation(r) for r in rows[:size]]
        token = self._tokens.encode("operations", rows[size - 1].id, filters) if len(rows) > size else ""
        return Page(views, token)

    def apply_due(self, *, limit: int = 100) -> int:
        """Apply every operation due by now (at most ``limit``); returns how many were applied."""
        now = self._clock.now()
        with self._store.write() as session:
            due = session.scalars(
                select(Operation)
                .where(Operation.state == OperationState.PENDING.value, Operation.effective_at <= now)
                .order_by(Operation.effective_at, Operation.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).all()
            for operation in due:
                _apply(session, operation, now)
            return len(due)

    def next_due(self) -> datetime | None:
        """When the earliest pending operation is due, if any."""
        with self._store.read() as session:
            return session.scalar(
                select(Operation.effective_at)
                .where(Operation.state == OperationState.PENDING.value)
                .order_by(Operation.effective_at)
                .limit(1)
            )


def _apply(session: Session, operation: Operation, now: datetime) -> None:
    """Put ``operation`` into effect on its app, inside the caller's transaction."""
    kind = OperationKind(operation.kind)
    _, target = _FROM_TO[kind]
    values: dict[str, object] = {
        "lifecycle": target,
        "pending_transition": None,
        "pending_operation_id": None,
        "updated_at": now,
    }
    if kind is OperationKind.DELETE_APP:
        values["deleted_at"] = now  # frees the R1 quota slot; the id is never reused (R3)
    session.execute(
        update(App)
        .where(App.sdk_app_id == operation.sdk_app_id, App.pending_operation_id == operation.id)
        .values(**values)
    )
    operation.state = OperationState.SUCCEEDED.value
    operation.done_at = now
