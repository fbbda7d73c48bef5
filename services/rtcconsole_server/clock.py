"""The injectable clock, and instants floored to a step.

Every component that applies a rule with minutes in it (R7's 3–5-minute effect
and 30-minute secondary authentication, R11's 5-minute delay, R16's 5-minute
windows) reads time from a :class:`Clock`, and every background worker waits
on it between two steps (:meth:`Clock.sleep`). With a :class:`ManualClock` a
test moves time by hours in milliseconds: :meth:`ManualClock.advance` wakes the
sleepers whose time has come, on their own event loops.

:func:`floor_instant` and :func:`step_index` are the one definition of "the
5-minute window / 10-second slot / UTC hour or day that holds this instant": steps
are counted from :data:`EPOCH` (1970-01-01 UTC). :func:`epoch_us` is an instant as
whole microseconds since it (the step of one microsecond).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

__all__ = [
    "EPOCH",
    "Clock",
    "ManualClock",
    "SystemClock",
    "epoch_us",
    "floor_instant",
    "step_index",
    "utc",
]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
"""The Unix epoch, aware UTC: the origin from which every step (window, slot) is counted."""
_MICROSECOND = timedelta(microseconds=1)


def utc(value: datetime) -> datetime:
    """Return ``value`` as an aware UTC datetime (naive values are taken as UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _check_step(step: timedelta) -> None:
    if step <= timedelta(0):
        raise ValueError(f"a step must be positive, got {step}")


def step_index(instant: datetime, step: timedelta) -> int:
    """How many whole ``step``\\ s lie between :data:`EPOCH` and ``instant`` (negative before it).

    A naive ``instant`` is taken as UTC. ``step_index(t, timedelta(seconds=10))`` is
    the 10-second slot of ``t``. Raises ``ValueError`` unless ``step`` is positive.
    """
    _check_step(step)
    return (utc(instant) - EPOCH) // step


def floor_instant(instant: datetime, step: timedelta) -> datetime:
    """The start of the ``step``-long interval, counted from :data:`EPOCH`, that holds ``instant``.

    ``floor_instant(08:07:31Z, timedelta(minutes=5)) == 08:05:00Z``: the interval is
    ``[result, result + step)``, so an instant on a boundary is its own floor. Exact to
    the microsecond (``timedelta`` arithmetic, no floats). An aware ``instant`` keeps its
    timezone (the floor is the same instant in any zone: steps are counted in UTC); a
    naive one is taken as UTC and the result is aware UTC. Raises ``ValueError`` unless
    ``step`` is positive.
    """
    _check_step(step)
    aware = utc(instant) if instant.tzinfo is None else instant
    return aware - (aware - EPOCH) % step


def epoch_us(instant: datetime) -> int:
    """``instant`` as whole microseconds since :data:`EPOCH` (negative before it), exactly.

    Integer ``timedelta`` arithmetic, no float (``datetime.timestamp()`` rounds through a
    float and is off by a microsecond for some instants). A naive ``instant`` is taken as UTC.
    ``epoch_us(datetime(1970, 1, 1, 0, 0, 1, 5, tzinfo=UTC)) == 1_000_005``.
    """
    return (utc(instant) - EPOCH) // _MICROSECOND


class Clock(Protocol):
    """A source of the current time, and a way to wait for a later one."""

    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""
        ...

    async def sleep_until(self, instant: datetime) -> None:
        """Return once the clock reads ``instant`` or later (at once if it already does).

        Cancelling the awaiting task ends the wait (``asyncio.CancelledError``)."""
        ...

    async def sleep(self, duration: timedelta) -> None:
        """Return once ``duration`` has passed on this clock (at once if it is zero or negative)."""
        ...


class SystemClock:
    """The wall clock; its sleeps are real ``asyncio`` sleeps."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep_until(self, instant: datetime) -> None:
        await self.sleep(utc(instant) - self.now())

    async def sleep(self, duration: timedelta) -> None:
        await asyncio.sleep(max(duration.total_seconds(), 0.0))


@dataclass(eq=False)
class _Sleeper:
    """A task waiting on a :class:`ManualClock`: until ``deadline`` (or a count of sleepers)."""

    deadline: datetime | None
    count: int
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[None]

    def wake(self) -> None:
        """Resolve the future on its own loop (from any thread); a closed loop has no one to wake."""
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(_resolve, self.future)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class ManualClock:
    """A clock that only moves when told to; safe to share between threads and event loops.

    Sleepers (:meth:`sleep`, :meth:`sleep_until`) wait until :meth:`advance` or :meth:`set`
    moves the clock to their deadline; each is woken on its own event loop with
    ``call_soon_threadsafe``, so the task that advances may run on any thread or loop.
    A woken task runs at its loop's next iteration: yield to the loop (``await
    asyncio.sleep(0)``) or wait for the workers to be asleep again
    (:meth:`wait_for_sleepers`) before looking at what they did.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._now = utc(start) if start else datetime(2026, 1, 1, tzinfo=UTC)
        self._lock = threading.Lock()
        self._sleepers: list[_Sleeper] = []
        self._watchers: list[_Sleeper] = []

    def now(self) -> datetime:
        with self._lock:
            return self._now

    @property
    def sleepers(self) -> int:
        """How many tasks are asleep on this clock right now."""
        with self._lock:
            return len(self._sleepers)

    def advance(self, delta: timedelta | None = None, /, **kwargs: float) -> datetime:
        """Move forward by ``delta`` (or ``timedelta(**kwargs)``), wake who is due, return the new time."""
        step = delta if delta is not None else timedelta(**kwargs)
        if step < timedelta(0):
            raise ValueError("a clock does not go backwards")
        with self._lock:
            self._now += step
            now, due = self._now, self._take_due()
        for sleeper in due:
            sleeper.wake()
        return now

    def set(self, instant: datetime) -> None:
        """Jump to ``instant`` (never backwards) and wake who is due."""
        instant = utc(instant)
        with self._lock:
            if instant < self._now:
                raise ValueError("a clock does not go backwards")
            self._now = instant
            due = self._take_due()
        for sleeper in due:
            sleeper.wake()

    async def sleep_until(self, instant: datetime) -> None:
        """Wait until the clock is moved to ``instant`` or later; if it is there already, yield once."""
        instant = utc(instant)
        loop = asyncio.get_running_loop()
        sleeper = _Sleeper(instant, 0, loop, loop.create_future())
        watchers: list[_Sleeper] = []
        with self._lock:
            passed = instant <= self._now
            if not passed:
                self._sleepers.append(sleeper)
                watchers = self._take_watchers()
        if passed:
            await asyncio.sleep(0)
            return
        for watcher in watchers:
            watcher.wake()
        try:
            await sleeper.future
        finally:
            with self._lock:
                if sleeper in self._sleepers:
                    self._sleepers.remove(sleeper)

    async def sleep(self, duration: timedelta) -> None:
        """Wait until the clock has moved on by ``duration`` (yield once if it is not positive)."""
        await self.sleep_until(self.now() + duration)

    async def wait_for_sleepers(self, count: int = 1) -> None:
        """Return once at least ``count`` tasks are asleep on this clock (real time, no deadline).

        After ``advance`` this tells a test that the workers it woke have finished their
        step and are waiting for the next one. Wrap it in ``asyncio.timeout`` to bound it."""
        loop = asyncio.get_running_loop()
        watcher = _Sleeper(None, count, loop, loop.create_future())
        with self._lock:
            if len(self._sleepers) >= count:
                return
            self._watchers.append(watcher)
        try:
            await watcher.future
        finally:
            with self._lock:
                if watcher in self._watchers:
                    self._watchers.remove(watcher)

    def _take_due(self) -> list[_Sleeper]:
        """Remove and return the sleepers whose deadline has come (the lock is held)."""
        due = [s for s in self._sleepers if s.deadline is not None and s.deadline <= self._now]
        self._sleepers = [s for s in self._sleepers if s not in due]
        return due

    def _take_watchers(self) -> list[_Sleeper]:
        """Remove and return the watchers whose count of sleepers is reached (the lock is held)."""
        ready = [w for w in self._watchers if len(self._sleepers) >= w.count]
        self._watchers = [w for w in self._watchers if w not in ready]
        return ready
