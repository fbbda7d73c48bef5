"""The top rooms of a slot for SubscribeRealtime's frames (R21): ListRealtimeRooms' first rows.

A frame can carry the rooms with the most online users (``SubscribeRealtimeRequest.top_rooms``).
They are ranked exactly as ``ListRealtimeRooms`` sorts by online users, largest first: the rooms
online in the slot and not dismissed in it, at most :data:`MAX_RANKED` of them (the smallest
keys), most online users first, ties by room (numeric rooms before string rooms), read the same
way (the two room sets, then every room's figures in one round trip), so a frame's top rooms
equal the first rows of ``ListRealtimeRooms`` for the same slot, read at the same moment.

Per-room figures are kept :data:`DETAIL_RETENTION` (10 minutes): an older slot has none.

**Built once.** The frame of a slot is built once per app in the cluster, by whichever replica
wins its claim (``_realtime_stream``), and that replica may have no subscriber that asked for
top rooms. So a replica whose subscribers want them increments the slot's :func:`wanted_key`
ahead of time (when such a subscriber joins: the next slot due; at each slot's tick: the one
after); the builder reads it in the claim's round trip and ranks the rooms only when someone
asked. The frame is ranked with :data:`MAX_TOP_ROOMS` rooms and each stream cuts it to what its
client asked for.
"""

from __future__ import annotations

from datetime import timedelta

from rtcconsole_server.domain.monitor._realtime_figures import Figures, Wanted, read_figures
from rtcconsole_server.domain.monitor._realtime_keys import (
    DETAIL_RETENTION,
    ended_rooms_key,
    room_keys,
    rooms_key,
)
from rtcconsole_server.domain.monitor._realtime_read import MAX_RANKED, RoomRow
from rtcconsole_server.domain.monitor._realtime_read import _room_order as room_order
from rtcconsole_server.errors import FieldViolation, InvalidArgument
from rtcconsole_server.live import LiveState

__all__ = ["MAX_TOP_ROOMS", "TopRooms", "check_top_rooms", "rank_top_rooms", "wanted_key"]

MAX_TOP_ROOMS = 20
"""Rooms a frame carries at most (``top_rooms`` larger than 20 means 20)."""

TopRooms = tuple[RoomRow, ...]
"""A slot's top rooms, most online users first."""


def wanted_key(sdk_app_id: int) -> str:
    """Per-slot counter: how many replicas want the slot's frame ranked with top rooms."""
    return f"rt:{{{sdk_app_id}}}:top"


def check_top_rooms(requested: int) -> int:
    """The rooms a stream gets per frame: ``requested`` capped at :data:`MAX_TOP_ROOMS`."""
    if requested < 0:
        raise InvalidArgument(FieldViolation("top_rooms", "must not be negative"))
    return min(requested, MAX_TOP_ROOMS)


async def rank_top_rooms(live: LiveState, sdk_app_id: int, look_back: timedelta, slot: int) -> TopRooms:
    """The :data:`MAX_TOP_ROOMS` rooms of ``slot`` with the most online users (none once the
    slot is older than the per-room retention); three live-state round trips."""
    if not live.is_live(slot, retention=DETAIL_RETENTION):
        return ()
    online = await live.set_members(rooms_key(sdk_app_id), slot, retention=look_back)
    ended = await live.set_members(ended_rooms_key(sdk_app_id), slot, retention=DETAIL_RETENTION)
    keys = sorted(online - ended, key=room_order)[:MAX_RANKED]
    found = await read_figures(live, [Wanted(room_keys(sdk_app_id, k), slot, DETAIL_RETENTION) for k in keys])
    ranked = sorted(zip(keys, found, strict=True), key=lambda kf: -kf[1].online_users)  # stable: ties by room
    return tuple(
        RoomRow(k, Figures(f.online_users, f.abnormal_users, 1, f.video, f.audio))
        for k, f in ranked[:MAX_TOP_ROOMS]
    )
