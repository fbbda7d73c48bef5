"""``realtime-fanout``: SubscribeRealtime's fan-out of one frame, and the memory of idle streams.

Issue 13's goals, reported against and never asserted:

* **fan-out**: one app, N = 1,000 subscribers (``--quick``: 50), on the in-process live state
  and on one Redis (``RTC_BENCH_REDIS_URL``, else ``RTC_TEST_REDIS_URL`` of ``.services.env``;
  ``off`` or no answer skips that row). While the subscribers wait, a feed
  (``bench.realtime_support.QualityFeed``) streams 1,000 quality samples a second stamped now
  through ``IngestService.StreamQuality``, so every measured frame counts ~1,000 online users
  in 200 rooms (the first frame after the feed starts is not measured: its slot is part-fed).
  ``--quick`` skips the Redis row. Each receipt is timed twice: from the **slot's close** (its
  end) and from the frame's **due instant**, the slot's end + 0.5 s
  (``_realtime_stream.FIRST_AFTER``: the server waits that long for records reported at the end
  of the slot before it builds the frame, once, for every subscriber; a revision at the end + 2 s,
  sent when later records changed the slot, is counted in the note, not timed). p50/p99 of
  every receipt from each; the rate is N ÷ (median time from the due instant to the *last*
  receipt of a slot), the fan-out itself.
  Baseline: ``bench/stream_echo.py``, a bare grpc.aio server-streaming server, N streams, one
  ``Push`` of bytes as large as a frame, timed from the push to each receipt. Goal ≥ 0.5× its
  rate, p99 ≤ 1 s.
* **memory**: the in-process server's RSS with N idle subscriptions (each has had its first
  frame, nothing ingested yet) against the same server idle (after one overview). Goal ≤ 100 MB
  above. The bare server's growth for N streams is in the note.

The subject is ``rtc-console serve`` in its own process on a fresh SQLite file, wall clock, so
a measured slot is a real 10 seconds: the full run waits for 3 slots (about 35 s) per live
state, ``--quick`` for 1. The streams are spread over 10 channels on both sides; the clients
and the feed run in this process, the same code path for both sides.
"""

from __future__ import annotations

import asyncio
import contextlib
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
from bench.realtime_support import QualityFeed, delete_prefix, reachable_redis
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
FIRST_S = 0.5
"""The server builds a slot's frame this long after the slot's end (``_realtime_stream.FIRST_AFTER``)."""
CALL_TIMEOUT_S = 120.0
BASELINE_ROUNDS = 10
TOKEN = "bench-data-plane-token"


def _rss_mb(pid: int) -> float:
    """Resident set size of ``pid``, in MB (``VmRSS`` of ``/proc/PID/status``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


REVISIONS = [0]
"""Revisions (``revision`` 1: a slot read again 2 s after its end) read past by :func:`_read`."""


async def _read(call: Any) -> tuple[float, Any]:
    """The stream's next message and when it arrived (epoch s)."""
    message = await call.read()
    if message is grpc.aio.EOF:
        raise RuntimeError("a stream ended early")
    return time.time(), message


async def _read_frame(call: Any) -> tuple[float, Any]:
    """The stream's next first frame of a slot (revision 0) and when it arrived (epoch s)."""
    while True:
        at, message = await _read(call)
        if not message.revision:
            return at, message
        REVISIONS[0] += 1


async def _align(calls: Sequence[Any], latest: list[Any]) -> None:
    """Read on until every stream has had the same newest live frame: opening 1,000 streams may
    straddle a slot's end, so some replayed one slot and some the next."""
    newest = max(m.slot_end.ToDatetime(tzinfo=UTC) for m in latest)
    for call, message in zip(calls, latest, strict=True):
        while message.replayed or message.slot_end.ToDatetime(tzinfo=UTC) < newest:
            _, message = await _read_frame(call)


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
    feeding: asyncio.Task[None] | None = None
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
        firsts = await asyncio.gather(*(_read_frame(c) for c in calls))  # the replayed latest slot
        await asyncio.sleep(1.0)  # let the server settle before reading its RSS
        subscribed = _rss_mb(pid)
        feed = QualityFeed(channels[-1], TOKEN, app)
        feeding = asyncio.ensure_future(feed.run())
        from_close: list[float] = []
        from_due: list[float] = []
        lasts: list[float] = []
        built: list[float] = []
        revisions_before = REVISIONS[0]
        online: list[int] = []
        size = firsts[0][1].ByteSize()
        skipped_first = False
        slot = 0
        while slot < slots:
            print(f"  {NAME}: slot {slot + 1}/{slots}: waiting for its frame", file=sys.stderr, flush=True)
            reading = asyncio.gather(*(_read_frame(c) for c in calls))
            waited: list[asyncio.Future[Any]] = [reading, feeding]
            await asyncio.wait(waited, return_when=asyncio.FIRST_COMPLETED)
            if feeding.done():
                reading.cancel()
                feeding.result()  # raises the feed's failure
                raise RuntimeError("the quality feed stopped")
            got = reading.result()
            if not skipped_first:  # its slot began before the feed: not a full slot of data
                skipped_first = True
                await _align(calls, [m for _, m in got])
                continue
            frame = got[0][1]
            if any(m.slot_end != frame.slot_end or m.replayed for _, m in got):
                raise RuntimeError("subscribers received different frames")
            close = frame.slot_end.ToDatetime(tzinfo=UTC).timestamp()
            due = close + FIRST_S
            built.append(frame.as_of.ToDatetime(tzinfo=UTC).timestamp() - due)
            online.append(frame.figures.online_users)
            size = max(size, frame.ByteSize())
            from_close += [t - close for t, _ in got]
            times = [t - due for t, _ in got]
            from_due += times
            lasts.append(max(times))
            slot += 1
        if min(online) == 0:
            raise RuntimeError(f"a measured frame counted no online users ({online}): nothing was ingested")
        return {
            "idle": idle,
            "busy": subscribed,
            "latencies": from_due,
            "from_close": from_close,
            "lasts": lasts,
            "size": size,
            "built": built,
            "online": online,
            "fed": feed.sent,
            "slow": feed.slow,
            "revisions": REVISIONS[0] - revisions_before,
        }
    finally:
        if feeding is not None:
            feeding.cancel()
            with contextlib.suppress(asyncio.CancelledError, grpc.aio.AioRpcError):
                await feeding
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


