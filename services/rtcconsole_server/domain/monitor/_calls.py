"""The call list (R17): the calls of one app in a time range, newest start first.

A *call* is one life of a room, from its first user in (or the room created) to its last
user out (or the room dismissed); a room used again later is a new call. Calls are not
stored: each page derives them from the stored room events by event time
(``_call_query``; decision 0020 says why, and why not a table maintained at ingest).

Ranges are half-open, ``[start, end)``, on the call's start. Presets: today and yesterday
are days of the account's time zone (UTC until set: ``AccountSettings``), the last 6 hours and the
last 14 days end at the query's instant. The look-back is 14 days: a range starting earlier
is ``InvalidArgument`` on the field that sets it, naming the limit.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from rtcconsole_server.clock import Clock
from rtcconsole_server.domain.auth import time_zone
from rtcconsole_server.domain.common import (
    Caller,
    Page,
    PageTokens,
    aware_instant,
    load_app,
    page_size,
    room_violations,
    strings_position,
    text_violations,
)
from rtcconsole_server.domain.events import room_key, room_of_key
from rtcconsole_server.domain.monitor._call_query import CallRow, query_calls
from rtcconsole_server.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PreconditionViolation,
)
from rtcconsole_server.store import Store
from rtcconsole_server.store.models import Account, App

__all__ = [
    "LOOK_BACK",
    "CallList",
    "CallRange",
    "CallRef",
    "CallView",
    "Calls",
    "find_call",
    "newest_app",
    "parse_call_id",
]

LOOK_BACK = timedelta(days=14)
"""How far before the query a range may start (R17, TRTC's 14 days)."""
CHAIN_MARGIN = timedelta(days=1)
"""Events this long before the look-back are read too, so that a call that began before
a range's start is not taken for one that starts inside it (decision 0020)."""
_LIST = "calls"


class CallRange(enum.Enum):
    """The preset ranges (the proto's ``CallRange``)."""

    TODAY = "today"
    YESTERDAY = "yesterday"
    LAST_6_HOURS = "6h"
    LAST_14_DAYS = "14d"


@dataclass(frozen=True)
class CallView:
    """One row of the call list."""

    call_id: str
    """``{sdk_app_id}_{room}_{start_unix}`` (TRTC's shape)."""
    room: int | str
    """As reported: a number or a string."""
    start: datetime
    end: datetime | None
    """None while the call goes on."""
    duration: timedelta
    """First in to last out, or to the query's instant while the call goes on."""
    users: int
    """Distinct users who ever entered."""


@dataclass(frozen=True)
class CallList:
    """A page of calls and what it describes."""

    page: Page[CallView]
    sdk_app_id: int
    start: datetime
    end: datetime
    as_of: datetime


def _midnight(instant: datetime, zone: tzinfo, days: int = 0) -> datetime:
    """Midnight (UTC instant) of the day ``days`` after the one ``instant`` falls in, in ``zone``:
    a day of a zone with daylight saving may last 23 or 25 hours."""
    day = instant.astimezone(zone).date() + timedelta(days=days)
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)


def resolve_range(
    now: datetime,
    preset: CallRange | None,
    start: datetime | None,
    end: datetime | None,
    zone: tzinfo = UTC,
) -> tuple[datetime, datetime]:
    """The ``[start, end)`` of a preset or a custom range (default: today); "today" and
    "yesterday" are days of ``zone``, the account's time zone (UTC by default)."""
    if preset is not None and (start is not None or end is not None):
        raise InvalidArgument(FieldViolation("range", "set a preset range or start_time/end_time, not both"))
    if start is not None or end is not None:
        missing = [FieldViolation(f, "is required with a custom range") for f, v in
                   (("start_time", start), ("end_time", end)) if v is None]  # fmt: skip
        if missing:
            raise InvalidArgument(missing)
        assert start is not None and end is not None
        if end <= start:
            raise InvalidArgument(FieldViolation("end_time", "must be after start_time"))
        if start < now - LOOK_BACK:
            raise InvalidArgument(
                FieldViolation(
                    "start_time",
                    f"must be at most 14 days before now (the look-back limit is {LOOK_BACK.days} days); "
                    f"the earliest allowed start is {(now - LOOK_BACK).isoformat()}",
                )
            )
        return start, end
    today = _midnight(now, zone)
    match preset or CallRange.TODAY:
        case CallRange.TODAY:
            return today, _midnight(now, zone, 1)
        case CallRange.YESTERDAY:
            return _midnight(now, zone, -1), today
        case CallRange.LAST_6_HOURS:
            return now - timedelta(hours=6), now
        case CallRange.LAST_14_DAYS:
            return now - LOOK_BACK, now


