"""The callbacks row of ``bench ingest``: the dispatcher vs. a bare httpx POST loop.

The dispatcher runs in the bench process (32 POSTs in flight, 64 rooms, store
work in a thread pool) and drains queued deliveries to a local keep-alive HTTP
receiver that runs in its own process; the baseline POSTs a body of the same
size, signed the same way, to the same receiver, 32 in flight. One unrecorded
round of 100 per side calibrates the rates; then 4 rounds per side (2 with
``--quick``) of about ``duration_s / rounds`` each, in the order B S S B.
Queueing the subject's events is not timed.

``python -m bench.callback_load [--duration S] [--quick]`` runs only these rows
(SQLite, then PostgreSQL as ``bench ingest`` finds it) and prints one line each.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import sys
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx

from bench.registry import BenchConfig, Row

__all__ = ["CALIBRATION", "CONCURRENCY", "ROOMS", "callbacks_row"]

ROOMS = 64
CONCURRENCY = 32
CALIBRATION = 100
"""Callbacks per side in the unrecorded round that sizes the recorded ones."""

_RECEIVER = """
import asyncio
async def handle(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\\r\\n\\r\\n")
            length = 0
            for line in head.split(b"\\r\\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            if length:
                await reader.readexactly(length)
            writer.write(b"HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\nok")
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()
async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
    print("listening on", server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()
asyncio.run(main())
"""


@contextlib.asynccontextmanager
async def _receiver() -> AsyncIterator[str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _RECEIVER, stdout=asyncio.subprocess.PIPE, start_new_session=True
    )
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        yield f"http://127.0.0.1:{int(line.split()[-1])}/callback"
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        await proc.wait()


async def _bare_posts(
    client: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str], k: int
) -> None:
    remaining = iter(range(k))

    async def worker() -> None:
        for _ in remaining:
            response = await client.post(url, content=body, headers=headers)
            if response.status_code != 200:
                raise RuntimeError(f"receiver answered {response.status_code}")

    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))


async def callbacks_row(config: BenchConfig, *, name: str, label: str, url: str, note: str) -> Row:
    """The row for the store at ``url`` (migrated here); ``label`` and ``note`` describe it."""
    from rtcconsole_server.clock import SystemClock
    from rtcconsole_server.domain.apps import Apps
    from rtcconsole_server.domain.auth import Accounts
    from rtcconsole_server.domain.callbacks import (
        Dispatcher,
        callback_body,
        callback_headers,
        event_info,
        queue_callbacks,
    )
    from rtcconsole_server.domain.common import Caller
    from rtcconsole_server.domain.events import EventIngest, EventInput
    from rtcconsole_server.settings import Settings
    from rtcconsole_server.store import open_store, upgrade
    from rtcconsole_server.store.models import AppSetting

    clock = SystemClock()
    store = open_store(url, pool_size=16)
    await asyncio.to_thread(upgrade, store)
    executor = ThreadPoolExecutor(16, thread_name_prefix="bench-dispatch")
    async with _receiver() as url:
        issued = await asyncio.to_thread(Accounts(store, clock).create, "bench_callbacks")
        app = await asyncio.to_thread(
            Apps(store, clock).create, Caller(issued.account_id, "bench"), name="bench_cb", description=""
        )
        section = json.dumps({"key": "BenchKey1", "room_event_url": url, "media_event_url": ""})

        def configure() -> None:  # what ConfigService puts in effect after its delay
            with store.write() as session:
                session.add(
                    AppSetting(
                        sdk_app_id=app.sdk_app_id,
                        section="callback",
                        effective=section,
                        updated_at=clock.now(),
                    )
                )

        await asyncio.to_thread(configure)
        ingest = EventIngest(store, clock, on_stored=queue_callbacks)
        settings = Settings(  # one app, a receiver on 127.0.0.1: loopback opened, no cap per app
            database_url=url,
            callback_concurrency=CONCURRENCY,
            callback_app_concurrency=CONCURRENCY,
            callback_allow_loopback=True,
        )
        dispatcher = Dispatcher.build(store, clock, settings, executor)
        now = clock.now()
        info = event_info(room=1, user_id="user1", event_type=103, event_time=now, role=1, reason=0)
        sample = callback_body(
            event_group=1,
            event_type=103,
            event_id="ev-000000",
            room_seq=1,
            event_time=now,
            send_time=now,
            info=info,
        )
        headers = callback_headers(app.sdk_app_id, "BenchKey1", sample)
        counter = itertools.count()

        async def deliver(side: str, k: int) -> float:
            """Seconds to deliver ``k`` callbacks (queueing the subject's events is not timed)."""
            if side == "subject":
                at = clock.now() - timedelta(seconds=1)
                events = [
                    EventInput(f"ev-{n:07d}", app.sdk_app_id, 1 + n % ROOMS, None, "user1", 103, at, role=1)
                    for n in (next(counter) for _ in range(k))
                ]
                await asyncio.to_thread(ingest.report, events)
            started = time.perf_counter()
            if side == "subject":
                attempts = await dispatcher.run_once()
                if attempts != k:
                    raise RuntimeError(f"dispatcher made {attempts} attempts for {k} events")
            else:
                await _bare_posts(client, url, sample, headers, k)
            return time.perf_counter() - started

        try:
            async with httpx.AsyncClient(limits=httpx.Limits(max_connections=CONCURRENCY * 2)) as client:
                # calibrate (not recorded): size each side's rounds to about duration_s / rounds
                rate = {
                    side: CALIBRATION / await deliver(side, CALIBRATION) for side in ("baseline", "subject")
                }
                rounds = 2 if config.quick else 4
                size = {
                    side: max(CALIBRATION, int(r * config.duration_s / rounds)) for side, r in rate.items()
                }
                print(
                    f"  {name}: {label}: dispatcher vs httpx, {size['subject']} / {size['baseline']} a round",
                    file=sys.stderr,
                    flush=True,
                )
                times = {"subject": 0.0, "baseline": 0.0}
                for i in range(rounds):
                    for side in ("baseline", "subject") if i % 2 == 0 else ("subject", "baseline"):
                        times[side] += await deliver(side, size[side])
        finally:
            await dispatcher.aclose()
            executor.shutdown()
            store.dispose()
    return Row(
        benchmark=name,
        subject=f"dispatcher ({label}) callbacks/s",
        ops_per_s=size["subject"] * rounds / times["subject"],
        p50_ms=None,
        p99_ms=None,
        baseline="bare httpx POST loop/s",
        baseline_ops_per_s=size["baseline"] * rounds / times["baseline"],
        note=f"{note}; {rounds} rounds per side of ~{config.duration_s / rounds:g} s, "
        f"{ROOMS} rooms, {CONCURRENCY} in flight on both sides, {len(sample)} B signed bodies; "
        "the subject claims and records every delivery in the store",
    )


async def _only_callbacks(config: BenchConfig) -> None:
    """The callbacks rows alone, on SQLite and (not with ``--quick``) PostgreSQL."""
    from bench.rtc_servers import postgres_backend, reachable_postgres, sqlite_backend

    backends = [sqlite_backend()]
    postgres = None if config.quick else await reachable_postgres("ingest")
    if postgres is not None:
        backends.append(postgres_backend(postgres))
    for backend_of in backends:
        async with backend_of as backend:
            row = await callbacks_row(
                config, name="ingest", label=backend.label, url=backend.url, note=backend.note
            )
        print(
            f"{row.subject}: {row.ops_per_s:,.0f}; {row.baseline}: {row.baseline_ops_per_s:,.0f}; "
            f"ratio {row.ops_per_s / row.baseline_ops_per_s:.2f}",
            flush=True,
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.callback_load", description=__doc__)
    parser.add_argument("--duration", type=float, default=5.0, help="recorded seconds per side (default 5)")
    parser.add_argument("--quick", action="store_true", help="SQLite only, 2 rounds per side")
    options = parser.parse_args()
    asyncio.run(_only_callbacks(BenchConfig(duration_s=options.duration, quick=options.quick)))
