"""The Prometheus series of one server, on a registry of its own (decision 0033).

A :class:`Metrics` is made per built server and handed to what records into it:
the interceptor (every RPC, gRPC and HTTP door alike), the ingest and monitor
servicers, the worker group and the live state. Each one has its own
``CollectorRegistry``: a test process builds many servers, and a process-global
registry would refuse the second server's series (or mix their counts).

The series and their labels are listed in docs/operations.md ("Metrics"). Labels
come only from closed sets (the registered methods, status-code names, record
kinds, worker names), never from a request, so their number is bounded.
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
)
from prometheus_client.registry import Collector

__all__ = ["INGEST_KINDS", "RPC_BUCKETS", "SUBSCRIPTION_KINDS", "IngestSeries", "Metrics", "RpcSeries"]

RPC_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Upper bounds of the RPC latency histogram, in seconds: 0.5 ms to 10 s (then ``+Inf``)."""
INGEST_KINDS = ("events", "usage", "quality", "client_events")
"""The ``kind`` label of the ingest counter: one per IngestService record type."""
SUBSCRIPTION_KINDS = ("realtime", "room_events")
"""The ``kind`` label of the open-subscriptions gauge: SubscribeRealtime, SubscribeRoomEvents."""


def _split(path: str) -> tuple[str, str]:
    """``/rtcconsole.v1.AppService/GetApp`` → (``rtcconsole.v1.AppService``, ``GetApp``)."""
    service, _, method = path.lstrip("/").rpartition("/")
    return service, method


class RpcSeries:
    """The series of one RPC method: its latency histogram and its counter per status code,
    labelled once (the interceptor's hot path then only increments)."""

    __slots__ = ("_calls", "_codes", "_duration", "_method", "_service")

    def __init__(self, calls: Counter, duration: Histogram, path: str) -> None:
        self._service, self._method = _split(path)
        self._calls = calls
        self._duration = duration.labels(self._service, self._method)
        self._codes = {"OK": calls.labels(self._service, self._method, "OK")}

    def record(self, code: str, seconds: float) -> None:
        """One call of this method ended with status ``code`` (its name, ``OK``) after ``seconds``."""
        counter = self._codes.get(code)
        if counter is None:
            counter = self._codes[code] = self._calls.labels(self._service, self._method, code)
        counter.inc()
        self._duration.observe(seconds)


class IngestSeries:
    """The ingest counter of one record kind, by outcome."""

    __slots__ = ("_accepted", "_duplicate", "_rejected")

    def __init__(self, records: Counter, kind: str) -> None:
        self._accepted = records.labels(kind, "accepted")
        self._duplicate = records.labels(kind, "duplicate")
        self._rejected = records.labels(kind, "rejected")

    def count(self, accepted: int, duplicates: int, rejected: int) -> None:
        """Records of one committed batch: stored now, retries of stored ones, refused."""
        if accepted:
            self._accepted.inc(accepted)
        if duplicates:
            self._duplicate.inc(duplicates)
        if rejected:
            self._rejected.inc(rejected)


class Metrics:
    """Every series of one server, registered on :attr:`registry` (its own)."""

    def __init__(self) -> None:
        # no ``*_created`` series (a third of a scrape, unused by us); a process-wide switch
        disable_created_metrics()  # type: ignore[no-untyped-call]  # untyped in prometheus-client 0.26
        self.registry = CollectorRegistry()
        """What ``/metrics`` renders (:func:`~rtcconsole_server.observability.metrics_asgi_app`)."""
        registry = self.registry
        ProcessCollector(registry=registry)  # process_cpu_seconds_total, process_resident_memory_bytes, …
        self._rpcs = Counter(
            "rtcconsole_rpcs", "RPCs ended, by service, method and status code.",
            ("service", "method", "code"), registry=registry,
        )  # fmt: skip
        self._rpc_duration = Histogram(
            "rtcconsole_rpc_duration_seconds",
            "Time from a call's start to its end (a stream's last message and status), seconds.",
            ("service", "method"), buckets=RPC_BUCKETS, registry=registry,
        )  # fmt: skip
        records = Counter(
            "rtcconsole_ingest_records", "IngestService records, by kind and outcome.",
            ("kind", "outcome"), registry=registry,
        )  # fmt: skip
        self.subscriptions = Gauge(
            "rtcconsole_subscriptions_open", "Streaming subscriptions open now, by kind.",
            ("kind",), registry=registry,
        )  # fmt: skip
        """Labelled by :data:`SUBSCRIPTION_KINDS`; ``.labels(kind).track_inprogress()`` around a stream."""
        self._live_errors = Counter(
            "rtcconsole_live_state_errors", "Redis errors of the live state, by operation.",
            ("operation",), registry=registry,
        )  # fmt: skip
        self._worker_runs = Counter(
            "rtcconsole_worker_runs", "Worker steps run (failed ones included), by worker.",
            ("worker",), registry=registry,
        )  # fmt: skip
        self._worker_failures = Counter(
            "rtcconsole_worker_failures", "Worker steps that raised, by worker.",
            ("worker",), registry=registry,
        )  # fmt: skip
        self._rpc_series: dict[str, RpcSeries] = {}
        self._ingest = {kind: IngestSeries(records, kind) for kind in INGEST_KINDS}
        for kind in SUBSCRIPTION_KINDS:
            self.subscriptions.labels(kind)  # shown as 0 before the first one opens

    def rpc(self, path: str) -> RpcSeries:
        """The series of the method ``path`` (``/package.Service/Method``), made on first use."""
        series = self._rpc_series.get(path)
        if series is None:
            series = self._rpc_series[path] = RpcSeries(self._rpcs, self._rpc_duration, path)
        return series

    def ingest(self, kind: str) -> IngestSeries:
        """The ingest counter of ``kind`` (one of :data:`INGEST_KINDS`)."""
        return self._ingest[kind]

    def live_state_error(self, operation: str) -> None:
        """Redis failed one live-state ``operation`` (``batch``, ``read``, ``publish``, ``subscribe``, …)."""
        self._live_errors.labels(operation).inc()

    def worker_ran(self, worker: str, *, failed: bool) -> None:
        """One step of ``worker`` ended: returned, or raised (``failed``)."""
        self._worker_runs.labels(worker).inc()
        if failed:
            self._worker_failures.labels(worker).inc()

    def watch(self, collector: Collector) -> None:
        """Add ``collector`` (its values computed at each scrape) to :attr:`registry`."""
        self.registry.register(collector)
