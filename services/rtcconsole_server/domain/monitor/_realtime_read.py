"""Reading real time (R21): the overview, the charts, the room list and the breakdowns.

Each use case is two steps, so that the store is read off the event loop and the live state on
it: :meth:`RealtimeReads.scope` (the store: the caller's app and its edition, ``NotFound`` /
``EDITION_REQUIRED``), then an ``async`` read of the live state, one round trip for the figures.

*The latest data* (R21's "last 20 s") is the last **closed** slot, ``current_slot - 1``: it
started at most 20 s before ``as_of`` and its records have had up to 10 s to arrive. The
room list and the breakdowns describe that same slot, so their figures add up to the
overview's; the charts end with it. A record that arrives later still lands in its slot
(``_realtime_count``), so a re-read of a slot may show more: every answer says its slot(s)
and ``as_of``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from rtcconsole_server.clock import Clock
from rtcconsole_server.domain.common import Caller, PageTokens, page_size
from rtcconsole_server.domain.monitor._realtime_edition import RealtimeScope, realtime_scope
from rtcconsole_server.domain.monitor._realtime_figures import Figures, Wanted, read_figures
from rtcconsole_server.domain.monitor._realtime_keys import (
    DETAIL_RETENTION,
    Dimension,
    app_keys,
    dimension_keys,
    dimension_values_key,
    ended_rooms_key,
    room_keys,
    rooms_key,
)
from rtcconsole_server.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    PreconditionViolation,
)
from rtcconsole_server.live import SLOT, LiveState, slot_of, slot_start
from rtcconsole_server.store import Store

__all__ = [
    "DEFAULT_SERIES",
    "DEFAULT_TOP",
    "MAX_RANKED",
    "MAX_TOP",
    "Breakdown",
    "Overview",
    "RealtimeReads",
    "RoomList",
    "RoomOrder",
    "RoomRow",
    "Series",
]

DEFAULT_SERIES = timedelta(minutes=60)
"""The charts' range when none is asked for: 60 minutes (360 points)."""
MAX_AHEAD = timedelta(minutes=5)
"""How far past now a series may end (replicas' clocks differ)."""
MAX_RANKED = 10_000
"""Rooms (or breakdown values) of one slot ranked by one call; beyond, the smallest keys."""
DEFAULT_TOP, MAX_TOP = 10, 100
"""Breakdown values listed one by one: 10 by default, 100 at most."""
_LIST = "realtime_rooms"


class RoomOrder(enum.IntEnum):
    """``RealtimeRoomOrder``: what the room list is sorted by (0: online users)."""

    ONLINE_USERS = 1
    ABNORMAL_USERS = 2
    VIDEO_STALL_RATE = 3
    AUDIO_STALL_RATE = 4
    ROOM = 5


@dataclass(frozen=True)
class Overview:
    sdk_app_id: int
    slot: int
    as_of: datetime
    figures: Figures


@dataclass(frozen=True)
class Series:
    sdk_app_id: int
    first_slot: int
    end_slot: int
    """Exclusive."""
    as_of: datetime
    points: list[tuple[int, Figures]]
    look_back: timedelta


@dataclass(frozen=True)
class RoomRow:
    room_key: str
    figures: Figures


@dataclass(frozen=True)
class RoomList:
    sdk_app_id: int
    slot: int
    as_of: datetime
    rooms: list[RoomRow]
    next_page_token: str
    total_size: int
    truncated: bool


@dataclass(frozen=True)
class Breakdown:
    sdk_app_id: int
    dimension: Dimension
    slot: int
    as_of: datetime
    values: list[tuple[str, Figures]]
    rest: Figures
    value_count: int


def _room_order(key: str) -> tuple[int, int, str]:
    kind, _, value = key.partition(":")
    return (0, int(value), "") if kind == "n" and value.isdigit() else (1, 0, value)


_SORT_KEYS: dict[RoomOrder, Callable[[RoomRow], float]] = {
    RoomOrder.ONLINE_USERS: lambda r: r.figures.online_users,
    RoomOrder.ABNORMAL_USERS: lambda r: r.figures.abnormal_users,
    RoomOrder.VIDEO_STALL_RATE: lambda r: r.figures.video.percent,
    RoomOrder.AUDIO_STALL_RATE: lambda r: r.figures.audio.percent,
}


def _offset(value: object) -> tuple[int, int]:
    if not (isinstance(value, list) and len(value) == 2 and all(type(v) is int and v >= 0 for v in value)):
        raise ValueError("not a (slot, offset) pair")
    return value[0], value[1]


