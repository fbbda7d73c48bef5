"""``realtime-fanout``: SubscribeRealtime's fan-out of one frame, and the memory of idle streams.

Issue 13's goals, reported against and never asserted:

* **fan-out**: one app, N = 1,000 subscribers (``--quick``: 50). For each slot, the time from
  the frame's due instant (the slot's end + 2 s, when the server builds it) to each
  subscriber's receipt; p50/p99 over every receipt, and the rate N ÷ (median time to the
  *last* receipt of a slot). Baseline: ``bench/stream_echo.py``, a bare grpc.aio
  server-streaming server, N streams, one ``Push`` of bytes as large as a frame, timed from
  the push to each receipt. Goal ≥ 0.5× its rate, p99 ≤ 1 s.
* **memory**: the server's RSS with N idle subscriptions (each has had its first frame)
  against the same server idle (after one overview). Goal ≤ 100 MB above. The bare server's
  growth for N streams is in the note.

The subject is ``rtc-console serve`` in its own process on a fresh SQLite file with the
in-process live state and the wall clock, so a measured slot is a real 10 seconds: the full
run waits for 3 slots (about 35 s), ``--quick`` for 1. The streams are spread over 10 channels
on both sides; the clients run in this process, the same code path for both.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import statistics
import sys
import time
from collections.abc import Sequence
from datetime import UTC
from pathlib import Path
from typing import Any

import grpc

from bench.load import percentile
from bench.procs import subprocess_server
from bench.registry import BenchConfig, Row, benchmark
from bench.rtc_servers import CLI, PORT_LINE, migrate, run_command, sqlite_backend
from bench.stream_echo import COUNT, PUSH, SUBSCRIBE, stream_echo_server
from rtcconsole.v1 import app_service_pb2 as app_pb
from rtcconsole.v1 import app_service_pb2_grpc as app_grpc
from rtcconsole.v1 import monitor_service_pb2_grpc as monitor_grpc
from rtcconsole.v1 import realtime_pb2 as rt
from rtcconsole.v1 import realtime_stream_pb2 as pb

__all__ = ["realtime_fanout"]

NAME = "realtime-fanout"
CHANNELS = 10
"""Channels the streams are spread over (both sides)."""
GRACE_S = 2.0
"""The server builds a slot's frame this long after the slot's end (``_realtime_stream.GRACE``)."""
CALL_TIMEOUT_S = 120.0
BASELINE_ROUNDS = 10


def _rss_mb(pid: int) -> float:
    """Resident set size of ``pid``, in MB (``VmRSS`` of ``/proc/PID/status``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


async def _read(call: Any) -> tuple[float, Any]:
    message = await call.read()
    if message is grpc.aio.EOF:
        raise RuntimeError("a stream ended early")
    return time.time(), message


def _summary(latencies_s: Sequence[float], lasts_s: Sequence[float], n: int) -> tuple[float, float, float]:
    """(rate = n ÷ median time to the last receipt, p50 ms, p99 ms of every receipt)."""
    ordered = sorted(latencies_s)
    rate = n / max(statistics.median(lasts_s), 1e-6)
    return rate, percentile(ordered, 50) * 1000, percentile(ordered, 99) * 1000


async def _account(url: str) -> tuple[tuple[str, str], ...]:
    name = f"bench_rt_{secrets.token_hex(3)}"
    out = await run_command(
        [*CLI, "--log-level", "WARNING", "admin", "account", "create", name, "--json", "--database-url", url]
    )
    key = json.loads(out)["api_key"]
    await run_command(
        [
            *CLI,
            "--log-level",
            "WARNING",
            "admin",
            "account",
            "edition",
            name,
            "advanced",
            "--database-url",
            url,
        ]
    )
    return (("authorization", f"Bearer {key}"),)


async def _subject(target: str, pid: int, url: str, n: int, slots: int) -> dict[str, Any]:
    metadata = await _account(url)
    channels = [grpc.aio.insecure_channel(target) for _ in range(CHANNELS)]
    calls: list[Any] = []
    try:
        created = await app_grpc.AppServiceStub(channels[0]).CreateApp(
            app_pb.CreateAppRequest(name="fanout", description="bench"), metadata=metadata, timeout=10
        )
        app = created.app.sdk_app_id
        stubs = [monitor_grpc.MonitorServiceStub(c) for c in channels]
        await stubs[0].GetRealtimeOverview(
            rt.GetRealtimeOverviewRequest(sdk_app_id=app), metadata=metadata, timeout=10
        )
        idle = _rss_mb(pid)
        request = pb.SubscribeRealtimeRequest(sdk_app_id=app)
        calls = [
            stubs[i % CHANNELS].SubscribeRealtime(request, metadata=metadata, timeout=CALL_TIMEOUT_S)
            for i in range(n)
        ]
        firsts = await asyncio.gather(*(_read(c) for c in calls))  # the replayed latest slot
        await asyncio.sleep(1.0)  # let the server settle before reading its RSS
        subscribed = _rss_mb(pid)
        latencies: list[float] = []
        lasts: list[float] = []
        built: list[float] = []
        size = firsts[0][1].ByteSize()
        for slot in range(slots):
            print(f"  {NAME}: slot {slot + 1}/{slots}: waiting for its frame", file=sys.stderr, flush=True)
            got = await asyncio.gather(*(_read(c) for c in calls))
            due = got[0][1].slot_end.ToDatetime(tzinfo=UTC).timestamp() + GRACE_S
            built.append(got[0][1].as_of.ToDatetime(tzinfo=UTC).timestamp() - due)
            if any(m.slot_end != got[0][1].slot_end or m.replayed for _, m in got):
                raise RuntimeError("subscribers received different frames")
            times = [t - due for t, _ in got]
            latencies += times
            lasts.append(max(times))
        return {
            "idle": idle,
            "busy": subscribed,
            "latencies": latencies,
            "lasts": lasts,
            "size": size,
            "built": built,
        }
    finally:
        for call in calls:
            call.cancel()
        for channel in channels:
            await channel.close()


async def _baseline(target: str, pid: int, n: int, size: int, rounds: int) -> dict[str, Any]:
    channels = [grpc.aio.insecure_channel(target) for _ in range(CHANNELS)]
    calls: list[Any] = []
    try:
        idle = _rss_mb(pid)
        subscribe: list[grpc.aio.UnaryStreamMultiCallable[bytes, bytes]] = [
            c.unary_stream(SUBSCRIBE, _registered_method=True)  # type: ignore[call-arg]
            for c in channels  # as generated stubs do; missing from types-grpcio
        ]
        push: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = channels[0].unary_unary(
            PUSH,
            _registered_method=True,  # type: ignore[call-arg]
        )
        count: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = channels[0].unary_unary(
            COUNT,
            _registered_method=True,  # type: ignore[call-arg]
        )
        calls = [subscribe[i % CHANNELS](b"", timeout=CALL_TIMEOUT_S) for i in range(n)]
        for _ in range(600):  # the streams are open once the server counts them
            if int(await count(b"", timeout=10)) >= n:
                break
            await asyncio.sleep(0.05)
        else:
            raise RuntimeError(f"the stream echo server never had {n} streams open")
        await asyncio.sleep(1.0)
        busy = _rss_mb(pid)
        payload = secrets.token_bytes(size)
        latencies: list[float] = []
        lasts: list[float] = []
        for _ in range(rounds):
            receipts = [asyncio.ensure_future(_read(c)) for c in calls]
            await asyncio.sleep(0)
            started = time.time()
            await push(payload, timeout=10)
            times = [t - started for t, _ in await asyncio.gather(*receipts)]
            latencies += times
            lasts.append(max(times))
        return {"idle": idle, "busy": busy, "latencies": latencies, "lasts": lasts}
    finally:
        for call in calls:
            call.cancel()
        for channel in channels:
            await channel.close()


@benchmark(NAME)
async def realtime_fanout(config: BenchConfig) -> list[Row]:
    """SubscribeRealtime fan-out and idle-subscription memory against a bare streaming server."""
    n, slots = (50, 1) if config.quick else (1000, 3)
    rounds = 3 if config.quick else BASELINE_ROUNDS
    async with sqlite_backend() as backend:
        await migrate(backend.url)
        serve = [
            *CLI,
            "--log-level",
            "INFO",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            backend.url,
        ]
        async with subprocess_server(serve, ready_port_from=PORT_LINE) as server:
            print(f"  {NAME}: {n} subscribers, {slots} slot(s)", file=sys.stderr, flush=True)
            subject = await _subject(server.target, server.pid, backend.url, n, slots)
    async with stream_echo_server() as (echo_target, echo_pid):
        print(f"  {NAME}: baseline: {n} streams, {rounds} pushes", file=sys.stderr, flush=True)
        baseline = await _baseline(echo_target, echo_pid, n, subject["size"], rounds)
    rate, p50, p99 = _summary(subject["latencies"], subject["lasts"], n)
    base_rate, base_p50, base_p99 = _summary(baseline["latencies"], baseline["lasts"], n)
    last_p99 = max(subject["lasts"]) * 1000
    grown, base_grown = subject["busy"] - subject["idle"], baseline["busy"] - baseline["idle"]
    return [
        Row(
            benchmark=NAME,
            subject=f"SubscribeRealtime fan-out {n} subs",
            ops_per_s=rate,
            p50_ms=p50,
            p99_ms=p99,
            baseline=f"stream echo push {n} streams",
            baseline_ops_per_s=base_rate,
            baseline_p50_ms=base_p50,
            baseline_p99_ms=base_p99,
            note=(
                f"receipts/s = {n} ÷ median time from due (slot end + 2 s) to the last receipt; "
                f"{slots} slot(s), slowest last receipt {last_p99:.0f} ms (goal p99 ≤ 1 s, ≥ 0.5× rate); "
                f"baseline {rounds} pushes, slowest last receipt {max(baseline['lasts']) * 1000:.0f} ms; "
                f"frame {subject['size']} B, {CHANNELS} channels, SQLite, in-process live state; "
                f"frame as_of {statistics.median(subject['built']) * 1000:.0f} ms after due (median)"
            ),
        ),
        Row(
            benchmark=NAME,
            subject=f"RSS MB, {n} idle subscriptions",
            ops_per_s=subject["busy"],
            p50_ms=None,
            p99_ms=None,
            baseline="RSS MB, idle server",
            baseline_ops_per_s=subject["idle"],
            note=(
                f"+{grown:.1f} MB for {n} subscriptions (goal ≤ 100 MB above idle); "
                f"the bare stream server grows +{base_grown:.1f} MB for {n} streams; "
                "the ratio of this row is RSS with ÷ RSS without (lower is better)"
            ),
        ),
    ]
