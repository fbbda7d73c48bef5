"""R21's real-time vocabulary: dashboard editions, breakdown dimensions and the live-state keys.

Every key of one app starts ``rt:{<sdk_app_id>}:`` (the braces are a Redis Cluster hash tag:
one app's keys live on one shard) and is one series of per-slot counters or sets
(``live.LiveState``). Two retentions (docs/live-state.md, "Real-time keys"):

* the app's totals, read by the overview and the charts, are kept for the edition's
  look-back (:data:`LOOK_BACK`: 3 h basic, 12 h advanced);
* the per-room and per-breakdown-value figures, read only for the latest closed slot (room
  list, breakdown; a later stream's frame), are kept :data:`DETAIL_RETENTION` (10 minutes):
  enough for late records and a reconnecting subscriber, at a fraction of the memory.

The app's three total sets (users, abnormal users, rooms) take members for
:data:`MEMBERSHIP_WINDOW` (10 minutes) only; from :data:`COMPACT_AFTER` (11 minutes) on, each
slot's sets are compacted into their sizes for the rest of the look-back (decision 0036,
``_realtime_compact``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import timedelta

__all__ = [
    "COMPACT_AFTER",
    "COMPACT_CLAIM_RETENTION",
    "DETAIL_RETENTION",
    "LOOK_BACK",
    "MEMBERSHIP_WINDOW",
    "Dimension",
    "Edition",
    "Figure",
    "app_keys",
    "app_sets",
    "compact_claim_key",
    "dimension_keys",
    "dimension_values_key",
    "ended_rooms_key",
    "member",
    "room_keys",
    "rooms_key",
]

DETAIL_RETENTION = timedelta(minutes=10)
"""How long per-room and per-breakdown-value figures are kept: 10 minutes (60 slots)."""

MEMBERSHIP_WINDOW = DETAIL_RETENTION
"""How long a slot's sets take members: 10 minutes. A record older than that counts in its
slot's stall and total time only (decision 0036), so a set never changes once compacted."""

COMPACT_AFTER = MEMBERSHIP_WINDOW + timedelta(minutes=1)
"""Age from which a slot's app-total sets are compacted: 11 minutes, the membership window plus
a minute for replicas' clocks (``live.redis.EXPIRY_GRACE``)."""

COMPACT_CLAIM_RETENTION = timedelta(minutes=20)
"""How long a slot's compaction claim (:func:`compact_claim_key`) is kept: past the compaction
age, so a replica a few minutes late still finds it."""


class Edition(enum.StrEnum):
    """An account's dashboard edition (R21); only the paid ones have the real-time API."""

    FREE = "free"
    BASIC = "basic"
    ADVANCED = "advanced"


LOOK_BACK = {Edition.BASIC: timedelta(hours=3), Edition.ADVANCED: timedelta(hours=12)}
"""How far back the real-time figures of a paid edition reach (TRTC's own figures); the app's
totals are retained that long."""


class Dimension(enum.IntEnum):
    """A breakdown dimension (``RealtimeDimension``): the session attribute it reads."""

    COUNTRY = 1
    PROVINCE = 2
    NETWORK = 3
    DEVICE = 4
    SDK_VERSION = 5
    CARRIER = 6

    @property
    def attribute(self) -> str:
        """The ``SessionAttributes`` field (``network_type`` for NETWORK)."""
        return _ATTRIBUTES[self]


_ATTRIBUTES = {
    Dimension.COUNTRY: "country",
    Dimension.PROVINCE: "province",
    Dimension.NETWORK: "network_type",
    Dimension.DEVICE: "device_model",
    Dimension.SDK_VERSION: "sdk_version",
    Dimension.CARRIER: "carrier",
}


@dataclass(frozen=True)
class Figure:
    """The six series of one subject (the app, a room, a breakdown value)."""

    users: str
    """Set of online users: ``member(room, user)`` (a room's set holds user ids only)."""
    abnormal: str
    """Set of abnormal users, the same members."""
    video_stall: str
    """Counter: video stall time, ms."""
    video_total: str
    """Counter: video total (downstream) time, ms."""
    audio_stall: str
    audio_total: str

    def stall_keys(self, media: str) -> tuple[str, str]:
        """(stall, total) counters of ``media`` (``"video"`` or ``"audio"``)."""
        return (
            (self.video_stall, self.video_total) if media == "video" else (self.audio_stall, self.audio_total)
        )


def _prefix(sdk_app_id: int) -> str:
    return f"rt:{{{sdk_app_id}}}:"


def _figure(base: str, suffix: str = "") -> Figure:
    return Figure(
        users=f"{base}users{suffix}",
        abnormal=f"{base}abnormal{suffix}",
        video_stall=f"{base}vs{suffix}",
        video_total=f"{base}vt{suffix}",
        audio_stall=f"{base}as{suffix}",
        audio_total=f"{base}at{suffix}",
    )


def app_keys(sdk_app_id: int) -> Figure:
    """The app's totals (edition retention)."""
    return _figure(_prefix(sdk_app_id))


def app_sets(sdk_app_id: int) -> tuple[str, str, str]:
    """The app's total sets (users, abnormal users, rooms): what compaction turns into sizes."""
    keys = app_keys(sdk_app_id)
    return keys.users, keys.abnormal, rooms_key(sdk_app_id)


def compact_claim_key(sdk_app_id: int) -> str:
    """Per-slot counter whose first increment wins the right to compact the slot's sets."""
    return f"{_prefix(sdk_app_id)}compact"


def rooms_key(sdk_app_id: int) -> str:
    """Set of the room keys online in the slot (edition retention)."""
    return f"{_prefix(sdk_app_id)}rooms"


def ended_rooms_key(sdk_app_id: int) -> str:
    """Set of the room keys dismissed in the slot (detail retention)."""
    return f"{_prefix(sdk_app_id)}ended"


def room_keys(sdk_app_id: int, room_key: str) -> Figure:
    """One room's figures (detail retention); the room key comes last, so no two rooms collide."""
    return _figure(f"{_prefix(sdk_app_id)}r:", f":{room_key}")


def dimension_values_key(sdk_app_id: int, dimension: Dimension) -> str:
    """Set of the values of ``dimension`` seen in the slot (detail retention)."""
    return f"{_prefix(sdk_app_id)}d:{dimension.attribute}"


def dimension_keys(sdk_app_id: int, dimension: Dimension, value: str) -> Figure:
    """One breakdown value's figures (detail retention); the value comes last."""
    return _figure(f"{_prefix(sdk_app_id)}d:{dimension.attribute}:", f":{value}")


def member(room_key: str, user_id: str) -> str:
    """A (room, user) as a set member: a user in two rooms is two members (R21)."""
    return f"{room_key}\x1f{user_id}"
