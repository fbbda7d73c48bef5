"""In-process live state for one embedded server process (asyncio, no threads).

Data lives in per-slot buckets (``slot -> key -> value``); every call first
drops the buckets whose slot no key can read any more by the injected clock
(under the longest retention written so far), so memory stays bounded by the
retention (360 slots by default, more for keys written with a longer one)
whatever the traffic. A batch is applied in one synchronous pass. Pub/sub
delivers synchronously to local subscribers in publish order.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import timedelta

from rtcconsole_server.clock import Clock
from rtcconsole_server.live.base import (
    DEFAULT_MAX_QUEUED,
    DEFAULT_PREFIX,
    DEFAULT_RETENTION,
    LiveState,
    _Write,
)
from rtcconsole_server.live.fanout import Fanout, Subscription

__all__ = ["MemoryLiveState"]


class MemoryLiveState(LiveState):
    """:class:`LiveState` kept in this process's memory; see :class:`LiveState` for the semantics.

    ``prefix`` is accepted for symmetry with Redis and has no effect: nothing is
    shared outside the object.
    """

    def __init__(
        self,
        *,
        clock: Clock,
        prefix: str = DEFAULT_PREFIX,
        retention: timedelta = DEFAULT_RETENTION,
        max_queued: int = DEFAULT_MAX_QUEUED,
    ) -> None:
        super().__init__(clock=clock, prefix=prefix, retention=retention, max_queued=max_queued)
        self._counters: dict[int, dict[str, int]] = {}
        self._sets: dict[int, dict[str, set[str]]] = {}
        self._fanout = Fanout()
        self._swept_at: int | None = None
        self._longest = self.retention_slots
        """The longest retention any write used, in slots: what the sweep must keep."""

    def _sweep(self) -> int:
        """Forget slots no key can read any more (under the longest retention written); return
        the current slot."""
        self._check_open()
        current = self.current_slot()
        oldest = current - self._longest + 1
        if self._swept_at != oldest:
            for buckets in (self._counters, self._sets):
                for slot in [slot for slot in buckets if slot < oldest]:
                    del buckets[slot]
            self._swept_at = oldest
        return current

    def _live_under(self, slot: int, retention_slots: int, current: int) -> bool:
        return slot > current - retention_slots

    @property
    def slot_count(self) -> int:
        """Slots currently holding data (counters or sets); for tests and metrics."""
        return len(self._counters.keys() | self._sets.keys())

    def _incr(self, key: str, slot: int, amount: int, retention_slots: int, current: int) -> int:
        if not self._live_under(slot, retention_slots, current):
            return 0
        self._longest = max(self._longest, retention_slots)
        bucket = self._counters.setdefault(slot, {})
        bucket[key] = value = bucket.get(key, 0) + amount
        return value

    def _sadd(self, key: str, slot: int, members: tuple[str, ...], retention_slots: int, current: int) -> int:
        if not self._live_under(slot, retention_slots, current):
            return 0
        self._longest = max(self._longest, retention_slots)
        stored = self._sets.setdefault(slot, {}).setdefault(key, set())
        before = len(stored)
        stored.update(members)
        return len(stored) - before

    async def incr(self, key: str, slot: int, amount: int = 1, *, retention: timedelta | None = None) -> int:
        return self._incr(key, slot, amount, self.retention_slots_of(retention), self._sweep())

    async def get_counts(
        self, key: str, slots: Iterable[int], *, retention: timedelta | None = None
    ) -> list[int]:
        current, kept = self._sweep(), self.retention_slots_of(retention)
        return [
            self._counters.get(slot, {}).get(key, 0) if self._live_under(slot, kept, current) else 0
            for slot in slots
        ]

    async def add_to_set(self, key: str, slot: int, *members: str, retention: timedelta | None = None) -> int:
        return self._sadd(key, slot, members, self.retention_slots_of(retention), self._sweep())

    def _set(self, key: str, slot: int, retention: timedelta | None) -> set[str]:
        current = self._sweep()
        if not self._live_under(slot, self.retention_slots_of(retention), current):
            return set()
        return self._sets.get(slot, {}).get(key, set())

    async def set_size(self, key: str, slot: int, *, retention: timedelta | None = None) -> int:
        return len(self._set(key, slot, retention))

    async def set_sizes(
        self, key: str, slots: Iterable[int], *, retention: timedelta | None = None
    ) -> list[int]:
        return [len(self._set(key, slot, retention)) for slot in slots]

    async def set_members(self, key: str, slot: int, *, retention: timedelta | None = None) -> set[str]:
        return set(self._set(key, slot, retention))

    def _read(self, write: _Write, current: int) -> int:
        if not self._live_under(write.slot, write.retention_slots, current):
            return 0
        if write.kind == "get":
            return self._counters.get(write.slot, {}).get(write.key, 0)
        return len(self._sets.get(write.slot, {}).get(write.key, ()))

    async def _apply(self, writes: list[_Write]) -> list[int]:
        current = self._sweep()
        return [
            self._incr(w.key, w.slot, w.amount, w.retention_slots, current)
            if w.kind == "incr"
            else self._sadd(w.key, w.slot, w.members, w.retention_slots, current)
            if w.kind == "sadd"
            else self._read(w, current)
            for w in writes
        ]

    async def publish(self, channel: str, payload: bytes) -> None:
        self._check_open()
        self._fanout.deliver(channel, payload)

    @asynccontextmanager
    async def subscribe(self, channel: str, *, max_queued: int | None = None) -> AsyncIterator[Subscription]:
        self._check_subscribable()
        subscription = Subscription(channel, self.max_queued if max_queued is None else max_queued)
        self._fanout.add(subscription)
        try:
            yield subscription
        finally:
            self._fanout.remove(subscription)

    def subscriber_count(self, channel: str | None = None) -> int:
        """Open subscriptions on ``channel`` (all channels when None)."""
        return self._fanout.subscriber_count(channel)

    async def _end_subscriptions(self) -> None:
        self._fanout.close_all()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._fanout.close_all()
        self._counters.clear()
        self._sets.clear()
