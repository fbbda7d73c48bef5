"""How apps are read: stop reasons (R6), operation names, and the statement behind every view.

One statement reads apps, their account's billing state and their tags (one row per
tag): the hot paths run on SQLAlchemy Core, not the ORM
(docs/decisions/0010-core-on-hot-paths.md). Every query is scoped to the caller's
account: another account's app is ``NotFound``, exactly like one that does not exist.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, Select, bindparam, select

from rtcconsole_server.domain.apps._views import AppStatus, AppView, StopReason, TagView, Transition
from rtcconsole_server.domain.common import Caller
from rtcconsole_server.errors import NotFound
from rtcconsole_server.store.models import Account, App, AppTag

__all__ = ["one_view", "operation_id", "operation_name", "owned", "stop_reasons", "view_query", "views"]

_OPERATION_NAME = re.compile(r"operations/([1-9][0-9]{0,18})")  # [0-9], not \d: ASCII digits only
_MAX_ID = 2**63 - 1
"""Largest id the store holds (signed 64-bit)."""


def operation_name(operation_id: int) -> str:
    return f"operations/{operation_id}"


def operation_id(name: str) -> int | None:
    """The id in an operation name as :func:`operation_name` writes it (``operations/`` and 1-19
    ASCII digits without a leading zero, at most 2^63 - 1); None for anything else: other digits
    (full-width, Arabic-Indic, superscript), signs, spaces, longer numbers."""
    match = _OPERATION_NAME.fullmatch(name)
    if match is None:
        return None
    number = int(match.group(1))
    return number if number <= _MAX_ID else None


def stop_reasons(
    *, lifecycle: str, postpaid: bool, arrears: bool, package_state: str
) -> tuple[StopReason, ...]:
    """Every R6 reason that stops an app now, most actionable first."""
    reasons = []
    if lifecycle == "disabled":
        reasons.append(StopReason.DISABLED_BY_OWNER)
    if not postpaid and package_state == "used_up":
        reasons.append(StopReason.PACKAGE_USED_UP)
    if not postpaid and package_state == "expired":
        reasons.append(StopReason.PACKAGE_EXPIRED)
    if postpaid and arrears:
        reasons.append(StopReason.ARREARS)
    return tuple(reasons)


_VIEW_COLUMNS = (
    App.sdk_app_id,
    App.name,
    App.description,
    App.source,
    App.created_at,
    App.updated_at,
    App.relayed_push_enabled,
    App.push_domain,
    App.lifecycle,
    App.pending_transition,
    App.pending_operation_id,
    Account.postpaid,
    Account.arrears,
    Account.package_state,
    AppTag.key,
    AppTag.value,
)


def view_query(*conditions: ColumnElement[bool]) -> Select[*tuple[Any, ...]]:
    """Apps matching ``conditions``, their billing state and tags, newest first (for :func:`views`)."""
    query: Select[*tuple[Any, ...]] = (
        select(*_VIEW_COLUMNS)
        .join(Account, Account.id == App.account_id)
        .outerjoin(AppTag, AppTag.sdk_app_id == App.sdk_app_id)
        .where(*conditions)
        .order_by(App.sdk_app_id.desc(), AppTag.key, AppTag.value)
    )
    return query


def views(rows: Sequence[Row[Any]]) -> list[AppView]:
    """Views from :func:`view_query` rows; consecutive rows of one app carry its tags."""
    found: list[AppView] = []
    tags: list[TagView] = []
    for i, row in enumerate(rows):
        if row.key is not None:
            tags.append(TagView(row.key, row.value))
        if i + 1 < len(rows) and rows[i + 1].sdk_app_id == row.sdk_app_id:
            continue
        reasons = stop_reasons(
            lifecycle=row.lifecycle,
            postpaid=row.postpaid,
            arrears=row.arrears,
            package_state=row.package_state,
        )
        found.append(
            AppView(
                sdk_app_id=row.sdk_app_id,
                name=row.name,
                description=row.description,
                source=row.source,
                created_at=row.created_at,
                updated_at=row.updated_at,
                relayed_push_enabled=row.relayed_push_enabled,
                push_domain=row.push_domain,
                status=AppStatus.STOPPED if reasons else AppStatus.NORMAL,
                stop_reasons=reasons,
                pending_transition=Transition(row.pending_transition) if row.pending_transition else None,
                pending_operation=operation_name(row.pending_operation_id)
                if row.pending_operation_id
                else None,
                tags=tuple(tags),
            )
        )
        tags = []
    return found


def owned(caller: Caller, sdk_app_id: int) -> tuple[ColumnElement[bool], ...]:
    """The conditions that pick ``sdk_app_id`` if the caller's account owns it and it is not deleted."""
    return (App.sdk_app_id == sdk_app_id, App.account_id == caller.account_id, App.deleted_at.is_(None))


# Built once: building a statement per call costs more than running it.
_ONE_VIEW = view_query(
    App.sdk_app_id == bindparam("sdk_app_id"),
    App.account_id == bindparam("account_id"),
    App.deleted_at.is_(None),
)


def one_view(connection: Connection, caller: Caller, sdk_app_id: int) -> AppView:
    """The caller's app ``sdk_app_id``; ``NotFound`` if it is not theirs or does not exist."""
    params = {"sdk_app_id": sdk_app_id, "account_id": caller.account_id}
    found = views(connection.execute(_ONE_VIEW, params).all())
    if not found:
        raise NotFound("app", str(sdk_app_id))
    return found[0]
