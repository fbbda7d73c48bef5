"""The call details (R18): one call's room info, and its users over a range of at most 5 hours.

The call is the one ``ListCalls`` shows under the same id (``find_call``); its users are
derived from the room's events over the call's life (``_call_sessions``), so they agree
with the call's start, end and user count. A range is half-open, ``[start, end)``; a user
is listed when one of their stays meets it. Without a range: the call's whole life when it
lasts at most 5 hours (to the query's instant while it goes on), else its last 5 hours.

Limits (R18), each an ``InvalidArgument`` with an ``ErrorInfo`` reason and the limit in its
metadata: a range over :data:`DETAILS_RANGE` (``DETAILS_RANGE_TOO_LONG``, ``max_seconds``),
more than :data:`MAX_USERS` users asked for by id or by page size
(``DETAILS_TOO_MANY_USERS``, ``max_users``). By default a page holds :data:`DEFAULT_USERS`,
latest entry first (decision 0021).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from rtcconsole_server.clock import Clock
from rtcconsole_server.domain.common import (
    Caller,
    Page,
    PageTokens,
    aware_instant,
    load_app,
    page_size,
    strings_position,
    text_violations,
)
from rtcconsole_server.domain.events import room_key
from rtcconsole_server.domain.monitor._call_sessions import (
    CallUserView,
    PresenceView,
    UserSessions,
    overlaps,
    sessions_of,
    user_row,
)
from rtcconsole_server.domain.monitor._call_users_query import call_events, sample_flags
from rtcconsole_server.domain.monitor._calls import CallRef, CallView, find_call, parse_call_id
from rtcconsole_server.errors import FieldViolation, InvalidArgument, NotFound
from rtcconsole_server.store import Store

__all__ = [
    "DEFAULT_USERS",
    "DETAILS_RANGE",
    "MAX_USERS",
    "CallDetails",
    "CallInfo",
    "CallUserList",
    "CallUserView",
    "PresenceView",
]

DETAILS_RANGE = timedelta(hours=5)
"""The longest range of one details query (R18; TRTC allows 4-5 hours)."""
DEFAULT_USERS = 6
"""Users on a page when the request names no size (R18: the 6 most recent)."""
MAX_USERS = 20
"""The most users of one query, by id or by page size (R18)."""
_LIST = "call-users"


@dataclass(frozen=True)
class CallInfo:
    """The room info of one call (R18)."""

    call: CallView
    sdk_app_id: int
    app_name: str
    as_of: datetime
    """The instant the answer describes: an ongoing duration runs to it."""


@dataclass(frozen=True)
class CallUserList:
    page: Page[CallUserView]
    call_id: str
    start: datetime
    end: datetime
    as_of: datetime
    total: int
    """Users of the range that the request selects, on every page."""


def _too_many(field: str, requested: int) -> InvalidArgument:
    return InvalidArgument(
        FieldViolation(field, f"must name at most {MAX_USERS} users (R18's limit of one query)"),
        reason="DETAILS_TOO_MANY_USERS",
        metadata={"max_users": str(MAX_USERS), "requested_users": str(requested)},
    )


def check_range(start: datetime | None, end: datetime | None) -> None:
    """Both or neither, ``end`` after ``start``, at most :data:`DETAILS_RANGE` apart."""
    if start is None and end is None:
        return
    if start is None or end is None:
        missing = "start_time" if start is None else "end_time"
        raise InvalidArgument(FieldViolation(missing, "is required with a custom range"))
    if end <= start:
        raise InvalidArgument(FieldViolation("end_time", "must be after start_time"))
    if end - start > DETAILS_RANGE:
        seconds = int(DETAILS_RANGE.total_seconds())
        raise InvalidArgument(
            FieldViolation("end_time", "must be at most 5 hours after start_time (R18's limit of one query)"),
            reason="DETAILS_RANGE_TOO_LONG",
            metadata={"max_seconds": str(seconds), "requested_seconds": f"{(end - start).total_seconds():g}"},
        )


def wanted_users(user_ids: Sequence[str]) -> frozenset[str]:
    """The users asked for: each 1-128 characters, repeats once, at most :data:`MAX_USERS`."""
    violations = [
        v
        for i, u in enumerate(user_ids)
        for v in text_violations(u, f"user_ids[{i}]", min_len=1, max_len=128)
    ]
    if violations:
        raise InvalidArgument(violations)
    wanted = frozenset(user_ids)
    if len(wanted) > MAX_USERS:
        raise _too_many("user_ids", len(wanted))
    return wanted


def default_range(call: CallView, now: datetime) -> tuple[datetime, datetime]:
    """The call's whole life if it lasts at most 5 hours, else its last 5 hours."""
    end = call.end or now
    return max(call.start, end - DETAILS_RANGE), max(end, call.start)


