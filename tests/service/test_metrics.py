"""``/metrics`` of a real server (SQLite and PostgreSQL): calls through gRPC, then the registry
rendered by the ASGI app the HTTP door mounts, read with Prometheus's own text parser.

RPCs by service, method and code (a failing call too) with their latency histogram; ingest
records by kind and outcome; the callback outbox's depth and oldest age, and the aggregator's
lag, read from the store at the scrape on the injected clock; worker runs and failures; open
subscriptions; live-state errors (a Redis that refuses connections).
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta

import grpc
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from redis.exceptions import RedisError

from rtcconsole.v1 import app_service_pb2 as app_pb
from rtcconsole.v1 import realtime_stream_pb2 as stream_pb
from rtcconsole_server.clock import ManualClock
from rtcconsole_server.live import open_live_state
from rtcconsole_server.observability import RPC_BUCKETS, Metrics, metrics_asgi_app
from rtcconsole_server.server import Server
from rtcconsole_server.settings import Settings
from rtcconsole_server.workers import Worker
from tests.callback_support import report, room_event, set_callback
from tests.live_support import eventually
from tests.realtime_support import NOW, monitor, paid
from tests.support import Tenant, fails, new_tenant, running_server

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
APPS = "rtcconsole.v1.AppService"
INGEST = "rtcconsole.v1.IngestService"
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
READ_TIMEOUT = 10.0
"""Real seconds a test waits for a stream to open or end (a bound, not a timing)."""


async def scrape(metrics: Metrics | None, accept: str = "") -> Samples:
    """GET /metrics of ``metrics`` through its ASGI app; every sample by (name, labels)."""
    assert metrics is not None
    transport = httpx.ASGITransport(app=metrics_asgi_app(metrics))
    async with httpx.AsyncClient(transport=transport, base_url="http://door") as client:
        response = await client.get("/metrics", headers={"accept": accept} if accept else {})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def calls(samples: Samples, service: str, method: str, code: str) -> float | None:
    return value(samples, "rtcconsole_rpcs_total", service=service, method=method, code=code)


async def test_rpcs_by_method_and_code_with_latency(server: Server, tenant: Tenant) -> None:
    app = await tenant.create_app()
    await tenant.get_app(app.sdk_app_id)
    await tenant.get_app(app.sdk_app_id)
    missing = app_pb.GetAppRequest(sdk_app_id=app.sdk_app_id + 1000)
    await fails(tenant.apps.GetApp(missing, metadata=tenant.metadata), grpc.StatusCode.NOT_FOUND)
    await fails(tenant.apps.GetApp(missing), grpc.StatusCode.UNAUTHENTICATED)
    found = await scrape(server.metrics)
    assert calls(found, APPS, "CreateApp", "OK") == 1
    assert calls(found, APPS, "GetApp", "OK") == 2
    assert calls(found, APPS, "GetApp", "NOT_FOUND") == 1
    assert calls(found, APPS, "GetApp", "UNAUTHENTICATED") == 1
    assert calls(found, APPS, "ListApps", "OK") is None  # a series appears with its first call
    histogram = "rtcconsole_rpc_duration_seconds"
    assert value(found, f"{histogram}_count", service=APPS, method="GetApp") == 4  # every code
    assert value(found, f"{histogram}_bucket", service=APPS, method="GetApp", le="+Inf") == 4
    assert value(found, f"{histogram}_bucket", service=APPS, method="GetApp", le="10.0") == 4
    bounds = {dict(labels)["le"] for name, labels in found if name == f"{histogram}_bucket"}
    assert bounds == {str(b) for b in RPC_BUCKETS} | {"+Inf"}
    assert 0 < (value(found, f"{histogram}_sum", service=APPS, method="CreateApp") or 0) < 10
    assert not any(name.endswith("_created") for name, _ in found)  # no *_created series
    assert (value(found, "process_resident_memory_bytes") or 0) > 0  # the process's own series
    again = await scrape(server.metrics)  # a scrape is no call: the counts stand
    assert calls(again, APPS, "GetApp", "OK") == 2


async def test_the_http_door_serves_them_and_its_calls_count(settings: Settings, clock: ManualClock) -> None:
    door_on = dataclasses.replace(settings, http_listen="127.0.0.1:0")
    async with running_server(door_on, clock) as server, new_tenant(server, "door") as tenant:
        assert server.http is not None
        app = await tenant.create_app()  # through gRPC
        async with httpx.AsyncClient(base_url=server.http.url, timeout=READ_TIMEOUT) as http:
            connect = await http.post(
                "/rtcconsole.v1.AppService/GetApp",
                json={"sdkAppId": str(app.sdk_app_id)},
                headers={"authorization": f"Bearer {tenant.api_key}", "content-type": "application/json"},
            )
            assert connect.status_code == 200
            await tenant.get_app(app.sdk_app_id)  # through gRPC
            response = await http.get("/metrics")
    assert response.status_code == 200
    found = {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }
    assert calls(found, APPS, "GetApp", "OK") == 2  # one through each door
    assert calls(found, APPS, "CreateApp", "OK") == 1


async def test_ingest_records_by_kind_and_outcome(server: Server, tenant: Tenant, clock: ManualClock) -> None:
    app = (await tenant.create_app()).sdk_app_id
    clock.set(T0)
    batch = [room_event(f"e-{i}", app, at=T0 - timedelta(seconds=i)) for i in range(3)]
    await report(tenant.channel, batch)
    await report(tenant.channel, batch[:2])  # a retry: duplicates
    unknown_app = [room_event("x-1", app + 1000, at=T0), room_event("x-2", app, at=T0)]
    await fails(report(tenant.channel, unknown_app), grpc.StatusCode.INVALID_ARGUMENT)  # refused whole
    found = await scrape(server.metrics)
    records = "rtcconsole_ingest_records_total"
    assert value(found, records, kind="events", outcome="accepted") == 3
    assert value(found, records, kind="events", outcome="duplicate") == 2
    assert value(found, records, kind="events", outcome="rejected") == 2
    assert value(found, records, kind="usage", outcome="accepted") == 0  # every kind shown from the start
    assert calls(found, INGEST, "ReportEvents", "OK") == 2
    assert calls(found, INGEST, "ReportEvents", "INVALID_ARGUMENT") == 1


async def test_outbox_depth_and_age_and_aggregator_lag_read_at_the_scrape(
    server: Server, tenant: Tenant, clock: ManualClock
) -> None:
    app = (await tenant.create_app()).sdk_app_id
    clock.set(T0)
    found = await scrape(server.metrics)
    assert value(found, "rtcconsole_callback_outbox_depth") == 0
    assert value(found, "rtcconsole_callback_outbox_oldest_age_seconds") == 0
    assert value(found, "rtcconsole_aggregator_lag_seconds") is None  # no aggregator ran yet
    # port 9 (discard) refuses: every attempt fails, so the deliveries stay pending
    await set_callback(server.console.store, app, now=T0, room_event_url="http://127.0.0.1:9/cb")
    await report(tenant.channel, [room_event(f"e-{i}", app, at=T0) for i in range(3)])
    clock.advance(timedelta(seconds=90))
    found = await scrape(server.metrics)
    assert value(found, "rtcconsole_callback_outbox_depth") == 3
    assert value(found, "rtcconsole_callback_outbox_oldest_age_seconds") == 90
    done = await server.workers.run_once()  # dispatcher (attempts fail), aggregator, …
    clock.advance(timedelta(seconds=30))
    found = await scrape(server.metrics)
    assert value(found, "rtcconsole_callback_outbox_depth") == 3  # retried later, still pending
    assert value(found, "rtcconsole_callback_outbox_oldest_age_seconds") == 120
    # data_through is the start of the window that closed a watermark (5 min) ago
    assert value(found, "rtcconsole_aggregator_lag_seconds") == 120 + 300
    for name in done:
        assert value(found, "rtcconsole_worker_runs_total", worker=name) == 1
        assert value(found, "rtcconsole_worker_failures_total", worker=name) is None


async def test_worker_failures_are_counted(server: Server) -> None:
    def broken() -> int:
        raise RuntimeError("a step that fails")

    server.workers.workers.append(Worker("broken", broken, timedelta(minutes=1)))
    for _ in range(2):
        with pytest.raises(RuntimeError):
            await server.workers.run_once()
    found = await scrape(server.metrics)
    assert value(found, "rtcconsole_worker_runs_total", worker="broken") == 2
    assert value(found, "rtcconsole_worker_failures_total", worker="broken") == 2
    assert value(found, "rtcconsole_worker_runs_total", worker="dispatcher") == 2
    assert value(found, "rtcconsole_worker_failures_total", worker="dispatcher") is None


async def _open(metrics: Metrics | None, kind: str, wanted: float) -> None:
    """Wait until ``wanted`` subscriptions of ``kind`` are open (a cancel ends its stream soon after)."""
    assert metrics is not None
    gauge = "rtcconsole_subscriptions_open"
    await eventually(lambda: metrics.registry.get_sample_value(gauge, {"kind": kind}) == wanted, kind)


async def test_open_subscriptions_and_the_code_a_stream_ends_with(
    server: Server, tenant: Tenant, clock: ManualClock
) -> None:
    clock.set(NOW)
    app = (await tenant.create_app("live")).sdk_app_id
    await paid(server, tenant)
    found = await scrape(server.metrics)
    assert value(found, "rtcconsole_subscriptions_open", kind="realtime") == 0
    assert value(found, "rtcconsole_subscriptions_open", kind="room_events") == 0
    request = stream_pb.SubscribeRealtimeRequest(sdk_app_id=app)
    streams = [monitor(tenant).SubscribeRealtime(request, metadata=tenant.metadata) for _ in range(2)]
    for call in streams:
        await asyncio.wait_for(call.read(), READ_TIMEOUT)  # the first frame: the stream is open
    await _open(server.metrics, "realtime", 2)
    streams[0].cancel()
    await _open(server.metrics, "realtime", 1)
    found = await scrape(server.metrics)
    service = "rtcconsole.v1.MonitorService"
    assert calls(found, service, "SubscribeRealtime", "CANCELLED") == 1
    streams[1].cancel()
    await _open(server.metrics, "realtime", 0)


async def test_live_state_errors_are_counted_by_operation(clock: ManualClock) -> None:
    metrics = Metrics()
    refused = "redis://127.0.0.1:9/0"  # nothing listens on the discard port
    live = open_live_state(refused, clock=clock, on_error=metrics.live_state_error)
    try:
        with pytest.raises(RedisError):
            await live.incr("k", live.current_slot())
        with pytest.raises(RedisError):
            await live.get_counts("k", live.recent_slots(3))
        with pytest.raises(RedisError):
            await live.publish("channel", b"x")
    finally:
        await live.close()
    found = await scrape(metrics)
    errors = "rtcconsole_live_state_errors_total"
    assert [value(found, errors, operation=op) for op in ("batch", "read", "publish")] == [1, 1, 1]


async def test_openmetrics_when_asked_and_only_get(server: Server) -> None:
    transport = httpx.ASGITransport(app=metrics_asgi_app(server.metrics or Metrics()))
    async with httpx.AsyncClient(transport=transport, base_url="http://door") as client:
        negotiated = await client.get("/metrics", headers={"accept": "application/openmetrics-text"})
        posted = await client.post("/metrics")
    assert negotiated.headers["content-type"].startswith("application/openmetrics-text")
    assert negotiated.text.endswith("# EOF\n")
    assert (posted.status_code, posted.headers["allow"]) == (405, "GET, HEAD")
