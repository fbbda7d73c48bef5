"""Live state in Redis (``redis.asyncio``), shared by every replica.

Keys (``P`` is the prefix, default ``rtc:``; ``S`` the slot number, i.e. whole
10-second slots since the Unix epoch):

- ``P c:<key>:S`` — a counter (string, ``INCRBY``);
- ``P s:<key>:S`` — a set (``SADD`` / ``SCARD`` / ``SMEMBERS``);
- ``P ch:<channel>`` — a pub/sub channel (not a key).

A ``{tag}`` in ``key`` (real time writes ``rt:{<sdk_app_id>}:…``) is a Redis Cluster hash
tag: every key of one app, of every slot, maps to one cluster slot, hence one shard
(:mod:`.redis_cluster`). The prefix therefore must not contain braces.

Expiry: which slots are live is decided by the injected clock on every read
(a slot older than the retention reads as empty, a write to it is ignored), so
tests move time without sleeping and replicas agree as far as their clocks
agree. Each write also sets a relative ``EXPIRE`` of the slot's remaining
lifetime by that clock plus :data:`EXPIRY_GRACE` (60 s); that TTL only
reclaims memory. ``EXPIREAT`` was not used because it compares with the Redis
server's wall clock, which a test's manual clock is not.

A write and its ``EXPIRE`` go together in one ``MULTI``/``EXEC``; on one Redis a
:class:`~rtcconsole_server.live.base.LiveBatch` sends all its writes (each with
its own retention and ``EXPIRE``) in one ``MULTI``/``EXEC``, so an ingest batch
costs one round trip; multi-slot reads are one ``MGET`` or one pipeline. On a
cluster, one ``MULTI`` per cluster slot (decision 0029).

Pub/sub: one dedicated connection (:class:`redis.asyncio.client.PubSub`) per
live state (per cluster node with sharded pub/sub), whatever the number of
subscribers; one reader task per connection fans each message out to the local
bounded queues (:mod:`.fanout`). A channel is subscribed in Redis while it has
a local subscriber, and ``subscribe`` returns only once Redis confirmed, so
anything published afterwards, through any replica, arrives.

Reconnection: commands use redis-py's retry (reconnect and retry on
connection errors) and raise :class:`redis.exceptions.RedisError` once it
gives up. If the pub/sub connection breaks, the reader retries with
exponential backoff (0.1 s doubling to 5 s) and redis-py re-subscribes every
channel on reconnect; messages published meanwhile are lost (Redis pub/sub is
at most once), so streams should carry complete snapshots, not deltas.

Errors: every Redis failure of an operation (a ``RedisError``, or a subscription
Redis did not confirm in time) is reported to :attr:`LiveState.on_error` by the
operation's name before it is raised or logged (the server's metrics count them).
"""

from __future__ import annotations

import asyncio
import logging
import math
from abc import abstractmethod
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.cluster import RedisCluster
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

__all__ = ["DEFAULT_CLIENT_NAME", "EXPIRY_GRACE", "BaseRedisLiveState", "RedisLiveState", "check_prefix"]

log = logging.getLogger(__name__)

EXPIRY_GRACE = timedelta(seconds=60)
"""Added to every Redis TTL so replicas whose clocks differ slightly still read a slot they consider live."""

DEFAULT_CLIENT_NAME = "rtc-console-live"
"""``CLIENT SETNAME`` of the connections opened by :meth:`RedisLiveState.from_url`."""

SUBSCRIBE_TIMEOUT_SECONDS = 5.0
"""How long ``subscribe`` waits for Redis to confirm, in seconds."""

_BACKOFF_FIRST_SECONDS = 0.1
_BACKOFF_MAX_SECONDS = 5.0
_MESSAGE_TYPES = ("message", "smessage")
_CONFIRM_TYPES = ("subscribe", "ssubscribe")


def check_prefix(prefix: str) -> str:
    """``prefix`` if it is a valid key prefix (no ``{`` or ``}``: they would make it the hash tag)."""
    if "{" in prefix or "}" in prefix:
        raise ValueError(f"a Redis key prefix must not contain braces (a hash tag), got {prefix!r}")
    return prefix


@dataclass(frozen=True)
class _Op:
    """One write or read of a batch, as sent: its position in the batch, Redis key and TTL."""

    index: int
    name: str
    write: _Write
    ttl: int

    @property
    def replies(self) -> int:
        """Replies it produces: 1 for a read, 2 for a write (the command and its ``EXPIRE``)."""
        return 1 if self.write.kind in ("get", "scard") else 2


