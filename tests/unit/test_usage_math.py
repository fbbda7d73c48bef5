"""R16 rounding and R6 allocation, pure: line vs settled minutes, deductions, packages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtcconsole.usage import BILLING_RATIO, CATEGORIES
from rtcconsole_server.domain.usage import DAY, day_start
from rtcconsole_server.domain.usage._math import (
    PackageTerm,
    allocate,
    deductions,
    equivalent_minutes,
    minutes,
    package_state,
)

T0 = datetime(2026, 3, 1, tzinfo=UTC)
seconds_lists = st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=60)


def test_minutes_round_every_started_minute_up() -> None:
    assert [minutes(s) for s in (0, 1, 59, 60, 61, 119, 120, 121)] == [0, 1, 1, 1, 2, 2, 2, 3]
    with pytest.raises(ValueError, match="negative"):
        minutes(-1)


def test_worked_example_of_docs_usage_md() -> None:
    """The table of docs/usage.md: four 5-minute lines of one day, one category."""
    lines = [90, 45, 30, 125]
    assert [minutes(s) for s in lines] == [2, 1, 1, 3]  # 7 line minutes
    assert minutes(sum(lines)) == 5  # 290 s settle as 5 minutes
    # cumulative 90, 135, 165, 290 s → 2, 3, 3, 5 minutes: each line deducts the step
    assert deductions(lines) == [2, 1, 0, 2]


@given(seconds_lists)
def test_line_minutes_exceed_settled_minutes_by_at_most_lines_minus_one(lines: list[int]) -> None:
    nonempty = [s for s in lines if s]
    difference = sum(minutes(s) for s in nonempty) - minutes(sum(nonempty))
    assert 0 <= difference <= max(len(nonempty) - 1, 0)


@given(seconds_lists, st.integers(min_value=0, max_value=10_000))
def test_deductions_add_up_to_the_settled_minutes_of_the_day(lines: list[int], carried: int) -> None:
    deducted = deductions(lines, carried=carried)
    assert all(d >= 0 for d in deducted)
    assert sum(deducted) == minutes(carried + sum(lines)) - minutes(carried)
    assert all(d <= minutes(s) for d, s in zip(deducted, lines, strict=True))


def test_equivalent_minutes_use_the_ratios_and_charge_sd_like_hd() -> None:
    assert BILLING_RATIO["SD"] == BILLING_RATIO["HD"] == 4
    assert equivalent_minutes({"Audio": 61, "SD": 60, "HD": 1, "4K": 120}) == 2 + 4 + 4 + 72
    assert equivalent_minutes({c: 0 for c in CATEGORIES}) == 0


def test_day_start_is_midnight_utc() -> None:
    assert day_start(datetime(2026, 3, 1, 23, 59, tzinfo=UTC)) == T0
    assert day_start(T0) == T0


def _package(package_id: int, minutes_: int, start_day: int, end_day: int) -> PackageTerm:
    return PackageTerm(package_id, minutes_, T0 + start_day * DAY, T0 + end_day * DAY)


def test_allocation_fills_the_earliest_expiring_package_valid_that_day_first() -> None:
    long = _package(1, 100, 0, 30)
    short = _package(2, 10, 0, 2)
    later = _package(3, 50, 5, 10)
    daily = {T0: 8, T0 + DAY: 8, T0 + 3 * DAY: 20, T0 + 6 * DAY: 60}
    result = allocate([long, short, later], daily)
    # day 0: short 8; day 1: short 2 then long 6; day 3: long 20; day 6: later 50 then long 10
    assert result.used == {2: 10, 1: 36, 3: 50}
    assert result.uncovered == 0


def test_usage_on_days_without_a_package_is_uncovered_and_never_eats_a_later_package() -> None:
    result = allocate([_package(1, 100, 5, 10)], {T0: 30, T0 + 6 * DAY: 7})
    assert result.used == {1: 7}
    assert result.uncovered == 30


def test_a_package_covers_the_whole_day_it_starts_or_ends_in() -> None:
    package = PackageTerm(1, 100, T0 + timedelta(hours=12), T0 + DAY + timedelta(hours=1))
    assert package.covers_day(T0) and package.covers_day(T0 + DAY)
    assert not package.covers_day(T0 - DAY) and not package.covers_day(T0 + 2 * DAY)


def test_state_is_none_without_packages_then_ok_used_up_expired() -> None:
    package = _package(1, 10, 0, 30)
    assert package_state([], {}, T0) is None
    assert package_state([package], {1: 9}, T0 + DAY) == "ok"
    assert package_state([package], {1: 10}, T0 + DAY) == "used_up"
    assert package_state([package], {1: 0}, T0 + 30 * DAY) == "expired"  # valid_to is exclusive
    assert package_state([package], {1: 0}, T0 - timedelta(seconds=1)) == "expired"  # not started yet
    fresh = _package(2, 5, 1, 30)
    assert package_state([package, fresh], {1: 10, 2: 0}, T0 + DAY) == "ok"  # a new package brings it back


@settings(max_examples=200)
@given(
    st.lists(st.tuples(st.integers(1, 500), st.integers(0, 20), st.integers(1, 20)), min_size=1, max_size=5),
    st.dictionaries(st.integers(0, 40), st.integers(0, 300), max_size=20),
)
def test_allocation_conserves_minutes_and_never_overfills(
    specs: list[tuple[int, int, int]], usage: dict[int, int]
) -> None:
    packages = [_package(i + 1, m, start, start + length) for i, (m, start, length) in enumerate(specs)]
    daily = {T0 + d * DAY: v for d, v in usage.items()}
    result = allocate(packages, daily)
    assert sum(result.used.values()) + result.uncovered == sum(daily.values())
    assert all(0 <= result.used[p.package_id] <= p.minutes for p in packages)
    for day, need in daily.items():  # a day no package covers is uncovered entirely
        if not any(p.covers_day(day) for p in packages):
            assert result.uncovered >= need
