"""Live state on a Redis Cluster: ``--redis-url redis+cluster://host:port`` (decision 0029).

The same keys, batches and pub/sub as :class:`~rtcconsole_server.live.redis.RedisLiveState`
(the code is shared: :class:`~rtcconsole_server.live.redis.BaseRedisLiveState`); what differs:

* **Batches**: a script on a cluster must touch one cluster slot, so a
  :class:`~rtcconsole_server.live.base.LiveBatch` is grouped by cluster slot and sent as one
  ``EVAL`` (``redis_commands.BATCH_SCRIPT``) per slot, all concurrently (each write stays atomic
  with its ``EXPIRE``). Real time writes one app's keys under one hash tag
  (``rt:{<sdk_app_id>}:…``), so an ingest batch of one app is one ``EVAL`` on one shard, one
  round trip, as on one Redis.
* **Counters**: multi-slot reads are ``MGET`` per cluster slot (one per app for real time).
* **Pub/sub**: sharded pub/sub (``SPUBLISH`` / ``SSUBSCRIBE``, Redis ≥ 7, detected once from
  every primary's ``INFO server``): a channel lives on the shard owning its hash slot, so a
  message crosses no cluster bus; one connection and one reader task per shard that carries a
  subscribed channel. On an older cluster, plain ``PUBLISH`` / ``SUBSCRIBE`` (broadcast to
  every node) on one connection. When a slot migrates, Redis ends its shard channels'
  subscriptions (``sunsubscribe``); the live state refreshes the topology and subscribes again
  on the new owner (messages in between are lost, as on any reconnect).

URL: ``redis+cluster://host:port`` (``rediss+cluster://`` with TLS) names any one node; the
others are discovered. Nothing connects before the first command.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from datetime import timedelta
from typing import Any

from redis.asyncio.client import PubSub
from redis.asyncio.cluster import ClusterPubSub, RedisCluster
from redis.exceptions import AskError, MovedError, RedisError, ResponseError

from rtcconsole_server.clock import Clock
from rtcconsole_server.live.base import DEFAULT_MAX_QUEUED, DEFAULT_PREFIX, DEFAULT_RETENTION
from rtcconsole_server.live.redis import DEFAULT_CLIENT_NAME, BaseRedisLiveState
from rtcconsole_server.live.redis_commands import _Op, batch_command

__all__ = ["CLUSTER_SCHEMES", "SHARDED_PUBSUB_VERSION", "RedisClusterLiveState", "is_cluster_url"]

log = logging.getLogger(__name__)

CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}
"""URL schemes that name a Redis Cluster, and the plain scheme redis-py is given."""

SHARDED_PUBSUB_VERSION = (7, 0)
"""The Redis version from which sharded pub/sub (``SPUBLISH``) exists."""


def is_cluster_url(url: str) -> bool:
    """Whether ``url`` names a Redis Cluster (``redis+cluster://`` or ``rediss+cluster://``)."""
    return url.partition("://")[0].lower() in CLUSTER_SCHEMES


def _plain_url(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    return f"{CLUSTER_SCHEMES.get(scheme.lower(), scheme)}{sep}{rest}"


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".")[:2] if part.isdigit())