class BaseRedisLiveState(LiveState):
    """What :class:`RedisLiveState` and the cluster variant share: keys, reads, batches, pub/sub.

    Subclasses say how a batch's operations reach Redis (:meth:`_run`), how counters
    are read (:meth:`_mget`) and may route pub/sub (:meth:`_redis_subscribe`).
    """

    def __init__(
        self,
        client: Redis | RedisCluster,
        *,
        clock: Clock,
        prefix: str = DEFAULT_PREFIX,
        retention: timedelta = DEFAULT_RETENTION,
        max_queued: int = DEFAULT_MAX_QUEUED,
        owns_client: bool = True,
    ) -> None:
        super().__init__(clock=clock, prefix=check_prefix(prefix), retention=retention, max_queued=max_queued)
        self._client = client
        self._owns_client = owns_client
        self._fanout = Fanout()
        self._pubsub: PubSub | None = None
        self._readers: dict[str, asyncio.Task[None]] = {}  # connection ("" or a node) -> its reader
        self._confirmed: dict[str, asyncio.Event] = {}
        self._lock = asyncio.Lock()
        self._channel_prefix = f"{prefix}ch:"

    @contextmanager
    def _counted(self, operation: str) -> Iterator[None]:
        """Report a Redis failure of ``operation`` to :attr:`on_error`, then let it through."""
        try:
            yield
        except (RedisError, TimeoutError):
            self.on_error(operation)
            raise

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
            with self._counted("read"):
                values = await self._mget([self.counter_key(key, slot) for slot in live])
            found = {slot: int(value) for slot, value in zip(live, values, strict=True) if value is not None}
        return [found.get(slot, 0) for slot in wanted]

    @abstractmethod
    async def _mget(self, names: list[str]) -> list[Any]:
        """The values of the Redis keys ``names`` (None when missing), in order."""

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
            with self._counted("read"):
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
        with self._counted("read"):
            members = await self._client.smembers(self.set_key(key, slot))
        return {member.decode() if isinstance(member, bytes) else member for member in members}

    # ------------------------------------------------------------- batches

    async def _apply(self, writes: list[_Write]) -> list[int]:
        """Each live write with its ``EXPIRE`` and each read, through :meth:`_run`; expired ones skipped."""
        ops: list[_Op] = []
        for index, write in enumerate(writes):
            ttl = self._ttl_seconds(write.slot, write.retention_slots)
            if ttl is None or (write.kind == "sadd" and not write.members):
                continue
            counter = write.kind in ("incr", "get")
            name = self.counter_key(write.key, write.slot) if counter else self.set_key(write.key, write.slot)
            ops.append(_Op(index, name, write, ttl))
        results = [0] * len(writes)
        if ops:
            with self._counted("batch"):
                replies = await self._run(ops)
            for op, reply in zip(ops, replies, strict=True):
                results[op.index] = reply
        return results

    @abstractmethod
    async def _run(self, ops: list[_Op]) -> list[int]:
        """Send ``ops``; the first reply of each, as an int (0 for a missing key)."""

    @staticmethod
    def _commands(ops: list[_Op]) -> list[tuple[str | int, ...]]:
        """The commands of ``ops``, in order: ``GET``/``SCARD`` for a read, the write then its ``EXPIRE``."""
        commands: list[tuple[str | int, ...]] = []
        for op in ops:
            write = op.write
            if write.kind == "get":
                commands.append(("GET", op.name))
            elif write.kind == "scard":
                commands.append(("SCARD", op.name))
            else:
                if write.kind == "incr":
                    commands.append(("INCRBY", op.name, write.amount))
                else:
                    commands.append(("SADD", op.name, *write.members))
                commands.append(("EXPIRE", op.name, op.ttl))
        return commands

    @staticmethod
    def _first_replies(ops: list[_Op], replies: list[Any]) -> list[int]:
        """The first reply of each op (its command's, not its ``EXPIRE``'s), as an int."""
        found: list[int] = []
        position = 0
        for op in ops:
            found.append(int(replies[position] or 0))
            position += op.replies
        return found

    # ------------------------------------------------------------- pub/sub

    async def publish(self, channel: str, payload: bytes) -> None:
        self._check_open()
        with self._counted("publish"):
            await self._client.publish(self.channel_name(channel), payload)

    @asynccontextmanager
    async def subscribe(self, channel: str, *, max_queued: int | None = None) -> AsyncIterator[Subscription]:
        self._check_subscribable()
        subscription = Subscription(channel, self.max_queued if max_queued is None else max_queued)
        with self._counted("subscribe"):
            confirmed = await self._join(subscription)
        try:
            with self._counted("subscribe"):
                await asyncio.wait_for(confirmed.wait(), SUBSCRIBE_TIMEOUT_SECONDS)
            yield subscription
        finally:
            await self._leave(subscription)

    async def _redis_subscribe(self, pubsub: PubSub, name: str) -> tuple[str, PubSub]:
        """``SUBSCRIBE`` ``name``; the connection that will carry its messages and its reader's name."""
        await pubsub.subscribe(name)
        return "", pubsub

    async def _redis_unsubscribe(self, pubsub: PubSub, *names: str) -> None:
        """``UNSUBSCRIBE`` ``names`` (every channel when none)."""
        await pubsub.unsubscribe(*names)

    def _start_reader(self, route: str, pubsub: PubSub) -> None:
        """A reader task for connection ``route`` unless it has one."""
        reader = self._readers.get(route)
        if reader is None or reader.done():
            task = asyncio.create_task(self._read(pubsub), name=f"live-pubsub:{self.prefix}{route}")
            self._readers[route] = task

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
                route, carrier = await self._redis_subscribe(self._pubsub, name)
            except BaseException:
                self._fanout.remove(subscription)
                del self._confirmed[name]
                raise
            self._start_reader(route, carrier)
            return confirmed

    async def _leave(self, subscription: Subscription) -> None:
        """Unregister ``subscription``; UNSUBSCRIBE in Redis if it was its channel's last."""
        name = self.channel_name(subscription.channel)
        async with self._lock:
            if not self._fanout.remove(subscription) or self._closed or self._pubsub is None:
                return
            self._confirmed.pop(name, None)
            try:
                await self._redis_unsubscribe(self._pubsub, name)
            except RedisError as exc:  # the reconnect re-subscribes it; its messages then reach no one
                self.on_error("unsubscribe")
                log.warning("live state: cannot unsubscribe %s: %s", name, exc)

    async def _read(self, pubsub: PubSub) -> None:
        """A reader task: every message of one pub/sub connection to the local queues."""
        backoff = _BACKOFF_FIRST_SECONDS
        while True:
            try:
                message = await pubsub.get_message(timeout=None)
            except RedisError as exc:
                self.on_error("pubsub")
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
        if kind in _MESSAGE_TYPES and name.startswith(self._channel_prefix):
            self._fanout.deliver(name.removeprefix(self._channel_prefix), message["data"])
        elif kind in _CONFIRM_TYPES and (confirmed := self._confirmed.get(name)) is not None:
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
                    await self._redis_unsubscribe(self._pubsub)
                except RedisError as exc:
                    self.on_error("unsubscribe")
                    log.warning("live state: cannot unsubscribe on shutdown: %s", exc)

    async def close(self) -> None:
        """End every subscription, stop the readers, close the pub/sub connections and the owned client."""
        if self._closed:
            return
        self._closed = True
        self._fanout.close_all()
        self._confirmed.clear()
        readers = list(self._readers.values())
        self._readers.clear()
        for reader in readers:
            reader.cancel()
        if readers:
            await asyncio.wait(readers)
        if self._pubsub is not None:
            await self._pubsub.aclose()  # type: ignore[no-untyped-call]  # untyped in redis-py 8.1
            self._pubsub = None
        if self._owns_client:
            await self._client.aclose()


class RedisLiveState(BaseRedisLiveState):
    """:class:`LiveState` on one Redis; see :class:`LiveState` for the semantics and the module for keys.

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
        super().__init__(
            client,
            clock=clock,
            prefix=prefix,
            retention=retention,
            max_queued=max_queued,
            owns_client=owns_client,
        )
        self._redis = client

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

    async def _mget(self, names: list[str]) -> list[Any]:
        """One ``MGET``."""
        return list(await self._redis.mget(names))

    async def _run(self, ops: list[_Op]) -> list[int]:
        """One ``MULTI``/``EXEC`` for the whole batch: one round trip."""
        async with self._redis.pipeline(transaction=True) as pipe:
            for command in self._commands(ops):
                pipe.execute_command(*command)
            return self._first_replies(ops, await pipe.execute())
