"""Reading usage (R16): lines per period with line, settled and deducted minutes side by side.

The aggregator publishes one line per (app, 5-minute window, kind, category)
and keeps per-day sums beside them; a query sums the lines of its scope (one
app, or every app the account ever had) into periods of 5 minutes, one hour or
one day, then rounds each period up once (``usage_math``). Full days come from
the day sums, partial days and finer periods from the lines. Integer
arithmetic only.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from rtcconsole.usage import CATEGORIES
from rtcconsole_server.clock import Clock, floor_instant, utc
from rtcconsole_server.domain.common import Caller, instant_violations
from rtcconsole_server.domain.usage._ingest import KINDS, WINDOW, window_start
from rtcconsole_server.domain.usage._math import DAY, day_start, deductions, minutes
from rtcconsole_server.errors import FieldViolation, InvalidArgument, NotFound
from rtcconsole_server.store import Store
from rtcconsole_server.store.models import App
from rtcconsole_server.store.models_usage import UsageDay, UsageLine, UsageProgress

__all__ = [
    "CLOUD_RECORDING",
    "INTERACTIVE_AV",
    "MAX_RANGE",
    "CategoryTotalView",
    "Granularity",
    "UsageLineView",
    "UsageQuery",
    "UsageReport",
    "read_data_through",
]

INTERACTIVE_AV = 1
"""``UsageKind`` number of interactive audio/video."""
CLOUD_RECORDING = 2
"""``UsageKind`` number of cloud recording."""
MAX_RANGE = timedelta(days=31)
"""Longest range of one query."""
_DEFAULT_DAILY_ABOVE = timedelta(days=1)
_CATEGORY_ORDER = {c: i for i, c in enumerate(CATEGORIES)}
PROGRESS_ROW = 1
"""``usage_progress.id`` of the single progress row."""


class Granularity(enum.Enum):
    FIVE_MINUTES = timedelta(minutes=5)
    HOUR = timedelta(hours=1)
    DAY = timedelta(days=1)

    def __init__(self, step: timedelta) -> None:
        self.step = step
        """The period's length: the member's value, as a plain attribute (``bucket`` runs per row,
        and ``Enum.value`` is a slower descriptor)."""

    def bucket(self, instant: datetime) -> datetime:
        """Start of the period (5 minutes, a UTC hour, a UTC day) containing ``instant``, aware UTC:
        ``clock.floor_instant`` to the period (the one floor of windows, hours and days)."""
        return floor_instant(utc(instant), self.step)


@dataclass(frozen=True)
class UsageLineView:
    period_start: datetime
    period_end: datetime
    category: str
    seconds: int
    minutes: int
    """``ceil(seconds / 60)``."""
    deducted_minutes: int
    """What the period adds to its UTC settlement day within the query's scope."""
    revision: int


@dataclass(frozen=True)
class CategoryTotalView:
    category: str
    seconds: int
    line_minutes: int
    """Sum of the lines' minutes."""
    settled_minutes: int
    """``ceil(seconds / 60)`` of the total."""
    deducted_minutes: int


@dataclass(frozen=True)
class UsageReport:
    kind: int
    sdk_app_id: int
    """0 for the whole account."""
    granularity: Granularity
    start: datetime
    """Inclusive, on a 5-minute boundary."""
    end: datetime
    """Exclusive, on a 5-minute boundary."""
    lines: tuple[UsageLineView, ...]
    totals: tuple[CategoryTotalView, ...]
    data_through: datetime | None


def read_data_through(session: Session) -> datetime | None:
    """Every window ending at or before this instant has been published; None before the first tick."""
    return session.scalar(select(UsageProgress.data_through).where(UsageProgress.id == PROGRESS_ROW))


def _ceil_window(instant: datetime) -> datetime:
    start = window_start(instant)
    return start if start == instant else start + WINDOW


def _validate(
    kind: int, start: datetime | None, end: datetime | None, granularity: Granularity | None
) -> tuple[datetime, datetime, Granularity]:
    problems = []
    if kind not in KINDS:
        problems.append(
            FieldViolation("kind", "must be USAGE_KIND_INTERACTIVE_AV or USAGE_KIND_CLOUD_RECORDING")
        )
    if start is None:
        problems.append(FieldViolation("start_time", "is required"))
    if end is None:
        problems.append(FieldViolation("end_time", "is required"))
    out_of_range = instant_violations(start, "start_time") + instant_violations(end, "end_time")
    problems += out_of_range  # rounding to windows and days must not leave the calendar
    if start is not None and end is not None and not out_of_range:
        if end <= start:
            problems.append(FieldViolation("end_time", "must be after start_time"))
        elif end - start > MAX_RANGE:
            problems.append(
                FieldViolation(
                    "end_time",
                    f"a range is at most {MAX_RANGE.days} days ({int(MAX_RANGE.total_seconds()):,} s); "
                    f"this one is {end - start}",
                )
            )
    if problems:
        raise InvalidArgument(problems)
    assert start is not None and end is not None
    if granularity is None:
        granularity = Granularity.DAY if end - start > _DEFAULT_DAILY_ABOVE else Granularity.FIVE_MINUTES
    return window_start(start.astimezone(UTC)), _ceil_window(end.astimezone(UTC)), granularity


