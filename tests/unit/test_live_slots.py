"""Slots, the subscriber queue policy and the public names of ``rtcconsole_server.live``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

import rtcconsole_server.live as live_package
from rtcconsole_server.clock import ManualClock
from rtcconsole_server.live import SLOT, MemoryLiveState, Subscription, slot_of, slot_start


def test_slots_are_ten_utc_seconds_since_the_epoch() -> None:
    assert timedelta(seconds=10) == SLOT
    assert slot_of(datetime(1970, 1, 1, 0, 0, 9, 999999, tzinfo=UTC)) == 0
    assert slot_of(datetime(1970, 1, 1, 0, 0, 10, tzinfo=UTC)) == 1
    instant = datetime(2026, 1, 1, 12, 0, 37, tzinfo=UTC)
    assert slot_start(slot_of(instant)) == datetime(2026, 1, 1, 12, 0, 30, tzinfo=UTC)
    assert slot_of(instant.replace(tzinfo=None)) == slot_of(instant)  # naive is UTC
    other_zone = instant.astimezone(datetime.now().astimezone().tzinfo)
    assert slot_of(other_zone) == slot_of(instant)


def test_retention_and_queue_bounds_are_checked() -> None:
    clock = ManualClock()
    with pytest.raises(ValueError, match="retention"):
        MemoryLiveState(clock=clock, retention=timedelta(seconds=5))
    with pytest.raises(ValueError, match="max_queued"):
        MemoryLiveState(clock=clock, max_queued=0)
    live = MemoryLiveState(clock=clock, retention=timedelta(minutes=5, seconds=1))
    assert live.retention_slots == 31  # rounded up to whole slots
    assert live.expires_at(live.current_slot()) == slot_start(live.current_slot() + 31)


async def test_subscription_drops_oldest_and_ends_after_close() -> None:
    subscription = Subscription("ch", 2)
    for payload in (b"1", b"2", b"3"):
        subscription.deliver(payload)
    assert (subscription.received, subscription.dropped, subscription.queued) == (3, 1, 2)
    subscription.close()
    subscription.deliver(b"late")
    assert [payload async for payload in subscription] == [b"2", b"3"]


async def test_memory_forgets_expired_slots() -> None:
    clock = ManualClock()
    live = MemoryLiveState(clock=clock, retention=timedelta(minutes=1))
    for _ in range(20):
        await live.incr("k", live.current_slot())
        await live.add_to_set("s", live.current_slot(), "m")
        clock.advance(SLOT)
    await live.get_counts("k", [])
    assert live.slot_count == 5  # 6 live slots, the current one still empty


async def test_one_payload_object_reaches_every_subscriber() -> None:
    live = MemoryLiveState(clock=ManualClock())
    async with live.subscribe("ch") as first, live.subscribe("ch") as second:
        payload = b"snapshot"
        await live.publish("ch", payload)
        assert first.get_nowait() is payload
        assert second.get_nowait() is payload
    await live.close()


def test_public_names() -> None:
    """The public API is a decision: adding a name means changing this list."""
    assert set(live_package.__all__) == {
        "DEFAULT_MAX_QUEUED",
        "DEFAULT_PREFIX",
        "DEFAULT_RETENTION",
        "SLOT",
        "LiveBatch",
        "LiveState",
        "LiveStateClosed",
        "MemoryLiveState",
        "RedisClusterLiveState",
        "RedisLiveState",
        "Subscription",
        "open_live_state",
        "slot_of",
        "slot_start",
    }
    assert all(hasattr(live_package, name) for name in live_package.__all__)
