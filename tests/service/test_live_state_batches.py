"""Contract tests of the live-state seams the real-time monitoring needs, on both implementations.

Batches of writes in one round trip, retention chosen per key (the advanced edition keeps
real-time data longer, R21), and ending subscriptions on shutdown while the rest works.
Fixtures (``make_live``, ``live``, ``backend_name``) are in tests/service/conftest.py.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from redis.asyncio import Redis

from rtcconsole_server.clock import ManualClock
from rtcconsole_server.live import SLOT, LiveState, LiveStateClosed, RedisLiveState, Subscription
from tests.live_support import MakeLive, eventually

TWELVE_HOURS = timedelta(hours=12)


async def test_a_batch_applies_every_write_and_returns_results_in_order(live: LiveState) -> None:
    slot = live.current_slot()
    await live.incr("calls", slot, 10)
    batch = live.batch()
    batch.incr("calls", slot, 5)
    batch.add_to_set("online", slot, "r1/alice", "r1/bob")
    batch.add_to_set("online", slot, "r1/bob", "r2/carol")
    batch.incr("calls", slot - 1)
    batch.add_to_set("online", slot)  # nothing to add
    assert len(batch) == 5
    assert await batch.execute() == [15, 2, 1, 1, 0]
    assert await live.get_counts("calls", [slot - 1, slot]) == [1, 15]
    assert await live.set_members("online", slot) == {"r1/alice", "r1/bob", "r2/carol"}


async def test_a_batch_skips_writes_to_expired_slots(live: LiveState) -> None:
    slot = live.current_slot()
    batch = live.batch()
    batch.incr("c", slot - live.retention_slots)  # just out of retention
    batch.incr("c", slot, 3)
    batch.add_to_set("s", slot - live.retention_slots, "x")
    assert await batch.execute() == [0, 3, 0]
    assert await live.get_counts("c", [slot - live.retention_slots, slot]) == [0, 3]


async def test_a_batch_runs_once_and_an_empty_one_is_free(live: LiveState) -> None:
    empty = live.batch()
    assert await empty.execute() == []
    with pytest.raises(RuntimeError):
        await empty.execute()


@pytest.mark.parametrize("backend_name", ["redis"])
async def test_a_batch_is_one_round_trip_on_redis(make_live: MakeLive) -> None:
    live = make_live()
    assert isinstance(live, RedisLiveState)
    slot = live.current_slot()
    sent: list[str] = []
    client = live._client
    command, pipeline = client.execute_command, client.pipeline

    async def counting_command(*args: object, **kwargs: object) -> object:
        sent.append(str(args[0]))
        return await command(*args, **kwargs)  # type: ignore[arg-type]

    def counting_pipeline(*args: object, **kwargs: object) -> object:
        sent.append("pipeline")
        return pipeline(*args, **kwargs)  # type: ignore[arg-type]

    client.execute_command = counting_command  # type: ignore[method-assign]
    client.pipeline = counting_pipeline  # type: ignore[method-assign,assignment]
    batch = live.batch()
    for n in range(200):
        batch.incr(f"k{n % 7}", slot)
        batch.add_to_set(f"s{n % 5}", slot, f"m{n}")
    results = await batch.execute()
    assert sent == ["EVAL"]  # one command, one reply
    assert sum(results[1::2]) == 200  # every member was new


async def test_retention_can_be_longer_per_key(live: LiveState, clock: ManualClock) -> None:
    slot = live.current_slot()
    await live.incr("basic", slot, 1)
    await live.incr("advanced", slot, 2, retention=TWELVE_HOURS)
    batch = live.batch()
    batch.add_to_set("advanced-set", slot, "a", retention=TWELVE_HOURS)
    await batch.execute()
    clock.advance(hours=2)  # past the default 60 minutes, within 12 hours
    assert await live.get_counts("basic", [slot]) == [0]
    assert await live.get_counts("advanced", [slot], retention=TWELVE_HOURS) == [2]
    assert await live.set_members("advanced-set", slot, retention=TWELVE_HOURS) == {"a"}
    assert await live.set_sizes("advanced-set", [slot], retention=TWELVE_HOURS) == [1]
    # read under the default retention, the old slot is out of range whatever is stored
    assert await live.get_counts("advanced", [slot]) == [0]
    clock.advance(hours=10, seconds=SLOT.total_seconds())
    assert await live.get_counts("advanced", [slot], retention=TWELVE_HOURS) == [0]
    assert await live.incr("advanced", slot, 1, retention=TWELVE_HOURS) == 0  # too old to write


@pytest.mark.parametrize("backend_name", ["redis"])
async def test_redis_ttl_follows_the_key_retention(make_live: MakeLive) -> None:
    live = make_live()
    assert isinstance(live, RedisLiveState)
    slot = live.current_slot()
    await live.incr("long", slot, retention=TWELVE_HOURS)
    await live.incr("short", slot)
    client = live._client
    assert isinstance(client, Redis)
    long_ttl = await client.ttl(live.counter_key("long", slot))
    short_ttl = await client.ttl(live.counter_key("short", slot))
    assert 11 * 3600 < long_ttl <= 12 * 3600 + 70
    assert 50 * 60 < short_ttl <= 3600 + 70


async def test_retention_below_one_slot_is_refused(live: LiveState) -> None:
    with pytest.raises(ValueError, match="at least one slot"):
        await live.incr("k", live.current_slot(), retention=timedelta(seconds=1))


async def test_ending_subscriptions_ends_streams_and_keeps_the_rest(live: LiveState) -> None:
    async with live.subscribe("frames") as subscription:
        await live.publish("frames", b"one")
        await eventually(lambda: subscription.queued == 1, "the message reached the local queue")
        reader = asyncio.ensure_future(_drain(subscription))
        await live.end_subscriptions()
        assert await asyncio.wait_for(reader, 2.0) == [b"one"]  # drained what was queued, then ended
        assert live.subscriber_count() == 0
    with pytest.raises(LiveStateClosed, match="shutting down"):
        async with live.subscribe("frames"):
            pass
    slot = live.current_slot()
    assert await live.incr("still", slot) == 1  # counters and publishing keep working
    await live.publish("frames", b"nobody listens")


async def _drain(subscription: Subscription) -> list[bytes]:
    return [payload async for payload in subscription]