@dataclass(frozen=True)
class CallRef:
    """A call id taken apart: ``{sdk_app_id}_{room}_{start_unix}``."""

    sdk_app_id: int
    room_keys: tuple[str, ...]
    """The room keys the middle part can mean, numeric first: ``123`` may be the numeric
    room 123 or the string room "123" (TRTC's shape does not tell them apart)."""
    start: datetime
    """The call's start, to the whole second (UTC)."""


_MAX_CALL_ID = 20 + 1 + 64 + 1 + 12


def parse_call_id(call_id: str, field: str = "call_id") -> CallRef:
    """The parts of a call id, or ``InvalidArgument`` on ``field`` saying the expected shape."""
    shape = "must look like {sdk_app_id}_{room}_{start_unix}, as ListCalls returns it"
    if not call_id:
        raise InvalidArgument(FieldViolation(field, "is required: " + shape))
    if len(call_id) > _MAX_CALL_ID or "\x00" in call_id:
        raise InvalidArgument(FieldViolation(field, f"is at most {_MAX_CALL_ID} characters: " + shape))
    app_text, _, rest = call_id.partition("_")
    room, _, start_text = rest.rpartition("_")
    digits = app_text.isascii() and app_text.isdigit() and start_text.isascii() and start_text.isdigit()
    if not (digits and room):
        raise InvalidArgument(FieldViolation(field, shape))
    app_id, start_unix = int(app_text), int(start_text)
    if not (0 < app_id < 2**63) or start_unix >= 253402300800:  # 9999-12-31
        raise InvalidArgument(FieldViolation(field, shape))
    keys: list[str] = []
    if room.isascii() and room.isdigit() and 0 < int(room) < 2**32 - 1 and str(int(room)) == room:
        keys.append(room_key(int(room), None))
    if not room_violations(None, room):
        keys.append(room_key(None, room))
    if not keys:
        raise InvalidArgument(FieldViolation(field, "names a room that cannot exist: " + shape))
    return CallRef(app_id, tuple(keys), datetime.fromtimestamp(start_unix, UTC))


def _position(value: object) -> tuple[datetime, str, datetime, datetime]:
    """(call start, room key, range start, range end): the last row of a page, and the range the
    first page resolved (so that a preset's pages agree while the clock moves on)."""
    start, room, range_start, range_end = strings_position(value, 4)
    return aware_instant(start), room, aware_instant(range_start), aware_instant(range_end)


