"""In-process live state for one embedded server process (asyncio, no threads).

Data lives in per-retention stores of per-slot buckets (``retention -> slot -> key -> value``):
a key is kept under the retention it was written with, and every call first drops, in each
store, the buckets whose slot that retention no longer keeps by the injected clock. So memory
stays bounded by each key's own retention (a 10-minute key is gone after 10 minutes even when
other keys are kept 12 hours) whatever the traffic. A batch is applied in one synchronous
pass. Pub/sub delivers synchronously to local subscribers in publish order.

A compacted set (``LiveBatch.compact_set``) leaves its store's sets for the same store's sizes
(one int). Key strings are interned: each slot's buckets refer to one string per key instead
of a copy per write (a 12-hour look-back holds 4,320 slots of the same keys).

Reads look in the store of the retention they are given first, then in the others (a key is
to be read with the retention it was written with; after an edition change the older entries
still read until their own retention ends, as a Redis key does until its TTL).
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
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


@dataclass
class _Store:
    """The keys written under one retention: slot -> key -> value."""

    counters: dict[int, dict[str, int]] = field(default_factory=dict)
    sets: dict[int, dict[str, set[str]]] = field(default_factory=dict)
    sizes: dict[int, dict[str, int]] = field(default_factory=dict)
    """Compacted sets: their size."""
    swept_at: int | None = None

    def sweep(self, oldest: int) -> None:
        """Forget the slots before ``oldest``."""
        if self.swept_at == oldest:
            return
        for buckets in (self.counters, self.sets, self.sizes):
            for slot in [slot for slot in buckets if slot < oldest]:
                del buckets[slot]
        self.swept_at = oldest

    def slots(self) -> set[int]:
        return self.counters.keys() | self.sets.keys() | self.sizes.keys()

    def set_size(self, key: str, slot: int) -> int | None:
        """The size of set ``(key, slot)`` here (its compacted size first); None if not here."""
        compacted = self.sizes.get(slot, {}).get(key)
        if compacted is not None:
            return compacted
        members = self.sets.get(slot, {}).get(key)
        return None if members is None else len(members)


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
        self._stores: dict[int, _Store] = {}
        """Retention in slots -> the keys written with it."""
        self._fanout = Fanout()

    def _sweep(self) -> int:
        """Forget, per retention, the slots it no longer keeps; return the current slot."""
        self._check_open()
        current = self.current_slot()
        for retention_slots, store in self._stores.items():
            store.sweep(current - retention_slots + 1)
        return current

    def _live_under(self, slot: int, retention_slots: int, current: int) -> bool:
        return slot > current - retention_slots

    def _store(self, retention_slots: int) -> _Store:
        store = self._stores.get(retention_slots)
        if store is None:
            store = self._stores[retention_slots] = _Store()
        return store

    def _lookup(self, retention_slots: int) -> Iterator[_Store]:
        """The stores to read a key of ``retention_slots`` from: its own first."""
        own = self._stores.get(retention_slots)
        if own is not None:
            yield own
        yield from (store for kept, store in self._stores.items() if kept != retention_slots)

    @property
    def slot_count(self) -> int:
        """Slots currently holding data (counters or sets) under any retention; for tests and metrics."""
        return len(set().union(*(store.slots() for store in self._stores.values())))

    def _incr(self, key: str, slot: int, amount: int, retention_slots: int, current: int) -> int:
        if not self._live_under(slot, retention_slots, current):
            return 0
        bucket = self._store(retention_slots).counters.setdefault(slot, {})
        key = sys.intern(key)
        bucket[key] = value = bucket.get(key, 0) + amount
        return value

    def _sadd(self, key: str, slot: int, members: tuple[str, ...], retention_slots: int, current: int) -> int:
        if not self._live_under(slot, retention_slots, current):
            return 0
        bucket = self._store(retention_slots).sets.setdefault(slot, {})
        stored = bucket.get(key)
        if stored is None:
            stored = bucket[sys.intern(key)] = set()
        before = len(stored)
        stored.update(members)
        return len(stored) - before

    def _compact(self, key: str, slot: int, retention_slots: int, current: int) -> int:
        """Keep set ``(key, slot)``'s size and drop its members, in the store holding it."""
        if not self._live_under(slot, retention_slots, current):
            return 0
        for store in self._lookup(retention_slots):
            size = store.set_size(key, slot)
            if size is None:
                continue
            store.sets.get(slot, {}).pop(key, None)  # members added after a compaction go too
            if size:
                store.sizes.setdefault(slot, {})[sys.intern(key)] = size
            return size
        return 0

    def _count(self, key: str, slot: int, retention_slots: int, current: int) -> int:
        if not self._live_under(slot, retention_slots, current):
            return 0
        for store in self._lookup(retention_slots):
            value = store.counters.get(slot, {}).get(key)
            if value is not None:
                return value
        return 0

    def _size(self, key: str, slot: int, retention_slots: int, current: int) -> int:
        if not self._live_under(slot, retention_slots, current):
            return 0
        for store in self._lookup(retention_slots):
            size = store.set_size(key, slot)
            if size is not None:
                return size
        return 0

    async def incr(self, key: str, slot: int, amount: int = 1, *, retention: timedelta | None = None) -> int:
        return self._incr(key, slot, amount, self.retention_slots_of(retention), self._sweep())

    async def get_counts(
        self, key: str, slots: Iterable[int], *, retention: timedelta | None = None
    ) -> list[int]:
        current, kept = self._sweep(), self.retention_slots_of(retention)
        return [self._count(key, slot, kept, current) for slot in slots]

    async def add_to_set(self, key: str, slot: int, *members: str, retention: timedelta | None = None) -> int:
        return self._sadd(key, slot, members, self.retention_slots_of(retention), self._sweep())

    async def set_size(self, key: str, slot: int, *, retention: timedelta | None = None) -> int:
        (size,) = await self.set_sizes(key, [slot], retention=retention)
        return size

    async def set_sizes(
        self, key: str, slots: Iterable[int], *, retention: timedelta | None = None
    ) -> list[int]:
        current, kept = self._sweep(), self.retention_slots_of(retention)
        return [self._size(key, slot, kept, current) for slot in slots]

    async def set_members(self, key: str, slot: int, *, retention: timedelta | None = None) -> set[str]:
        current, kept = self._sweep(), self.retention_slots_of(retention)
        if not self._live_under(slot, kept, current):
            return set()
        for store in self._lookup(kept):
            members = store.sets.get(slot, {}).get(key)
            if members is not None:
                return set(members)
        return set()

    async def _apply(self, writes: list[_Write]) -> list[int]:
        current = self._sweep()
        return [self._apply_one(w, current) for w in writes]

    def _apply_one(self, w: _Write, current: int) -> int:
        if w.kind == "incr":
            return self._incr(w.key, w.slot, w.amount, w.retention_slots, current)
        if w.kind == "sadd":
            return self._sadd(w.key, w.slot, w.members, w.retention_slots, current)
        if w.kind == "compact":
            return self._compact(w.key, w.slot, w.retention_slots, current)
        if w.kind == "get":
            return self._count(w.key, w.slot, w.retention_slots, current)
        return self._size(w.key, w.slot, w.retention_slots, current)

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
        self._stores.clear()
