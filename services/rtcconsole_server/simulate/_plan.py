"""The plan of each simulated call: who is in it when, who sends what, when the network suffers.

A room's calls follow one another with a gap in between (a room used again is a new call,
R17). A call has 2-6 users from the run's population: its first user (an anchor) opens it and
stays to the end, so the call has no hole; the others enter and leave inside it, some twice
(two presence intervals, R18), some as audience who switch to anchor midway. Anchors send
audio and, mostly, video; in some calls the first anchor shares its screen for a while.

Congestion comes as **episodes** of a few seconds on one user: a loss burst on its uplink or
downlink, a bitrate drop, a render stall (frame rate down, stall time up), a capture frame rate
collapse, or high CPU. :mod:`._records` turns the plan into the records the data plane reports.

Everything is drawn from a generator seeded by ``(seed, room, call number)``: a call is the
same whatever else is generated, so a backfill and a live run of one seed agree.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from rtcconsole_server.simulate._people import Person

__all__ = [
    "ANCHOR",
    "AUDIENCE",
    "AUDIO",
    "SCREEN",
    "VIDEO",
    "CallPlan",
    "Episode",
    "Publish",
    "Shape",
    "Stay",
    "room_calls",
    "room_id",
]

ANCHOR, AUDIENCE = 1, 2
"""``rtcconsole.v1.Role`` numbers."""
VIDEO, AUDIO, SCREEN = 1, 2, 3
"""``rtcconsole.v1.MediaKind`` numbers."""
EPISODE_KINDS = ("loss_up", "loss_down", "bitrate", "stall", "capture", "cpu")


@dataclass(frozen=True, kw_only=True)
class Shape:
    """How calls are sized and spaced; the defaults look like a small social app."""

    call_minutes: tuple[float, float] = (4.0, 25.0)
    """A call's length, drawn uniformly from this range, in minutes."""
    gap_minutes: tuple[float, float] = (1.0, 20.0)
    """The time a room stays empty between two calls, in minutes."""
    max_users: int = 6
    """Most users in one call (at least 2, at most the population)."""
    episodes_per_user_minute: float = 0.25
    """Congestion episodes per user and minute of presence, on average."""


@dataclass(frozen=True)
class Stay:
    """One presence interval of one user in a call."""

    person: Person
    role: int
    """The role entered with (ANCHOR or AUDIENCE)."""
    enter: datetime
    leave: datetime
    switch_at: datetime | None
    """When an audience member became anchor (ROLE_SWITCHED), if it did."""
    exit_reason: int
    """0 normal; 1 the room was dismissed; 2 the client timed out."""


@dataclass(frozen=True)
class Publish:
    """One user sending one media kind over ``[start, end)``."""

    user_id: str
    media: int
    start: datetime
    end: datetime
    height: int
    """Video lines sent (0 for audio)."""


@dataclass(frozen=True)
class Episode:
    """Congestion on one user over ``[start, end)``; ``severity`` in (0, 1]."""

    user_id: str
    kind: str
    """One of :data:`EPISODE_KINDS`."""
    start: datetime
    end: datetime
    severity: float


@dataclass(frozen=True)
class CallPlan:
    room_index: int
    room: int | str
    """The numeric room id, or a string room id."""
    number: int
    """The call's number in its room (0 first)."""
    start: datetime
    end: datetime
    stays: tuple[Stay, ...]
    publishes: tuple[Publish, ...]
    episodes: tuple[Episode, ...]
    dismissed: bool
    """Ends with ROOM_DISMISSED (the users still inside leave at that instant)."""
    recorded: bool
    """Cloud recording runs for its anchors' streams (R13, usage of kind CLOUD_RECORDING)."""
    seed: int

    @property
    def key(self) -> str:
        """The prefix of every record id of the call: stable for one seed and start."""
        return f"sim{self.seed}-r{self.room_index}-{int(self.start.timestamp() * 1000)}"


def room_id(seed: int, room_index: int) -> int | str:
    """Room ``room_index`` of the run: mostly numeric ids, every fifth a string id."""
    rng = random.Random(f"room-id:{seed}:{room_index}")  # noqa: S311  (a simulation, not a secret)
    if room_index % 5 == 4:
        return f"room_{rng.randrange(16**8):08x}"
    return rng.randrange(1000, 100_000_000)


def _at(start: datetime, seconds: float) -> datetime:
    return start + timedelta(microseconds=round(seconds * 1_000_000))


