"""Apps: create (R1 quota, R2 names, R3 ids), read (R5), list and search (R4), update.

Every query is scoped to the caller's account: another account's app is
``NotFound``, exactly like an app that does not exist. The statement that reads
views, and R6's stop reasons, are in ``_queries``; create's hot statements (the account
row lock, a retry's lookup, R1's count and insert in one) are driver SQL in ``_create_sql``.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    bindparam,
    exists,
    func,
    select,
    update,
)

from rtcconsole_server.clock import Clock
from rtcconsole_server.domain.apps._create_sql import create_under_lock
from rtcconsole_server.domain.apps._names import check_app_description, check_app_name
from rtcconsole_server.domain.apps._queries import (
    one_view,
    operation_id,
    operation_name,
    owned,
    stop_reasons,
    view_query,
    views,
)
from rtcconsole_server.domain.apps._views import AppStatus, AppView, TagView
from rtcconsole_server.domain.common import (
    AppStateCache,
    Caller,
    Page,
    PageTokens,
    int_position,
    page_size,
    text_violations,
)
from rtcconsole_server.errors import (
    AlreadyExists,
    FieldViolation,
    InvalidArgument,
    NotFound,
    QuotaExceeded,
)
from rtcconsole_server.store import Store
from rtcconsole_server.store.models import App, AppTag

# operation_id, operation_name and stop_reasons live in _queries; named here too for their callers
__all__ = ["APP_QUOTA", "Apps", "operation_id", "operation_name", "stop_reasons"]

APP_QUOTA = 100
"""Apps an account may own at once (R1). Deleted apps free their slot when the delete takes effect."""

REQUEST_ID_MAX = 64


_COUNT_LIVE = (
    select(func.count())
    .select_from(App)
    .where(App.account_id == bindparam("account_id"), App.deleted_at.is_(None))
)


class Apps:
    """Use cases on the caller's apps."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        tokens: PageTokens | None = None,
        cache: AppStateCache | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._tokens = tokens or PageTokens.ephemeral()
        self._cache = cache

    def create(self, caller: Caller, *, name: str, description: str, request_id: str = "") -> AppView:
        """Create an app (R1, R2, R3). A retry with the same ``request_id`` returns the first app."""
        self.check_create(name=name, description=description, request_id=request_id)
        with self._store.write_core() as connection:
            return self.create_in(
                connection, caller, name=name, description=description, request_id=request_id
            )

    @staticmethod
    def check_create(*, name: str, description: str, request_id: str = "") -> None:
        """The request checks of :meth:`create` (R2), with no store work: ``InvalidArgument``."""
        violations = check_app_name(name) + check_app_description(description)
        violations += text_violations(request_id, "request_id", max_len=REQUEST_ID_MAX)
        if violations:
            raise InvalidArgument(violations)

    def create_in(
        self, connection: Connection, caller: Caller, *, name: str, description: str, request_id: str = ""
    ) -> AppView:
        """:meth:`create`'s transaction body, on a write transaction's ``connection`` (for group
        commit, ``store/group_commit.py``); the request already passed :meth:`check_create`."""
        now = self._clock.now()
        # The account row lock serialises creates of one account on PostgreSQL;
        # on SQLite BEGIN IMMEDIATE already serialises every writer (R1 under races).
        # Every statement as driver SQL (``_create_sql``): SQLAlchemy's execute layers were the
        # larger part of a create's CPU on PostgreSQL; there they are one pipeline.
        created = create_under_lock(
            connection,
            {
                "account_id": caller.account_id,
                "name": name,
                "description": description,
                "source": "",
                "secret_key": secrets.token_hex(32),  # R10: 64 hex characters
                "lifecycle": "active",
                "request_id": request_id or None,
                "push_domain": "",
                "relayed_push_enabled": False,
                "created_at": now,
                "updated_at": now,
            },
            APP_QUOTA,
        )
        earlier = created.earlier
        if earlier is not None:  # a retry: nothing was inserted
            if (earlier.name, earlier.description) != (name, description):
                raise AlreadyExists(
                    "request", request_id, "request_id was already used to create a different app"
                )
            return one_view(connection, caller, earlier.sdk_app_id)
        billing, sdk_app_id = created.billing, created.sdk_app_id
        if sdk_app_id is None:  # R1: the quota is full
            live = connection.scalar(_COUNT_LIVE, {"account_id": caller.account_id})
            raise QuotaExceeded(
                subject=f"accounts/{caller.account_id}", resource="apps", limit=APP_QUOTA, current=live or 0
            )
        reasons = stop_reasons(
            lifecycle="active",
            postpaid=billing.postpaid,
            arrears=billing.arrears,
            package_state=billing.package_state,
        )
        return AppView(
            sdk_app_id=sdk_app_id,
            name=name,
            description=description,
            source="",
            created_at=now,
            updated_at=now,
            relayed_push_enabled=False,
            push_domain="",
            status=AppStatus.STOPPED if reasons else AppStatus.NORMAL,
            stop_reasons=reasons,
            pending_transition=None,
            pending_operation=None,
            tags=(),
        )

    def get(self, caller: Caller, sdk_app_id: int) -> AppView:
        """One app of the caller (R5): from the app state cache when it holds it (decision 0035),
        else from the store (and then kept in the cache)."""
        cached = self.get_cached(caller, sdk_app_id)
        if cached is not None:
            return cached
        generation = self._cache.generation() if self._cache is not None else 0
        with self._store.read_core() as connection:
            view = one_view(connection, caller, sdk_app_id)
        if self._cache is not None:
            self._cache.put("view", sdk_app_id, (caller.account_id, view), generation)
        return view

    def get_cached(self, caller: Caller, sdk_app_id: int) -> AppView | None:
        """The caller's app if the cache holds it (no store call: safe on the event loop); None
        otherwise, another account's app included (:meth:`get` then answers NotFound)."""
        cached = self._cache.get("view", sdk_app_id) if self._cache is not None else None
        if isinstance(cached, tuple) and cached[0] == caller.account_id:
            view: AppView = cached[1]
            return view
        return None

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
        violations = text_violations(name_contains, "name_contains")
        for index, tag in enumerate(tags):
            violations += text_violations(tag.key, f"tags[{index}].key")
            violations += text_violations(tag.value, f"tags[{index}].value")
        if violations:
            raise InvalidArgument(violations)
        size = page_size(page_size_requested)
        filters = {"name": name_contains, "id": sdk_app_id, "tags": sorted((t.key, t.value) for t in tags)}
        after = self._tokens.decode(page_token, "apps", filters, int_position)
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
            conditions.append(App.sdk_app_id < after)
        page_ids = select(App.sdk_app_id).where(*conditions).order_by(App.sdk_app_id.desc()).limit(size + 1)
        with self._store.read_core() as connection:
            ids = list(connection.scalars(page_ids))
            found = views(connection.execute(view_query(App.sdk_app_id.in_(ids[:size]))).all()) if ids else []
        next_token = self._tokens.encode("apps", ids[size - 1], filters) if len(ids) > size else ""
        return Page(found, next_token)

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
        values: dict[str, object] = {"updated_at": self._clock.now()}
        if name is not None:
            values["name"] = name
        if description is not None:
            values["description"] = description
        with self._store.write_core() as connection:
            updated = connection.execute(update(App).where(*owned(caller, sdk_app_id)).values(**values))
            if updated.rowcount != 1:
                raise NotFound("app", str(sdk_app_id))
            return one_view(connection, caller, sdk_app_id)

    def secret_key(self, caller: Caller, sdk_app_id: int) -> str:
        """The app's UserSig secret key, for its owner only (R10)."""
        with self._store.read_core() as connection:
            key = connection.scalar(select(App.secret_key).where(*owned(caller, sdk_app_id)))
        if key is None:
            raise NotFound("app", str(sdk_app_id))
        return key
