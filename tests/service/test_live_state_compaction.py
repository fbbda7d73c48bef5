"""Contract tests of set compaction (``LiveBatch.compact_set``, decision 0036) on every live state.

A compacted set keeps its size for every size read and drops its members; compacting is
idempotent and safe between replicas. Runs in process, on one Redis and on a Redis Cluster
(fixtures in tests/service/conftest.py); the clock is the injected ManualClock.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from redis.asyncio import Redis

from rtcconsole_server.clock import ManualClock
from rtcconsole_server.live import LiveState, MemoryLiveState, RedisLiveState
from tests.live_support import MakeLive

TWELVE_HOURS = timedelta(hours=12)
KEYS = ("plain", "rt:{1400000001}:users")
"""A key without and one with a Redis Cluster hash tag (their sizes are named differently)."""


async def _compact(live: LiveState, key: str, *slots: int, retention: timedelta | None = None) -> list[int]:
    batch = live.batch()
    for slot in slots:
        batch.compact_set(key, slot, retention=retention)
    return await batch.execute()


@pytest.mark.parametrize("key", KEYS)
async def test_a_compacted_set_keeps_its_size_for_every_size_read(live: LiveState, key: str) -> None:
    slot = live.current_slot()
    await live.add_to_set(key, slot, "a", "b", "c")
    await live.add_to_set(key, slot - 1, "x")
    assert await _compact(live, key, slot, slot - 1) == [3, 1]
    assert await live.set_size(key, slot) == 3
    assert await live.set_sizes(key, [slot - 2, slot - 1, slot]) == [0, 1, 3]
    batch = live.batch()
    batch.set_size(key, slot)
    batch.set_size(key, slot - 1)
    assert await batch.execute() == [3, 1]
    assert await live.set_members(key, slot) == set()  # the members are gone


async def test_compacting_is_idempotent_and_the_size_is_final(live: LiveState) -> None:
    slot = live.current_slot()
    await live.add_to_set("s", slot, "a", "b")
    assert await _compact(live, "s", slot) == [2]
    assert await _compact(live, "s", slot) == [2]  # a second replica: the same size, nothing lost
    await live.add_to_set("s", slot, "a", "late")  # callers should not; the size does not change
    assert await live.set_sizes("s", [slot]) == [2]
    assert await _compact(live, "s", slot) == [2]  # and compacting again drops the stray members
    assert await live.set_members("s", slot) == set()


async def test_missing_and_expired_sets_compact_to_nothing(live: LiveState, clock: ManualClock) -> None:
    slot = live.current_slot()
    assert await _compact(live, "none", slot) == [0]
    assert await live.set_size("none", slot) == 0
    await live.add_to_set("s", slot, "a")
    clock.advance(live.retention + timedelta(seconds=10))
    assert await _compact(live, "s", slot) == [0]  # no longer live: nothing written
    assert await live.set_size("s", slot) == 0


async def test_a_compaction_keeps_the_retention_of_its_key(live: LiveState, clock: ManualClock) -> None:
    slot = live.current_slot()
    await live.add_to_set("long", slot, "a", "b", retention=TWELVE_HOURS)
    assert await _compact(live, "long", slot, retention=TWELVE_HOURS) == [2]
    clock.advance(hours=11)
    assert await live.set_sizes("long", [slot], retention=TWELVE_HOURS) == [2]
    clock.advance(hours=1)
    assert await live.set_sizes("long", [slot], retention=TWELVE_HOURS) == [0]


async def test_replicas_compacting_together_agree(make_live: MakeLive) -> None:
    first, second = make_live(), make_live()
    slot = first.current_slot()
    await first.add_to_set("s", slot, *(f"m{i}" for i in range(50)))
    sizes = await asyncio.gather(*(_compact(live, "s", slot) for live in (first, second, first)))
    if not isinstance(first, MemoryLiveState):  # in process the two objects share nothing
        assert sizes == [[50], [50], [50]]
        assert await second.set_sizes("s", [slot]) == [50]
    assert await first.set_sizes("s", [slot]) == [50]


@pytest.mark.parametrize("backend_name", ["redis"])
async def test_on_redis_the_set_becomes_one_small_string_with_its_ttl(
    make_live: MakeLive, redis_server_url: str
) -> None:
    live = make_live()
    assert isinstance(live, RedisLiveState)
    slot, key = live.current_slot(), KEYS[1]
    await live.add_to_set(key, slot, *(f"room\x1fuser{i}" for i in range(100)), retention=TWELVE_HOURS)
    await _compact(live, key, slot, retention=TWELVE_HOURS)
    admin = Redis.from_url(redis_server_url)
    try:
        assert await admin.exists(live.set_key(key, slot)) == 0
        assert await admin.get(live.size_key(key, slot)) == b"100"
        assert 12 * 3600 < await admin.ttl(live.size_key(key, slot)) <= 12 * 3600 + 60
    finally:
        await admin.aclose()


def test_a_size_key_shares_its_sets_cluster_slot() -> None:
    live = RedisLiveState(Redis(), clock=ManualClock(), prefix="p:")
    assert live.size_key("rt:{7}:users", 5) == "p:n:rt:{7}:users:5"  # the app's hash tag
    assert live.size_key("plain", 5) == "p:n:{p:s:plain:5}"  # the set's whole name as the tag
