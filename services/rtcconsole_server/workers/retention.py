"""The retention worker (``domain.monitor.Retention``), and ``rtc-console retention`` (it alone).

Every ``Settings.retention_interval`` (default 1 hour) it removes the quality samples and
client events older than ``Settings.retention_days`` whole UTC days (default 14):

- on PostgreSQL it makes the partitions of today and the next two days and drops the
  partitions of days before the cutoff, one short transaction each;
- on SQLite it deletes in batches of at most ``Settings.retention_batch`` keys (default
  5,000), each batch its own transaction on the store thread, the step awaiting each one
  before it queues the next: whatever the server queued meanwhile (ingest, queries) runs
  between two batches, so the single writer is never held for long.

Stopping it lets the batch under way commit and starts no other; a kill loses nothing (the
next run starts again from the first key).
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Executor
from typing import Any

from rtcconsole_server.clock import Clock, SystemClock
from rtcconsole_server.domain.monitor import Retention
from rtcconsole_server.settings import Settings
from rtcconsole_server.store import Store
from rtcconsole_server.workers import Worker, WorkerGroup, run_until_signalled, standalone_store

__all__ = ["RetentionWorker", "retention_worker", "run_retention"]

log = logging.getLogger("rtcconsole_server.retention")


class RetentionWorker:
    """One retention run per :meth:`step`, on ``executor`` (the store's threads)."""

    def __init__(self, retention: Retention, executor: Executor) -> None:
        self.retention = retention
        self._executor = executor
        self._stopping = False

    def stop(self) -> None:
        """Start no other batch (the one under way commits)."""
        self._stopping = True

    async def step(self) -> int:
        """One run: partitions created and dropped (PostgreSQL), or rows deleted (SQLite)."""
        self._stopping = False
        loop = asyncio.get_running_loop()
        retention = self.retention
        if retention.partitioned:
            upkeep = await loop.run_in_executor(self._executor, retention.maintain)
            for table, days in upkeep.dropped.items():
                if days:
                    log.info("retention: %s dropped the partitions of %s", table, ", ".join(map(str, days)))
            return upkeep.count
        cutoff = retention.cutoff()
        total = 0
        for table in retention.tables:
            after: tuple[Any, ...] | None = None
            while not self._stopping:
                batch = await loop.run_in_executor(
                    self._executor, retention.delete_batch, table, cutoff, after
                )
                total += batch.deleted
                if batch.after is None:
                    break
                after = batch.after
        return total


def retention_worker(store: Store, clock: Clock, settings: Settings, executor: Executor) -> Worker:
    """The retention run every ``settings.retention_interval`` with ``settings.retention_days``
    and ``settings.retention_batch``."""
    worker = RetentionWorker(
        Retention(store, clock, days=settings.retention_days, batch=settings.retention_batch), executor
    )
    report = "created or dropped {n} partition(s)" if store.is_postgresql else "deleted {n} row(s)"
    return Worker("retention", worker.step, settings.retention_interval, on_stop=worker.stop, report=report)


async def run_retention(
    settings: Settings, *, once: bool = False, clock: Clock | None = None, stop: asyncio.Event | None = None
) -> int:
    """``rtc-console retention``: one run (``once``) or a run every interval until SIGTERM, SIGINT
    or ``stop``; returns the exit status."""
    clock = clock or SystemClock()
    async with standalone_store(settings, threads=1, name="rtc-retention", pool_size=2) as (store, executor):
        group = WorkerGroup(executor, [retention_worker(store, clock, settings, executor)], clock=clock)
        if once:
            done = (await group.run_once())["retention"]
            log.info("retention: %d %s; done", done, "partition(s)" if store.is_postgresql else "row(s)")
            return 0
        log.info(
            "retention: keeping %d day(s) before today, a run every %s",
            settings.retention_days,
            settings.retention_interval,
        )
        await run_until_signalled(
            group, grace=settings.grace, name="retention", stop=stop, metrics_listen=settings.metrics_listen
        )
        return 0