def _position(value: object) -> tuple[datetime, str, datetime, datetime]:
    """(last join, user id, range start, range end) of a page's last row and its first page's range."""
    join, user, start, end = strings_position(value, 4)
    return aware_instant(join), user, aware_instant(start), aware_instant(end)


class CallDetails:
    """The call details (R18) of the caller's calls."""

    def __init__(self, store: Store, clock: Clock, *, tokens: PageTokens | None = None) -> None:
        self._store = store
        self._clock = clock
        self._tokens = tokens or PageTokens.ephemeral()

    def get(self, caller: Caller, call_id: str) -> CallInfo:
        """The room info of ``call_id``; ``NotFound`` for another account's call or none."""
        ref = parse_call_id(call_id)
        now = self._clock.now()
        with self._store.read() as session:
            name = _app_name(session, caller, ref, call_id)
            return CallInfo(find_call(session, ref, now), ref.sdk_app_id, name, now)

    def list_users(
        self,
        caller: Caller,
        call_id: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        user_ids: Sequence[str] = (),
        page_size_requested: int = 0,
        page_token: str = "",
    ) -> CallUserList:
        """A page of the users of ``call_id`` over ``[start, end)``, latest entry first (R18)."""
        ref = parse_call_id(call_id)
        now = self._clock.now()
        check_range(start, end)
        wanted = wanted_users(user_ids)
        if page_size_requested > MAX_USERS:
            raise _too_many("page_size", page_size_requested)
        size = page_size(page_size_requested, default=len(wanted) or DEFAULT_USERS, maximum=MAX_USERS)
        with self._store.read() as session:
            _app_name(session, caller, ref, call_id)
            call = find_call(session, ref, now)
            filters = {"call": call.call_id, "range": [str(start), str(end)], "users": sorted(wanted)}
            position = self._tokens.decode(page_token, _LIST, filters, _position)
            range_ = (start, end) if start is not None and end is not None else default_range(call, now)
            if position is not None:
                range_ = position[2], position[3]
            key = room_key(call.room, None) if isinstance(call.room, int) else room_key(None, call.room)
            users = sessions_of(
                call_events(session, sdk_app_id=ref.sdk_app_id, room_key=key, start=call.start, end=call.end)
            )
            rows = _select(users.values(), wanted, range_)
            total = len(rows)
            if position is not None:
                after_join, after_user = position[0], position[1]
                rows = [
                    (j, u) for j, u in rows if j < after_join or (j == after_join and u.user_id > after_user)
                ]
            page = [u for _, u in rows[:size]]
            flags = sample_flags(
                session,
                sdk_app_id=ref.sdk_app_id,
                room_key=key,
                user_ids=[u.user_id for u in page],
                start=range_[0],
                end=range_[1],
            )
        streams = [(u.user_id, s) for u in users.values() for s in u.streams]
        views = [user_row(u, streams, flags[u.user_id], range_, now) for u in page]
        token = ""
        if len(rows) > size:
            last = views[-1]
            position_out = [last.last_join.isoformat(), last.user_id, *(r.isoformat() for r in range_)]
            token = self._tokens.encode(_LIST, position_out, filters)
        return CallUserList(Page(views, token), call.call_id, range_[0], range_[1], now, total)


def _select(
    users: Iterable[UserSessions], wanted: frozenset[str], range_: tuple[datetime, datetime]
) -> list[tuple[datetime, UserSessions]]:
    """(latest entry in the range, user) of the users with a stay in it, latest entry first, then by id."""
    rows = []
    for user in users:
        if wanted and user.user_id not in wanted:
            continue
        entries = [s.enter for s in user.stays if overlaps(s.enter, s.exit, *range_)]
        if entries:
            rows.append((max(entries), user))
    rows.sort(key=lambda row: row[1].user_id)
    rows.sort(key=lambda row: row[0], reverse=True)
    return rows


def _app_name(session: Session, caller: Caller, ref: CallRef, call_id: str) -> str:
    """The name of the call's app, or ``NotFound`` on the call when the caller has no such app."""
    try:
        return load_app(session, caller, ref.sdk_app_id).name
    except NotFound:
        raise NotFound("call", call_id) from None
