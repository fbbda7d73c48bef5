"""What the Redis Cluster live state does beyond the contract suite (which it also passes).

Runs on the three-node cluster of scripts/services.sh (``redis_cluster_url``): a batch over
several apps is one ``MULTI`` per cluster slot on the shards that own them, channels are
sharded (``SSUBSCRIBE`` on the channel's shard) on Redis ≥ 7 and plain when refused, and a
subscription that Redis ends because its slot moved is taken up again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio.cluster import RedisCluster

from rtcconsole_server.clock import ManualClock
from rtcconsole_server.domain.monitor._realtime_keys import app_keys
from rtcconsole_server.live import RedisClusterLiveState
from rtcconsole_server.live.redis_cluster import is_cluster_url
from tests.live_support import eventually, next_payload

APPS = [1400000001 + n for n in range(12)]  # twelve hash tags: they spread over the three shards


@pytest.fixture
async def admin(redis_cluster_url: str) -> AsyncIterator[RedisCluster]:
    client = RedisCluster.from_url(redis_cluster_url.replace("redis+cluster", "redis", 1))
    await client.initialize()
    yield client
    await client.aclose()


def _open(url: str, prefix: str, clock: ManualClock, *, sharded: bool | None = None) -> RedisClusterLiveState:
    return RedisClusterLiveState.from_url(url, clock=clock, prefix=prefix, sharded=sharded)


def test_cluster_urls_are_told_apart() -> None:
    assert is_cluster_url("redis+cluster://h:7000") and is_cluster_url("REDISS+CLUSTER://h:7000")
    assert not is_cluster_url("redis://h:6379/0") and not is_cluster_url("rediss://h")


async def test_a_batch_over_many_apps_lands_on_their_shards(
    redis_cluster_url: str, redis_cluster_key_prefix: str, clock: ManualClock, admin: RedisCluster
) -> None:
    live = _open(redis_cluster_url, redis_cluster_key_prefix, clock)
    try:
        slot = live.current_slot()
        batch = live.batch()
        for app in APPS:
            batch.add_to_set(app_keys(app).users, slot, "n:42\x1falice", "n:42\x1fbob")
            batch.incr(app_keys(app).video_total, slot, 2000)
            batch.get_count(app_keys(app).video_total, slot)
        assert await batch.execute() == [2, 2000, 2000] * len(APPS)
        owners = set()
        for app in APPS:
            name = live.set_key(app_keys(app).users, slot)
            assert admin.keyslot(name) == admin.keyslot(live.counter_key(app_keys(app).video_total, slot))
            owner = admin.get_node_from_key(name)
            assert owner is not None
            owners.add(owner.name)
            assert await admin.scard(name) == 2
            assert 0 < await admin.ttl(name) <= live.retention.total_seconds() + 60
        assert len(owners) == 3  # the batch spanned every shard
        counts = await live.get_counts(app_keys(APPS[0]).video_total, [slot - 1, slot])
        assert counts == [0, 2000]
    finally:
        await live.close()


@pytest.mark.parametrize("sharded", [None, False])
async def test_pubsub_crosses_replicas_sharded_or_plain(
    redis_cluster_url: str,
    redis_cluster_key_prefix: str,
    clock: ManualClock,
    admin: RedisCluster,
    sharded: bool | None,
) -> None:
    subscriber = _open(redis_cluster_url, redis_cluster_key_prefix, clock, sharded=sharded)
    publisher = _open(redis_cluster_url, redis_cluster_key_prefix, clock, sharded=sharded)
    try:
        assert await subscriber.uses_sharded_pubsub() is (sharded is None)  # the cluster runs 7.x
        channels = [f"realtime:{{{app}}}" for app in APPS[:6]]
        async with subscriber.subscribe(channels[0]) as first, subscriber.subscribe(channels[5]) as last:
            if sharded is None:  # the channel is known to its own shard only
                node = admin.get_node_from_key(subscriber.channel_name(channels[0]))
                assert node is not None
                listed = await admin.execute_command("PUBSUB SHARDCHANNELS", target_nodes=node)
                assert subscriber.channel_name(channels[0]).encode() in listed
            await publisher.publish(channels[0], b"frame-0")
            await publisher.publish(channels[5], b"frame-5")
            assert await next_payload(first) == b"frame-0"
            assert await next_payload(last) == b"frame-5"
        assert subscriber.subscriber_count() == 0
    finally:
        await subscriber.close()
        await publisher.close()


async def test_a_subscription_ended_by_a_slot_move_is_taken_up_again(
    redis_cluster_url: str, redis_cluster_key_prefix: str, clock: ManualClock
) -> None:
    subscriber = _open(redis_cluster_url, redis_cluster_key_prefix, clock)
    publisher = _open(redis_cluster_url, redis_cluster_key_prefix, clock)
    try:
        async with subscriber.subscribe("realtime:{1400000001}") as subscription:
            name = subscriber.channel_name("realtime:{1400000001}")
            pubsub = subscriber._pubsub
            assert pubsub is not None
            # What Redis does when the slot moves: it ends the shard channel's subscription.
            await pubsub.sunsubscribe(name)
            subscriber._dispatch({"type": "sunsubscribe", "channel": name.encode(), "data": 0})
            await eventually(lambda: not subscriber._rerouting, "the re-subscription finished")

            async def delivered() -> bool:
                await publisher.publish("realtime:{1400000001}", b"after")
                return subscription.queued > 0

            for _ in range(50):
                if await delivered():
                    break
            assert await next_payload(subscription) == b"after"
    finally:
        await subscriber.close()
        await publisher.close()
