"""Contract tests of the live state, run against both implementations.

``memory`` is :class:`MemoryLiveState`; ``redis`` is :class:`RedisLiveState` on
the real Redis of ``tests.infra`` under a key prefix private to the test;
``redis-cluster`` is :class:`RedisClusterLiveState` on the three-node cluster. Time
moves through a :class:`ManualClock`; nothing sleeps to wait for expiry.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from redis.asyncio import Redis

from rtcconsole_server.clock import ManualClock
from rtcconsole_server.live import (
    SLOT,
    LiveState,
    LiveStateClosed,
    MemoryLiveState,
    RedisClusterLiveState,
    RedisLiveState,
    slot_of,
)
from rtcconsole_server.live.redis import EXPIRY_GRACE
from tests.live_support import WAIT_SECONDS, MakeLive, eventually, next_payload


async def test_factory_picks_the_implementation(live: LiveState, backend_name: str) -> None:
    implementations = {"redis": RedisLiveState, "redis-cluster": RedisClusterLiveState}
    expected = implementations.get(backend_name, MemoryLiveState)
    assert type(live) is expected
    assert live.retention_slots == 360


async def test_counters_are_per_key_and_slot(live: LiveState) -> None:
    slot = live.current_slot()
    assert await live.incr("users:1", slot) == 1
    assert await live.incr("users:1", slot, 4) == 5
    assert await live.incr("users:1", slot, -2) == 3
    assert await live.incr("users:1", slot - 1, 7) == 7
    assert await live.incr("users:2", slot) == 1
    counts = await live.get_counts("users:1", [slot - 2, slot - 1, slot, slot + 1])
    assert counts == [0, 7, 3, 0]
    assert await live.get_counts("nobody", live.recent_slots(3)) == [0, 0, 0]
    assert await live.get_counts("users:1", []) == []


async def test_sets_deduplicate_members(live: LiveState) -> None:
    slot = live.current_slot()
    assert await live.add_to_set("online", slot, "r1/alice", "r1/bob", "r1/alice") == 2
    assert await live.add_to_set("online", slot, "r1/bob", "r2/alice") == 1
    assert await live.add_to_set("online", slot) == 0
    assert await live.add_to_set("online", slot - 1, "r1/alice") == 1
    assert await live.set_size("online", slot) == 3
    assert await live.set_members("online", slot) == {"r1/alice", "r1/bob", "r2/alice"}
    assert await live.set_sizes("online", [slot - 2, slot - 1, slot]) == [0, 1, 3]
    assert await live.set_members("empty", slot) == set()
    assert await live.set_size("empty", slot) == 0


async def test_slots_follow_the_injected_clock(live: LiveState, clock: ManualClock) -> None:
    start = live.current_slot()
    assert start == slot_of(clock.now())
    await live.incr("k", live.current_slot())
    clock.advance(SLOT)
    await live.incr("k", live.current_slot(), 2)
    assert live.recent_slots(2) == [start, start + 1]
    assert await live.get_counts("k", live.recent_slots(2)) == [1, 2]


async def test_data_expires_after_the_retention(make_live: MakeLive, clock: ManualClock) -> None:
    live = make_live(retention=timedelta(minutes=2))
    assert live.retention_slots == 12
    slot = live.current_slot()
    await live.incr("c", slot, 5)
    await live.add_to_set("s", slot, "a", "b")
    clock.advance(minutes=2, seconds=-10)  # 11 slots later: still live
    assert await live.get_counts("c", [slot]) == [5]
    assert await live.set_size("s", slot) == 2
    clock.advance(seconds=10)  # 12 slots later: gone
    assert not live.is_live(slot)
    assert await live.get_counts("c", [slot]) == [0]
    assert await live.set_size("s", slot) == 0
    assert await live.set_sizes("s", [slot]) == [0]
    assert await live.set_members("s", slot) == set()
    assert await live.incr("c", slot) == 0  # a write to an expired slot is ignored
    assert await live.add_to_set("s", slot, "c") == 0
    assert await live.get_counts("c", [slot]) == [0]


async def test_default_retention_is_sixty_minutes(live: LiveState, clock: ManualClock) -> None:
    slot = live.current_slot()
    await live.incr("c", slot)
    clock.advance(minutes=59, seconds=50)
    assert await live.get_counts("c", [slot]) == [1]
    assert (await live.get_counts("c", live.recent_slots(360)))[0] == 1
    clock.advance(seconds=10)
    assert await live.get_counts("c", [slot]) == [0]


async def test_publish_subscribe_delivers_in_order(live: LiveState) -> None:
    async with live.subscribe("events") as first, live.subscribe("events") as second:
        await live.publish("other", b"not for us")
        payloads = [f"m{i}".encode() for i in range(20)]
        for payload in payloads:
            await live.publish("events", payload)
        assert [await next_payload(first) for _ in payloads] == payloads
        assert [await next_payload(second) for _ in payloads] == payloads
        assert first.get_nowait() is None
        assert first.dropped == second.dropped == 0


async def test_slow_subscriber_drops_its_oldest_messages(live: LiveState) -> None:
    async with (
        live.subscribe("snap", max_queued=3) as slow,
        live.subscribe("snap", max_queued=1) as latest,
        live.subscribe("snap") as fast,
    ):
        for i in range(10):
            await live.publish("snap", b"%d" % i)
        await eventually(lambda: slow.received == latest.received == fast.received == 10, "all delivered")
        assert (slow.queued, slow.dropped) == (3, 7)
        assert [await next_payload(slow) for _ in range(3)] == [b"7", b"8", b"9"]
        assert (latest.queued, latest.dropped) == (1, 9)  # max_queued=1: coalesce to the latest
        assert await next_payload(latest) == b"9"
        assert [await next_payload(fast) for _ in range(10)] == [b"%d" % i for i in range(10)]
        assert fast.dropped == 0


async def test_leaving_unsubscribes(live: LiveState) -> None:
    async with live.subscribe("ch") as subscription:
        assert live.subscriber_count("ch") == 1
    assert subscription.closed
    assert live.subscriber_count() == 0
    with pytest.raises(StopAsyncIteration):
        await subscription.get()
    await live.publish("ch", b"nobody listens")
    async with live.subscribe("ch") as again:
        await live.publish("ch", b"back")
        assert await next_payload(again) == b"back"


async def test_close_ends_subscriptions_and_refuses_calls(live: LiveState) -> None:
    async with live.subscribe("ch") as subscription:
        await live.publish("ch", b"before")
        await eventually(lambda: subscription.received == 1, "delivered")
        await live.close()
        assert subscription.closed
        assert [payload async for payload in subscription] == [b"before"]  # drained, then ended
    await live.close()  # idempotent
    assert live.closed
    with pytest.raises(LiveStateClosed):
        await live.incr("k", live.current_slot())
    with pytest.raises(LiveStateClosed):
        await live.publish("ch", b"after")
    with pytest.raises(LiveStateClosed):
        async with live.subscribe("ch"):
            pass


# ---------------------------------------------------------------- Redis only


async def connections_named(url: str, name: str) -> int:
    admin = Redis.from_url(url)
    try:
        return sum(1 for client in await admin.client_list() if client.get("name") == name)
    finally:
        await admin.aclose()


@pytest.mark.parametrize("backend_name", ["redis"])
async def test_two_replicas_share_data_and_messages(make_live: MakeLive) -> None:
    one, two = make_live(), make_live()
    slot = one.current_slot()
    await one.incr("rooms", slot, 2)
    await two.incr("rooms", slot, 3)
    assert await one.get_counts("rooms", [slot]) == await two.get_counts("rooms", [slot]) == [5]
    await one.add_to_set("users", slot, "r/a")
    await two.add_to_set("users", slot, "r/a", "r/b")
    assert await one.set_members("users", slot) == {"r/a", "r/b"}
    async with one.subscribe("snap") as on_one, two.subscribe("snap") as on_two:
        await two.publish("snap", b"from two")
        await one.publish("snap", b"from one")
        assert [await next_payload(on_one), await next_payload(on_one)] == [b"from two", b"from one"]
        assert [await next_payload(on_two), await next_payload(on_two)] == [b"from two", b"from one"]


@pytest.mark.parametrize("backend_name", ["redis"])
async def test_prefixes_keep_tenants_apart(
    make_live: MakeLive, redis_server_url: str, clock: ManualClock
) -> None:
    mine = make_live()
    other = RedisLiveState.from_url(redis_server_url, clock=clock, prefix=f"{mine.prefix}other:")
    try:
        slot = mine.current_slot()
        await other.incr("c", slot)
        await other.add_to_set("s", slot, "x")
        assert await mine.get_counts("c", [slot]) == [0]
        assert await mine.set_size("s", slot) == 0
        async with mine.subscribe("ch") as subscription:
            await other.publish("ch", b"elsewhere")
            await mine.publish("ch", b"here")
            assert await next_payload(subscription) == b"here"
            assert subscription.received == 1
    finally:
        await other.close()


@pytest.mark.parametrize("backend_name", ["redis"])
async def test_redis_keys_and_ttls(make_live: MakeLive, redis_server_url: str) -> None:
    live = make_live(retention=timedelta(minutes=2))
    assert isinstance(live, RedisLiveState)
    slot = live.current_slot()
    await live.incr("c", slot)
    await live.add_to_set("s", slot, "m")
    admin = Redis.from_url(redis_server_url)
    try:
        keys = sorted(k.decode() if isinstance(k, bytes) else k for k in await admin.keys(f"{live.prefix}*"))
        assert keys == [f"{live.prefix}c:c:{slot}", f"{live.prefix}s:s:{slot}"]
        longest = (timedelta(minutes=2) + EXPIRY_GRACE).total_seconds()
        for key in keys:
            assert EXPIRY_GRACE.total_seconds() < await admin.ttl(key) <= longest
    finally:
        await admin.aclose()


@pytest.mark.parametrize("backend_name", ["redis"])
async def test_close_releases_redis_connections(
    make_live: MakeLive, redis_server_url: str, client_name: str
) -> None:
    live = make_live()
    async with live.subscribe("ch"):
        await live.incr("k", live.current_slot())
        assert await connections_named(redis_server_url, client_name) == 2  # commands + pub/sub
    await live.close()
    assert await connections_named(redis_server_url, client_name) == 0


@pytest.mark.parametrize("backend_name", ["redis"])
async def test_subscriber_survives_a_dropped_pubsub_connection(
    make_live: MakeLive, redis_server_url: str, client_name: str
) -> None:
    live = make_live()
    async with live.subscribe("ch") as subscription:
        admin = Redis.from_url(redis_server_url)
        try:
            ids = [c["id"] for c in await admin.client_list() if c.get("name") == client_name]
            assert len(ids) == 1  # only the pub/sub connection so far
            await admin.client_kill_filter(_id=ids[0])
        finally:
            await admin.aclose()
        # Messages published while it reconnects are lost (at most once); keep publishing until one lands.
        async with asyncio.timeout(WAIT_SECONDS):
            while subscription.received == 0:
                await live.publish("ch", b"again")
                await asyncio.sleep(0.01)
        assert await next_payload(subscription) == b"again"
