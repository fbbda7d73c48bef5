"""Apps: create (R1 quota, R2 names, R3 ids), read (R5), list and search (R4), update.

Every query is scoped to the caller's account: another account's app is
``NotFound``, exactly like an app that does not exist.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import ColumnElement, and_, exists, func, select
from sqlalchemy.orm import Session

from rtcconsole_server.clock import Clock
from rtcconsole_server.domain.names import check_app_description, check_app_name
from rtcconsole_server.domain.paging import Page, decode_page_token, encode_page_token, page_size
from rtcconsole_server.domain.views import (
    AppStatus,
    AppView,
    Caller,
    StopReason,
    TagView,
    Transition,
)
from rtcconsole_server.errors import (
    AlreadyExists,
    FieldViolation,
    InvalidArgument,
    NotFound,
    QuotaExceeded,
)
from rtcconsole_server.store import Store
from rtcconsole_server.store.models import Account, App, AppTag

__all__ = ["APP_QUOTA", "Apps", "load_app", "operation_name", "stop_reasons", "view_app"]

APP_QUOTA = 100
"""Apps an account may own at once (R1). Deleted apps free their slot when the delete takes effect."""

REQUEST_ID_MAX = 64


def operation_name(operation_id: int) -> str:
    return f"operations/{operation_id}"


def stop_reasons(app: App, account: Account) -> tuple[StopReason, ...]:
    """Every R6 reason that stops ``app`` now, most actionable first."""
    reasons = []
    if app.lifecycle == "disabled":
        reasons.append(StopReason.DISABLED_BY_OWNER)
    if not account.postpaid and account.package_state == "used_up":
        reasons.append(StopReason.PACKAGE_USED_UP)
    if not account.postpaid and account.package_state == "expired":
        reasons.append(StopReason.PACKAGE_EXPIRED)
    if account.postpaid and account.arrears:
        reasons.append(StopReason.ARREARS)
    return tuple(reasons)


def view_app(app: App, account: Account, tags: Sequence[TagView]) -> AppView:
    reasons = stop_reasons(app, account)
    return AppView(
        sdk_app_id=app.sdk_app_id,
        name=app.name,
        description=app.description,
        source=app.source,
        created_at=app.created_at,
        updated_at=app.updated_at,
        relayed_push_enabled=app.relayed_push_enabled,
        push_domain=app.push_domain,
        status=AppStatus.STOPPED if reasons else AppStatus.NORMAL,
        stop_reasons=reasons,
        pending_transition=Transition(app.pending_transition) if app.pending_transition else None,
        pending_operation=operation_name(app.pending_operation_id) if app.pending_operation_id else None,
        tags=tuple(tags),
    )


def load_app(session: Session, caller: Caller, sdk_app_id: int, *, for_update: bool = False) -> App:
    """The caller's live app ``sdk_app_id``, or ``NotFound``."""
    query = select(App).where(
        App.sdk_app_id == sdk_app_id, App.account_id == caller.account_id, App.deleted_at.is_(None)
    )
    if for_update:
        query = query.with_for_update()
    app = session.scalars(query).first()
    if app is None:
        raise NotFound("app", str(sdk_app_id))
    return app


def _tags_of(session: Session, ids: Sequence[int]) -> dict[int, list[TagView]]:
    found: dict[int, list[TagView]] = defaultdict(list)
    if ids:
        rows = session.execute(
            select(AppTag.sdk_app_id, AppTag.key, AppTag.value)
            .where(AppTag.sdk_app_id.in_(ids))
            .order_by(AppTag.key, AppTag.value)
        )
        for sdk_app_id, key, value in rows:
            found[sdk_app_id].append(TagView(key, value))
    return found


