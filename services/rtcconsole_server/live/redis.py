"""Live state in Redis (``redis.asyncio``), shared by every replica.

Keys (``P`` is the prefix, default ``rtc:``; ``S`` the slot number, i.e. whole
10-second slots since the Unix epoch):

- ``P c:<key>:S`` — a counter (string, ``INCRBY``);
- ``P s:<key>:S`` — a set (``SADD`` / ``SCARD`` / ``SMEMBERS``);
- ``P ch:<channel>`` — a pub/sub channel (not a key).

Expiry: which slots are live is decided by the injected clock on every read
(a slot older than the retention reads as empty, a write to it is ignored), so
tests move time without sleeping and replicas agree as far as their clocks
agree. Each write also sets a relative ``EXPIRE`` of the slot's remaining
lifetime by that clock plus :data:`EXPIRY_GRACE` (60 s); that TTL only
reclaims memory. ``EXPIREAT`` was not used because it compares with the Redis
server's wall clock, which a test's manual clock is not.

A write and its ``EXPIRE`` go together in one ``MULTI``/``EXEC``; a
:class:`~rtcconsole_server.live.base.LiveBatch` sends all its writes (each with
its own retention and ``EXPIRE``) in one ``MULTI``/``EXEC``, so an ingest batch
costs one round trip; multi-slot reads are one ``MGET`` or one pipeline.

Pub/sub: one dedicated connection (:class:`redis.asyncio.client.PubSub`) per
live state, whatever the number of subscribers; one reader task fans each
message out to the local bounded queues (:mod:`.fanout`). A channel is
subscribed in Redis while it has a local subscriber, and ``subscribe`` returns
only once Redis confirmed, so anything published afterwards, through any
replica, arrives.

Reconnection: commands use redis-py's retry (reconnect and retry on
connection errors) and raise :class:`redis.exceptions.RedisError` once it
gives up. If the pub/sub connection breaks, the reader retries with
exponential backoff (0.1 s doubling to 5 s) and redis-py re-subscribes every
channel on reconnect; messages published meanwhile are lost (Redis pub/sub is
at most once), so streams should carry complete snapshots, not deltas.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from rtcconsole_server.clock import Clock
from rtcconsole_server.live.base import (
    DEFAULT_MAX_QUEUED,
    DEFAULT_PREFIX,
    DEFAULT_RETENTION,
    LiveState,
    _Write,
    slot_start,
)
from rtcconsole_server.live.fanout import Fanout, Subscription

__all__ = ["DEFAULT_CLIENT_NAME", "EXPIRY_GRACE", "RedisLiveState"]

log = logging.getLogger(__name__)

EXPIRY_GRACE = timedelta(seconds=60)
"""Added to every Redis TTL so replicas whose clocks differ slightly still read a slot they consider live."""

DEFAULT_CLIENT_NAME = "rtc-console-live"
"""``CLIENT SETNAME`` of the connections opened by :meth:`RedisLiveState.from_url`."""

SUBSCRIBE_TIMEOUT_SECONDS = 5.0
"""How long ``subscribe`` waits for Redis to confirm, in seconds."""

_BACKOFF_FIRST_SECONDS = 0.1
_BACKOFF_MAX_SECONDS = 5.0


class RedisLiveState(LiveState):
    """:class:`LiveState` in Redis; see :class:`LiveState` for the semantics and the module for keys.

    ``client`` must not decode responses (``decode_responses=False``, the
    default). With ``owns_client`` (default True) :meth:`close` closes it too.
    """

    def __init__(
        self,
        client: Redis,
        *,
        clock: Clock,
        prefix: str = DEFAULT_PREFIX,
        retention: timedelta = DEFAULT_RETENTION,
        max_queued: int = DEFAULT_MAX_QUEUED,
        owns_client: bool = True,
    ) -> None:
        super().__init__(clock=clock, prefix=prefix, retention=retention, max_queued=max_queued)
        self._client = client
        self._owns_client = owns_client
        self._fanout = Fanout()
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._confirmed: dict[str, asyncio.Event] = {}
        self._lock = asyncio.Lock()
        self._channel_prefix = f"{prefix}ch:"

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        clock: Clock,
        prefix: str = DEFAULT_PREFIX,
        retention: timedelta = DEFAULT_RETENTION,
        max_queued: int = DEFAULT_MAX_QUEUED,
        client_name: str = DEFAULT_CLIENT_NAME,
    ) -> RedisLiveState:
        """A live state on a new client for ``url`` (``redis://host:port/db``); connects lazily."""
        client = Redis.from_url(url, client_name=client_name, health_check_interval=30)
        return cls(client, clock=clock, prefix=prefix, retention=retention, max_queued=max_queued)

    # ---------------------------------------------------------------- keys

    def counter_key(self, key: str, slot: int) -> str:
        """Redis key of counter ``(key, slot)``."""
        return f"{self.prefix}c:{key}:{slot}"

    def set_key(self, key: str, slot: int) -> str:
        """Redis key of set ``(key, slot)``."""
        return f"{self.prefix}s:{key}:{slot}"

    def channel_name(self, channel: str) -> str:
        """Redis pub/sub channel of ``channel``."""
        return self._channel_prefix + channel

    def _ttl_seconds(self, slot: int, retention_slots: int) -> int | None:
        """Seconds ``slot`` has left by the clock plus the grace; None when it is no longer live."""
        remaining = slot_start(slot + retention_slots) - self.clock.now()
        if remaining <= timedelta(0):
            return None
        return math.ceil((remaining + EXPIRY_GRACE).total_seconds())

    def _live_slots(self, slots: Iterable[int], retention: timedelta | None) -> tuple[list[int], list[int]]:
        wanted = list(slots)
        oldest = self.oldest_live_slot(retention)
        return wanted, [slot for slot in wanted if slot >= oldest]

    # ------------------------------------------------------------ counters

    async def incr(self, key: str, slot: int, amount: int = 1, *, retention: timedelta | None = None) -> int:
        batch = self.batch()
        batch.incr(key, slot, amount, retention=retention)
        (value,) = await batch.execute()
        return value

    async def get_counts(
        self, key: str, slots: Iterable[int], *, retention: timedelta | None = None
    ) -> list[int]:
        self._check_open()
        wanted, live = self._live_slots(slots, retention)
        found: dict[int, int] = {}
        if live:
            values = await self._client.mget([self.counter_key(key, slot) for slot in live])
            found = {slot: int(value) for slot, value in zip(live, values, strict=True) if value is not None}
        return [found.get(slot, 0) for slot in wanted]

    # ---------------------------------------------------------------- sets

    async def add_to_set(self, key: str, slot: int, *members: str, retention: timedelta | None = None) -> int:
        batch = self.batch()
        batch.add_to_set(key, slot, *members, retention=retention)
        (added,) = await batch.execute()
        return added

    async def set_size(self, key: str, slot: int, *, retention: timedelta | None = None) -> int:
        (size,) = await self.set_sizes(key, [slot], retention=retention)
        return size

    async def set_sizes(
        self, key: str, slots: Iterable[int], *, retention: timedelta | None = None
    ) -> list[int]:
        self._check_open()
        wanted, live = self._live_slots(slots, retention)
        found: dict[int, int] = {}
        if live:
            async with self._client.pipeline(transaction=False) as pipe:
                for slot in live:
                    pipe.scard(self.set_key(key, slot))
                sizes = await pipe.execute()
            found = {slot: int(size) for slot, size in zip(live, sizes, strict=True)}
        return [found.get(slot, 0) for slot in wanted]

    async def set_members(self, key: str, slot: int, *, retention: timedelta | None = None) -> set[str]:
        self._check_open()
        if not self.is_live(slot, retention):
            return set()
        members = await self._client.smembers(self.set_key(key, slot))
        return {member.decode() if isinstance(member, bytes) else member for member in members}

    # ------------------------------------------------------------- batches

    async def _apply(self, writes: list[_Write]) -> list[int]:
        """One ``MULTI``/``EXEC``: each live write with its ``EXPIRE``; expired ones are skipped."""
        results = [0] * len(writes)
        sent: list[tuple[int, int]] = []  # (index of the write, position of its reply)
        replied = 0
        async with self._client.pipeline(transaction=True) as pipe:
            for index, write in enumerate(writes):
                ttl = self._ttl_seconds(write.slot, write.retention_slots)
                if ttl is None or (write.kind == "sadd" and not write.members):
                    continue
                if write.kind in ("get", "scard"):  # a read: one reply, no expiry
                    if write.kind == "get":
                        pipe.get(self.counter_key(write.key, write.slot))
                    else:
                        pipe.scard(self.set_key(write.key, write.slot))
                    sent.append((index, replied))
                    replied += 1
                    continue
                if write.kind == "incr":
                    name = self.counter_key(write.key, write.slot)
                    pipe.incrby(name, write.amount)
                else:
                    name = self.set_key(write.key, write.slot)
                    pipe.sadd(name, *write.members)
                pipe.expire(name, ttl)
                sent.append((index, replied))
                replied += 2
            if not sent:
                return results
            replies = await pipe.execute()
        for index, position in sent:
            results[index] = int(replies[position] or 0)
        return results

    # ------------------------------------------------------------- pub/sub

    async def publish(self, channel: str, payload: bytes) -> None:
        self._check_open()
        await self._client.publish(self.channel_name(channel), payload)

    @asynccontextmanager
    async def subscribe(self, channel: str, *, max_queued: int | None = None) -> AsyncIterator[Subscription]:
        self._check_subscribable()
        subscription = Subscription(channel, self.max_queued if max_queued is None else max_queued)
        confirmed = await self._join(subscription)
        try:
            await asyncio.wait_for(confirmed.wait(), SUBSCRIBE_TIMEOUT_SECONDS)
            yield subscription
        finally:
            await self._leave(subscription)

    async def _join(self, subscription: Subscription) -> asyncio.Event:
        """Register ``subscription``; SUBSCRIBE in Redis if it is its channel's first."""
        name = self.channel_name(subscription.channel)
        async with self._lock:
            if not self._fanout.add(subscription):
                return self._confirmed[name]
            confirmed = self._confirmed[name] = asyncio.Event()
            if self._pubsub is None:
                self._pubsub = self._client.pubsub()
            try:
                await self._pubsub.subscribe(name)
            except BaseException:
                self._fanout.remove(subscription)
                del self._confirmed[name]
                raise
            if self._reader is None:
                reader = self._read(self._pubsub)
                self._reader = asyncio.create_task(reader, name=f"live-pubsub:{self.prefix}")
            return confirmed

    async def _leave(self, subscription: Subscription) -> None:
        """Unregister ``subscription``; UNSUBSCRIBE in Redis if it was its channel's last."""
        name = self.channel_name(subscription.channel)
        async with self._lock:
            if not self._fanout.remove(subscription) or self._closed or self._pubsub is None:
                return
            self._confirmed.pop(name, None)
            try:
                await self._pubsub.unsubscribe(name)
            except RedisError as exc:  # the reconnect re-subscribes it; its messages then reach no one
                log.warning("live state: cannot unsubscribe %s: %s", name, exc)

    async def _read(self, pubsub: PubSub) -> None:
        """The reader task: every message of the shared connection to the local queues."""
        backoff = _BACKOFF_FIRST_SECONDS
        while True:
            try:
                message = await pubsub.get_message(timeout=None)
            except RedisError as exc:
                log.warning("live state: pub/sub connection lost (%s); retrying in %.1f s", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _BACKOFF_MAX_SECONDS)
                continue
            backoff = _BACKOFF_FIRST_SECONDS
            if message is not None:
                self._dispatch(message)

    def _dispatch(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        channel = message.get("channel")
        name = channel.decode() if isinstance(channel, bytes) else str(channel)
        if kind == "message" and name.startswith(self._channel_prefix):
            self._fanout.deliver(name.removeprefix(self._channel_prefix), message["data"])
        elif kind == "subscribe" and (confirmed := self._confirmed.get(name)) is not None:
            confirmed.set()

    def subscriber_count(self, channel: str | None = None) -> int:
        """Local open subscriptions on ``channel`` (all channels when None)."""
        return self._fanout.subscriber_count(channel)

    # ----------------------------------------------------------- lifecycle

    async def _end_subscriptions(self) -> None:
        """Close every local subscription and UNSUBSCRIBE all channels; commands keep working."""
        async with self._lock:
            self._fanout.close_all()
            self._confirmed.clear()
            if self._pubsub is not None:
                try:
                    await self._pubsub.unsubscribe()
                except RedisError as exc:
                    log.warning("live state: cannot unsubscribe on shutdown: %s", exc)

    async def close(self) -> None:
        """End every subscription, stop the reader, close the pub/sub connection and the owned client."""
        if self._closed:
            return
        self._closed = True
        self._fanout.close_all()
        self._confirmed.clear()
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.wait([self._reader])
            self._reader = None
        if self._pubsub is not None:
            await self._pubsub.aclose()  # type: ignore[no-untyped-call]  # untyped in redis-py 8.1
            self._pubsub = None
        if self._owns_client:
            await self._client.aclose()
