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

The URL and key are those in effect at claim time: fixing a wrong URL unblocks
the room's pending deliveries. A delivery whose group has no URL any more is
``expired`` without an attempt.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import aliased

from rtcconsole_server.clock import Clock
from rtcconsole_server.domain.config import CallbackSection, read_section
from rtcconsole_server.store import Store
from rtcconsole_server.store.models import CallbackAttempt, CallbackDelivery

__all__ = ["DELIVERED", "EXPIRED", "PENDING", "Claim", "Outbox", "Outcome", "backoff"]

log = logging.getLogger("rtcconsole_server.outbox")

PENDING, DELIVERED, EXPIRED = "pending", "delivered", "expired"
_MIN_DELAY = timedelta(milliseconds=100)
_ERROR_MAX = 512


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
    info: dict[str, Any]
    queued_at: datetime


@dataclass(frozen=True)
class Outcome:
    """What one POST gave. ``error`` is empty exactly when it succeeded (HTTP 200 in time)."""

    sent_at: datetime
    duration_ms: int
    status_code: int
    error: str

    @property
    def ok(self) -> bool:
        return not self.error


def backoff(attempt: int, cap: timedelta, uniform: Callable[[float, float], float]) -> timedelta:
    """Wait after the ``attempt``-th failure: full jitter, uniform in [0, min(cap, 2^attempt s)],
    at least 100 ms (so a dispatcher never spins on one delivery)."""
    ceiling = min(cap.total_seconds(), 2.0 ** min(attempt, 30))
    return max(_MIN_DELAY, timedelta(seconds=uniform(0.0, ceiling)))


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

    def claim(self, limit: int) -> list[Claim]:
        """Reserve up to ``limit`` due room heads (at most one per room) for one attempt each."""
        now = self._clock.now()
        row = CallbackDelivery
        earlier = aliased(CallbackDelivery)
        blocked = (
            select(earlier.id)
            .where(
                earlier.sdk_app_id == row.sdk_app_id,
                earlier.room_key == row.room_key,
                earlier.event_group == row.event_group,
                earlier.state == PENDING,
                earlier.room_sequence < row.room_sequence,
            )
            .exists()
        )
        query = (
            select(row)
            .where(row.state == PENDING, row.next_attempt_at <= now, ~blocked)
            .order_by(row.next_attempt_at, row.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=row)
        )
        claims: list[Claim] = []
        with self._store.write() as session:
            sections: dict[int, CallbackSection] = {}
            for delivery in session.scalars(query).all():
                if delivery.sdk_app_id not in sections:
                    sections[delivery.sdk_app_id] = read_section(
                        session, delivery.sdk_app_id, CallbackSection
                    ).effective
                section = sections[delivery.sdk_app_id]
                url = section.url_for(delivery.event_group)
                if not url:  # callbacks of this group were turned off: nothing to send to
                    delivery.state, delivery.finished_at = EXPIRED, now
                    continue
                delivery.url = url
                delivery.attempts += 1
                delivery.next_attempt_at = now + self._lease
                claims.append(
                    Claim(
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
                        info=json.loads(delivery.event_info),
                        queued_at=delivery.queued_at,
                    )
                )
        return claims

    def record(self, claim: Claim, outcome: Outcome) -> str:
        """Log the attempt and move the delivery on: delivered, retried later, or expired.

        Returns the delivery's state ("pending" while it will be retried); "lost" when the
        lease had expired and another dispatcher took the delivery over.
        """
        now = self._clock.now()
        retry_at: datetime | None = None
        if outcome.ok:
            values: dict[str, object] = {"state": DELIVERED, "finished_at": now}
        elif now >= claim.queued_at + self._window:
            values = {"state": EXPIRED, "finished_at": now}
        else:
            retry_at = now + backoff(claim.attempt, self._cap, self._uniform)
            values = {"next_attempt_at": retry_at}
        with self._store.write() as session:
            session.add(
                CallbackAttempt(
                    delivery_id=claim.delivery_id,
                    attempt=claim.attempt,
                    sent_at=outcome.sent_at,
                    duration_ms=outcome.duration_ms,
                    status_code=outcome.status_code,
                    error=outcome.error[:_ERROR_MAX],
                )
            )
            result: CursorResult[Any] = session.execute(  # type: ignore[assignment]
                update(CallbackDelivery)
                .where(
                    CallbackDelivery.id == claim.delivery_id,
                    CallbackDelivery.attempts == claim.attempt,
                    CallbackDelivery.state == PENDING,
                )
                .values(**values)
            )
            if result.rowcount != 1:
                log.warning(
                    "delivery %d: lease lost before attempt %d ended", claim.delivery_id, claim.attempt
                )
                return "lost"
            if retry_at is not None:
                # the room waits for its head: its followers are not due before it (keeps claims cheap)
                session.execute(
                    update(CallbackDelivery)
                    .where(
                        CallbackDelivery.sdk_app_id == claim.sdk_app_id,
                        CallbackDelivery.room_key == claim.room_key,
                        CallbackDelivery.event_group == claim.event_group,
                        CallbackDelivery.state == PENDING,
                        CallbackDelivery.room_sequence > claim.room_sequence,
                        CallbackDelivery.next_attempt_at < retry_at,
                    )
                    .values(next_attempt_at=retry_at)
                )
        return str(values.get("state", PENDING))
