"""``apps``: GetApp and CreateApp of ``rtc-console serve`` against the bare echo server.

Issue goals, reported against and never asserted: GetApp >= 0.60 of echo,
CreateApp >= 0.35 of echo, both at ``--concurrency`` (64) calls in flight.

Per database backend (SQLite always; PostgreSQL when configured, see
:func:`postgres_admin_url`), the benchmark

1. makes a fresh database (a SQLite file in a temporary directory, or a
   database ``rtc_bench_<random>`` created on the PostgreSQL server and dropped
   at the end), runs ``rtc-console migrate`` on it and creates one account;
2. starts ``rtc-console serve --listen 127.0.0.1:0`` in its own process (the
   same process model as the echo baseline; default settings, workers on; log
   level INFO because the ``listening on`` line is logged at INFO);
3. ``GetApp``: creates one app, then reads it over and over (the same request
   and API key), alternating with echo calls whose payload is as large as the
   real ``GetAppResponse``;
4. ``CreateApp``: creates enough extra accounts that R1 (100 live apps per
   account) is never reached in the measured window, and issues the creates
   round-robin over their API keys, alternating with echo calls the size of
   a ``CreateAppResponse``. Failed calls (``RESOURCE_EXHAUSTED`` included)
   are counted and shown under the table, never retried.

Accounts are made by ``rtcconsole_server.cli.main`` (the ``rtc-console admin
account create NAME --json`` command) called in a loop inside one helper
process: one process per account would spend half a second each on imports.

``--quick`` skips the PostgreSQL rows (secondary rows).
"""

from __future__ import annotations

import asyncio
import itertools
import math
import sys
from collections.abc import Awaitable

import grpc

from bench.bare_create import POOL_SIZE, bare_creates, newest_accounts
from bench.echo import echo_call, echo_process
from bench.load import LoadResult
from bench.procs import subprocess_server
from bench.registry import BenchConfig, Row, benchmark
from bench.rtc_servers import (
    CLI,
    PORT_LINE,
    Backend,
    create_accounts,
    migrate,
    on_each_backend,
)
from bench.server_cpu import cpu_note, server_cpu_per_call
from rtcconsole.v1 import app_service_pb2 as pb
from rtcconsole.v1 import app_service_pb2_grpc as pb_grpc

__all__ = ["apps"]

NAME = "apps"
APP_QUOTA = 100
"""R1: live apps per account (``rtcconsole_server.domain.apps.APP_QUOTA``)."""
CREATES_PER_ACCOUNT = 90
"""Creates planned per account, below the quota."""
CREATE_RATE_BOUND = 2.0
"""CreateApp is planned at up to this multiple of the measured GetApp rate (it does strictly more)."""
CALL_TIMEOUT_S = 10.0
CREATE_CPU_CALLS = 600
"""CreateApp calls of the server-CPU measurement (they create apps, so fewer than for reads)."""


# ---------------------------------------------------------------- databases


# ------------------------------------------------------------------ measuring


def _row(
    subject: str,
    result: LoadResult,
    baseline: str,
    baseline_result: LoadResult,
    note: str,
) -> Row:
    return Row.from_results(
        benchmark=NAME,
        subject=subject,
        result=result,
        baseline=baseline,
        baseline_result=baseline_result,
        note=note,
    )


def _accounts_needed(config: BenchConfig, get_app_ops_per_s: float) -> tuple[int, int]:
    """(accounts, planned creates) for the CreateApp row.

    Every segment has warmup and recorded time, and ends with up to
    ``concurrency`` calls in flight that complete (and create apps) too.
    """
    rate = max(get_app_ops_per_s, 50.0) * CREATE_RATE_BOUND
    planned = math.ceil(rate * (config.duration_s + config.warmup_s) + config.concurrency * config.rounds)
    planned += CREATE_CPU_CALLS + config.concurrency
    return math.ceil(planned / CREATES_PER_ACCOUNT), planned


