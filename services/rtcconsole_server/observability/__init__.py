"""Observability: Prometheus metrics per server and structured logs (decision 0033).

Base layer (beside settings, clock and errors): the API, the workers and the live
state record into a :class:`Metrics` without importing anything above them.
``server.py`` makes one per server, hands it to what records, registers the
store-read gauges (:class:`BacklogCollector` over ``workers.backlog.read_backlog``)
and mounts :func:`metrics_asgi_app` at ``/metrics`` of the HTTP door; a worker command
run alone serves the same app on a :class:`MetricsListener` (``--metrics-listen``). The series are
listed in docs/operations.md ("Metrics"), the log formats under "Logs".
"""

from __future__ import annotations

from rtcconsole_server.observability._backlog import OUTBOX_COUNT_CAP, Backlog, BacklogCollector
from rtcconsole_server.observability._embedded import EmbeddedHttp
from rtcconsole_server.observability._listener import METRICS_DRAIN, MetricsListener
from rtcconsole_server.observability._logs import EXTRA_FIELDS, TEXT_FORMAT, JsonFormatter, configure_logging
from rtcconsole_server.observability._metrics import (
    INGEST_KINDS,
    RPC_BUCKETS,
    SUBSCRIPTION_KINDS,
    IngestSeries,
    Metrics,
    RpcSeries,
)
from rtcconsole_server.observability._scrape import ASGIApp, metrics_asgi_app

__all__ = [
    "EXTRA_FIELDS",
    "INGEST_KINDS",
    "METRICS_DRAIN",
    "OUTBOX_COUNT_CAP",
    "RPC_BUCKETS",
    "SUBSCRIPTION_KINDS",
    "TEXT_FORMAT",
    "ASGIApp",
    "Backlog",
    "BacklogCollector",
    "EmbeddedHttp",
    "IngestSeries",
    "JsonFormatter",
    "Metrics",
    "MetricsListener",
    "RpcSeries",
    "configure_logging",
    "metrics_asgi_app",
]
