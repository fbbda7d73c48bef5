"""In-process live state for one embedded server process (asyncio, no threads).

Data lives in per-slot buckets (``slot -> key -> value``); every call first
drops the buckets whose slot is no longer live by the injected clock, so
memory stays bounded by the retention (360 slots by default) whatever the
traffic. Pub/sub delivers synchronously to local subscribers in publish order.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import timedelta

from rtcconsole_server.clock import Clock
from rtcconsole_server.live.base import DEFAULT_MAX_QUEUED, DEFAULT_PREFIX, DEFAULT_RETENTION, LiveState
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

    def _sweep(self) -> int:
        """Forget slots that are no longer live; return the oldest live slot."""
        self._check_open()
        oldest = self.oldest_live_slot()
        if self._swept_at != oldest:
            for buckets in (self._counters, self._sets):
                for slot in [slot for slot in buckets if slot < oldest]:
                    del buckets[slot]
            self._swept_at = oldest
        return oldest

    @property
    def slot_count(self) -> int:
        """Slots currently holding data (counters or sets); for tests and metrics."""
        return len(self._counters.keys() | self._sets.keys())

    async def incr(self, key: str, slot: int, amount: int = 1) -> int:
        if slot < self._sweep():
            return 0
        bucket = self._counters.setdefault(slot, {})
        bucket[key] = value = bucket.get(key, 0) + amount
        return value

    async def get_counts(self, key: str, slots: Iterable[int]) -> list[int]:
        oldest = self._sweep()
        return [self._counters.get(slot, {}).get(key, 0) if slot >= oldest else 0 for slot in slots]

    async def add_to_set(self, key: str, slot: int, *members: str) -> int:
        if slot < self._sweep():
            return 0
        current = self._sets.setdefault(slot, {}).setdefault(key, set())
        before = len(current)
        current.update(members)
        return len(current) - before

    def _set(self, key: str, slot: int, oldest: int) -> set[str]:
        return self._sets.get(slot, {}).get(key, set()) if slot >= oldest else set()

    async def set_size(self, key: str, slot: int) -> int:
        return len(self._set(key, slot, self._sweep()))

    async def set_sizes(self, key: str, slots: Iterable[int]) -> list[int]:
        oldest = self._sweep()
        return [len(self._set(key, slot, oldest)) for slot in slots]

    async def set_members(self, key: str, slot: int) -> set[str]:
        return set(self._set(key, slot, self._sweep()))

    async def publish(self, channel: str, payload: bytes) -> None:
        self._check_open()
        self._fanout.deliver(channel, payload)

    @asynccontextmanager
    async def subscribe(self, channel: str, *, max_queued: int | None = None) -> AsyncIterator[Subscription]:
        self._check_open()
        subscription = Subscription(channel, self.max_queued if max_queued is None else max_queued)
        self._fanout.add(subscription)
        try:
            yield subscription
        finally:
            self._fanout.remove(subscription)

    def subscriber_count(self, channel: str | None = None) -> int:
        """Open subscriptions on ``channel`` (all channels when None)."""
        return self._fanout.subscriber_count(channel)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._fanout.close_all()
        self._counters.clear()
        self._sets.clear()