class RedisClusterLiveState(BaseRedisLiveState):
    """:class:`LiveState` on a Redis Cluster; see the module for what differs from one Redis.

    ``sharded`` forces (True) or refuses (False) sharded pub/sub; None (default) detects it.
    """

    def __init__(
        self,
        client: RedisCluster,
        *,
        clock: Clock,
        prefix: str = DEFAULT_PREFIX,
        retention: timedelta = DEFAULT_RETENTION,
        max_queued: int = DEFAULT_MAX_QUEUED,
        owns_client: bool = True,
        sharded: bool | None = None,
    ) -> None:
        super().__init__(
            client,
            clock=clock,
            prefix=prefix,
            retention=retention,
            max_queued=max_queued,
            owns_client=owns_client,
        )
        self._cluster = client
        self._sharded = sharded
        self._rerouting: set[asyncio.Task[None]] = set()

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
        sharded: bool | None = None,
    ) -> RedisClusterLiveState:
        """A live state on a new cluster client for ``url`` (``redis+cluster://host:port``)."""
        client = RedisCluster.from_url(_plain_url(url), client_name=client_name, health_check_interval=30)
        return cls(
            client, clock=clock, prefix=prefix, retention=retention, max_queued=max_queued, sharded=sharded
        )

    # ------------------------------------------------------------ commands

    async def _mget(self, names: list[str]) -> list[Any]:
        """``MGET`` per cluster slot (one for the slots of one hash-tagged key)."""
        return list(await self._cluster.mget_nonatomic(names))

    async def _run(self, ops: list[_Op]) -> list[int]:
        """One ``EVAL`` per cluster slot, concurrently; replies back in batch order."""
        groups: defaultdict[int, list[_Op]] = defaultdict(list)
        for op in ops:
            groups[self._cluster.keyslot(op.name)].append(op)
        await self._cluster.initialize()  # the slot map
        replies = await asyncio.gather(*(self._run_slot(slot, group) for slot, group in groups.items()))
        by_index = {
            op.index: reply
            for group, found in zip(groups.values(), replies, strict=True)
            for op, reply in zip(group, found, strict=True)
        }
        return [by_index[op.index] for op in ops]

    async def _run_slot(self, slot: int, ops: list[_Op]) -> list[int]:
        """The ops' ``EVAL`` (:func:`.redis_commands.batch_command`) on a connection of the slot's
        primary.

        Sent raw on the node's own connection pool (redis-py 8.1's cluster client would look the
        slot up again from the keys). A ``MOVED``/``ASK`` (the slot moved) runs nothing; the slot
        map is refreshed and it is sent once more.
        """
        command = batch_command(ops)
        for attempt in (1, 2):
            node = self._cluster.nodes_manager.get_node_from_slot(slot)
            connection = node.acquire_connection()
            try:
                await connection.send_packed_command(connection.pack_command(*command))
                reply = await connection.read_response()
            except (MovedError, AskError):
                if attempt == 1:
                    await self._cluster.nodes_manager.initialize()
                    continue
                raise
            except ResponseError:  # an error reply: the connection stays in step, keep it
                raise
            except BaseException:
                await connection.disconnect()
                raise
            finally:
                node.release(connection)
            return [int(value) for value in reply]
        raise AssertionError("unreachable")

    # ------------------------------------------------------------- pub/sub

    async def uses_sharded_pubsub(self) -> bool:
        """Whether channels are sharded (every primary runs Redis ≥ 7, unless forced); asked once."""
        if self._sharded is None:
            await self._cluster.initialize()
            versions = []
            for node in self._cluster.get_primaries():
                info = await self._cluster.execute_command("INFO", "server", target_nodes=node)
                versions.append(_version(str(info.get("redis_version", "0"))))
            self._sharded = bool(versions) and min(versions) >= SHARDED_PUBSUB_VERSION
        return self._sharded

    async def publish(self, channel: str, payload: bytes) -> None:
        self._check_open()
        name = self.channel_name(channel)
        with self._counted("publish"):
            if await self.uses_sharded_pubsub():
                await self._cluster.spublish(name, payload)
            else:
                await self._cluster.publish(name, payload)

    async def _redis_subscribe(self, pubsub: PubSub, name: str) -> tuple[str, PubSub]:
        """``SSUBSCRIBE`` on the channel's shard (its connection and reader), else plain ``SUBSCRIBE``."""
        await self._cluster.initialize()  # the slot map, to route the channel
        if not await self.uses_sharded_pubsub():
            return await super()._redis_subscribe(pubsub, name)
        assert isinstance(pubsub, ClusterPubSub)
        node = self._cluster.get_node_from_key(name)
        if node is None:
            raise RedisError(f"no cluster node serves channel {name} (slot map incomplete)")
        await pubsub.ssubscribe(name)
        return node.name, pubsub.node_pubsub_mapping[node.name]

    async def _redis_unsubscribe(self, pubsub: PubSub, *names: str) -> None:
        if self._sharded:
            assert isinstance(pubsub, ClusterPubSub)
            await pubsub.sunsubscribe(*names)
        else:
            await super()._redis_unsubscribe(pubsub, *names)

    def _dispatch(self, message: dict[str, Any]) -> None:
        super()._dispatch(message)
        if message.get("type") != "sunsubscribe":
            return
        channel = message.get("channel")
        name = channel.decode() if isinstance(channel, bytes) else str(channel)
        local = name.removeprefix(self._channel_prefix)
        if not self._closed and self._fanout.subscriber_count(local):  # not ours: the slot moved
            task = asyncio.create_task(self._reroute(name), name=f"live-reroute:{name}")
            self._rerouting.add(task)
            task.add_done_callback(self._rerouting.discard)

    async def _reroute(self, name: str) -> None:
        """Subscribe ``name`` again on the shard that owns it now (after a slot migration)."""
        local = name.removeprefix(self._channel_prefix)
        async with self._lock:
            if self._closed or self._pubsub is None or not self._fanout.subscriber_count(local):
                return
            try:
                await self._cluster.nodes_manager.initialize()
                route, carrier = await self._redis_subscribe(self._pubsub, name)
            except RedisError as exc:
                self.on_error("subscribe")
                log.warning("live state: cannot subscribe %s again after a slot move: %s", name, exc)
                return
            log.info("live state: %s subscribed again on %s", name, route)
            self._start_reader(route, carrier)

    async def close(self) -> None:
        """Stop any re-subscription in flight, then close as one Redis does."""
        for task in list(self._rerouting):
            task.cancel()
        if self._rerouting:
            await asyncio.wait(list(self._rerouting))
        await super().close()
