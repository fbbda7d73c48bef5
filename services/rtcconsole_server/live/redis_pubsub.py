"""Redis pub/sub of the live state, and its lifecycle: the part of the Redis live states that
is not keys (``live/redis.py``: keys, reads, batches; ``live/redis_cluster.py``: the cluster).

One dedicated connection (:class:`redis.asyncio.client.PubSub`) per live state (per cluster
node with sharded pub/sub), whatever the number of subscribers; one reader task per connection
fans each message out to the local bounded queues (:mod:`.fanout`). A channel is subscribed in
Redis while it has a local subscriber, and ``subscribe`` returns only once Redis confirmed, so
anything published afterwards, through any replica, arrives.

Reconnection: if the pub/sub connection breaks, the reader retries with exponential backoff
(0.1 s doubling to 5 s) and redis-py re-subscribes every channel on reconnect; messages
published meanwhile are lost (Redis pub/sub is at most once), so streams should carry complete
snapshots, not deltas.

Errors: every Redis failure of an operation (a ``RedisError``, or a subscription Redis did not
confirm in time) is reported to :attr:`LiveState.on_error` by the operation's name before it
is raised or logged (the server's metrics count them).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import timedelta
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisError

from rtcconsole_server.clock import Clock
from rtcconsole_server.live.base import DEFAULT_MAX_QUEUED, DEFAULT_PREFIX, DEFAULT_RETENTION, LiveState
from rtcconsole_server.live.fanout import Fanout, Subscription

__all__ = ["SUBSCRIBE_TIMEOUT_SECONDS", "RedisPubSubLiveState"]

log = logging.getLogger("rtcconsole_server.live.redis")

SUBSCRIBE_TIMEOUT_SECONDS = 5.0
"""How long ``subscribe`` waits for Redis to confirm, in seconds."""

_BACKOFF_FIRST_SECONDS = 0.1
_BACKOFF_MAX_SECONDS = 5.0
_MESSAGE_TYPES = ("message", "smessage")
_CONFIRM_TYPES = ("subscribe", "ssubscribe")


class RedisPubSubLiveState(LiveState):
    """A :class:`LiveState` on a Redis client: its pub/sub, failure reporting and lifecycle.

    ``prefix`` must already be checked (``redis.check_prefix``). Subclasses may route pub/sub
    (:meth:`_redis_subscribe`, the cluster's sharded channels).
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
        super().__init__(clock=clock, prefix=prefix, retention=retention, max_queued=max_queued)
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

    def channel_name(self, channel: str) -> str:
        """Redis pub/sub channel of ``channel``."""
        return self._channel_prefix + channel

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
