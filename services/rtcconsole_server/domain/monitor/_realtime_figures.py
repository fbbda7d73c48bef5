"""The figures of a slot (R21) and how they are read: six series per subject, one round trip.

A subject (the app, a room, a breakdown value) has two sets and four counters per slot
(``_realtime_keys.Figure``); :func:`read_figures` reads any number of (subject, slot) pairs in
one ``LiveBatch``. A stall rate is stall time ÷ total time × 100 %, its level from the
thresholds data (``stall_level``), none when nothing was received.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from rtcconsole_server.domain.monitor._realtime_keys import Figure
from rtcconsole_server.domain.monitor._thresholds import StallLevel, stall_level
from rtcconsole_server.live import LiveState

__all__ = ["Figures", "StallRate", "read_figures"]


@dataclass(frozen=True)
class StallRate:
    """One media kind's stall time and total time in a slot, in ms."""

    media: str
    """``video`` or ``audio``."""
    stall_ms: int = 0
    total_ms: int = 0

    @property
    def percent(self) -> float:
        """stall ÷ total × 100 (0 when nothing was received), at most 100."""
        return min(100.0, self.stall_ms * 100.0 / self.total_ms) if self.total_ms else 0.0

    @property
    def level(self) -> StallLevel | None:
        """The level of :attr:`percent`; None when nothing was received."""
        return stall_level(self.percent, media_kind=self.media) if self.total_ms else None

    def __add__(self, other: StallRate) -> StallRate:
        return StallRate(self.media, self.stall_ms + other.stall_ms, self.total_ms + other.total_ms)


@dataclass(frozen=True)
class Figures:
    """The figures of one subject in one slot."""

    online_users: int = 0
    abnormal_users: int = 0
    online_rooms: int = 0
    video: StallRate = StallRate("video")
    audio: StallRate = StallRate("audio")

    def __add__(self, other: Figures) -> Figures:
        """Sums: exact for breakdown values, whose users are disjoint."""
        return Figures(
            self.online_users + other.online_users,
            self.abnormal_users + other.abnormal_users,
            self.online_rooms + other.online_rooms,
            self.video + other.video,
            self.audio + other.audio,
        )


@dataclass(frozen=True)
class Wanted:
    """One (subject, slot) to read; ``rooms`` is the set whose size is ``online_rooms``, if any."""

    figure: Figure
    slot: int
    retention: timedelta
    rooms: str | None = None
    rooms_retention: timedelta | None = None


async def read_figures(live: LiveState, wanted: Sequence[Wanted]) -> list[Figures]:
    """The figures of each of ``wanted``, in order, in one round trip."""
    if not wanted:
        return []
    batch = live.batch()
    for w in wanted:
        f, kept = w.figure, w.retention
        batch.set_size(f.users, w.slot, retention=kept)
        batch.set_size(f.abnormal, w.slot, retention=kept)
        for key in (f.video_stall, f.video_total, f.audio_stall, f.audio_total):
            batch.get_count(key, w.slot, retention=kept)
        if w.rooms is not None:
            batch.set_size(w.rooms, w.slot, retention=w.rooms_retention)
    values = await batch.execute()
    found: list[Figures] = []
    at = 0
    for w in wanted:
        users, abnormal, vs, vt, as_, at_ = values[at : at + 6]
        at += 6
        rooms = 0
        if w.rooms is not None:
            rooms = values[at]
            at += 1
        found.append(
            Figures(users, abnormal, rooms, StallRate("video", vs, vt), StallRate("audio", as_, at_))
        )
    return found