async def _measure(
    config: BenchConfig, backend: Backend, echo_channel: grpc.aio.Channel, echo_pid: int
) -> list[Row]:
    c = config.concurrency
    print(f"  {NAME}: {backend.label}: migrate, first account", file=sys.stderr, flush=True)
    await migrate(backend.url)
    (owner,) = await create_accounts(backend.url, 1)
    serve = [*CLI, "--log-level", "INFO", "serve", "--listen", "127.0.0.1:0", "--database-url", backend.url]
    rows: list[Row] = []
    async with (
        subprocess_server(serve, ready_port_from=PORT_LINE) as server,
        grpc.aio.insecure_channel(server.target) as channel,
    ):
        stub = pb_grpc.AppServiceStub(channel)

        # --- GetApp: one app, the same request over and over.
        created = await stub.CreateApp(
            pb.CreateAppRequest(name="bench_get", description="bench"), metadata=owner, timeout=CALL_TIMEOUT_S
        )
        get_request = pb.GetAppRequest(sdk_app_id=created.app.sdk_app_id)
        get_size = (await stub.GetApp(get_request, metadata=owner, timeout=CALL_TIMEOUT_S)).ByteSize()

        def get_app() -> Awaitable[pb.GetAppResponse]:
            return stub.GetApp(get_request, metadata=owner, timeout=CALL_TIMEOUT_S)

        print(f"  {NAME}: {backend.label}: GetApp", file=sys.stderr, flush=True)
        echo_get = echo_call(echo_channel, payload_bytes=get_size, timeout_s=CALL_TIMEOUT_S)
        subject, baseline = await config.compare(get_app, echo_get)
        get_cpu = cpu_note(
            await server_cpu_per_call(server.pid, get_app, c),
            await server_cpu_per_call(echo_pid, echo_get, c),
        )
        rows.append(
            _row(
                f"GetApp ({backend.label}) c={c}",
                subject,
                f"echo {get_size} B c={c}",
                baseline,
                f"{backend.note}; one app, same request and key every call; "
                f"GetAppResponse {get_size} B = echo payload; {get_cpu}",
            )
        )

        # --- CreateApp: round-robin over enough accounts to stay under R1.
        n_accounts, planned = _accounts_needed(config, subject.ops_per_s)
        print(
            f"  {NAME}: {backend.label}: {n_accounts} accounts for up to {planned} creates",
            file=sys.stderr,
            flush=True,
        )
        keys = await create_accounts(backend.url, n_accounts)
        create_request = pb.CreateAppRequest(name="bench_app", description="bench")
        # Verify every key (and so cache it in the server) outside the timing.
        warm = await asyncio.gather(
            *(
                stub.ListApps(pb.ListAppsRequest(page_size=1), metadata=k, timeout=CALL_TIMEOUT_S)
                for k in keys
            )
        )
        assert all(not r.apps for r in warm)
        create_size = pb.CreateAppResponse(app=created.app).ByteSize()
        issued = itertools.count()

        def create_app() -> Awaitable[pb.CreateAppResponse]:
            return stub.CreateApp(
                create_request, metadata=keys[next(issued) % n_accounts], timeout=CALL_TIMEOUT_S
            )

        print(f"  {NAME}: {backend.label}: CreateApp", file=sys.stderr, flush=True)
        echo_create = echo_call(echo_channel, payload_bytes=create_size, timeout_s=CALL_TIMEOUT_S)
        subject, baseline = await config.compare(create_app, echo_create)
        create_cpu = cpu_note(
            await server_cpu_per_call(server.pid, create_app, c, CREATE_CPU_CALLS),
            await server_cpu_per_call(echo_pid, echo_create, c, CREATE_CPU_CALLS),
        )
        total = next(issued)
        per_account = math.ceil(total / n_accounts)
        rows.append(
            _row(
                f"CreateApp ({backend.label}) c={c}",
                subject,
                f"echo {create_size} B c={c}",
                baseline,
                f"{total} creates (warmup and drain included) round-robin over {n_accounts} accounts, "
                f"<= {per_account} per account (quota {APP_QUOTA}); CreateAppResponse {create_size} B "
                f"= echo payload; {create_cpu}",
            )
        )
        if backend.label == "postgresql":
            rows.append(await _create_vs_bare(config, backend, stub, n_accounts))
    return rows


async def _create_vs_bare(
    config: BenchConfig, backend: Backend, stub: pb_grpc.AppServiceAsyncStub, n_accounts: int
) -> Row:
    """CreateApp against the same transaction straight from psycopg (``bench/bare_create.py``):
    what share of PostgreSQL's own commit rate on this machine the server reaches."""
    c = config.concurrency
    print(f"  {NAME}: {backend.label}: CreateApp vs its bare transaction", file=sys.stderr, flush=True)
    keys = await create_accounts(backend.url, n_accounts)
    await create_accounts(backend.url, n_accounts)  # the bare loop's own accounts, the newest
    bare_accounts = await newest_accounts(backend.url, n_accounts)
    request = pb.CreateAppRequest(name="bench_app", description="bench")
    await asyncio.gather(*(stub.ListApps(pb.ListAppsRequest(page_size=1), metadata=k) for k in keys))
    issued = itertools.count()

    def create_app() -> Awaitable[pb.CreateAppResponse]:
        return stub.CreateApp(request, metadata=keys[next(issued) % n_accounts], timeout=CALL_TIMEOUT_S)

    async with bare_creates(backend.url, bare_accounts) as bare:
        subject, baseline = await config.compare(create_app, bare)
    return _row(
        f"CreateApp ({backend.label}) c={c}",
        subject,
        f"bare create transaction ({POOL_SIZE} psycopg connections) c={c}",
        baseline,
        "the same lock + insert-under-quota + commit by hand from the bench process: PostgreSQL's "
        "own ceiling for a create on this machine",
    )


@benchmark(NAME)
async def apps(config: BenchConfig) -> list[Row]:
    """GetApp and CreateApp vs. the bare echo server (goals: >= 0.60 and >= 0.35); SQLite, PostgreSQL."""
    async with echo_process() as echo, grpc.aio.insecure_channel(echo.target) as echo_channel:
        return await on_each_backend(
            NAME, lambda backend: _measure(config, backend, echo_channel, echo.pid), postgres=not config.quick
        )
