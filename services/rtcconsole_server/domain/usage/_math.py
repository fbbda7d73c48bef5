"""The arithmetic of R16 and R6, pure and in whole numbers (no floats anywhere).

- A line shows ``minutes(seconds)``: a started minute counts as one.
- Settled minutes come from a total: ``minutes(sum of seconds)``; the sum of
  line minutes exceeds it by at most (number of lines − 1).
- Per-period deduction over a settlement day (UTC):
  ``minutes(cumulative_t) − minutes(cumulative_{t−1})``; the deductions of a day
  add up to the day's settled minutes.
- A day's *equivalent minutes* (what a package is charged): the settled minutes
  of each interactive audio/video category times its ``BILLING_RATIO``.
- Allocation (docs/usage.md): each day's equivalent minutes go to the packages
  valid that day, earliest ``valid_to`` first; what none can take is uncovered.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from rtcconsole.usage import BILLING_RATIO
from rtcconsole_server.clock import floor_instant, utc

__all__ = [
    "DAY",
    "Allocation",
    "PackageTerm",
    "allocate",
    "consumption_order",
    "day_start",
    "deductions",
    "equivalent_minutes",
    "minutes",
    "package_state",
]

DAY = timedelta(days=1)
"""A settlement day: midnight to midnight UTC."""


def minutes(seconds: int) -> int:
    """``ceil(seconds / 60)`` in integers: 0 → 0, 1 → 1, 60 → 1, 61 → 2."""
    if seconds < 0:
        raise ValueError("seconds must not be negative")
    return -(-seconds // 60)


def day_start(instant: datetime) -> datetime:
    """Midnight UTC of the day containing ``instant``, aware UTC (``clock.floor_instant`` to a
    :data:`DAY`; the instants of usage are aware, a naive one would be taken as UTC)."""
    return floor_instant(utc(instant), DAY)


def deductions(seconds: Sequence[int], *, carried: int = 0) -> list[int]:
    """Minutes each period adds to its settlement day, in order.

    ``seconds`` are consecutive periods of one day and category; ``carried`` is
    what that day had used before the first of them.
    """
    out = []
    cumulative = carried
    for period in seconds:
        before = cumulative
        cumulative += period
        out.append(minutes(cumulative) - minutes(before))
    return out


def equivalent_minutes(day_seconds: Mapping[str, int]) -> int:
    """Equivalent minutes of one settlement day of interactive audio/video: seconds per category."""
    return sum(minutes(seconds) * BILLING_RATIO[category] for category, seconds in day_seconds.items())


@dataclass(frozen=True)
class PackageTerm:
    """What allocation needs of a package."""

    package_id: int
    minutes: int
    """Equivalent minutes."""
    valid_from: datetime
    valid_to: datetime
    """Exclusive."""

    def covers_day(self, day: datetime) -> bool:
        """Valid at some instant of the UTC day starting at ``day``."""
        return self.valid_from < day + DAY and self.valid_to > day

    def in_force(self, now: datetime) -> bool:
        return self.valid_from <= now < self.valid_to


@dataclass(frozen=True)
class Allocation:
    used: dict[int, int]
    """Equivalent minutes taken from each package, by package id (never above its minutes)."""
    uncovered: int
    """Equivalent minutes that no package could take."""


def consumption_order(packages: Iterable[PackageTerm]) -> list[PackageTerm]:
    """Earliest ``valid_to`` first, then earliest ``valid_from``, then oldest id."""
    return sorted(packages, key=lambda p: (p.valid_to, p.valid_from, p.package_id))


def allocate(packages: Sequence[PackageTerm], daily: Mapping[datetime, int]) -> Allocation:
    """Spread each day's equivalent minutes (``daily``, keyed by midnight UTC) over the packages."""
    ordered = consumption_order(packages)
    used = {p.package_id: 0 for p in ordered}
    uncovered = 0
    for day in sorted(daily):
        need = daily[day]
        for package in ordered:
            if need == 0:
                break
            if package.covers_day(day):
                take = min(need, package.minutes - used[package.package_id])
                used[package.package_id] += take
                need -= take
        uncovered += need
    return Allocation(used, uncovered)


def package_state(packages: Sequence[PackageTerm], used: Mapping[int, int], now: datetime) -> str | None:
    """``"ok"``, ``"used_up"`` or ``"expired"`` at ``now``; None when there is no package (not metered).

    ``expired``: no package is in force (all ended, or none started yet).
    ``used_up``: every package in force has no minute left. Otherwise ``ok``.
    """
    if not packages:
        return None
    in_force = [p for p in packages if p.in_force(now)]
    if not in_force:
        return "expired"
    if any(used.get(p.package_id, 0) < p.minutes for p in in_force):
        return "ok"
    return "used_up"
