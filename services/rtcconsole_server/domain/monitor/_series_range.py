"""The call and the range of a user view, a quality series or a client-event list (R18-R20).

Every one of those reads names a call (``call_id``), one of its users, and a range
``[start, end)`` inside the call of at most :data:`MAX_RANGE` (R18's 5 hours):

- ``start`` at or after the call's start; ``end`` at most :data:`END_GRACE` after the call's
  end (the last samples and events of a stay are measured up to the exit and arrive after
  it), or after the query's instant while the call goes on;
- without a range, the call's whole life (to its end + the grace) when that is at most
  5 hours, else its last 5 hours;
- longer than 5 hours is ``InvalidArgument`` with reason ``DETAILS_RANGE_TOO_LONG`` and the
  limit in its metadata (an ``ErrorInfo`` on the wire): ``_call_users.check_range``, the
  same check as ListCallUsers.

Another account's call, or one that does not exist, is ``NotFound`` (``find_call``); so is a
call of an app that is not the caller's live app (``require_app``: ``load_app``'s rule).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from rtcconsole_server.domain.common import Caller, require_app, text_violations
from rtcconsole_server.domain.events import room_key
from rtcconsole_server.domain.monitor._call_users import DETAILS_RANGE, check_range
from rtcconsole_server.domain.monitor._calls import CallView, find_call, parse_call_id
from rtcconsole_server.domain.monitor._samples import MAX_ID, check_peer
from rtcconsole_server.errors import FieldViolation, InvalidArgument

__all__ = ["END_GRACE", "MAX_RANGE", "CallScope", "check_user", "resolve_scope"]

MAX_RANGE = DETAILS_RANGE
"""The longest range of one details query (R18): the call details' own limit."""
END_GRACE = timedelta(seconds=60)
"""How far past the call's end a range may reach: the longest sample interval."""


@dataclass(frozen=True)
class CallScope:
    """A call of the caller's and the range a read covers."""

    call: CallView
    sdk_app_id: int
    room_key: str
    start: datetime
    end: datetime
    """Exclusive."""
    as_of: datetime


def check_user(user_id: str, peer_id: str = "") -> list[FieldViolation]:
    """``user_id`` 1-128 characters; ``peer_id`` empty or 1-128 and not ``user_id``."""
    problems = text_violations(user_id, "user_id", min_len=1, max_len=MAX_ID)
    if peer_id:
        problems += check_peer(peer_id, user_id)
    return problems


def resolve_scope(
    session: Session,
    caller: Caller,
    *,
    call_id: str,
    start: datetime | None,
    end: datetime | None,
    now: datetime,
) -> CallScope:
    """The caller's call ``call_id`` and the range applied (the module's rules)."""
    ref = parse_call_id(call_id)
    check_range(start, end)  # both or neither, in order, at most 5 hours: as ListCallUsers
    require_app(session, caller, ref.sdk_app_id)
    call = find_call(session, ref, now)
    key = room_key(call.room, None) if isinstance(call.room, int) else room_key(None, call.room)
    latest = call.end + END_GRACE if call.end is not None else now
    if start is None or end is None:
        end = max(latest, call.start + timedelta(seconds=1))
        start = max(call.start, end - MAX_RANGE)
    else:
        problems = []
        if start < call.start:
            problems.append(
                FieldViolation(
                    "start_time", f"must be at or after the call's start, {call.start.isoformat()}"
                )
            )
        if end > latest:
            problems.append(
                FieldViolation(
                    "end_time", f"must be at most {latest.isoformat()} (the call's end + 60 s, or now)"
                )
            )
        if problems:
            raise InvalidArgument(problems)
    return CallScope(call, ref.sdk_app_id, key, start, end, now)
