"""Real-time counting (R21): the records a committed ingest batch stored, into the live state.

Called after each batch commits with ``BatchOutcome.stored``, the records stored *now*: a retry
or a duplicate is never in it, so nothing counts twice. Each record counts in the 10-second
UTC slot of its own time (a sample's ``sample_time``, an event's ``event_time``):

* presence: a quality sample, a client event, or a room/media event of a user other than an
  exit marks (room, user) online: the app's rooms and users, the room's users, and the users
  of the user's value in each breakdown dimension;
* abnormal: a client event 101–105 (``ABNORMAL_EVENT_TYPES``) marks the user abnormal there too;
* stall: a downstream sample (``peer_id`` set) of video or audio adds its interval to the total
  time and its ``stall_ms`` to the stall time when it reaches the minimum stall
  (``counts_as_stall``: 600 ms video, 200 ms audio);
* a ROOM_DISMISSED (102) marks the room ended in its slot (the room list leaves it out).

Only apps of a paid edition are counted (free ones have no real-time API), each with its
edition's retention. A record older than that retention is counted nowhere in real time (it is
stored and counts in the history); per-room and breakdown figures are kept 10 minutes. A record
older than :data:`MEMBERSHIP_WINDOW` (10 minutes) adds only to its slot's app-total stall and
total time: the slot's sets no longer take members, and from 11 minutes on they are compacted
into their sizes (``_realtime_compact``, run after each batch; decision 0036).
A batch's writes are summed per (key, slot) in Python, then sent as one ``LiveBatch``: one
round trip. A live state that fails (Redis down) never fails the ingest: the batch is stored,
the failure is logged and counted in :attr:`RealtimeCounter.failures` (decision 0026).
"""

from __future__ import annotations

import functools
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from rtcconsole_server.clock import Clock
from rtcconsole_server.domain.events import EventInput
from rtcconsole_server.domain.monitor._client_events import ABNORMAL_EVENT_TYPES, ClientEventInput
from rtcconsole_server.domain.monitor._command_watch import Offload
from rtcconsole_server.domain.monitor._realtime_compact import MEMBERSHIP_WINDOW, Compactor
from rtcconsole_server.domain.monitor._realtime_keys import (
    DETAIL_RETENTION,
    LOOK_BACK,
    Dimension,
    Edition,
    Figure,
    app_keys,
    dimension_keys,
    dimension_values_key,
    ended_rooms_key,
    member,
    room_keys,
    rooms_key,
)
from rtcconsole_server.domain.monitor._realtime_lookup import (
    AttributeCache,
    UserKey,
    paid_editions,
    stored_attributes,
)
from rtcconsole_server.domain.monitor._samples import AUDIO, VIDEO, SampleInput
from rtcconsole_server.domain.monitor._thresholds import counts_as_stall
from rtcconsole_server.live import LiveState, slot_of
from rtcconsole_server.store import Store

__all__ = ["EDITION_TTL", "RealtimeCounter"]

log = logging.getLogger("rtcconsole_server.realtime")

EDITION_TTL = timedelta(seconds=10)
"""How long this process trusts an app's edition before reading it again: 10 s."""
_USER_ENTERED, _USER_EXITED, _ROOM_DISMISSED = 103, 104, 102
_MEDIA = {VIDEO: "video", AUDIO: "audio"}
Record = SampleInput | ClientEventInput | EventInput


@dataclass
class _Writes:
    """A batch's writes summed per (key, slot, retention)."""

    sets: defaultdict[tuple[str, int, timedelta], set[str]] = field(default_factory=lambda: defaultdict(set))
    counters: defaultdict[tuple[str, int, timedelta], int] = field(default_factory=lambda: defaultdict(int))
    totals: set[tuple[int, int, timedelta]] = field(default_factory=set)
    """(app, slot, retention) whose app-total sets are written: to compact later."""

    def add(self, key: str, slot: int, value: str, retention: timedelta) -> None:
        self.sets[(key, slot, retention)].add(value)

    def incr(self, key: str, slot: int, amount: int, retention: timedelta) -> None:
        if amount:
            self.counters[(key, slot, retention)] += amount

    def __len__(self) -> int:
        return len(self.sets) + len(self.counters)