class UsageQuery:
    """``GetUsage``: the caller's usage over a range."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def get(
        self,
        caller: Caller,
        *,
        kind: int,
        sdk_app_id: int,
        start: datetime | None,
        end: datetime | None,
        granularity: Granularity | None,
    ) -> UsageReport:
        """Lines of ``kind`` over [start, end) for one app (``sdk_app_id``) or the account (0)."""
        first, last, granularity = _validate(kind, start, end, granularity)
        with self._store.read() as session:
            if sdk_app_id:
                owner = session.scalar(select(App.account_id).where(App.sdk_app_id == sdk_app_id))
                if owner != caller.account_id:  # deleted apps of the caller still count
                    raise NotFound("app", str(sdk_app_id))
            scope = _Scope(caller.account_id, sdk_app_id, kind)
            cells = scope.cells(session, first, last, granularity)
            carried = scope.carried(session, first)
            through = read_data_through(session)
        lines = _lines(cells, granularity, first, last, carried)
        return UsageReport(
            kind, sdk_app_id, granularity, first, last, tuple(lines), tuple(_totals(lines)), through
        )


_Cells = dict[tuple[datetime, str], list[int]]
"""(period start, category) → [seconds, highest revision]."""
_Row = tuple[datetime, str, int, int]
"""(window or day start, category, seconds, highest revision)."""


@dataclass(frozen=True)
class _Scope:
    account_id: int
    sdk_app_id: int
    kind: int

    def _where(self, table: type[UsageLine] | type[UsageDay]) -> list[ColumnElement[bool]]:
        conditions = [table.account_id == self.account_id, table.kind == self.kind]
        if self.sdk_app_id:
            conditions.append(table.sdk_app_id == self.sdk_app_id)
        return conditions

    def _windows(self, session: Session, a: datetime, b: datetime) -> list[_Row]:
        if a >= b:
            return []
        rows = session.execute(
            select(
                UsageLine.window_start,
                UsageLine.category,
                func.sum(UsageLine.seconds),
                func.max(UsageLine.revision),
            )
            .where(*self._where(UsageLine), UsageLine.window_start >= a, UsageLine.window_start < b)
            .group_by(UsageLine.window_start, UsageLine.category)
        )
        return [(when, category, int(seconds), int(revision)) for when, category, seconds, revision in rows]

    def _days(self, session: Session, a: datetime, b: datetime) -> list[_Row]:
        rows = session.execute(
            select(UsageDay.day, UsageDay.category, func.sum(UsageDay.seconds), func.max(UsageDay.revision))
            .where(*self._where(UsageDay), UsageDay.day >= a, UsageDay.day < b)
            .group_by(UsageDay.day, UsageDay.category)
        )
        return [(when, category, int(seconds), int(revision)) for when, category, seconds, revision in rows]

    def cells(self, session: Session, first: datetime, last: datetime, granularity: Granularity) -> _Cells:
        """Seconds and revision per (period, category) over [first, last)."""
        rows = []
        full_from, full_to = day_start(first - timedelta(microseconds=1)) + DAY, day_start(last)
        if granularity is Granularity.DAY and full_from < full_to:
            rows += self._windows(session, first, full_from)
            rows += self._days(session, full_from, full_to)
            rows += self._windows(session, full_to, last)
        else:
            rows += self._windows(session, first, last)
        cells: _Cells = defaultdict(lambda: [0, 0])
        for when, category, seconds, revision in rows:
            cell = cells[(granularity.bucket(when), category)]
            cell[0] += seconds
            cell[1] = max(cell[1], revision)
        return cells

    def carried(self, session: Session, first: datetime) -> dict[str, int]:
        """Seconds per category of the settlement day of ``first`` before ``first``."""
        carried: dict[str, int] = defaultdict(int)
        for _, category, seconds, _ in self._windows(session, day_start(first), first):
            carried[category] += int(seconds)
        return carried


def _lines(
    cells: _Cells, granularity: Granularity, first: datetime, last: datetime, carried: dict[str, int]
) -> list[UsageLineView]:
    by_category: dict[str, list[datetime]] = defaultdict(list)
    for period, category in cells:
        by_category[category].append(period)
    lines = []
    for category, periods in by_category.items():
        periods.sort()
        cumulative_day, cumulative = day_start(first), carried.get(category, 0)
        for period in periods:
            seconds, revision = cells[(period, category)]
            if day_start(period) != cumulative_day:
                cumulative_day, cumulative = day_start(period), 0
            (deducted,) = deductions([seconds], carried=cumulative)
            cumulative += seconds
            lines.append(
                UsageLineView(
                    max(period, first),
                    min(period + granularity.value, last),
                    category,
                    seconds,
                    minutes(seconds),
                    deducted,
                    revision,
                )
            )
    lines.sort(key=lambda line: (line.period_start, _CATEGORY_ORDER.get(line.category, 99)))
    return lines


def _totals(lines: list[UsageLineView]) -> list[CategoryTotalView]:
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for line in lines:
        total = sums[line.category]
        total[0] += line.seconds
        total[1] += line.minutes
        total[2] += line.deducted_minutes
    return [
        CategoryTotalView(category, seconds, line_minutes, minutes(seconds), deducted)
        for category, (seconds, line_minutes, deducted) in sorted(
            sums.items(), key=lambda item: _CATEGORY_ORDER.get(item[0], 99)
        )
    ]