def room_calls(
    seed: int,
    room_index: int,
    people: Sequence[Person],
    start: datetime,
    shape: Shape,
    stagger: timedelta | None = None,
) -> Iterator[CallPlan]:
    """The calls of one room from ``start`` on, for ever (the caller stops): the first begins
    within ``stagger`` of ``start`` (default: the longest gap), so rooms do not all begin at once."""
    rng = random.Random(f"room:{seed}:{room_index}")  # noqa: S311  (a simulation, not a secret)
    room = room_id(seed, room_index)
    first = stagger.total_seconds() if stagger is not None else shape.gap_minutes[1] * 60
    at = _at(start, rng.uniform(0, first))
    number = 0
    while True:
        minutes = rng.uniform(*shape.call_minutes)
        plan = _call(seed, room_index, room, number, at, minutes * 60, people, shape)
        yield plan
        at = _at(plan.end, rng.uniform(*shape.gap_minutes) * 60)
        number += 1


def _call(
    seed: int,
    room_index: int,
    room: int | str,
    number: int,
    start: datetime,
    length: float,
    people: Sequence[Person],
    shape: Shape,
) -> CallPlan:
    rng = random.Random(f"call:{seed}:{room_index}:{number}")  # noqa: S311  (a simulation, not a secret)
    count = rng.randint(2, max(2, min(shape.max_users, len(people))))
    chosen = rng.sample(list(people), count)
    end = _at(start, length)
    dismissed = rng.random() < 0.08
    stays: list[Stay] = [Stay(chosen[0], ANCHOR, start, end, None, 1 if dismissed else 0)]
    for person in chosen[1:]:
        role = ANCHOR if rng.random() < 0.35 else AUDIENCE
        enter = rng.uniform(0.0, 0.4) * length
        leave = rng.uniform(0.6, 1.0) * length
        cut = dismissed and rng.random() < 0.5  # still inside when the room is dismissed
        leave = length if cut else leave
        reason = 1 if cut else (2 if rng.random() < 0.03 else 0)
        if rng.random() < 0.12 and leave - enter > 120:  # leaves and comes back
            away = rng.uniform(0.3, 0.5) * (leave - enter)
            stays.append(Stay(person, role, _at(start, enter), _at(start, enter + away - 20), None, 0))
            enter += away
        switch = None
        if role == AUDIENCE and rng.random() < 0.2:
            switch = _at(start, rng.uniform(enter, leave - 1) if leave - enter > 2 else enter)
        stays.append(Stay(person, role, _at(start, enter), _at(start, leave), switch, reason))
    publishes: list[Publish] = []
    for stay in stays:
        since = stay.enter if stay.role == ANCHOR else stay.switch_at
        if since is None or stay.leave - since < timedelta(seconds=3):
            continue
        first, last = since + timedelta(seconds=1), stay.leave - timedelta(milliseconds=500)
        uid = stay.person.user_id
        publishes.append(Publish(uid, AUDIO, first, last, 0))
        if rng.random() < 0.85:  # camera on
            publishes.append(
                Publish(uid, VIDEO, first + timedelta(milliseconds=300), last, stay.person.video_height)
            )
    if rng.random() < 0.15 and length > 120:  # the host shares its screen
        share = _at(start, rng.uniform(0.2, 0.5) * length)
        publishes.append(
            Publish(chosen[0].user_id, SCREEN, share, _at(share, rng.uniform(0.1, 0.4) * length), 1080)
        )
    episodes: list[Episode] = []
    for stay in stays:
        span = (stay.leave - stay.enter).total_seconds()
        expected = span / 60 * shape.episodes_per_user_minute
        for _ in range(_poisson(rng, expected)):
            offset = rng.uniform(0, max(span - 4, 0))
            begins = _at(stay.enter, offset)
            episodes.append(
                Episode(
                    stay.person.user_id,
                    rng.choice(EPISODE_KINDS),
                    begins,
                    _at(begins, rng.uniform(4, 20)),
                    rng.uniform(0.3, 1.0),
                )
            )
    return CallPlan(
        room_index=room_index,
        room=room,
        number=number,
        start=start,
        end=end,
        stays=tuple(stays),
        publishes=tuple(publishes),
        episodes=tuple(episodes),
        dismissed=dismissed,
        recorded=rng.random() < 0.2,
        seed=seed,
    )


def _poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth's method, fine for the small means used here)."""
    if mean <= 0:
        return 0
    limit, count, product = pow(2.718281828459045, -min(mean, 30.0)), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count
