"""The callback outbox as the dispatcher sees it: claim due room heads, record outcomes.

Ordering: a delivery can be claimed only while it is the *head* of its (app,
room, group): no pending delivery of that room has a lower ``room_sequence``.
A claimed delivery stays ``pending`` until its outcome is recorded, so the next
one of its room cannot be claimed before it is finished; other rooms are not
affected.

Claims are leases: the claiming transaction sets ``next_attempt_at = now +
lease`` and increments ``attempts``, and commits before any POST; no
transaction is open while a receiver is called. On PostgreSQL the claim is
``SELECT … FOR UPDATE SKIP LOCKED``, so dispatcher replicas never claim the same
delivery twice; the lease hides a claimed delivery from every claimer until it
expires. A dispatcher that dies mid-POST leaves its lease to expire, then any
dispatcher retries (the receiver may see that event twice, with the same
``EventId``). The outcome is written only if ``attempts`` still equals the
claimed attempt (a fencing token), so a late outcome of a lost lease changes nothing
but the attempt log.

Rounds: :meth:`Outbox.exchange` records a batch of outcomes (``_outcomes.py``:
a few statements for the whole batch, idempotent per attempt) and then claims,
in one transaction, so a dispatcher commits once per round instead of twice per
delivery, and a room whose head is recorded delivered has its next delivery
claimed in the same transaction. :meth:`Outbox.claim` and :meth:`Outbox.record`
are rounds of claims only and of one outcome only.

The URL and key are those in effect at claim time: fixing a wrong URL unblocks
the room's pending deliveries. A delivery whose group has no URL any more is
``expired`` without an attempt.

Fairness: a claim takes at most ``app_limit`` deliveries of one app, counting
those the claimer already has in flight, so an app whose receivers are slow
cannot take every slot from the other apps.

Never stuck: every attempt ends in :meth:`Outbox.record` (the dispatcher turns
any exception into a failed outcome), so it is retried with backoff and expires
after the retry window. If even that record never happens (the dispatcher dies
every time, or the store refuses the outcome), a delivery past its retry window
whose previous claim left no recorded outcome is expired by the next claim.
"""

from __future__ import annotations

import json
import logging
import random
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, aliased

from rtcconsole_server.clock import Clock
from rtcconsole_server.domain.callbacks._outcomes import (
    DELIVERED,
    EXPIRED,
    PENDING,
    RETRY_SCHEDULE,
    Outcome,
    backoff,
    record_outcomes,
)
from rtcconsole_server.domain.config import CallbackSection, read_section
from rtcconsole_server.store import Store
from rtcconsole_server.store.models import CallbackAttempt, CallbackDelivery

__all__ = ["DELIVERED", "EXPIRED", "PENDING", "RETRY_SCHEDULE", "Claim", "Outbox", "Outcome", "backoff"]

log = logging.getLogger("rtcconsole_server.outbox")


def _pending_heads() -> Select[CallbackDelivery]:
    """Pending deliveries that no pending delivery of their room precedes (built once).

    A head is the room's lowest pending sequence: one probe of the partial index on
    pending rows per candidate, a correlated subquery that the planner cannot turn
    into a join (an anti-join planned on a freshly filled table's statistics scanned
    the whole index once per candidate)."""
    row = CallbackDelivery
    earlier = aliased(CallbackDelivery)
    first = (
        select(func.min(earlier.room_sequence))
        .where(
            earlier.sdk_app_id == row.sdk_app_id,
            earlier.room_key == row.room_key,
            earlier.event_group == row.event_group,
            earlier.state == PENDING,
        )
        .scalar_subquery()
    )
    return select(row).where(row.state == PENDING, row.room_sequence == first)


_HEADS = _pending_heads()


@dataclass(frozen=True)
class Claim:
    """A delivery reserved for one attempt, with everything needed to send it."""

    delivery_id: int
    sdk_app_id: int
    attempt: int
    """Number of this attempt, 1 for the first; also the fencing token of the lease."""
    url: str
    key: str
    """Callback key in effect ("" = unsigned)."""
    room_key: str
    event_group: int
    event_type: int
    event_id: str
    room_sequence: int
    event_time: datetime
    event_info: str
    """``EventInfo`` as stored (JSON); :attr:`info` parses it."""
    queued_at: datetime

    @property
    def info(self) -> dict[str, Any]:
        """``EventInfo`` of the body (parsed at each call: a bad row fails its attempt, not the claim)."""
        info = json.loads(self.event_info)
        if not isinstance(info, dict):
            raise ValueError(f"delivery {self.delivery_id}: EventInfo is not an object")
        return info


