"""The tenancy guard: an account reaches only its own apps.

Another account's app is ``NotFound``, exactly like an app that does not exist,
so nothing tells a caller which SDKAppIDs other tenants hold.
"""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from rtcconsole_server.domain.common._caller import Caller
from rtcconsole_server.errors import NotFound
from rtcconsole_server.store.models import App

__all__ = ["load_app", "require_app"]


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


_LIVE_APP = select(App.sdk_app_id).where(
    App.sdk_app_id == bindparam("app"), App.account_id == bindparam("account"), App.deleted_at.is_(None)
)
""":func:`load_app`'s statement for one column: a Core row, not an ORM entity."""


def require_app(session: Session, caller: Caller, sdk_app_id: int) -> None:
    """``NotFound`` unless ``sdk_app_id`` is the caller's live app: :func:`load_app`'s rule for a
    read that needs only the check (the ORM's load costs more than the statement)."""
    if session.execute(_LIVE_APP, {"app": sdk_app_id, "account": caller.account_id}).first() is None:
        raise NotFound("app", str(sdk_app_id))
