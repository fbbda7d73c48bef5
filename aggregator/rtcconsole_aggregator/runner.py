"""The aggregator as a worker, and ``rtc-console aggregator [--once]`` (it alone, on the server's store).

``--once`` publishes what is due now, settles billing and exits (0; an error
propagates, so the command exits 1). Without it, the aggregator is a worker of a
:class:`WorkerGroup` ticking every ``Settings.aggregation_interval`` (default 5
minutes) until SIGTERM or SIGINT, which let the batch under way commit and then
exit 0; a failed tick is logged and retried at the next one. A SIGKILL at any
point loses nothing: every batch is one transaction.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from rtcconsole_aggregator.aggregator import Aggregator
from rtcconsole_server.clock import Clock, SystemClock
from rtcconsole_server.domain.usage import Billing
from rtcconsole_server.settings import Settings
from rtcconsole_server.store import Store
from rtcconsole_server.workers import Worker, WorkerGroup, run_until_signalled, standalone_store

__all__ = ["aggregator_worker", "build_aggregator", "run", "run_aggregator"]

log = logging.getLogger("rtcconsole_aggregator")


def build_aggregator(store: Store, clock: Clock, *, watermark: timedelta, batch_windows: int) -> Aggregator:
    """An aggregator on ``store`` with its billing settlement; ``watermark`` and ``batch_windows``
    as ``Settings.aggregation_watermark`` (default 5 minutes) and ``aggregation_batch`` (5,000)."""
    return Aggregator(store, clock, Billing(store, clock), watermark=watermark, batch_windows=batch_windows)


def aggregator_worker(store: Store, clock: Clock, settings: Settings) -> Worker:
    """The aggregator's tick every ``settings.aggregation_interval``; stopping it lets the batch
    under way commit and starts no other."""
    aggregator = build_aggregator(
        store, clock, watermark=settings.aggregation_watermark, batch_windows=settings.aggregation_batch
    )
    return Worker(
        "aggregator",
        aggregator.run_once,
        settings.aggregation_interval,
        on_stop=aggregator.stop,
        report="published {n} window(s)",
    )


async def run_aggregator(
    settings: Settings, *, once: bool = False, clock: Clock | None = None, stop: asyncio.Event | None = None
) -> int:
    """Run the aggregator on ``settings.database_url``: one tick (``once``) or until SIGTERM,
    SIGINT or ``stop``; returns the exit status."""
    clock = clock or SystemClock()
    async with standalone_store(settings, threads=1, name="rtc-aggregate", pool_size=2) as (store, executor):
        group = WorkerGroup(executor, [aggregator_worker(store, clock, settings)], clock=clock)
        if once:
            published = (await group.run_once())["aggregator"]
            log.info("aggregator: published %d window(s); done", published)
            return 0
        log.info(
            "aggregator: ticking every %s (watermark %s)",
            settings.aggregation_interval,
            settings.aggregation_watermark,
        )
        await run_until_signalled(
            group, grace=settings.grace, name="aggregator", stop=stop, metrics_listen=settings.metrics_listen
        )
        return 0


def run(settings: Settings, *, once: bool = False) -> int:
    """``rtc-console aggregator``: :func:`run_aggregator` on a fresh event loop."""
    return asyncio.run(run_aggregator(settings, once=once))
