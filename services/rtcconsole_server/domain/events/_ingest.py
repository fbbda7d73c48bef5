"""Room and media events from the data plane, stored exactly once, callbacks queued with them.

A batch is validated (``event_rules``), then written in one transaction: the
apps are looked up; the new events are bulk-inserted and the ones already
stored read back (``event_rows``: one ``INSERT … ON CONFLICT DO NOTHING
RETURNING`` on PostgreSQL, one SELECT then one ``executemany`` on SQLite); and
every new event of an app with a callback URL in effect for its group gets an
outbox row (``callback_queue``) numbered by a per-(app, room, group) sequence.
Every new event also gets its app's next room-event sequence number (``_sequences``, taken
first, decision 0028: what ``SubscribeRoomEvents`` resumes from). Event, sequences and outbox
row commit together.

* Same (app, event id) and same payload: a retry, counted as a duplicate.
* Same (app, event id), other payload: a conflict; the first one is kept.
* :meth:`EventIngest.report` (``ReportEvents``) is all or nothing: an invalid
  event is ``InvalidArgument`` (``events[i].<field>``), a conflict ``AlreadyExists``.
* :meth:`EventIngest.ingest` (``StreamEvents``) stores what it can and returns a
  :class:`Rejection` per event it did not store.

Apps: events of every app ever issued are accepted, stopped, disabled and even
deleted ones (R7: users already inside stay, so their exits arrive after the
delete); an ``sdk_app_id`` never issued is ``INVALID_ARGUMENT`` on
``sdk_app_id``, as for usage records. Deleted apps get no callbacks.

Concurrency: rows are inserted and sequences bumped in key order, so two
batches never deadlock; a batch that lost a race (a deadlock, a serialization
failure or a unique violation after all) is rolled back and run again, 5 runs in
all (``store.retry``: short jittered waits, then the last error). A concurrent
batch with the same ids is no error: ``ON CONFLICT`` waits for it, and its rows
are then read back as duplicates or conflicts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from rtcconsole_server.clock import Clock
from rtcconsole_server.domain.common import BatchOutcome, Rejection
from rtcconsole_server.domain.events._rows import Key, Stored, insert_new
from rtcconsole_server.domain.events._rules import canonical_of, check_event, differing_fields, digest_of
from rtcconsole_server.domain.events._sequences import claim_sequences
from rtcconsole_server.domain.events._vocabulary import EventInput
from rtcconsole_server.errors import AlreadyExists, FieldViolation, InvalidArgument
from rtcconsole_server.store import Store
from rtcconsole_server.store.retry import Race, RetryPolicy, run_with_retries

__all__ = ["MAX_BATCH", "BatchOutcome", "EventIngest", "EventsStored", "Rejection", "check_batch_size"]

EventsStored = Callable[[Session, Sequence[EventInput], datetime], int]
"""Called in the transaction that stored new events of live apps, in batch order, with the
transaction's ``now``; returns how many callbacks it queued. ``Console`` passes the callbacks
context's ``queue_callbacks`` (the outbox), so that context depends on this one, not back."""

log = logging.getLogger("rtcconsole_server.events")

MAX_BATCH = 5000
"""Events in one batch (one ReportEvents call, one StreamEvents message)."""
_RETRY = RetryPolicy(
    attempts=5, retry_on=frozenset({Race.SERIALIZATION_FAILURE, Race.DEADLOCK, Race.UNIQUE_VIOLATION})
)
"""A batch that lost a race runs again, 5 runs in all; a unique violation is such a race."""
_NO_APP = "no app has this sdk_app_id"
_APPS_DELETED = text(
    "SELECT sdk_app_id, deleted_at IS NOT NULL FROM apps WHERE sdk_app_id IN :ids"
).bindparams(bindparam("ids", expanding=True))

Form = dict[str, object]


class _Item:
    """An event of the batch, its index in the stream, its key and digest (computed once)."""

    __slots__ = ("_form", "digest", "event", "index", "key")

    def __init__(self, index: int, event: EventInput, digest: str) -> None:
        self.index = index
        self.event = event
        self.digest = digest
        self.key: Key = (event.sdk_app_id, event.event_id)
        self._form: Form | None = None

    @property
    def form(self) -> Form:
        """The canonical form, built only to name what differs in a conflict."""
        if self._form is None:
            self._form = canonical_of(self.event)
        return self._form


def check_batch_size(count: int) -> None:
    """``InvalidArgument`` on ``events`` beyond :data:`MAX_BATCH` events."""
    if count > MAX_BATCH:
        raise InvalidArgument(
            FieldViolation("events", f"at most {MAX_BATCH:,} events per batch; got {count:,}")
        )


def _item(index: int, event: EventInput) -> _Item:
    return _Item(index, event, digest_of(event))


def _violation_order(violation: FieldViolation) -> tuple[int, str]:
    index = violation.field.partition("[")[2].partition("]")[0]
    return (int(index) if index.isdigit() else -1, violation.field)


