"""The clock: flooring instants to a step, and sleeping on the system and the manual clock."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rtcconsole_server.clock import EPOCH, ManualClock, SystemClock, epoch_us, floor_instant, step_index

T0 = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
FIVE_MINUTES = timedelta(minutes=5)
SLOT = timedelta(seconds=10)


# ------------------------------------------------------------ floor_instant, step_index


def test_epoch_is_the_unix_epoch_in_utc() -> None:
    assert datetime.fromtimestamp(0, UTC) == EPOCH and EPOCH.tzinfo is UTC


@pytest.mark.parametrize(
    ("instant", "step", "floor"),
    [
        (datetime(2026, 1, 1, 8, 7, 31, tzinfo=UTC), FIVE_MINUTES, datetime(2026, 1, 1, 8, 5, tzinfo=UTC)),
        (datetime(2026, 1, 1, 8, 5, tzinfo=UTC), FIVE_MINUTES, datetime(2026, 1, 1, 8, 5, tzinfo=UTC)),
        (
            datetime(2026, 1, 1, 8, 4, 59, 999_999, tzinfo=UTC),
            FIVE_MINUTES,
            datetime(2026, 1, 1, 8, 0, tzinfo=UTC),
        ),
        (datetime(2026, 1, 1, 8, 0, 19, tzinfo=UTC), SLOT, datetime(2026, 1, 1, 8, 0, 10, tzinfo=UTC)),
        (
            datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC),
            FIVE_MINUTES,
            datetime(1969, 12, 31, 23, 55, tzinfo=UTC),
        ),
        (datetime(2026, 3, 7, 13, 0, tzinfo=UTC), timedelta(days=1), datetime(2026, 3, 7, tzinfo=UTC)),
    ],
)
def test_floor_instant_is_the_start_of_the_step_that_holds_it(
    instant: datetime, step: timedelta, floor: datetime
) -> None:
    assert floor_instant(instant, step) == floor
    assert floor <= instant < floor + step


def test_floor_instant_counts_in_utc_and_keeps_the_zone() -> None:
    beijing = timezone(timedelta(hours=8))
    instant = datetime(2026, 1, 1, 16, 7, 31, tzinfo=beijing)  # 08:07:31Z
    floor = floor_instant(instant, FIVE_MINUTES)
    assert floor == datetime(2026, 1, 1, 8, 5, tzinfo=UTC) and floor.tzinfo is beijing
    assert floor_instant(instant, timedelta(days=1)) == datetime(2026, 1, 1, tzinfo=UTC)  # a UTC day


def test_a_naive_instant_is_utc() -> None:
    floor = floor_instant(datetime(2026, 1, 1, 8, 7, 31), FIVE_MINUTES)
    assert floor == datetime(2026, 1, 1, 8, 5, tzinfo=UTC) and floor.tzinfo is UTC


def test_step_index_counts_whole_steps_since_the_epoch() -> None:
    instant = datetime(2026, 1, 1, 8, 0, 19, tzinfo=UTC)
    index = step_index(instant, SLOT)
    assert index == int(instant.timestamp()) // 10
    assert EPOCH + index * SLOT == floor_instant(instant, SLOT)
    assert step_index(datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC), SLOT) == -1


@pytest.mark.parametrize("step", [timedelta(0), timedelta(seconds=-5)])
def test_a_step_must_be_positive(step: timedelta) -> None:
    with pytest.raises(ValueError, match="positive"):
        floor_instant(T0, step)
    with pytest.raises(ValueError, match="positive"):
        step_index(T0, step)


def test_epoch_us_is_whole_microseconds_since_the_epoch() -> None:
    assert epoch_us(EPOCH) == 0
    assert epoch_us(datetime(1970, 1, 1, 0, 0, 1, 5, tzinfo=UTC)) == 1_000_005
    assert epoch_us(datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)) == -1
    assert epoch_us(datetime(2026, 1, 1, 8, 7, 31)) == epoch_us(datetime(2026, 1, 1, 8, 7, 31, tzinfo=UTC))
    beijing = timezone(timedelta(hours=8))
    assert epoch_us(datetime(2026, 1, 1, 16, tzinfo=beijing)) == epoch_us(T0)


@given(st.datetimes(timezones=st.just(UTC)))
def test_epoch_us_is_exact_and_agrees_with_the_steps(instant: datetime) -> None:
    """No float on the way (``timestamp()`` is off by one for some instants): back to the instant."""
    us = epoch_us(instant)
    assert EPOCH + timedelta(microseconds=us) == instant
    assert us == step_index(instant, timedelta(microseconds=1))
    assert us // 10_000_000 == step_index(instant, SLOT)


# ------------------------------------------------------------ ManualClock sleeps


async def _sleeping(clock: ManualClock, count: int) -> None:
    async with asyncio.timeout(10):
        await clock.wait_for_sleepers(count)


async def test_advance_wakes_only_the_sleepers_whose_time_has_come() -> None:
    clock = ManualClock(T0)
    woke: list[str] = []

    async def sleeper(name: str, delay: timedelta) -> None:
        await clock.sleep(delay)
        woke.append(name)

    tasks = [
        asyncio.create_task(sleeper("1m", timedelta(minutes=1))),
        asyncio.create_task(sleeper("1h", timedelta(hours=1))),
    ]
    await _sleeping(clock, 2)
    clock.advance(seconds=59)
    await asyncio.sleep(0)
    assert woke == [] and clock.sleepers == 2
    clock.advance(seconds=1)
    await tasks[0]
    assert woke == ["1m"] and clock.sleepers == 1
    clock.set(T0 + timedelta(hours=2))
    await tasks[1]
    assert woke == ["1m", "1h"] and clock.sleepers == 0


async def test_sleep_until_a_past_instant_returns_at_once() -> None:
    clock = ManualClock(T0)
    async with asyncio.timeout(5):
        await clock.sleep_until(T0 - timedelta(minutes=1))
        await clock.sleep_until(T0)
        await clock.sleep(timedelta(0))
        await clock.sleep(timedelta(seconds=-1))
    assert clock.sleepers == 0


async def test_a_cancelled_sleeper_leaves_the_clock() -> None:
    clock = ManualClock(T0)
    task = asyncio.create_task(clock.sleep(timedelta(minutes=5)))
    await _sleeping(clock, 1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert clock.sleepers == 0
    clock.advance(minutes=10)  # nothing to wake, nothing breaks


async def test_advance_from_another_thread_wakes_a_sleeper_on_this_loop() -> None:
    clock = ManualClock(T0)
    task = asyncio.create_task(clock.sleep(timedelta(minutes=3)))
    await _sleeping(clock, 1)
    await asyncio.to_thread(clock.advance, minutes=3)
    async with asyncio.timeout(5):
        await task


def test_advance_wakes_sleepers_on_other_event_loops() -> None:
    """Two threads, each with its own loop, sleep on one clock; the main thread advances it."""
    clock = ManualClock(T0)
    asleep = threading.Barrier(3)
    woke: list[datetime] = []

    async def sleep_there() -> None:
        task = asyncio.create_task(clock.sleep(timedelta(minutes=5)))
        await asyncio.sleep(0)  # the task runs up to its wait: it is registered
        asleep.wait(timeout=10)  # blocks this loop; the wake-up is queued on it meanwhile
        async with asyncio.timeout(10):
            await task
        woke.append(clock.now())

    threads = [threading.Thread(target=asyncio.run, args=(sleep_there(),)) for _ in range(2)]
    for thread in threads:
        thread.start()
    asleep.wait(timeout=10)
    assert clock.sleepers == 2
    clock.advance(minutes=5)
    for thread in threads:
        thread.join(timeout=10)
    assert woke == [T0 + timedelta(minutes=5)] * 2


async def test_wait_for_sleepers_returns_once_enough_tasks_sleep() -> None:
    clock = ManualClock(T0)
    waiting = asyncio.create_task(clock.wait_for_sleepers(2))
    first = asyncio.create_task(clock.sleep(timedelta(seconds=1)))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert not waiting.done()
    second = asyncio.create_task(clock.sleep(timedelta(seconds=1)))
    async with asyncio.timeout(5):
        await waiting
    clock.advance(seconds=1)
    await asyncio.gather(first, second)


def test_the_manual_clock_still_refuses_to_go_backwards() -> None:
    clock = ManualClock(T0)
    with pytest.raises(ValueError):
        clock.advance(timedelta(seconds=-1))
    with pytest.raises(ValueError):
        clock.set(T0 - timedelta(seconds=1))
    assert clock.advance(minutes=1) == T0 + timedelta(minutes=1)


# ------------------------------------------------------------ SystemClock sleeps


async def test_the_system_clock_sleeps_for_real() -> None:
    clock = SystemClock()
    before = clock.now()
    await clock.sleep(timedelta(milliseconds=20))
    await clock.sleep_until(clock.now() + timedelta(milliseconds=20))
    assert clock.now() - before >= timedelta(milliseconds=30)  # never early (a lower bound only)
    async with asyncio.timeout(5):  # the past and negative durations do not wait
        await clock.sleep_until(before - timedelta(hours=1))
        await clock.sleep(timedelta(seconds=-3))
