"""Recording what POSTs gave (R15): the attempt log and the delivery's next state, many at once.

:func:`record_outcomes` writes the outcomes of one dispatcher round inside the
caller's transaction: one ``SELECT`` of the attempts already logged, one
``INSERT`` (executemany) of the new attempt rows, one fenced ``UPDATE …
RETURNING`` for the delivered ones and one for the expired ones; a failure to
retry is one ``UPDATE`` of the delivery and one of its room's followers (its
``next_attempt_at`` differs by jitter).

**Fencing.** A delivery moves on only if ``attempts`` still equals the claimed
attempt and it is still ``pending``; otherwise its lease was lost (another
dispatcher took it over) and the outcome changes nothing but the attempt log.

**Idempotent.** An attempt (delivery, attempt number) already in the log is
neither logged again nor applied again, so a batch written once more after a
commit whose answer was lost never double-records an attempt.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, insert, select, tuple_, update
from sqlalchemy.orm import Session

from rtcconsole_server.store.models import CallbackAttempt, CallbackDelivery

if TYPE_CHECKING:
    from rtcconsole_server.domain.callbacks._outbox import Claim

__all__ = [
    "ALREADY_RECORDED",
    "DELIVERED",
    "EXPIRED",
    "LOST",
    "PENDING",
    "RETRY_SCHEDULE",
    "Outcome",
    "backoff",
    "record_outcomes",
]

log = logging.getLogger("rtcconsole_server.outbox")

PENDING, DELIVERED, EXPIRED = "pending", "delivered", "expired"
LOST = "lost"
"""What :func:`record_outcomes` says of an outcome whose lease had been lost."""
ALREADY_RECORDED = "already recorded"
"""What it says of an attempt that was in the log already (nothing written)."""
_MIN_DELAY = timedelta(milliseconds=100)
_ERROR_MAX = 512
RETRY_SCHEDULE = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
)
"""Wait after the 1st, 2nd, … failure (Svix's schedule); the last step repeats. Each wait is
at most the backoff cap and up to 20 % shorter at random (docs/decisions/0015)."""
_JITTER = 0.2
_ATTEMPTS = cast(Table, CallbackAttempt.__table__)
_DELIVERIES = cast(Table, CallbackDelivery.__table__)


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
    """Wait after the ``attempt``-th failure: the :data:`RETRY_SCHEDULE` step (5 s, 5 min,
    30 min, 2 h, 5 h, then 10 h), at most ``cap``, made up to 20 % shorter at random
    (uniform in [0.8 w, w]) so that rooms failing together do not retry together; at least
    100 ms (so a dispatcher never spins on one delivery)."""
    step = RETRY_SCHEDULE[min(max(attempt, 1), len(RETRY_SCHEDULE)) - 1]
    ceiling = min(cap, step).total_seconds()
    return max(_MIN_DELAY, timedelta(seconds=uniform(ceiling * (1 - _JITTER), ceiling)))


def _finish(session: Session, claims: Sequence[Claim], state: str, now: datetime) -> set[int]:
    """Move the fenced ``claims`` to ``state`` (one statement); the delivery ids it moved."""
    if not claims:
        return set()
    d = _DELIVERIES.c
    moved = session.execute(
        update(_DELIVERIES)
        .where(tuple_(d.id, d.attempts).in_([(c.delivery_id, c.attempt) for c in claims]), d.state == PENDING)
        .values(state=state, finished_at=now)
        .returning(d.id)
    )
    return set(moved.scalars())


def _retry(session: Session, claim: Claim, retry_at: datetime) -> bool:
    """Put the fenced ``claim`` off until ``retry_at``, and its room's followers with it."""
    d = _DELIVERIES.c
    moved = session.execute(
        update(_DELIVERIES)
        .where(d.id == claim.delivery_id, d.attempts == claim.attempt, d.state == PENDING)
        .values(next_attempt_at=retry_at)
        .returning(d.id)
    ).first()
    if moved is None:
        return False
    # the room waits for its head: its followers are not due before it (keeps claims cheap)
    session.execute(
        update(_DELIVERIES)
        .where(
            d.sdk_app_id == claim.sdk_app_id,
            d.room_key == claim.room_key,
            d.event_group == claim.event_group,
            d.state == PENDING,
            d.room_sequence > claim.room_sequence,
            d.next_attempt_at < retry_at,
        )
        .values(next_attempt_at=retry_at)
    )
    return True


def record_outcomes(
    session: Session,
    batch: Sequence[tuple[Claim, Outcome]],
    *,
    now: datetime,
    retry_window: timedelta,
    backoff_cap: timedelta,
    uniform: Callable[[float, float], float],
) -> list[str]:
    """Log each attempt of ``batch`` and move its delivery on, in ``session``'s transaction.

    Each outcome, in order: "delivered" (HTTP 200), "pending" (retried after its backoff),
    "expired" (failed at or after ``queued_at + retry_window``), "lost" (the lease was
    taken over: only the log is written) or "already recorded" (nothing written).
    """
    if not batch:
        return []
    a = _ATTEMPTS.c
    ids = sorted({c.delivery_id for c, _ in batch})
    known = session.execute(select(a.delivery_id, a.attempt).where(a.delivery_id.in_(ids)))
    logged = {(delivery, attempt) for delivery, attempt in known}
    fresh: list[tuple[Claim, Outcome]] = []
    for claim, outcome in batch:
        if (claim.delivery_id, claim.attempt) not in logged:
            logged.add((claim.delivery_id, claim.attempt))
            fresh.append((claim, outcome))
    if fresh:
        rows: list[dict[str, Any]] = [
            {
                "delivery_id": claim.delivery_id,
                "attempt": claim.attempt,
                "sent_at": outcome.sent_at,
                "duration_ms": outcome.duration_ms,
                "status_code": outcome.status_code,
                "error": outcome.error[:_ERROR_MAX],
            }
            for claim, outcome in fresh
        ]
        session.execute(insert(_ATTEMPTS), rows)
    delivered = [c for c, o in fresh if o.ok]
    expired = [c for c, o in fresh if not o.ok and now >= c.queued_at + retry_window]
    moved = _finish(session, delivered, DELIVERED, now) | _finish(session, expired, EXPIRED, now)
    states: dict[tuple[int, int], str] = {}
    for claim, outcome in fresh:
        key = (claim.delivery_id, claim.attempt)
        if outcome.ok or now >= claim.queued_at + retry_window:
            state = (DELIVERED if outcome.ok else EXPIRED) if claim.delivery_id in moved else LOST
        else:
            retry_at = now + backoff(claim.attempt, backoff_cap, uniform)
            state = PENDING if _retry(session, claim, retry_at) else LOST
        if state == LOST:
            log.warning("delivery %d: lease lost before attempt %d ended", claim.delivery_id, claim.attempt)
        states[key] = state
    return [states.get((c.delivery_id, c.attempt), ALREADY_RECORDED) for c, _ in batch]