class RealtimeReads:
    """The real-time read use cases over one store, clock and live state."""

    def __init__(self, store: Store, clock: Clock, live: LiveState | None, *, tokens: PageTokens) -> None:
        self._store = store
        self._clock = clock
        self._live = live
        self._tokens = tokens

    def scope(self, caller: Caller, sdk_app_id: int) -> RealtimeScope:
        """The app to read and its edition's look-back (blocking: run it in the store's pool)."""
        with self._store.read() as session:
            return realtime_scope(session, caller, sdk_app_id)

    def _state(self) -> LiveState:
        if self._live is None:
            raise FailedPrecondition(
                PreconditionViolation("LIVE_STATE", "server", "this process has no live state")
            )
        return self._live

    def _latest(self) -> int:
        return self._state().current_slot() - 1

    async def overview(self, scope: RealtimeScope) -> Overview:
        """The app's figures in the last closed slot."""
        slot, now = self._latest(), self._clock.now()
        app = scope.sdk_app_id
        wanted = Wanted(app_keys(app), slot, scope.look_back, rooms_key(app), scope.look_back)
        (figures,) = await read_figures(self._state(), [wanted])
        return Overview(app, slot, now, figures)

    async def series(self, scope: RealtimeScope, start: datetime | None, end: datetime | None) -> Series:
        """One point per slot of [start, end) rounded out to slots; default the last 60 minutes."""
        live, now = self._state(), self._clock.now()
        if (start is None) != (end is None):
            missing = "end_time" if end is None else "start_time"
            raise InvalidArgument(FieldViolation(missing, "start_time and end_time go together"))
        if start is None or end is None:
            end_slot = self._latest() + 1
            first = end_slot - round(DEFAULT_SERIES / SLOT)
        else:
            first, end_slot = slot_of(start), -(-(end - slot_start(0)) // SLOT)
            if end <= start:
                raise InvalidArgument(FieldViolation("end_time", "must be after start_time"))
            if end > now + MAX_AHEAD:
                raise InvalidArgument(FieldViolation("end_time", "must be at most 5 minutes ahead of now"))
        oldest = live.oldest_live_slot(scope.look_back)
        if first < oldest:
            if start is not None:
                raise InvalidArgument(
                    FieldViolation(
                        "start_time",
                        f"reaches back more than the {scope.edition.value} edition's look-back of "
                        f"{scope.look_back.total_seconds() / 3600:g} h",
                    ),
                    reason="REALTIME_LOOK_BACK_EXCEEDED",
                    metadata={"look_back_seconds": str(int(scope.look_back.total_seconds()))},
                )
            first = oldest
        app = scope.sdk_app_id
        slots = list(range(first, end_slot))
        wanted = [Wanted(app_keys(app), s, scope.look_back, rooms_key(app), scope.look_back) for s in slots]
        figures = await read_figures(live, wanted)
        return Series(app, first, end_slot, now, list(zip(slots, figures, strict=True)), scope.look_back)

    async def rooms(
        self, scope: RealtimeScope, *, order: int, ascending: bool, page_size_requested: int, page_token: str
    ) -> RoomList:
        """The rooms online and not dismissed in the last closed slot, sorted, one page."""
        try:
            chosen = RoomOrder(order or RoomOrder.ONLINE_USERS)
        except ValueError:
            raise InvalidArgument(FieldViolation("order_by", "is not a RealtimeRoomOrder")) from None
        size = page_size(page_size_requested)
        live, app = self._state(), scope.sdk_app_id
        filters = {"app": app, "order": chosen.value, "ascending": ascending}
        position = self._tokens.decode(page_token, _LIST, filters, _offset)
        slot, offset = position if position is not None else (self._latest(), 0)
        online = await live.set_members(rooms_key(app), slot, retention=scope.look_back)
        ended = await live.set_members(ended_rooms_key(app), slot, retention=DETAIL_RETENTION)
        keys = sorted(online - ended, key=_room_order)
        truncated = len(keys) > MAX_RANKED
        keys = keys[:MAX_RANKED]
        figures = await read_figures(live, [Wanted(room_keys(app, k), slot, DETAIL_RETENTION) for k in keys])
        rows = [
            RoomRow(k, Figures(f.online_users, f.abnormal_users, 1, f.video, f.audio))
            for k, f in zip(keys, figures, strict=True)
        ]
        if chosen is RoomOrder.ROOM:
            if not ascending:
                rows.reverse()
        else:  # ties by room, ascending, whichever way the figure goes
            sort_key = _SORT_KEYS[chosen]
            rows.sort(key=lambda r: -sort_key(r) if not ascending else sort_key(r))
        page = rows[offset : offset + size]
        token = (
            self._tokens.encode(_LIST, [slot, offset + size], filters) if offset + size < len(rows) else ""
        )
        return RoomList(app, slot, self._clock.now(), page, token, len(rows), truncated)

    async def breakdown(self, scope: RealtimeScope, *, dimension: int, top: int) -> Breakdown:
        """One dimension's values in the last closed slot: the ``top`` with the most online users,
        the rest summed."""
        try:
            chosen = Dimension(dimension)
        except ValueError:
            raise InvalidArgument(FieldViolation("dimension", "is required: a RealtimeDimension")) from None
        if top < 0:
            raise InvalidArgument(FieldViolation("top", "must not be negative"))
        listed = min(top or DEFAULT_TOP, MAX_TOP)
        live, app, slot = self._state(), scope.sdk_app_id, self._latest()
        values = sorted(
            await live.set_members(dimension_values_key(app, chosen), slot, retention=DETAIL_RETENTION)
        )
        values = values[:MAX_RANKED]
        wanted = [Wanted(dimension_keys(app, chosen, v), slot, DETAIL_RETENTION) for v in values]
        figures = await read_figures(live, wanted)
        ranked = sorted(zip(values, figures, strict=True), key=lambda vf: (-vf[1].online_users, vf[0]))
        rest = Figures()
        for _, f in ranked[listed:]:
            rest += f
        return Breakdown(app, chosen, slot, self._clock.now(), ranked[:listed], rest, len(values))
