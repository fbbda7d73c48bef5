"""The simulated data plane as a pure, deterministic stream of records (no grpc, no clock).

A :class:`Scenario` names the app, how many rooms and users, the seed and the shape of the
calls; :func:`timeline` yields every record of every room from an instant on, in the order
they are due (:class:`Item`: the instant, the kind, the proto message), for ever;
:func:`backfill` stops at an end. The same scenario and start give the same records, byte for
byte, on every run: each call draws from a generator seeded by (seed, room, call number).

    >>> from datetime import UTC, datetime, timedelta
    >>> scenario = Scenario(sdk_app_id=1400000001, rooms=2, users=6, seed=7)
    >>> end = datetime(2026, 1, 1, tzinfo=UTC)
    >>> items = list(backfill(scenario, end - timedelta(hours=1), end))
    >>> items == list(backfill(scenario, end - timedelta(hours=1), end))
    True
    >>> sorted({item.kind for item in items})
    ['client_event', 'event', 'sample', 'usage']
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from rtcconsole_server.simulate._people import Person, person
from rtcconsole_server.simulate._plan import CallPlan, Shape, room_calls, room_id
from rtcconsole_server.simulate._records import CLIENT_EVENT, EVENT, SAMPLE, USAGE, Item, call_items, micros

__all__ = [
    "CLIENT_EVENT",
    "EVENT",
    "KINDS",
    "SAMPLE",
    "USAGE",
    "CallPlan",
    "Item",
    "Person",
    "Scenario",
    "Shape",
    "backfill",
    "calls",
    "micros",
    "people",
    "rooms",
    "timeline",
]

KINDS = (EVENT, SAMPLE, CLIENT_EVENT, USAGE)
"""Every kind of record, in the order summaries list them."""


@dataclass(frozen=True, kw_only=True)
class Scenario:
    """What to simulate."""

    sdk_app_id: int
    """The app every record belongs to."""
    rooms: int = 5
    """Rooms in use; each holds one call after another."""
    users: int = 30
    """The population the calls draw their 2 to ``shape.max_users`` users from (at least 2). A
    user may be in two rooms at once, which R21 counts twice."""
    seed: int = 1
    """Makes the run repeatable: the same seed, the same rooms, users and records."""
    shape: Shape = field(default_factory=Shape)
    """Call lengths, gaps, users per call, congestion rate."""
    tick: timedelta = timedelta(seconds=2)
    """The SDKs' statistics period: one quality sample per stream per tick (1-60 s)."""

    def __post_init__(self) -> None:
        if self.rooms < 1 or self.users < 2 or self.sdk_app_id < 1:
            raise ValueError("a scenario needs an sdk_app_id, at least 1 room and at least 2 users")
        if not timedelta(seconds=1) <= self.tick <= timedelta(seconds=60):
            raise ValueError("tick must be 1-60 seconds")


def people(scenario: Scenario) -> list[Person]:
    """The scenario's population, the same on every run of its seed."""
    return [person(scenario.seed, n) for n in range(scenario.users)]


def rooms(scenario: Scenario) -> list[int | str]:
    """The scenario's rooms: numeric ids, and a string id for every fifth room."""
    return [room_id(scenario.seed, index) for index in range(scenario.rooms)]


def calls(scenario: Scenario, start: datetime, *, stagger: timedelta | None = None) -> Iterator[CallPlan]:
    """Every call of every room beginning after ``start``, in order of start, for ever; each
    room's first call begins within ``stagger`` of ``start`` (default: the longest gap)."""
    population = people(scenario)
    per_room = [
        room_calls(scenario.seed, i, population, start, scenario.shape, stagger)
        for i in range(scenario.rooms)
    ]
    return heapq.merge(*per_room, key=lambda plan: plan.start)


def _room_items(
    scenario: Scenario, index: int, population: list[Person], start: datetime, stagger: timedelta | None
) -> Iterator[Item]:
    tick = micros(start + scenario.tick) - micros(start)
    for plan in room_calls(scenario.seed, index, population, start, scenario.shape, stagger):
        yield from call_items(plan, scenario.sdk_app_id, tick)


def timeline(scenario: Scenario, start: datetime, *, stagger: timedelta | None = None) -> Iterator[Item]:
    """Every record of the calls beginning after ``start`` (as :func:`calls`), in the order they
    are due, for ever.

    A room's calls do not overlap and each call's records are due inside it, so merging the
    rooms by due instant keeps the whole stream in order."""
    population = people(scenario)
    per_room = [_room_items(scenario, i, population, start, stagger) for i in range(scenario.rooms)]
    return heapq.merge(*per_room, key=lambda item: item.due)


def backfill(scenario: Scenario, start: datetime, end: datetime) -> Iterator[Item]:
    """The records of :func:`timeline` due before ``end``: the calls still going on at ``end``
    are cut there (their users have not left yet)."""
    limit = micros(end)
    for item in timeline(scenario, start):
        if item.due >= limit:
            return
        yield item
