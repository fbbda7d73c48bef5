"""Users' sessions in one call, derived from the call's room events (R18): pure functions, no store.

A *stay* is one user entry (103): it lasts to the same user's next entry or exit in the
room, cut at the room's next dismissal (102) after it, exactly as the call list's spans
(``_call_query``), so a user who enters twice has two stays and a re-entry without an
exit ends the stay before it. A stay with nothing after it is open (it goes on). The
events come in (event time, type, id) order, so the order of their arrival never matters.

A *stream* is one user's upstream of one media kind: from a VIDEO/AUDIO/SUBSTREAM_STARTED
event (201, 203, 205) to the matching STOPPED (202, 204, 206), cut at the end of the stay it
started in. Roles are the role of each entry and of each ROLE_SWITCHED (105), in time order.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from rtcconsole_server.domain.monitor._call_query import FOREVER
from rtcconsole_server.domain.monitor._call_users_query import EventRow

__all__ = [
    "CallUserView",
    "Interval",
    "PresenceView",
    "Stay",
    "UserSessions",
    "clip",
    "meet",
    "overlaps",
    "sessions_of",
    "total_stay",
    "user_row",
]

_STARTED = {201: 1, 203: 2, 205: 3}
_STOPPED = {202: 1, 204: 2, 206: 3}


@dataclass(frozen=True)
class Stay:
    """One entry of a user into the call, to its end (None while it goes on)."""

    enter: datetime
    exit: datetime | None
    session: Mapping[str, str]
    """The session attributes reported with the entry."""


@dataclass(frozen=True)
class Interval:
    start: datetime
    end: datetime | None
    """None: still going on at the query's instant."""


@dataclass
class UserSessions:
    """Everything one user did in the call."""

    user_id: str
    stays: list[Stay] = field(default_factory=list)
    """In order of entry; only the last can be open."""
    roles: list[tuple[datetime, int]] = field(default_factory=list)
    """(time, Role number) of each entry and role switch, in time order."""
    streams: list[Interval] = field(default_factory=list)
    """The user's upstreams, any media kind."""

    def stay_at(self, instant: datetime) -> Stay | None:
        """The stay that holds ``instant`` (its entry included, its exit included)."""
        for stay in self.stays:
            if stay.enter <= instant and (stay.exit is None or instant <= stay.exit):
                return stay
        return None


def overlaps(start: datetime, end: datetime | None, range_start: datetime, range_end: datetime) -> bool:
    """Whether [start, end] meets the half-open range; an instant (start == end) inside it does."""
    if start >= range_end:
        return False
    return end is None or end > range_start or (end == start and start >= range_start)


def clip(
    start: datetime, end: datetime | None, range_start: datetime, range_end: datetime, now: datetime
) -> Interval:
    """[start, end] cut to the range; an open end stays open only when the range reaches ``now``."""
    if end is None:
        return Interval(max(start, range_start), None if range_end >= now else range_end)
    return Interval(max(start, range_start), min(end, range_end))


def meet(first: Interval, second: Interval) -> bool:
    """Whether two intervals share more than an instant (an open end is unbounded)."""
    return max(first.start, second.start) < min(first.end or FOREVER, second.end or FOREVER)


def _stays(presence: Sequence[EventRow], dismissals: Sequence[datetime]) -> list[Stay]:
    stays = []
    for index, event in enumerate(presence):
        if event.event_type != 103:
            continue
        ends = [presence[index + 1].time] if index + 1 < len(presence) else []
        cut = bisect.bisect_right(dismissals, event.time)  # a dismissal at the entry's instant sorts first
        if cut < len(dismissals):
            ends.append(dismissals[cut])
        stays.append(Stay(event.time, min(ends) if ends else None, event.session))
    return stays


def _streams(user: UserSessions, media: Sequence[EventRow]) -> list[Interval]:
    opened: dict[int, datetime] = {}
    raw: list[tuple[datetime, datetime | None]] = []
    for event in media:
        if (kind := _STARTED.get(event.event_type)) is not None:
            opened.setdefault(kind, event.time)  # a repeated start continues the stream
        elif (kind := _STOPPED.get(event.event_type)) is not None and kind in opened:
            raw.append((opened.pop(kind), event.time))
    raw += [(start, None) for start in opened.values()]
    streams = []
    for start, stop in raw:
        stay = user.stay_at(start)
        cap = start if stay is None else stay.exit  # a stream outside any stay lasts an instant
        end = cap if stop is None else stop if cap is None else min(stop, cap)
        streams.append(Interval(start, end))
    return sorted(streams, key=lambda s: s.start)