class Outbox:
    """Claims and outcomes of callback deliveries, on the store and the injected clock."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        lease: timedelta,
        retry_window: timedelta,
        backoff_cap: timedelta,
        uniform: Callable[[float, float], float] | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._lease = lease
        self._window = retry_window
        self._cap = backoff_cap
        self._uniform = uniform or random.SystemRandom().uniform

    def claim(
        self, limit: int, *, in_flight: Mapping[int, int] | None = None, app_limit: int | None = None
    ) -> list[Claim]:
        """Reserve up to ``limit`` due room heads (at most one per room) for one attempt each.

        With ``app_limit``, at most that many per app, counting ``in_flight`` (the caller's
        attempts still running, per app): the claim then skips apps that are full and
        looks further, so other apps' due deliveries are taken in their place."""
        return self.exchange((), limit, in_flight=in_flight, app_limit=app_limit)[1]

    def record(self, claim: Claim, outcome: Outcome) -> str:
        """Log the attempt and move the delivery on: delivered, retried later, or expired.

        Returns the delivery's state ("pending" while it will be retried); "lost" when the
        lease had expired and another dispatcher took the delivery over; "already recorded"
        when this attempt was in the log already (nothing is written twice).
        """
        return self.exchange([(claim, outcome)], 0)[0][0]

    def exchange(
        self,
        outcomes: Sequence[tuple[Claim, Outcome]],
        limit: int,
        *,
        in_flight: Mapping[int, int] | None = None,
        app_limit: int | None = None,
    ) -> tuple[list[str], list[Claim]]:
        """One dispatcher round in one transaction: record ``outcomes`` (as :meth:`record`,
        their states in order), then claim up to ``limit`` room heads (as :meth:`claim`).

        A room whose head is recorded delivered here has its next delivery claimable by the
        same call. All or nothing: if it raises, no outcome is recorded and nothing is claimed.
        """
        now = self._clock.now()
        with self._store.write() as session:
            states = record_outcomes(
                session,
                outcomes,
                now=now,
                retry_window=self._window,
                backoff_cap=self._cap,
                uniform=self._uniform,
            )
            claims = self._claim_in(session, now, limit, in_flight, app_limit) if limit > 0 else []
        return states, claims

    def _claim_in(
        self,
        session: Session,
        now: datetime,
        limit: int,
        in_flight: Mapping[int, int] | None,
        app_limit: int | None,
    ) -> list[Claim]:
        row = CallbackDelivery
        due = _HEADS.where(row.next_attempt_at <= now)
        taken: Counter[int] = Counter(in_flight or {})
        claims: list[Claim] = []
        sections: dict[int, CallbackSection] = {}
        for _ in range(max(limit, 8)):  # rounds; each one claims, expires or fills an app
            full = [app for app, n in taken.items() if app_limit is not None and n >= app_limit]
            wanted = limit - len(claims)
            rows = session.scalars(
                (due.where(row.sdk_app_id.not_in(full)) if full else due)
                .order_by(row.next_attempt_at, row.id)
                .limit(wanted)
                .with_for_update(skip_locked=True, of=row)
            ).all()
            expired = False
            for delivery in rows:
                if app_limit is not None and taken[delivery.sdk_app_id] >= app_limit:
                    continue  # its app is full: the next round leaves the app out
                claim = self._take(session, delivery, sections, now)
                if claim is None:
                    expired = True  # its room's next delivery may be due now
                else:
                    taken[claim.sdk_app_id] += 1
                    claims.append(claim)
            # what was claimed or expired is no longer due (autoflush): the next round is new rows
            if len(claims) >= limit or (len(rows) < wanted and not expired):
                break
        return claims

    def _take(
        self,
        session: Session,
        delivery: CallbackDelivery,
        sections: dict[int, CallbackSection],
        now: datetime,
    ) -> Claim | None:
        """Lease ``delivery`` for one attempt, or expire it (no URL, or no outcome past the window)."""
        if (
            delivery.attempts
            and now >= delivery.queued_at + self._window
            and self._outcome_missing(session, delivery)
        ):
            log.warning(
                "delivery %d: attempt %d left no outcome and its retry window is over: expired",
                delivery.id,
                delivery.attempts,
            )
            delivery.state, delivery.finished_at = EXPIRED, now
            return None
        if delivery.sdk_app_id not in sections:
            sections[delivery.sdk_app_id] = read_section(
                session, delivery.sdk_app_id, CallbackSection
            ).effective
        section = sections[delivery.sdk_app_id]
        url = section.url_for(delivery.event_group)
        if not url:  # callbacks of this group were turned off: nothing to send to
            delivery.state, delivery.finished_at = EXPIRED, now
            return None
        delivery.url = url
        delivery.attempts += 1
        delivery.next_attempt_at = now + self._lease
        return Claim(
            delivery_id=delivery.id,
            sdk_app_id=delivery.sdk_app_id,
            attempt=delivery.attempts,
            url=url,
            key=section.key,
            room_key=delivery.room_key,
            event_group=delivery.event_group,
            event_type=delivery.event_type,
            event_id=delivery.event_id,
            room_sequence=delivery.room_sequence,
            event_time=delivery.event_time,
            event_info=delivery.event_info,
            queued_at=delivery.queued_at,
        )

    @staticmethod
    def _outcome_missing(session: Session, delivery: CallbackDelivery) -> bool:
        """Whether the delivery's last claim (attempt ``attempts``) recorded no outcome."""
        last = session.scalar(
            select(func.max(CallbackAttempt.attempt)).where(CallbackAttempt.delivery_id == delivery.id)
        )
        return (last or 0) < delivery.attempts
