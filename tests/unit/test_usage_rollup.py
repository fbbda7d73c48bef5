"""Properties of ingest + roll-up on a real store (SQLite and PostgreSQL).

Any multiset of records with repeated ids, ingested in any order and batching,
with the aggregator ticking at arbitrary moments in between, ends in exactly
the lines of the de-duplicated set: Σ line seconds = Σ raw seconds, the day
sums equal the lines, and a window that got records after it was published
carries a higher revision.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from rtcconsole.usage import CATEGORIES
from rtcconsole_aggregator import Aggregator, build_aggregator
from rtcconsole_server.clock import ManualClock
from rtcconsole_server.domain.apps import Apps
from rtcconsole_server.domain.auth import Accounts
from rtcconsole_server.domain.common import Caller
from rtcconsole_server.domain.usage import UsageIngest, UsageInput, day_start, window_start
from rtcconsole_server.store import Store, open_store
from rtcconsole_server.store.models_usage import UsageDay, UsageLine, UsageWindow

_names = itertools.count()


@dataclass
class Rig:
    store: Store
    clock: ManualClock
    ingest: UsageIngest
    aggregator: Aggregator

    def new_app(self) -> int:
        issued = Accounts(self.store, self.clock).create(f"prop-{next(_names)}")
        caller = Caller(issued.account_id, issued.key_id)
        return Apps(self.store, self.clock).create(caller, name="prop", description="").sdk_app_id

    def lines(self, sdk_app_id: int) -> dict[tuple[datetime, int, str], int]:
        with self.store.read() as session:
            rows = session.execute(
                select(UsageLine.window_start, UsageLine.kind, UsageLine.category, UsageLine.seconds).where(
                    UsageLine.sdk_app_id == sdk_app_id
                )
            )
            return {(w, k, c): s for w, k, c, s in rows}

    def days(self, sdk_app_id: int) -> dict[tuple[datetime, int, str], int]:
        with self.store.read() as session:
            rows = session.execute(
                select(UsageDay.day, UsageDay.kind, UsageDay.category, UsageDay.seconds).where(
                    UsageDay.sdk_app_id == sdk_app_id
                )
            )
            return {(d, k, c): s for d, k, c, s in rows}

    def revisions(self, sdk_app_id: int) -> dict[datetime, int]:
        with self.store.read() as session:
            rows = session.execute(
                select(UsageWindow.window_start, UsageWindow.revision).where(
                    UsageWindow.sdk_app_id == sdk_app_id
                )
            )
            return {when: revision for when, revision in rows}


@pytest.fixture
def rig(database_url: str) -> Iterator[Rig]:
    store = open_store(database_url)
    clock = ManualClock()
    aggregator = build_aggregator(store, clock, watermark=timedelta(minutes=5), batch_windows=3)
    try:
        yield Rig(store, clock, UsageIngest(store, clock), aggregator)
    finally:
        store.dispose()


record_specs = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=40),  # minutes before the start of the example
        st.sampled_from([1, 2]),  # kind
        st.sampled_from(CATEGORIES),
        st.integers(min_value=1, max_value=3600),  # seconds
    ),
    min_size=1,
    max_size=25,
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(specs=record_specs, data=st.data())
def test_any_multiset_in_any_order_and_batching_gives_the_deduplicated_lines(
    rig: Rig, specs: list[tuple[int, int, str, int]], data: st.DataObject
) -> None:
    app = rig.new_app()
    start = rig.clock.now()
    distinct = [
        UsageInput(f"rec-{i}", app, "n:7", f"user{i % 3}", kind, category, start - timedelta(minutes=m), s)
        for i, (m, kind, category, s) in enumerate(specs)
    ]
    copies = data.draw(st.lists(st.integers(1, 3), min_size=len(distinct), max_size=len(distinct)))
    repeated = [r for r, n in zip(distinct, copies, strict=True) for _ in range(n)]
    multiset = data.draw(st.permutations(repeated))
    position = 0
    while position < len(multiset):
        size = data.draw(st.integers(1, 6), label="batch size")
        outcome = rig.ingest.record(multiset[position : position + size])
        assert not outcome.rejections
        position += size
        if data.draw(st.booleans(), label="tick now"):
            rig.clock.advance(minutes=data.draw(st.integers(0, 12), label="minutes to the tick"))
            rig.aggregator.run_once()
    rig.clock.advance(minutes=20)
    rig.aggregator.run_once()

    expected: dict[tuple[datetime, int, str], int] = defaultdict(int)
    for record in distinct:
        expected[(window_start(record.start_time), record.kind, record.category)] += record.seconds
    lines = rig.lines(app)
    assert lines == expected
    assert sum(lines.values()) == sum(r.seconds for r in distinct)
    per_day: dict[tuple[datetime, int, str], int] = defaultdict(int)
    for (when, kind, category), seconds in lines.items():
        per_day[(day_start(when), kind, category)] += seconds
    assert rig.days(app) == per_day
    assert all(revision >= 1 for revision in rig.revisions(app).values())

    rig.aggregator.run_once()  # running again changes nothing
    assert rig.lines(app) == expected


def test_a_late_record_reopens_its_window_with_a_higher_revision(rig: Rig) -> None:
    app = rig.new_app()
    when = window_start(rig.clock.now()) - timedelta(minutes=30)
    rig.ingest.record([UsageInput("a", app, "n:1", "u", 1, "HD", when, 100)])
    rig.aggregator.run_once()
    assert rig.lines(app) == {(when, 1, "HD"): 100}
    assert rig.revisions(app) == {when: 1}
    rig.ingest.record([UsageInput("b", app, "n:1", "u", 1, "HD", when + timedelta(seconds=5), 50)])
    rig.ingest.record([UsageInput("c", app, "n:1", "u", 1, "Audio", when, 7)])
    assert rig.lines(app) == {(when, 1, "HD"): 100}  # not yet: published at the next tick
    rig.aggregator.run_once()
    assert rig.lines(app) == {(when, 1, "HD"): 150, (when, 1, "Audio"): 7}
    assert rig.revisions(app) == {when: 2}
    rig.ingest.record([UsageInput("b", app, "n:1", "u", 1, "HD", when + timedelta(seconds=5), 50)])  # retry
    rig.aggregator.run_once()
    assert rig.revisions(app) == {when: 2}  # a retry bumps nothing