def _serve(url: str, redis_url: str | None, prefix: str) -> list[str]:
    argv = [*CLI, "--log-level", "INFO", "serve", "--listen", "127.0.0.1:0",
            "--data-plane-token", TOKEN, "--database-url", url]  # fmt: skip
    return [*argv, "--redis-url", redis_url, "--redis-key-prefix", prefix] if redis_url else argv


async def _run_subject(n: int, slots: int, redis_url: str | None) -> dict[str, Any]:
    """One fresh store and server (in-process live state, or ``redis_url``), its subscribers."""
    prefix = f"rtc-bench:{secrets.token_hex(4)}:"
    label = "Redis" if redis_url else "in process"
    try:
        async with sqlite_backend() as backend:
            await migrate(backend.url)
            serve = _serve(backend.url, redis_url, prefix)
            async with subprocess_server(serve, ready_port_from=PORT_LINE) as server:
                print(f"  {NAME}: {label}: {n} subscribers, {slots} slot(s)", file=sys.stderr, flush=True)
                return await _subject(server.target, server.pid, backend.url, n, slots)
    finally:
        if redis_url:
            await delete_prefix(redis_url, prefix)


def _fanout_row(label: str, n: int, subject: dict[str, Any], baseline: dict[str, Any], rounds: int) -> Row:
    rate, p50, p99 = _summary(subject["latencies"], subject["lasts"], n)
    base_rate, base_p50, base_p99 = _summary(baseline["latencies"], baseline["lasts"], n)
    close = sorted(subject["from_close"])
    slots = len(subject["lasts"])
    return Row(
        benchmark=NAME,
        subject=f"SubscribeRealtime fan-out {n} subs" + ("" if label == "in process" else f", {label}"),
        ops_per_s=rate,
        p50_ms=p50,
        p99_ms=p99,
        baseline=f"stream echo push {n} streams",
        baseline_ops_per_s=base_rate,
        baseline_p50_ms=base_p50,
        baseline_p99_ms=base_p99,
        note=(
            f"p50/p99 from the frame's due instant (slot end + {FIRST_S:.1f} s); from the slot's "
            f"close p50 {percentile(close, 50) * 1000:.0f} ms, p99 {percentile(close, 99) * 1000:.0f} ms; "
            f"receipts/s = {n} ÷ median time from due to the last receipt; {slots} slot(s), slowest last "
            f"receipt {max(subject['lasts']) * 1000:.0f} ms after due (goal p99 ≤ 1 s, ≥ 0.5× rate); "
            f"baseline {rounds} pushes, slowest last receipt {max(baseline['lasts']) * 1000:.0f} ms; "
            f"frames counted {min(subject['online']):,}-{max(subject['online']):,} online users "
            f"({subject['fed']:,} samples fed at 1,000/s, {subject['slow']} late batches); frame "
            f"{subject['size']} B, {CHANNELS} channels, SQLite, live state {label}; frame as_of "
            f"{statistics.median(subject['built']) * 1000:.0f} ms after due (median); "
            f"{subject['revisions']:,} revision(s) received (slots that late records changed)"
        ),
    )


@benchmark(NAME)
async def realtime_fanout(config: BenchConfig) -> list[Row]:
    """SubscribeRealtime fan-out (in process and Redis) and idle-subscription memory against a bare
    streaming server."""
    n, slots = (50, 1) if config.quick else (1000, 3)
    rounds = 3 if config.quick else BASELINE_ROUNDS
    subjects = {"in process": await _run_subject(n, slots, None)}
    redis_url = None  # --quick skips the secondary row (bench/README.md)
    if not config.quick:
        redis_url = await reachable_redis("Redis", "RTC_BENCH_REDIS_URL", "RTC_TEST_REDIS_URL", log_as=NAME)
    if redis_url is not None:
        subjects["Redis"] = await _run_subject(n, slots, redis_url)
    subject = subjects["in process"]
    async with stream_echo_server() as (echo_target, echo_pid):
        print(f"  {NAME}: baseline: {n} streams, {rounds} pushes", file=sys.stderr, flush=True)
        baseline = await _baseline(echo_target, echo_pid, n, subject["size"], rounds)
    grown, base_grown = subject["busy"] - subject["idle"], baseline["busy"] - baseline["idle"]
    rows = [_fanout_row(label, n, found, baseline, rounds) for label, found in subjects.items()]
    rows.append(
        Row(
            benchmark=NAME,
            subject=f"RSS MB, {n} idle subscriptions",
            ops_per_s=subject["busy"],
            p50_ms=None,
            p99_ms=None,
            baseline="RSS MB, idle server",
            baseline_ops_per_s=subject["idle"],
            note=(
                f"+{grown:.1f} MB for {n} subscriptions (goal ≤ 100 MB above idle), in-process live "
                f"state; the bare stream server grows +{base_grown:.1f} MB for {n} streams; "
                "the ratio of this row is RSS with ÷ RSS without (lower is better)"
            ),
        )
    )
    return rows
