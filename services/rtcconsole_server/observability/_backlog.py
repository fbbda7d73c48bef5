"""Gauges read from the store at each scrape: the callback outbox and the aggregator's progress.

These are facts of the shared store, not of one process: every replica reports the
same values (aggregate them with ``max``, never ``sum``). What reads them is handed
in (``workers/backlog.py``: two indexed queries, at most
:data:`OUTBOX_COUNT_CAP` index entries); a read that fails is logged and its
gauges are left out of that scrape, so an alert on ``absent(…)`` fires.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

__all__ = ["OUTBOX_COUNT_CAP", "Backlog", "BacklogCollector"]

log = logging.getLogger("rtcconsole_server.metrics")

OUTBOX_COUNT_CAP = 10_000
"""The most pending deliveries one scrape counts: a depth at the cap means at least that many."""


@dataclass(frozen=True)
class Backlog:
    """What the store holds back, as read at ``now`` (the server's clock)."""

    now: datetime
    outbox_depth: int
    """Pending callback deliveries (due or waiting for a retry), at most :data:`OUTBOX_COUNT_CAP`."""
    outbox_oldest: datetime | None
    """When the oldest pending delivery counted was queued; None when none is pending."""
    data_through: datetime | None
    """``usage_progress.data_through``: every window ending by then is published; None before
    any aggregator ran on this store."""


def _seconds(now: datetime, then: datetime) -> float:
    return max((now - then).total_seconds(), 0.0)


class BacklogCollector(Collector):
    """``rtcconsole_callback_outbox_*`` and ``rtcconsole_aggregator_lag_seconds``, from ``read``.

    ``read`` blocks (store queries): the scrape renders off the event loop
    (:func:`~rtcconsole_server.observability.metrics_asgi_app`).
    """

    def __init__(self, read: Callable[[], Backlog]) -> None:
        self._read = read

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            backlog = self._read()
        except Exception:
            log.warning("metrics: cannot read the backlog gauges from the store", exc_info=True)
            return
        yield GaugeMetricFamily(
            "rtcconsole_callback_outbox_depth",
            f"Callback deliveries pending in the store (counted up to {OUTBOX_COUNT_CAP}).",
            value=backlog.outbox_depth,
        )
        oldest = backlog.outbox_oldest
        yield GaugeMetricFamily(
            "rtcconsole_callback_outbox_oldest_age_seconds",
            "Age of the oldest pending callback delivery, seconds (0 when none is pending).",
            value=0.0 if oldest is None else _seconds(backlog.now, oldest),
        )
        if backlog.data_through is not None:
            yield GaugeMetricFamily(
                "rtcconsole_aggregator_lag_seconds",
                "Now minus the end of the newest published 5-minute usage window, seconds.",
                value=_seconds(backlog.now, backlog.data_through),
            )