@dataclass(frozen=True)
class _Subject:
    """One record's place: its app, room, user, slot, retention and attributes."""

    app: int
    room: str
    user: str
    slot: int
    retention: timedelta
    attributes: dict[str, str]

    def figures(self) -> list[tuple[Figure, str, timedelta]]:
        """(series, set member, retention) of the app, the room and each breakdown value."""
        pair = member(self.room, self.user)
        found = [
            (app_keys(self.app), pair, self.retention),
            (room_keys(self.app, self.room), self.user, DETAIL_RETENTION),
        ]
        for dimension in Dimension:
            value = self.attributes.get(dimension.attribute, "")
            found.append((dimension_keys(self.app, dimension, value), pair, DETAIL_RETENTION))
        return found


class RealtimeCounter:
    """Counts committed ingest batches into the live state (see the module docstring)."""

    def __init__(self, store: Store, clock: Clock, live: LiveState | None) -> None:
        self._store = store
        self._clock = clock
        self._live = live
        self._attributes = AttributeCache()
        self._editions: dict[int, tuple[Edition | None, datetime]] = {}
        self.failures = 0
        """Batches whose counting failed (the live state was unreachable); they are stored."""
        self.too_late = 0
        """Records older than their app's retention, counted nowhere in real time."""
        self.late = 0
        """Records older than :data:`MEMBERSHIP_WINDOW` (within the look-back): they join no set;
        a downstream sample still adds its stall and total time to its slot."""
        self.compactor = Compactor(live) if live is not None else None
        """Compacts the app-total sets this process wrote once their slot is 11 minutes old."""

    async def count(self, offload: Offload, records: Sequence[Record]) -> None:
        """Count ``records`` (one committed batch's ``stored``); never raises for the live state."""
        live = self._live
        if live is None or not records:
            return
        try:
            writes = await offload(functools.partial(self._plan, records))
            if writes:
                batch = live.batch()
                for (key, slot, retention), members in writes.sets.items():
                    batch.add_to_set(key, slot, *sorted(members), retention=retention)
                for (key, slot, retention), amount in writes.counters.items():
                    batch.incr(key, slot, amount, retention=retention)
                await batch.execute()
                assert self.compactor is not None
                for app, slot, retention in writes.totals:
                    self.compactor.note(app, slot, retention)
        except Exception:  # the store is the truth: the batch is stored, only its live figures are lost
            self.failures += 1
            log.warning("real-time counting of a batch of %d records failed", len(records), exc_info=True)
        if self.compactor is not None:
            await self.compactor.run()  # never raises for the live state

    def _plan(self, records: Sequence[Record]) -> _Writes:
        """The writes of ``records`` (in the store's thread pool: it may read editions and attributes)."""
        assert self._live is not None
        now = self._clock.now()
        editions = self._editions_of({r.sdk_app_id for r in records}, now)
        current = self._live.current_slot()
        closed = current - self._live.retention_slots_of(MEMBERSHIP_WINDOW)  # R21, decision 0036
        kept: list[tuple[Record, int, timedelta]] = []
        for record in records:
            edition = editions.get(record.sdk_app_id)
            at = record.sample_time if isinstance(record, SampleInput) else record.event_time
            if edition is None or at is None or not record.room_key:
                continue
            slot, retention = slot_of(at), LOOK_BACK[edition]
            if slot <= current - self._live.retention_slots_of(retention):
                self.too_late += 1
                continue
            if isinstance(record, EventInput) and record.event_type == _USER_ENTERED and record.user_id:
                self._attributes.put(
                    (record.sdk_app_id, record.room_key, record.user_id), record.kept_session, now
                )
            if slot <= closed:
                self.late += 1
            kept.append((record, slot, retention))
        attributes = self._attributes_of(
            {(r.sdk_app_id, r.room_key, r.user_id) for r, _, _ in kept if r.user_id}, now
        )
        plan = _Plan(attributes)
        for record, slot, retention in kept:
            plan.count(record, slot, retention, members=slot > closed)
        return plan.finish()

    def _editions_of(self, apps: Iterable[int], now: datetime) -> dict[int, Edition]:
        wanted = set(apps)
        stale = {a for a in wanted if (c := self._editions.get(a)) is None or now - c[1] >= EDITION_TTL}
        if stale:
            with self._store.read() as session:
                paid = paid_editions(session, stale)
            for app in stale:
                self._editions[app] = (paid.get(app), now)
        return {a: e for a in wanted if (e := self._editions[a][0]) is not None}

    def _attributes_of(self, users: set[UserKey], now: datetime) -> dict[UserKey, dict[str, str]]:
        found: dict[UserKey, dict[str, str]] = {}
        missing: list[UserKey] = []
        for user in users:
            cached = self._attributes.get(user, now)
            if cached is None:
                missing.append(user)
            else:
                found[user] = dict(cached)
        if missing:
            with self._store.read() as session:
                stored = stored_attributes(session, sorted(missing))
            for user in missing:
                found[user] = stored.get(user, {})
                self._attributes.put(user, found[user], now)
        return found