def sessions_of(events: Sequence[EventRow]) -> dict[str, UserSessions]:
    """Every user of the call's events (in (time, type, id) order) with their stays, roles, streams."""
    dismissals = [e.time for e in events if e.event_type == 102]
    presence: dict[str, list[EventRow]] = {}
    media: dict[str, list[EventRow]] = {}
    users: dict[str, UserSessions] = {}
    for event in events:
        if not event.user_id or event.event_type == 102:
            continue
        user = users.setdefault(event.user_id, UserSessions(event.user_id))
        if event.event_type in (103, 104):
            presence.setdefault(event.user_id, []).append(event)
        if event.event_type in (103, 105) and event.role:
            user.roles.append((event.time, event.role))
        if event.event_type in _STARTED or event.event_type in _STOPPED:
            media.setdefault(event.user_id, []).append(event)
    for user_id, user in users.items():
        user.stays = _stays(presence.get(user_id, []), dismissals)
        user.streams = _streams(user, media.get(user_id, []))
    return {user_id: user for user_id, user in users.items() if user.stays}


def total_stay(stays: Sequence[Stay], now: datetime) -> timedelta:
    """The sum of the stays, an open one counted to ``now``."""
    return sum((max((s.exit or now) - s.enter, timedelta(0)) for s in stays), timedelta(0))


@dataclass(frozen=True)
class PresenceView:
    """A stay clipped to the range."""

    enter: datetime
    exit: datetime | None
    """None while the user is in and the range reaches the query's instant."""


@dataclass(frozen=True)
class CallUserView:
    """One user of a call over a range (R18); the session attributes of their latest entry in it."""

    user_id: str
    role: int
    """The proto's Role number at the end of the range: 1 anchor, 2 audience."""
    roles: tuple[tuple[datetime, int], ...]
    """(time, role) of the range, each change once, the first at the range's start if held then."""
    upstream: bool
    downstream: bool
    presence: tuple[PresenceView, ...]
    first_join: datetime
    last_join: datetime
    """The latest entry at or before the range's end: the list's order."""
    last_leave: datetime | None
    """None while the user is in."""
    total_stay: timedelta
    """All the user's stays in the call, an open one to the query's instant."""
    region: str
    sdk_version: str
    platform: str
    device_model: str
    network_type: str


def user_row(
    user: UserSessions,
    others: Sequence[tuple[str, Interval]],
    flags: tuple[bool, bool],
    range_: tuple[datetime, datetime],
    now: datetime,
) -> CallUserView:
    """The row of ``user`` over ``range_``: ``others`` are every user's streams (owner, stream),
    ``flags`` whether quality samples show the user sending, receiving."""
    start, end = range_
    inside = [s for s in user.stays if overlaps(s.enter, s.exit, start, end)]
    presence = [clip(s.enter, s.exit, start, end, now) for s in inside]
    roles: list[tuple[datetime, int]] = []
    present = any(s.enter <= start and (s.exit is None or s.exit > start) for s in user.stays)
    if present and (held := [r for t, r in user.roles if t <= start]):
        roles.append((start, held[-1]))
    for time, role in user.roles:
        if (
            (time > start or (time == start and not roles))
            and time < end
            and (not roles or roles[-1][1] != role)
        ):
            roles.append((time, role))
    final = roles[-1][1] if roles else next((r for t, r in reversed(user.roles) if t < end), 0)
    upstream = flags[0] or any(overlaps(s.start, s.end, start, end) for s in user.streams)
    clipped = [
        clip(s.start, s.end, start, end, now)
        for owner, s in others
        if owner != user.user_id and overlaps(s.start, s.end, start, end)
    ]
    downstream = flags[1] or any(meet(p, s) for p in presence for s in clipped)
    attrs = inside[-1].session
    last = user.stays[-1]
    return CallUserView(
        user_id=user.user_id,
        role=final,
        roles=tuple(roles),
        upstream=upstream,
        downstream=downstream,
        presence=tuple(PresenceView(p.start, p.end) for p in presence),
        first_join=user.stays[0].enter,
        last_join=inside[-1].enter,
        last_leave=last.exit,
        total_stay=total_stay(user.stays, now),
        region=attrs.get("region", ""),
        sdk_version=attrs.get("sdk_version", ""),
        platform=attrs.get("platform", ""),
        device_model=attrs.get("device_model", ""),
        network_type=attrs.get("network_type", ""),
    )
