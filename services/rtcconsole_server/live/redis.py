"""Live state in Redis (``redis.asyncio``), shared by every replica: keys, reads and batches.

Keys (``P`` is the prefix, default ``rtc:``; ``S`` the slot number, i.e. whole
10-second slots since the Unix epoch):

- ``P c:<key>:S`` — a counter (string, ``INCRBY``);
- ``P s:<key>:S`` — a set (``SADD`` / ``SCARD`` / ``SMEMBERS``);
- ``P n:<key>:S`` — a compacted set's size (string; decision 0036); for a key without a hash
  tag ``P n:{P s:<key>:S}``, so that it shares its set's cluster slot;
- ``P ch:<channel>`` — a pub/sub channel (not a key; :mod:`.redis_pubsub`).

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

A write and its ``EXPIRE`` go together in one script; on one Redis a
:class:`~rtcconsole_server.live.base.LiveBatch` sends all its writes and reads (each with
its own retention and ``EXPIRE``) as one ``EVAL`` (:mod:`.redis_commands`), atomic, so an
ingest batch costs one round trip and one reply; multi-slot reads are one ``MGET`` or one
pipeline. On a cluster, one ``EVAL`` per cluster slot (decision 0029).

Commands use redis-py's retry (reconnect and retry on connection errors) and raise
:class:`redis.exceptions.RedisError` once it gives up; each failure is reported to
:attr:`LiveState.on_error` first.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from rtcconsole_server.clock import Clock
from rtcconsole_server.live.base import (
    DEFAULT_MAX_QUEUED,
    DEFAULT_PREFIX,
    DEFAULT_RETENTION,
    _Write,
    slot_start,
)
from rtcconsole_server.live.redis_commands import _Op, batch_command, hash_tag
from rtcconsole_server.live.redis_pubsub import RedisPubSubLiveState

__all__ = ["DEFAULT_CLIENT_NAME", "EXPIRY_GRACE", "BaseRedisLiveState", "RedisLiveState", "check_prefix"]

EXPIRY_GRACE = timedelta(seconds=60)
"""Added to every Redis TTL so replicas whose clocks differ slightly still read a slot they consider live."""

DEFAULT_CLIENT_NAME = "rtc-console-live"
"""``CLIENT SETNAME`` of the connections opened by :meth:`RedisLiveState.from_url`."""


def check_prefix(prefix: str) -> str:
    """``prefix`` if it is a valid key prefix (no ``{`` or ``}``: they would make it the hash tag)."""
    if "{" in prefix or "}" in prefix:
        raise ValueError(f"a Redis key prefix must not contain braces (a hash tag), got {prefix!r}")
    return prefix


class BaseRedisLiveState(RedisPubSubLiveState):
    """What :class:`RedisLiveState` and the cluster variant share: keys, reads, batches (and,
    from :class:`~.redis_pubsub.RedisPubSubLiveState`, pub/sub).

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
        super().__init__(
            client,
            clock=clock,
            prefix=check_prefix(prefix),
            retention=retention,
            max_queued=max_queued,
            owns_client=owns_client,
        )

    # ---------------------------------------------------------------- keys

    def counter_key(self, key: str, slot: int) -> str:
        """Redis key of counter ``(key, slot)``."""
        return f"{self.prefix}c:{key}:{slot}"

    def set_key(self, key: str, slot: int) -> str:
        """Redis key of set ``(key, slot)``."""
        return f"{self.prefix}s:{key}:{slot}"

    def size_key(self, key: str, slot: int) -> str:
        """Redis key of the compacted size of set ``(key, slot)``, on the set's cluster slot."""
        if hash_tag(key) is not None:
            return f"{self.prefix}n:{key}:{slot}"
        return f"{self.prefix}n:{{{self.set_key(key, slot)}}}"

    def _ttl_seconds(self, slot: int, retention_slots: int, now: datetime | None = None) -> int | None:
        """Seconds ``slot`` has left by the clock (or ``now``) plus the grace; None when it is no
        longer live."""
        remaining = slot_start(slot + retention_slots) - (now or self.clock.now())
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
                    for slot in live:  # a compacted size, when there is one, is the set's size
                        pipe.scard(self.set_key(key, slot))
                        pipe.get(self.size_key(key, slot))
                    replies = await pipe.execute()
            found = {
                slot: int(compacted if compacted is not None else size)
                for slot, size, compacted in zip(live, replies[::2], replies[1::2], strict=True)
            }
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
        now, ttls = self.clock.now(), {}  # one reading of the clock; writes share a few slots
        for index, write in enumerate(writes):
            lifetime = (write.slot, write.retention_slots)
            if lifetime not in ttls:
                ttls[lifetime] = self._ttl_seconds(*lifetime, now)
            ttl = ttls[lifetime]
            if ttl is None or (write.kind == "sadd" and not write.members):
                continue
            if write.kind in ("incr", "get"):
                ops.append(_Op(index, self.counter_key(write.key, write.slot), write, ttl))
            else:
                name, size_name = self.set_key(write.key, write.slot), self.size_key(write.key, write.slot)
                ops.append(_Op(index, name, write, ttl, size_name))
        results = [0] * len(writes)
        if ops:
            with self._counted("batch"):
                replies = await self._run(ops)
            for op, reply in zip(ops, replies, strict=True):
                results[op.index] = reply
        return results

    @abstractmethod
    async def _run(self, ops: list[_Op]) -> list[int]:
        """Send ``ops`` (:func:`.redis_commands.batch_command`); the result of each, as an int."""


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
        """One ``EVAL`` for the whole batch: one round trip, atomic."""
        replies = await self._redis.execute_command(*batch_command(ops))  # type: ignore[no-untyped-call]
        return [int(reply) for reply in replies]
