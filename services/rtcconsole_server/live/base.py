"""The live-state interface: counters and sets per 10-second slot, and pub/sub.

Real-time monitoring (R17–R21) counts online users, online rooms, abnormal
users and stall time per 10-second UTC slot and keeps them for a retention
(60 minutes by default, longer for the advanced edition). Two implementations
share this interface and one contract test suite:
:class:`~rtcconsole_server.live.memory.MemoryLiveState` (one embedded process)
and :class:`~rtcconsole_server.live.redis.RedisLiveState` (several replicas).

Slots and expiry are computed from the injected :class:`Clock`, never from the
wall clock, so tests move time by an hour without sleeping. A slot is *live*
while ``slot > current_slot - retention_slots``; reads of a slot that is not
live return zero / empty, and writes to it are ignored.

A set can be *compacted* (:meth:`LiveBatch.compact_set`): its members are dropped and only its
size is kept, which every size read then answers (decision 0036: real time keeps the members
of an app's 12-hour totals for 10 minutes only).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType
from typing import Self

from rtcconsole_server.clock import EPOCH, Clock, step_index
from rtcconsole_server.live.fanout import Subscription

__all__ = [
    "DEFAULT_MAX_QUEUED",
    "DEFAULT_PREFIX",
    "DEFAULT_RETENTION",
    "SLOT",
    "LiveBatch",
    "LiveState",
    "LiveStateClosed",
    "slot_of",
    "slot_start",
]

SLOT = timedelta(seconds=10)
"""Length of one slot: 10 seconds (R21's point spacing)."""

DEFAULT_RETENTION = timedelta(minutes=60)
"""How long a slot stays readable by default: 60 minutes (360 slots), R21's charts."""

DEFAULT_PREFIX = "rtc:"
"""Default prefix of every Redis key and channel (tenants and tests use their own)."""

DEFAULT_MAX_QUEUED = 64
"""Default bound of a subscriber's queue, in messages; the oldest is dropped beyond it."""


def slot_of(instant: datetime) -> int:
    """The 10-second UTC slot holding ``instant``: whole slots since the Unix epoch (naive = UTC)."""
    return step_index(instant, SLOT)


def slot_start(slot: int) -> datetime:
    """The first instant (UTC) of ``slot``."""
    return EPOCH + slot * SLOT


class LiveStateClosed(RuntimeError):
    """An operation on a live state after :meth:`LiveState.close` (or a subscribe after
    :meth:`LiveState.end_subscriptions`)."""


@dataclass(frozen=True)
class _Write:
    kind: str  # "incr", "sadd" or "compact"; the reads "get" (a counter) and "scard" (a set's size)
    key: str
    slot: int
    retention_slots: int
    amount: int = 0
    members: tuple[str, ...] = ()


class LiveBatch:
    """Writes queued and sent together: one round trip (a Redis pipeline) however many.

    ``batch = live.batch(); batch.incr(...); batch.add_to_set(...); results = await batch.execute()``.
    ``results`` holds one int per queued write, in order: the counter's new value for
    ``incr``, the number of new members for ``add_to_set`` (0 for a slot no longer live,
    which is not written). A batch is executed once; it is not a transaction across keys
    for readers (each write is atomic with its expiry).

    A batch may also queue reads of many keys (``get_count``, ``set_size``): a real-time
    answer reads every room's figures of a slot in one round trip this way, and compactions
    (``compact_set``).
    """

    def __init__(self, live: LiveState) -> None:
        self._live = live
        self._writes: list[_Write] = []
        self._executed = False

    def __len__(self) -> int:
        return len(self._writes)

    def incr(self, key: str, slot: int, amount: int = 1, *, retention: timedelta | None = None) -> None:
        """Queue :meth:`LiveState.incr`."""
        self._writes.append(_Write("incr", key, slot, self._live.retention_slots_of(retention), amount))

    def add_to_set(self, key: str, slot: int, *members: str, retention: timedelta | None = None) -> None:
        """Queue :meth:`LiveState.add_to_set`."""
        self._writes.append(_Write("sadd", key, slot, self._live.retention_slots_of(retention), 0, members))

    def get_count(self, key: str, slot: int, *, retention: timedelta | None = None) -> None:
        """Queue a read of counter ``(key, slot)``: its value (0 when missing or expired)."""
        self._writes.append(_Write("get", key, slot, self._live.retention_slots_of(retention)))

    def set_size(self, key: str, slot: int, *, retention: timedelta | None = None) -> None:
        """Queue a read of set ``(key, slot)``'s size (0 when missing or expired)."""
        self._writes.append(_Write("scard", key, slot, self._live.retention_slots_of(retention)))

    def compact_set(self, key: str, slot: int, *, retention: timedelta | None = None) -> None:
        """Queue the compaction of set ``(key, slot)``: keep its size, drop its members; the result
        is the size (0 for a missing or expired set, which stays as it is).

        Afterwards ``set_size``, ``set_sizes`` and ``batch.set_size`` read that size, and
        ``set_members`` reads no member. The size is final: members added later (callers should
        not: real time stops adding at 10 minutes, decision 0036) are not counted by the size
        reads and only ``set_members`` sees them until the slot is compacted again. Compacting
        is atomic per set and idempotent, so replicas may compact the same set concurrently.
        """
        self._writes.append(_Write("compact", key, slot, self._live.retention_slots_of(retention)))

    async def execute(self) -> list[int]:
        """Send every queued write in one round trip; the results in queue order."""
        if self._executed:
            raise RuntimeError("a live batch is executed once")
        self._executed = True
        self._live._check_open()
        if not self._writes:
            return []
        return await self._live._apply(self._writes)


def _ignore(_operation: str) -> None:
    """The default :attr:`LiveState.on_error`: nothing."""


class LiveState(ABC):
    """Counters and sets per slot with retention, and publish/subscribe.

    ``key`` names a series (e.g. ``"online_users:1400000001"``); each
    ``(key, slot)`` is a separate counter or set. ``channel`` names a pub/sub
    channel. Both are namespaced under ``prefix`` by the implementation.

    Subscribers get a bounded queue of ``max_queued`` messages (default 64).
    Policy: **drop-oldest**. A publisher never waits for a slow subscriber;
    when a queue is full the oldest queued message is discarded and
    :attr:`Subscription.dropped` increases. ``max_queued=1`` is therefore
    *coalesce-to-latest*, the right choice for snapshot streams such as
    ``SubscribeRealtime`` where only the newest snapshot matters.
    """

    def __init__(
        self,
        *,
        clock: Clock,
        prefix: str = DEFAULT_PREFIX,
        retention: timedelta = DEFAULT_RETENTION,
        max_queued: int = DEFAULT_MAX_QUEUED,
    ) -> None:
        if retention < SLOT:
            raise ValueError(f"retention must be at least one slot ({SLOT}), got {retention}")
        if max_queued < 1:
            raise ValueError(f"max_queued must be at least 1, got {max_queued}")
        self.clock = clock
        """Source of "now" for slots and expiry."""
        self.prefix = prefix
        """Namespace of every key and channel of this live state."""
        self.retention = retention
        """How long a slot stays readable (default 60 minutes), rounded up to whole slots."""
        self.retention_slots = math.ceil(retention / SLOT)
        """``retention`` in slots (default 360)."""
        self.max_queued = max_queued
        """Default bound of each subscriber's queue, in messages (default 64)."""
        self.on_error: Callable[[str], None] = _ignore
        """Called with the operation's name (``batch``, ``read``, ``publish``, ``subscribe``,
        ``unsubscribe``, ``pubsub``) each time Redis fails one; the server counts them
        (``rtcconsole_live_state_errors_total``). Default: nothing."""
        self._closed = False
        self._subscriptions_ended = False

    # ---------------------------------------------------------------- slots

    def current_slot(self) -> int:
        """The slot holding the clock's "now"."""
        return slot_of(self.clock.now())

    def retention_slots_of(self, retention: timedelta | None) -> int:
        """``retention`` in whole slots (rounded up); None means this live state's default."""
        if retention is None:
            return self.retention_slots
        if retention < SLOT:
            raise ValueError(f"retention must be at least one slot ({SLOT}), got {retention}")
        return math.ceil(retention / SLOT)

    def oldest_live_slot(self, retention: timedelta | None = None) -> int:
        """The oldest slot still readable now under ``retention`` (default: :attr:`retention`)."""
        return self.current_slot() - self.retention_slots_of(retention) + 1

    def is_live(self, slot: int, retention: timedelta | None = None) -> bool:
        """Whether ``slot`` is within ``retention`` now (future slots are live: replicas' clocks differ)."""
        return slot >= self.oldest_live_slot(retention)

    def recent_slots(self, count: int) -> list[int]:
        """The last ``count`` slots, oldest first, ending with the current one (``count`` ≥ 1)."""
        current = self.current_slot()
        return list(range(current - count + 1, current + 1))

    def expires_at(self, slot: int, retention: timedelta | None = None) -> datetime:
        """The instant ``slot`` stops being live under ``retention``: start of slot ``slot + retention``."""
        return slot_start(slot + self.retention_slots_of(retention))

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._closed

    def _check_open(self) -> None:
        if self._closed:
            raise LiveStateClosed("live state is closed")

    def _check_subscribable(self) -> None:
        self._check_open()
        if self._subscriptions_ended:
            raise LiveStateClosed("subscriptions have ended (the server is shutting down)")

    # -------------------------------------------------------------- batches

    def batch(self) -> LiveBatch:
        """A new :class:`LiveBatch`: queue writes, then ``await batch.execute()`` (one round trip)."""
        self._check_open()
        return LiveBatch(self)

    @abstractmethod
    async def _apply(self, writes: list[_Write]) -> list[int]:
        """Apply ``writes`` (of a batch) in one round trip; one result per write."""

    # ------------------------------------------------------------- counters

    @abstractmethod
    async def incr(self, key: str, slot: int, amount: int = 1, *, retention: timedelta | None = None) -> int:
        """Add ``amount`` (default 1, may be negative) to counter ``(key, slot)``; return its new value.

        A slot that is no longer live under ``retention`` (default :attr:`retention`) is not
        written and reads as 0. Reads of the key must pass the same ``retention``.
        """

    @abstractmethod
    async def get_counts(
        self, key: str, slots: Iterable[int], *, retention: timedelta | None = None
    ) -> list[int]:
        """The counters ``(key, slot)`` for each of ``slots``, in order; missing or expired read 0."""

    # ----------------------------------------------------------------- sets

    @abstractmethod
    async def add_to_set(self, key: str, slot: int, *members: str, retention: timedelta | None = None) -> int:
        """Add ``members`` to set ``(key, slot)``; return how many were new (0 if the slot expired)."""

    @abstractmethod
    async def set_size(self, key: str, slot: int, *, retention: timedelta | None = None) -> int:
        """Number of distinct members of set ``(key, slot)`` (0 when missing or expired)."""

    @abstractmethod
    async def set_sizes(
        self, key: str, slots: Iterable[int], *, retention: timedelta | None = None
    ) -> list[int]:
        """:meth:`set_size` for each of ``slots``, in order, in one round trip."""

    @abstractmethod
    async def set_members(self, key: str, slot: int, *, retention: timedelta | None = None) -> set[str]:
        """The members of set ``(key, slot)`` (empty when missing or expired)."""

    # -------------------------------------------------------------- pub/sub

    @abstractmethod
    async def publish(self, channel: str, payload: bytes) -> None:
        """Send ``payload`` to every current subscriber of ``channel`` (on every replica).

        Delivery is at most once and in publish order per publisher; build the
        payload once and publish it once per broadcast, however many subscribers.
        """

    @abstractmethod
    def subscribe(
        self, channel: str, *, max_queued: int | None = None
    ) -> AbstractAsyncContextManager[Subscription]:
        """Subscribe to ``channel``; the subscription is active when the context is entered.

        ``async with live.subscribe("snapshots", max_queued=1) as sub: async for payload in sub: …``.
        ``max_queued`` defaults to :attr:`max_queued`; the queue drops its oldest message
        when full. Leaving the context unsubscribes; :meth:`close` ends every subscription.
        """

    @abstractmethod
    def subscriber_count(self, channel: str | None = None) -> int:
        """Open subscriptions of this object on ``channel`` (all channels when None)."""

    # ------------------------------------------------------------ lifecycle

    async def end_subscriptions(self) -> None:
        """End every open subscription (their iterators stop once drained) and refuse new ones.

        Counters, sets and publishing keep working. A server calls this first on SIGTERM,
        so a held server stream ends at once instead of keeping the drain waiting.
        """
        self._subscriptions_ended = True
        await self._end_subscriptions()

    @abstractmethod
    async def _end_subscriptions(self) -> None:
        """Close every local subscription (implementation part of :meth:`end_subscriptions`)."""

    @abstractmethod
    async def close(self) -> None:
        """End every subscription and release connections and memory; idempotent."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
