"""``rtc-console aggregator [--once]``: the aggregator alone, on the server's store.

``--once`` publishes what is due now, settles billing and exits (0, or 1 on an
error). Without it, it ticks every ``interval`` until SIGTERM or SIGINT, which
let the batch under way commit and then exit 0; a failed tick is logged and
retried at the next one. A SIGKILL at any point loses nothing: every batch is
one transaction.
"""

from __future__ import annotations

import logging
import signal
import threading
from dataclasses import dataclass
from datetime import timedelta

from rtcconsole_aggregator.aggregator import DEFAULT_BATCH_WINDOWS, DEFAULT_WATERMARK, Aggregator
from rtcconsole_server.clock import Clock, SystemClock
from rtcconsole_server.domain.usage import Billing
from rtcconsole_server.store import Store, open_store, upgrade

__all__ = ["RunOptions", "build_aggregator", "run"]

log = logging.getLogger("rtcconsole_aggregator")


@dataclass(frozen=True, kw_only=True)
class RunOptions:
    database_url: str
    """The server's store (SQLAlchemy URL)."""
    once: bool = False
    """Publish what is due, settle, exit."""
    interval: timedelta = timedelta(minutes=5)
    """Time between two ticks (R16: every 5 minutes)."""
    watermark: timedelta = DEFAULT_WATERMARK
    """Wait after a window's end before publishing it; default 5 minutes."""
    batch_windows: int = DEFAULT_BATCH_WINDOWS
    """Windows per transaction."""
    migrate: bool = True
    """Apply pending migrations first (PostgreSQL: under an advisory lock)."""


def build_aggregator(store: Store, clock: Clock, *, watermark: timedelta, batch_windows: int) -> Aggregator:
    return Aggregator(store, clock, Billing(store, clock), watermark=watermark, batch_windows=batch_windows)


def run(options: RunOptions) -> int:
    """Run the aggregator as ``options`` say; returns the exit status."""
    store = open_store(options.database_url, pool_size=2)
    try:
        if options.migrate:
            upgrade(store)
        aggregator = build_aggregator(
            store, SystemClock(), watermark=options.watermark, batch_windows=options.batch_windows
        )
        if options.once:
            published = aggregator.run_once()
            log.info("aggregator: published %d window(s); done", published)
            return 0
        stopping = threading.Event()

        def _stop(signum: int, _frame: object) -> None:
            log.info("aggregator: %s received; stopping after the batch under way", signal.strsignal(signum))
            stopping.set()
            aggregator.stop()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        log.info("aggregator: ticking every %s (watermark %s)", options.interval, options.watermark)
        while not stopping.is_set():
            try:
                published = aggregator.run_once()
                if published:
                    log.info("aggregator: published %d window(s)", published)
            except Exception:
                log.exception("aggregator: tick failed; retrying in %s", options.interval)
            stopping.wait(options.interval.total_seconds())
        log.info("aggregator: stopped")
        return 0
    finally:
        store.dispose()