class EventIngest:
    """Stores batches of events exactly once and queues their callbacks."""

    def __init__(self, store: Store, clock: Clock, *, on_stored: EventsStored | None = None) -> None:
        self._store = store
        self._clock = clock
        self._on_stored = on_stored

    def report(self, events: Sequence[EventInput]) -> BatchOutcome:
        """Store a whole batch or nothing of it (``ReportEvents``)."""
        check_batch_size(len(events))
        now = self._clock.now()
        violations = [
            FieldViolation(f"events[{i}].{v.field}", v.description)
            for i, event in enumerate(events)
            for v in check_event(event, now)
        ]
        if violations:  # name the unknown apps too, so that one answer lists every problem
            with self._store.read() as session:
                known = _apps(session, {e.sdk_app_id for e in events})
            violations.extend(
                FieldViolation(f"events[{i}].sdk_app_id", _NO_APP)
                for i, event in enumerate(events)
                if event.sdk_app_id and event.sdk_app_id not in known
            )
            raise InvalidArgument(sorted(violations, key=_violation_order))
        return self._write_with_retries([_item(i, e) for i, e in enumerate(events)], now, atomic=True)

    def ingest(self, events: Sequence[EventInput], *, offset: int = 0) -> BatchOutcome:
        """Store the valid, new events of a batch; report the others, indexed from ``offset``.

        The batch is committed before this returns, so the caller may acknowledge it.
        """
        check_batch_size(len(events))
        now = self._clock.now()
        invalid: list[Rejection] = []
        items: list[_Item] = []
        for i, event in enumerate(events):
            problems = check_event(event, now)
            if problems:
                reason = "; ".join(f"{p.field}: {p.description}" for p in problems)
                fields = tuple(dict.fromkeys(p.field for p in problems))
                invalid.append(Rejection(offset + i, event.event_id, "INVALID_ARGUMENT", reason, fields))
            else:
                items.append(_item(offset + i, event))
        outcome = self._write_with_retries(items, now, atomic=False)
        outcome.rejections = sorted([*invalid, *outcome.rejections], key=lambda r: r.index)
        return outcome

    def _write_with_retries(self, items: list[_Item], now: datetime, *, atomic: bool) -> BatchOutcome:
        return run_with_retries(
            lambda: self._write(items, now, atomic=atomic), what="event batch", policy=_RETRY, log=log
        )

    def _write(self, items: list[_Item], now: datetime, *, atomic: bool) -> BatchOutcome:
        outcome = BatchOutcome()
        if not items:
            return outcome
        with self._store.write() as session:
            deleted = _apps(session, {it.event.sdk_app_id for it in items})
            unknown = [it for it in items if it.event.sdk_app_id not in deleted]
            if unknown and atomic:
                raise InvalidArgument(
                    [FieldViolation(f"events[{it.index}].sdk_app_id", _NO_APP) for it in unknown]
                )
            outcome.rejections.extend(
                Rejection(
                    it.index, it.event.event_id, "INVALID_ARGUMENT", f"sdk_app_id: {_NO_APP}", ("sdk_app_id",)
                )
                for it in unknown
            )
            items = [it for it in items if it.event.sdk_app_id in deleted]
            firsts = list({it.key: it for it in reversed(items)}.values())
            numbered = [it.event for it in sorted(firsts, key=lambda it: it.index)]
            sequences = claim_sequences(session, numbered)  # the apps' heads first (decision 0028)
            inserted, stored = insert_new(session, [(it.event, it.digest) for it in firsts], now, sequences)
            fresh, conflicts = _classify(items, inserted, stored, outcome)
            if conflicts and atomic:
                raise _conflict_error(conflicts)  # rolls back what was inserted
            outcome.rejections.extend(_conflict_rejection(it, fields) for it, fields in conflicts)
            outcome.accepted = len(fresh)
            outcome.stored = [it.event for it in fresh]  # counted in real time after the commit (R21)
            live = [it for it in fresh if not deleted[it.event.sdk_app_id]]
            if self._on_stored is not None:
                outcome.queued = self._on_stored(
                    session, [it.event for it in sorted(live, key=lambda it: it.index)], now
                )
        return outcome


def _apps(session: Session, ids: Iterable[int]) -> dict[int, bool]:
    """App id → whether it is deleted, for the ids that were ever issued (prebuilt text: the
    ORM's select cost more than the query, 1.5 ms a batch, issue 16)."""
    rows = session.execute(_APPS_DELETED, {"ids": sorted(ids)})
    return {app_id: bool(deleted) for app_id, deleted in rows}


def _classify(
    items: list[_Item], inserted: set[Key], stored: dict[Key, Stored], outcome: BatchOutcome
) -> tuple[list[_Item], list[tuple[_Item, tuple[str, ...]]]]:
    """Split into events stored now and conflicts (with the differing fields); count duplicates.

    Each event is compared with the stored one, or with the first of the batch that has its key.
    """
    fresh: list[_Item] = []
    conflicts: list[tuple[_Item, tuple[str, ...]]] = []
    first: dict[Key, _Item] = {}
    for it in items:
        winner = first.setdefault(it.key, it)
        if it.key in stored:
            form, known = stored[it.key]
        elif winner is it:
            if it.key not in inserted:  # ON CONFLICT skipped it, so it must be readable now
                raise AssertionError(f"event {it.key} was neither inserted nor found")
            fresh.append(it)
            continue
        else:
            form, known = winner.form, winner.digest
        if known == it.digest:
            outcome.duplicates += 1
        else:
            conflicts.append((it, differing_fields(form, it.form) or ("event_id",)))
    return fresh, conflicts


def _conflict_rejection(it: _Item, fields: tuple[str, ...]) -> Rejection:
    reason = (
        f"event_id {it.event.event_id!r} was already used with a different payload "
        f"(differs in {', '.join(fields)}); the first one is kept"
    )
    return Rejection(it.index, it.event.event_id, "ALREADY_EXISTS", reason, fields)


def _conflict_error(conflicts: list[tuple[_Item, tuple[str, ...]]]) -> AlreadyExists:
    names = [f"{it.event.sdk_app_id}/{it.event.event_id}" for it, _ in conflicts]
    described = "; ".join(
        f"events[{it.index}] reuses event_id {it.event.event_id!r} (differs in {', '.join(fields)})"
        for it, fields in conflicts[:10]
    )
    more = f" and {len(conflicts) - 10} more" if len(conflicts) > 10 else ""
    message = f"{described}{more}; nothing of the batch was stored"
    return AlreadyExists("event", names[0], message, others=names[1:])
