"""What the background work has left, read for ``/metrics``: the callback outbox and usage progress.

Two statements in one read transaction, each bounded whatever the store holds:

* the outbox: ``count(*)`` and ``min(queued_at)`` over at most
  :data:`~rtcconsole_server.observability.OUTBOX_COUNT_CAP` (10,000) pending deliveries,
  the soonest due, walked in the ``(state, next_attempt_at)`` index
  (``ix_callback_deliveries_due``; the ``ORDER BY`` keeps PostgreSQL from a sequential scan of
  the delivered history); past the cap the depth reads as the cap and the age is that of the
  oldest counted (a lower bound);
* the aggregator: ``usage_progress.data_through``, one primary-key row.

Measured on PostgreSQL and SQLite in docs/decisions/0033-metrics.md.
"""

from __future__ import annotations

from sqlalchemy import func, select

from rtcconsole_server.clock import Clock
from rtcconsole_server.domain.usage import PROGRESS_ROW
from rtcconsole_server.observability import OUTBOX_COUNT_CAP, Backlog
from rtcconsole_server.store import Store
from rtcconsole_server.store.models import CallbackDelivery
from rtcconsole_server.store.models_usage import UsageProgress

__all__ = ["read_backlog"]

_PENDING = "pending"
"""``CallbackDelivery.state`` of a delivery not yet delivered or expired (domain/callbacks/_outbox.py)."""


def read_backlog(store: Store, clock: Clock) -> Backlog:
    """The outbox depth, its oldest pending delivery and the published usage's reach, now (blocking)."""
    pending = (
        select(CallbackDelivery.queued_at)
        .where(CallbackDelivery.state == _PENDING)
        .order_by(CallbackDelivery.next_attempt_at)  # walks the (state, next_attempt_at) index
        .limit(OUTBOX_COUNT_CAP)
        .subquery()
    )
    with store.read() as session:
        depth, oldest = session.execute(select(func.count(), func.min(pending.c.queued_at))).one()
        through = session.scalar(select(UsageProgress.data_through).where(UsageProgress.id == PROGRESS_ROW))
    return Backlog(now=clock.now(), outbox_depth=int(depth), outbox_oldest=oldest, data_through=through)