class Apps:
    """Use cases on the caller's apps."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def create(self, caller: Caller, *, name: str, description: str, request_id: str = "") -> AppView:
        """Create an app (R1, R2, R3). A retry with the same ``request_id`` returns the first app."""
        violations = check_app_name(name) + check_app_description(description)
        if len(request_id) > REQUEST_ID_MAX:
            violations.append(FieldViolation("request_id", f"must be at most {REQUEST_ID_MAX} characters"))
        if violations:
            raise InvalidArgument(violations)
        now = self._clock.now()
        with self._store.write() as session:
            # The account row lock serialises creates of one account on PostgreSQL;
            # on SQLite BEGIN IMMEDIATE already serialises every writer (R1 under races).
            account = session.scalars(
                select(Account).where(Account.id == caller.account_id).with_for_update()
            ).one()
            if request_id:
                earlier = session.scalars(
                    select(App).where(App.account_id == caller.account_id, App.request_id == request_id)
                ).first()
                if earlier is not None:
                    if (earlier.name, earlier.description) != (name, description):
                        raise AlreadyExists(
                            "request", request_id, "request_id was already used to create a different app"
                        )
                    if earlier.deleted_at is not None:
                        raise NotFound("app", str(earlier.sdk_app_id))
                    return view_app(
                        earlier, account, _tags_of(session, [earlier.sdk_app_id])[earlier.sdk_app_id]
                    )
            live = session.scalar(
                select(func.count())
                .select_from(App)
                .where(App.account_id == caller.account_id, App.deleted_at.is_(None))
            )
            assert live is not None
            if live >= APP_QUOTA:
                raise QuotaExceeded(
                    subject=f"accounts/{caller.account_id}", resource="apps", limit=APP_QUOTA, current=live
                )
            app = App(
                account_id=caller.account_id,
                name=name,
                description=description,
                source="",
                secret_key=secrets.token_hex(32),  # R10: 64 hex characters
                lifecycle="active",
                request_id=request_id or None,
                push_domain="",
                relayed_push_enabled=False,
                created_at=now,
                updated_at=now,
            )
            session.add(app)
            session.flush()
            return view_app(app, account, [])

    def get(self, caller: Caller, sdk_app_id: int) -> AppView:
        """One app of the caller (R5)."""
        with self._store.read() as session:
            app = load_app(session, caller, sdk_app_id)
            account = session.get_one(Account, caller.account_id)
            return view_app(app, account, _tags_of(session, [sdk_app_id])[sdk_app_id])

    def list(
        self,
        caller: Caller,
        *,
        page_size_requested: int = 0,
        page_token: str = "",
        name_contains: str = "",
        sdk_app_id: int = 0,
        tags: Sequence[TagView] = (),
    ) -> Page[AppView]:
        """The caller's apps, newest first (R4), filtered by name, SDKAppID and tags (R8)."""
        size = page_size(page_size_requested)
        filters = {"name": name_contains, "id": sdk_app_id, "tags": sorted((t.key, t.value) for t in tags)}
        after = decode_page_token(page_token, filters)
        conditions: list[ColumnElement[bool]] = [
            App.account_id == caller.account_id,
            App.deleted_at.is_(None),
        ]
        if name_contains:
            conditions.append(App.name.icontains(name_contains, autoescape=True))
        if sdk_app_id:
            conditions.append(App.sdk_app_id == sdk_app_id)
        for tag in tags:
            conditions.append(
                exists().where(
                    and_(
                        AppTag.sdk_app_id == App.sdk_app_id, AppTag.key == tag.key, AppTag.value == tag.value
                    )
                )
            )
        if after is not None:
            if not isinstance(after, int):
                raise InvalidArgument(FieldViolation("page_token", "is not a token this service issued"))
            conditions.append(App.sdk_app_id < after)
        with self._store.read() as session:
            rows = session.scalars(
                select(App).where(*conditions).order_by(App.sdk_app_id.desc()).limit(size + 1)
            ).all()
            account = session.get_one(Account, caller.account_id)
            page = rows[:size]
            tags_by_app = _tags_of(session, [a.sdk_app_id for a in page])
            views = [view_app(a, account, tags_by_app[a.sdk_app_id]) for a in page]
        next_token = encode_page_token(page[-1].sdk_app_id, filters) if len(rows) > size else ""
        return Page(views, next_token)

    def update(
        self, caller: Caller, sdk_app_id: int, *, name: str | None = None, description: str | None = None
    ) -> AppView:
        """Set the name and/or description (R2); None leaves a field as it is."""
        violations: list[FieldViolation] = []
        if name is not None:
            violations += check_app_name(name, field="app.name")
        if description is not None:
            violations += check_app_description(description, field="app.description")
        if violations:
            raise InvalidArgument(violations)
        with self._store.write() as session:
            app = load_app(session, caller, sdk_app_id, for_update=True)
            if name is not None:
                app.name = name
            if description is not None:
                app.description = description
            app.updated_at = self._clock.now()
            account = session.get_one(Account, caller.account_id)
            return view_app(app, account, _tags_of(session, [sdk_app_id])[sdk_app_id])

    def secret_key(self, caller: Caller, sdk_app_id: int) -> str:
        """The app's UserSig secret key, for its owner only (R10)."""
        with self._store.read() as session:
            return load_app(session, caller, sdk_app_id).secret_key
