"""The callback dispatcher (R15) as a worker, and ``rtc-console dispatcher`` (it alone)."""

from __future__ import annotations

import asyncio
import logging

from rtcconsole_server.clock import Clock, SystemClock
from rtcconsole_server.domain.callbacks import Dispatcher
from rtcconsole_server.settings import Settings
from rtcconsole_server.workers import Worker, WorkerGroup, run_until_signalled, standalone_store

__all__ = ["dispatcher_worker", "run_dispatcher"]

log = logging.getLogger("rtcconsole_server")

_THREADS = 8


def dispatcher_worker(dispatcher: Dispatcher, settings: Settings) -> Worker:
    """Drains what is due every ``settings.callback_poll_interval`` (default 1 s); stopping it
    claims nothing more and lets the POSTs in flight finish and be recorded."""
    return Worker(
        "dispatcher",
        dispatcher.run_once,
        settings.callback_poll_interval,
        on_stop=dispatcher.stop_claiming,
    )


async def run_dispatcher(
    settings: Settings, *, clock: Clock | None = None, stop: asyncio.Event | None = None
) -> None:
    """``rtc-console dispatcher``: only the callback dispatcher, until SIGTERM or SIGINT (or ``stop``).

    On a signal it claims nothing more, lets POSTs in flight finish and be recorded
    (up to ``settings.grace``, default 10 s), and returns. After a kill -9 its leases
    expire (``settings.callback_lease``) and any dispatcher retries what it held.
    """
    clock = clock or SystemClock()
    async with standalone_store(settings, threads=_THREADS, name="rtc-dispatch") as (store, executor):
        dispatcher = Dispatcher.build(store, clock, settings, executor)
        try:
            group = WorkerGroup(executor, [dispatcher_worker(dispatcher, settings)], clock=clock)
            opened = [
                *settings.callback_allow_networks,
                *(["loopback"] if settings.callback_allow_loopback else []),
            ]
            log.info(
                "rtc-console dispatcher running (up to %d POSTs at once, %d per app; callbacks reach public "
                "addresses%s)",
                settings.callback_concurrency,
                min(settings.callback_app_concurrency, settings.callback_concurrency),
                f" and {', '.join(opened)}" if opened else " only",
            )
            await run_until_signalled(
                group,
                grace=settings.grace,
                name="rtc-console dispatcher",
                stop=stop,
                metrics_listen=settings.metrics_listen,
            )
        finally:
            await dispatcher.aclose()
