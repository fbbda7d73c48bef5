"""The real-time compactor on the in-process live state (decision 0036): when it runs, what it
retries, what it forgets. The injected ManualClock only; the contract is in tests/service."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rtcconsole_server.clock import ManualClock
from rtcconsole_server.domain.monitor._realtime_compact import COMPACT_AFTER, Compactor
from rtcconsole_server.domain.monitor._realtime_keys import app_sets
from rtcconsole_server.live import SLOT, MemoryLiveState
from rtcconsole_server.live.base import _Write

APP, HOURS_3 = 1400000001, timedelta(hours=3)


class _Flaky(MemoryLiveState):
    """Fails the next ``failing`` batches that compact (a Redis outage)."""

    failing = 0
    batches = 0

    async def _apply(self, writes: list[_Write]) -> list[int]:
        self.batches += 1
        if self.failing and any(w.kind == "compact" for w in writes):
            self.failing -= 1
            raise ConnectionError("down")
        return await super()._apply(writes)


async def _filled(live: MemoryLiveState, slot: int) -> None:
    for key in app_sets(APP):
        await live.add_to_set(key, slot, "n:1\x1fa", "n:1\x1fb", retention=HOURS_3)


async def test_a_slot_is_compacted_once_old_enough_and_once_per_slot_of_the_clock() -> None:
    clock = ManualClock(datetime(2026, 3, 10, 12, 0, 5, tzinfo=UTC))
    live = _Flaky(clock=clock)
    compactor, slot = Compactor(live), live.current_slot()
    await _filled(live, slot)
    compactor.note(APP, slot, HOURS_3)
    clock.advance(COMPACT_AFTER - SLOT)
    assert await compactor.run() == 0 and compactor.pending() == 1  # 10 min 50 s: not yet
    clock.advance(SLOT)
    assert await compactor.run() == 1 and compactor.pending() == 0
    batches = live.batches
    assert await compactor.run() == 0 and live.batches == batches  # same slot: not even a claim
    for key in app_sets(APP):
        assert await live.set_sizes(key, [slot], retention=HOURS_3) == [2]
        assert await live.set_members(key, slot, retention=HOURS_3) == set()


async def test_a_failed_compaction_is_retried_at_the_next_slot_without_a_new_claim() -> None:
    clock = ManualClock(datetime(2026, 3, 10, 12, 0, 5, tzinfo=UTC))
    live = _Flaky(clock=clock)
    compactor, slot = Compactor(live), live.current_slot()
    await _filled(live, slot)
    compactor.note(APP, slot, HOURS_3)
    clock.advance(COMPACT_AFTER)
    live.failing = 1
    assert await compactor.run() == 0  # claimed, then the compaction failed
    assert (compactor.failures, compactor.pending()) == (1, 1)
    clock.advance(SLOT)
    assert await compactor.run() == 1  # its claim already reads 1: retried as this process's own
    assert await live.set_members(app_sets(APP)[0], slot, retention=HOURS_3) == set()


async def test_slots_past_their_retention_are_forgotten() -> None:
    clock = ManualClock(datetime(2026, 3, 10, 12, 0, 5, tzinfo=UTC))
    live = _Flaky(clock=clock)
    compactor = Compactor(live)
    compactor.note(APP, live.current_slot(), HOURS_3)
    clock.advance(HOURS_3)
    assert await compactor.run() == 0 and compactor.pending() == 0
