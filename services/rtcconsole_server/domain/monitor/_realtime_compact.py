"""Compacting the app's total sets (R21, decision 0036): a slot's members kept 11 minutes, not 12 h.

The app's totals are read for the whole look-back (3 h basic, 12 h advanced), but only as sizes:
online users, abnormal users and online rooms per slot. Their members matter only while records
may still join the slot, :data:`MEMBERSHIP_WINDOW` (10 minutes; an older record counts in its
slot's stall and total time only, ``_realtime_count``). So once a slot is :data:`COMPACT_AFTER`
old (11 minutes: the window plus a minute for replicas' clocks), its three sets are compacted
(``LiveBatch.compact_set``): each keeps its size, which every read (overview, series, frames,
resumes) answers as before, and drops its members.

**Who.** Each process's :class:`Compactor` notes the (app, slot) whose total sets its own
ingest wrote. After each ingest batch (of any app: one with no subscriber, or whose ingest
stopped, is compacted all the same) it runs at most once per slot of the clock: for every noted
slot that reached the compaction age, one batch increments the slot's claim
(``compact_claim_key``, kept 20 minutes); the replica whose increment reads 1 compacts the
slot's three sets in a second batch, the others forget it. Compaction is atomic and idempotent
per set, so a claim that expired (value 0: this process ran very late) is compacted anyway.

**Bound.** Memory per app: members for at most the last 11 minutes and a slot, whatever the
look-back. A process that receives no ingest at all any more leaves its last 11 minutes of
sets whole until their retention ends (Redis TTL, the in-process sweep). A failed compaction
(Redis down) is retried at the next slot; a replica that died between its claim and its
compaction leaves that slot's sets whole until their retention ends.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from datetime import timedelta

from rtcconsole_server.domain.monitor._realtime_keys import (
    COMPACT_AFTER,
    COMPACT_CLAIM_RETENTION,
    MEMBERSHIP_WINDOW,
    app_sets,
    compact_claim_key,
)
from rtcconsole_server.live import SLOT, LiveState

__all__ = ["COMPACT_AFTER", "MEMBERSHIP_WINDOW", "Compactor"]

log = logging.getLogger("rtcconsole_server.realtime")

_AFTER_SLOTS = math.ceil(COMPACT_AFTER / SLOT)
_Due = tuple[int, timedelta, int]
"""(app, retention of its totals, slot)."""


@dataclass
class _Noted:
    retention: timedelta
    slots: set[int] = field(default_factory=set)


class Compactor:
    """The slots whose app-total sets this process wrote, compacted once old enough (see the module)."""

    def __init__(self, live: LiveState) -> None:
        self._live = live
        self._noted: dict[int, _Noted] = {}
        self._won: list[_Due] = []
        """Slots this process claimed but failed to compact: retried without a claim."""
        self._checked: int | None = None
        self.compacted = 0
        """Slots this process compacted (three sets each)."""
        self.failures = 0
        """Compaction rounds that failed (the live state was unreachable); retried next slot."""

    def note(self, sdk_app_id: int, slot: int, retention: timedelta) -> None:
        """Remember that this process wrote the app's total sets of ``slot`` (kept ``retention``)."""
        noted = self._noted.get(sdk_app_id)
        if noted is None:
            noted = self._noted[sdk_app_id] = _Noted(retention)
        noted.retention = max(noted.retention, retention)
        noted.slots.add(slot)

    def pending(self) -> int:
        """Noted slots not yet compacted (or claimed by another replica)."""
        return sum(len(noted.slots) for noted in self._noted.values()) + len(self._won)

    async def run(self) -> int:
        """Compact the noted slots that reached :data:`COMPACT_AFTER`; at most once per slot of the
        clock. Returns the slots this process compacted; a live-state failure is logged, counted
        in :attr:`failures` and retried at the next slot."""
        current = self._live.current_slot()
        if current == self._checked:
            return 0
        self._checked = current
        due = self._take_due(current)
        if not due and not self._won:
            return 0
        try:
            mine = await self._claim(due)
        except Exception:
            self.failures += 1
            log.warning("claiming %d real-time slots for compaction failed", len(due), exc_info=True)
            for app, retention, slot in due:
                self.note(app, slot, retention)
            return 0
        mine, self._won = self._won + mine, []
        if not mine:
            return 0
        try:
            batch = self._live.batch()
            for app, retention, slot in mine:
                for key in app_sets(app):
                    batch.compact_set(key, slot, retention=retention)
            await batch.execute()
        except Exception:
            self.failures += 1
            self._won = mine
            log.warning("compacting %d real-time slots failed", len(mine), exc_info=True)
            return 0
        self.compacted += len(mine)
        return len(mine)

    def _take_due(self, current: int) -> list[_Due]:
        """The noted slots old enough to compact (forgotten here), oldest first; expired ones dropped."""
        due: list[_Due] = []
        for app, noted in list(self._noted.items()):
            oldest = current - self._live.retention_slots_of(noted.retention) + 1
            ready = sorted(s for s in noted.slots if s <= current - _AFTER_SLOTS)
            noted.slots.difference_update(ready)
            due += [(app, noted.retention, s) for s in ready if s >= oldest]
            if not noted.slots:
                del self._noted[app]
        return due

    async def _claim(self, due: list[_Due]) -> list[_Due]:
        """Of ``due``, the slots this process won (one round trip): a claim reading 1, or 0 (the
        claim itself expired: compacting twice is harmless)."""
        if not due:
            return []
        batch = self._live.batch()
        for app, _, slot in due:
            batch.incr(compact_claim_key(app), slot, retention=COMPACT_CLAIM_RETENTION)
        claims = await batch.execute()
        return [d for d, claim in zip(due, claims, strict=True) if claim <= 1]
