"""The dashboard edition (R21): who may read real time, and how far back.

An account's edition is free (the default), basic or advanced; the operator sets it
(``rtc-console admin account edition NAME free|basic|advanced``, :func:`set_edition`). Every
real-time read starts with :func:`realtime_scope`: the caller's app (another account's is
``NotFound``), then a free account is ``FailedPrecondition`` with reason ``EDITION_REQUIRED``;
a paid one gets its look-back (3 h basic, 12 h advanced), which is also how long the app's
figures are retained (``_realtime_keys.LOOK_BACK``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from rtcconsole_server.domain.common import Caller, load_app
from rtcconsole_server.domain.monitor._calls import newest_app
from rtcconsole_server.domain.monitor._realtime_keys import LOOK_BACK, Edition
from rtcconsole_server.errors import FailedPrecondition, NotFound, PreconditionViolation
from rtcconsole_server.store import Store
from rtcconsole_server.store.models import Account

__all__ = ["EDITION_REQUIRED", "RealtimeScope", "realtime_scope", "set_edition"]

EDITION_REQUIRED = "EDITION_REQUIRED"
"""``ErrorInfo.reason`` of a real-time call by a free account."""


@dataclass(frozen=True)
class RealtimeScope:
    """What a real-time read may see: one app of a paid account, and how far back."""

    sdk_app_id: int
    edition: Edition
    look_back: timedelta
    """3 h (basic) or 12 h (advanced): the retention of the app's figures."""


def set_edition(store: Store, account_id: int, edition: Edition | str) -> Edition:
    """Set the account's dashboard edition (the operator's command); ``NotFound`` for no such account."""
    chosen = Edition(edition)
    with store.write() as session:
        account = session.get(Account, account_id)
        if account is None:
            raise NotFound("account", str(account_id))
        account.edition = chosen.value
    return chosen


def realtime_scope(session: Session, caller: Caller, sdk_app_id: int) -> RealtimeScope:
    """The app to read (0: the caller's most recently created one) if the account's edition allows."""
    app_id = (
        load_app(session, caller, sdk_app_id).sdk_app_id
        if sdk_app_id
        else newest_app(session, caller, "to monitor")
    )
    stored = session.scalar(select(Account.edition).where(Account.id == caller.account_id))
    edition = Edition(stored) if stored is not None and stored in set(Edition) else Edition.FREE
    if edition is Edition.FREE:
        raise FailedPrecondition(
            PreconditionViolation(
                "EDITION",
                f"accounts/{caller.account_id}",
                "real-time monitoring needs the basic or advanced dashboard edition; "
                "the account has the free one (the operator sets it)",
            ),
            reason=EDITION_REQUIRED,
            metadata={"edition": edition.value, "required": "basic,advanced"},
        )
    return RealtimeScope(app_id, edition, LOOK_BACK[edition])