class Calls:
    """Lists calls (R17) for the caller's apps."""

    def __init__(self, store: Store, clock: Clock, *, tokens: PageTokens | None = None) -> None:
        self._store = store
        self._clock = clock
        self._tokens = tokens or PageTokens.ephemeral()

    def list(
        self,
        caller: Caller,
        *,
        sdk_app_id: int = 0,
        preset: CallRange | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        room_id: int | None = None,
        str_room_id: str | None = None,
        user_id: str = "",
        page_size_requested: int = 0,
        page_token: str = "",
    ) -> CallList:
        """A page of the app's calls that start in the range, newest start first (R17)."""
        now = self._clock.now()
        violations = text_violations(user_id, "user_id")
        if room_id is not None or str_room_id is not None:
            violations += room_violations(room_id, str_room_id)
        if violations:
            raise InvalidArgument(violations)
        size = page_size(page_size_requested)
        key = room_key(room_id, str_room_id) if room_id is not None or str_room_id is not None else None
        with self._store.read() as session:
            zone = time_zone(session.scalar(select(Account.time_zone).where(Account.id == caller.account_id)))
            resolved = resolve_range(now, preset, start, end, zone)
            app_id = (
                load_app(session, caller, sdk_app_id).sdk_app_id
                if sdk_app_id
                else newest_app(session, caller)
            )
            filters = {
                "app": app_id,
                "range": preset.value if preset else [str(start), str(end)],
                "room": key,
                "user": user_id,
            }
            position = self._tokens.decode(page_token, _LIST, filters, _position)
            after = None
            range_start, range_end = resolved
            if position is not None:
                after_start, after_room, range_start, range_end = position
                after = (after_start, after_room)
            rows = query_calls(
                session,
                sdk_app_id=app_id,
                floor=min(range_start, now - LOOK_BACK) - CHAIN_MARGIN,
                start=range_start,
                end=range_end,
                room_key=key,
                user_id=user_id or None,
                after=after,
                limit=size + 1,
            )
        views = [_view(app_id, r, now) for r in rows[:size]]
        token = ""
        if len(rows) > size:
            last = rows[size - 1]
            position_out = [
                last.start.isoformat(),
                last.room_key,
                range_start.isoformat(),
                range_end.isoformat(),
            ]
            token = self._tokens.encode(_LIST, position_out, filters)
        return CallList(Page(views, token), app_id, range_start, range_end, now)

    def get(self, caller: Caller, call_id: str) -> CallView:
        """The call ``call_id`` (as ``list`` shows it), or ``NotFound`` when the caller has no
        such app or the app no such call inside the 14-day look-back."""
        ref = parse_call_id(call_id)
        now = self._clock.now()
        with self._store.read() as session:
            load_app(session, caller, ref.sdk_app_id)
            return find_call(session, ref, now)


def find_call(session: Session, ref: CallRef, now: datetime) -> CallView:
    """The call ``ref`` names, of an app already checked to be the caller's; ``NotFound``
    when it started before the look-back or does not exist."""
    if ref.start < now - LOOK_BACK - timedelta(seconds=1):
        raise NotFound("call", _call_name(ref))
    for key in ref.room_keys:
        rows = query_calls(
            session,
            sdk_app_id=ref.sdk_app_id,
            floor=min(ref.start, now - LOOK_BACK) - CHAIN_MARGIN,
            start=ref.start,
            end=ref.start + timedelta(seconds=1),
            room_key=key,
            user_id=None,
            after=None,
            limit=1,
        )
        if rows:
            return _view(ref.sdk_app_id, rows[0], now)
    raise NotFound("call", _call_name(ref))


def _call_name(ref: CallRef) -> str:
    room = room_of_key(ref.room_keys[0])
    return f"{ref.sdk_app_id}_{room}_{int(ref.start.timestamp())}"


def _view(app_id: int, row: CallRow, now: datetime) -> CallView:
    return CallView(
        call_id=f"{app_id}_{room_of_key(row.room_key)}_{int(row.start.timestamp())}",
        room=room_of_key(row.room_key),
        start=row.start,
        end=row.end,
        duration=max((row.end or now) - row.start, timedelta(0)),
        users=row.users,
    )


def newest_app(session: Session, caller: Caller, purpose: str = "to list calls of") -> int:
    """The caller's most recently created live app (R17's default, and the real-time RPCs'), or
    ``FailedPrecondition`` (``APP_EXISTS``) saying the account has no app ``purpose``."""
    app_id = session.scalar(
        select(App.sdk_app_id)
        .where(App.account_id == caller.account_id, App.deleted_at.is_(None))
        .order_by(App.created_at.desc(), App.sdk_app_id.desc())
        .limit(1)
    )
    if app_id is None:
        raise FailedPrecondition(
            PreconditionViolation(
                "APP_EXISTS",
                f"accounts/{caller.account_id}",
                f"the account has no app {purpose}; create one or pass sdk_app_id",
            )
        )
    return app_id
