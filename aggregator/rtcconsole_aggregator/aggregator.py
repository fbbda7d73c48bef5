"""The aggregator's tick: publish every due window, record how fresh the data is, settle billing.

A window ``[w, w + 5 min)`` is *due* at ``now`` when ``w + 5 min + watermark
<= now`` and it has records its lines do not reflect (``rolled_version <
version``). :meth:`Aggregator.run_once` publishes every due window in batches
of ``batch_windows`` (each batch one transaction, ``rollup.roll_up_batch``),
then moves ``usage_progress.data_through`` forward, then re-evaluates the
billing state of every account it touched and of every account whose package
started or ended since its last tick (all metered accounts on its first tick).

Any number of aggregators may run at once, in one process or many: they
coordinate through row locks in the store, never by assuming they are alone.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import case, func, select

from rtcconsole_aggregator.rollup import Batch, roll_up_batch
from rtcconsole_server.clock import Clock
from rtcconsole_server.domain.usage import PROGRESS_ROW, WINDOW, Billing, window_start
from rtcconsole_server.settings import Settings
from rtcconsole_server.store import Store
from rtcconsole_server.store.models_usage import UsageProgress, UsageWindow
from rtcconsole_server.store.retry import Race, RetryPolicy, run_with_retries
from rtcconsole_server.store.upsert import insert_for

__all__ = ["DEFAULT_BATCH_WINDOWS", "DEFAULT_WATERMARK", "Aggregator"]

log = logging.getLogger("rtcconsole_aggregator")

DEFAULT_WATERMARK: timedelta = Settings.aggregation_watermark
"""How long after its end a window waits for stragglers before it is published: the default of
``Settings.aggregation_watermark`` (5 minutes), the one place it is written."""
DEFAULT_BATCH_WINDOWS: int = Settings.aggregation_batch
"""Windows published per transaction: the default of ``Settings.aggregation_batch`` (5,000)."""
_RETRY = RetryPolicy(attempts=5, retry_on=frozenset({Race.SERIALIZATION_FAILURE, Race.DEADLOCK}))
"""A batch rolled back by a deadlock or a serialization failure runs again, 5 runs in all."""


class Aggregator:
    """Rolls raw usage up into published lines, on a store shared with any number of replicas."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        billing: Billing,
        *,
        watermark: timedelta = DEFAULT_WATERMARK,
        batch_windows: int = DEFAULT_BATCH_WINDOWS,
    ) -> None:
        if watermark < timedelta(0) or batch_windows < 1:
            raise ValueError("watermark must be >= 0 and batch_windows >= 1")
        self._store = store
        self._clock = clock
        self._billing = billing
        self.watermark = watermark
        """Default 5 minutes (R16: data appears 5-20 minutes after the usage)."""
        self.batch_windows = batch_windows
        """Windows per transaction; default 5,000."""
        self._stopping = False
        self._unsettled: set[int] = set()
        self._settled_through: datetime | None = None

    def stop(self) -> None:
        """Finish the batch under way and start no other (SIGTERM, server shutdown)."""
        self._stopping = True

    def run_once(self) -> int:
        """One tick at the clock's now; returns how many windows were published."""
        now = self._clock.now()
        published = self.publish_due(now)
        self._advance_progress(now)
        self._settle(now)
        return published

    def publish_due(self, now: datetime) -> int:
        """Publish every window due at ``now`` (and free: a replica may hold some); returns the count."""
        due_through = now - self.watermark - WINDOW
        published = 0
        while not self._stopping:
            batch = self._batch(due_through, now)
            if batch is None:
                break
            published += batch.windows
            self._unsettled.update(batch.accounts)
            if batch.windows < self.batch_windows:
                break
        return published

    def _batch(self, due_through: datetime, now: datetime) -> Batch | None:
        def once() -> Batch | None:
            with self._store.write() as session:
                batch = roll_up_batch(session, due_through=due_through, limit=self.batch_windows, now=now)
            if batch is not None:
                log.debug("aggregator: published %d window(s)", batch.windows)
            return batch

        return run_with_retries(once, what="aggregator: batch", policy=_RETRY, log=log)

    def _advance_progress(self, now: datetime) -> None:
        """Move ``data_through`` to the end of the newest due window, but not past an unpublished one."""
        closed = window_start(now - self.watermark)
        with self._store.write() as session:
            waiting = session.scalar(
                select(func.min(UsageWindow.window_start)).where(
                    UsageWindow.rolled_version < UsageWindow.version,
                    UsageWindow.rolled_version == 0,
                    UsageWindow.window_start < closed,
                )
            )
            through = min(closed, waiting) if waiting is not None else closed
            upsert = insert_for(session, UsageProgress).values(
                id=PROGRESS_ROW, data_through=through, updated_at=now
            )
            session.execute(
                upsert.on_conflict_do_update(
                    index_elements=["id"],
                    set_={
                        "data_through": case(
                            (
                                upsert.excluded.data_through > UsageProgress.data_through,
                                upsert.excluded.data_through,
                            ),
                            else_=UsageProgress.data_through,
                        ),
                        "updated_at": upsert.excluded.updated_at,
                    },
                )
            )

    def _settle(self, now: datetime) -> None:
        """Re-evaluate the billing state of the accounts whose usage or packages moved."""
        metered = set(self._billing.metered_accounts())
        if self._settled_through is None:  # first tick of this process: every metered account
            accounts = metered
        else:
            accounts = (self._unsettled & metered) | set(
                self._billing.accounts_crossing(self._settled_through, now)
            )
        changed = self._billing.evaluate_many(sorted(accounts), now=now)
        self._unsettled.clear()  # only after every evaluation succeeded: a failure retries next tick
        self._settled_through = now
        if changed:
            log.debug("aggregator: billing state of %d metered account(s) evaluated", len(changed))