def _stall_of(record: Record) -> tuple[str, int, int] | None:
    """(media, total ms, stall ms counted) of a downstream video or audio sample; None otherwise.

    The stall counts only when it reaches the minimum stall (600 ms video, 200 ms audio; R21)."""
    if not (isinstance(record, SampleInput) and record.peer_id and record.media in _MEDIA):
        return None
    media = _MEDIA[record.media]
    stalled = record.stall_ms or 0
    counted = stalled if counts_as_stall(timedelta(milliseconds=stalled), media_kind=media) else 0
    return media, record.interval, counted


_SubjectKey = tuple[int, str, str, int, timedelta]
"""(app, room, user, slot, retention): what a record counts under."""
_Figures = list[tuple[Figure, str, timedelta]]


class _Plan:
    """One batch's writes, built record by record.

    Presence is a set membership, so a subject's presence writes (and its keys) are made once
    per batch however many records it has (a user reports several streams every 2 s); stall
    and total time are summed per (subject, media) first and added to each figure once.
    """

    def __init__(self, attributes: dict[UserKey, dict[str, str]]) -> None:
        self.writes = _Writes()
        self._attributes = attributes
        self._figures: dict[_SubjectKey, _Figures] = {}
        self._stall: defaultdict[tuple[_SubjectKey, str], list[int]] = defaultdict(lambda: [0, 0])

    def count(self, record: Record, slot: int, retention: timedelta, *, members: bool = True) -> None:
        """Count ``record`` in ``slot``; ``members`` False: the slot's sets are closed (the record
        is older than the membership window), only the app's stall and total time take it."""
        app, room, writes = record.sdk_app_id, record.room_key, self.writes
        if isinstance(record, EventInput) and record.event_type == _ROOM_DISMISSED:
            writes.add(ended_rooms_key(app), slot, room, DETAIL_RETENTION)
            return
        if not record.user_id or (isinstance(record, EventInput) and record.event_type == _USER_EXITED):
            return
        if not members:  # decision 0036: a compacted slot's sizes never change
            if (stall := _stall_of(record)) is not None:
                media, total, stalled = stall
                stall_key, total_key = app_keys(app).stall_keys(media)
                writes.incr(total_key, slot, total, retention)
                writes.incr(stall_key, slot, stalled, retention)
            return
        subject_key: _SubjectKey = (app, room, record.user_id, slot, retention)
        figures = self._figures.get(subject_key)
        if figures is None:
            figures = self._figures[subject_key] = self._present(subject_key)
        if isinstance(record, ClientEventInput) and record.event_type in ABNORMAL_EVENT_TYPES:
            for figure, value, kept in figures:
                writes.add(figure.abnormal, slot, value, kept)
        if (stall := _stall_of(record)) is not None:
            media, total, stalled = stall
            sums = self._stall[(subject_key, media)]
            sums[0] += total
            sums[1] += stalled

    def _present(self, subject_key: _SubjectKey) -> _Figures:
        """Mark the subject online in every figure it belongs to; its figures."""
        app, room, user, slot, retention = subject_key
        subject = _Subject(app, room, user, slot, retention, self._attributes.get((app, room, user), {}))
        self.writes.add(rooms_key(app), slot, room, retention)
        self.writes.totals.add((app, slot, retention))
        for dimension in Dimension:
            value = subject.attributes.get(dimension.attribute, "")
            self.writes.add(dimension_values_key(app, dimension), slot, value, DETAIL_RETENTION)
        figures = subject.figures()
        for figure, value, kept in figures:
            self.writes.add(figure.users, slot, value, kept)
        return figures

    def finish(self) -> _Writes:
        """The writes, with the summed stall and total times added."""
        for (subject_key, media), (total, stalled) in self._stall.items():
            slot = subject_key[3]
            for figure, _, kept in self._figures[subject_key]:
                stall_key, total_key = figure.stall_keys(media)
                self.writes.incr(total_key, slot, total, kept)
                self.writes.incr(stall_key, slot, stalled, kept)
        return self.writes
