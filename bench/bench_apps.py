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
import contextlib
import itertools
import json
import math
import os
import secrets
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Sequence
from dataclasses import dataclass
from pathlib import Path

import grpc
import psycopg
from psycopg import sql
from sqlalchemy.engine import URL, make_url

from bench.echo import echo_call, echo_server
from bench.load import LoadResult, compare_load
from bench.procs import subprocess_server
from bench.registry import BenchConfig, Row, benchmark
from rtcconsole.v1 import app_service_pb2 as pb
from rtcconsole.v1 import app_service_pb2_grpc as pb_grpc

__all__ = [
    "POSTGRES_URL_ENV",
    "POSTGRES_URL_FILE_KEY",
    "SERVICES_ENV_FILE",
    "apps",
    "postgres_admin_url",
]

NAME = "apps"
POSTGRES_URL_ENV = "RTC_BENCH_POSTGRES_URL"
"""Admin URL of a PostgreSQL server (``.../postgres``); ``off`` disables the PostgreSQL rows."""
POSTGRES_URL_FILE_KEY = "RTC_TEST_POSTGRES_URL"
"""The key read from ``.services.env`` when ``RTC_BENCH_POSTGRES_URL`` is not set."""
SERVICES_ENV_FILE = Path(__file__).resolve().parent.parent / ".services.env"

APP_QUOTA = 100
"""R1: live apps per account (``rtcconsole_server.domain.apps.APP_QUOTA``)."""
CREATES_PER_ACCOUNT = 90
"""Creates planned per account, below the quota."""
CREATE_RATE_BOUND = 2.0
"""CreateApp is planned at up to this multiple of the measured GetApp rate (it does strictly more)."""
CALL_TIMEOUT_S = 10.0
PORT_LINE = r"rtc-console listening on \S+:(?P<port>\d+)"
"""The line ``serve`` logs at INFO once it accepts calls."""
_CLI = (sys.executable, "-m", "rtcconsole_server.cli")
"""``rtc-console`` with this interpreter (the console script runs the same ``main``)."""
_CONNECT_TIMEOUT_S = 3

# One helper process creates many accounts through the CLI's own entry point and
# prints one JSON line per account; the gc keeps dropped engines from piling up
# PostgreSQL connections.
_CREATE_ACCOUNTS_SCRIPT = """
import gc, sys
from rtcconsole_server.cli import main
url, names = sys.argv[1], sys.argv[2:]
for name in names:
    argv = ["--log-level", "WARNING", "admin", "account", "create", name, "--json", "--database-url", url]
    status = main(argv)
    sys.stdout.flush()
    if status:
        sys.exit(status)
    gc.collect()
"""

Metadata = tuple[tuple[str, str], ...]


# ---------------------------------------------------------------- databases


def _read_env_file(path: Path) -> dict[str, str]:
    """``KEY=VALUE`` lines (comments, blank lines, ``export`` and quotes allowed)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    values: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def postgres_admin_url(env_file: Path = SERVICES_ENV_FILE) -> tuple[str | None, bool]:
    """The PostgreSQL admin URL to benchmark against, and whether it was asked for explicitly.

    ``RTC_BENCH_POSTGRES_URL`` wins (``off`` means no PostgreSQL rows); else
    ``RTC_TEST_POSTGRES_URL`` of ``.services.env``; else None.
    """
    explicit = os.environ.get(POSTGRES_URL_ENV, "").strip()
    if explicit:
        return (None, True) if explicit.lower() == "off" else (explicit, True)
    return _read_env_file(env_file).get(POSTGRES_URL_FILE_KEY) or None, False


def _libpq(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _admin_execute(admin_url: str, statement: sql.SQL | sql.Composed) -> None:
    """Run one statement outside a transaction (CREATE/DROP DATABASE need autocommit)."""
    with psycopg.connect(
        _libpq(make_url(admin_url)), autocommit=True, connect_timeout=_CONNECT_TIMEOUT_S
    ) as conn:
        conn.execute(statement)


def _check_postgres(admin_url: str) -> None:
    _admin_execute(admin_url, sql.SQL("SELECT 1"))


@dataclass(frozen=True)
class _Backend:
    label: str
    """``sqlite`` or ``postgresql``: shown in the row names."""
    url: str
    """SQLAlchemy URL handed to ``rtc-console``."""
    note: str
    """Where the data lives, for the notes under the table."""


@contextlib.asynccontextmanager
async def _sqlite_backend() -> AsyncIterator[_Backend]:
    with tempfile.TemporaryDirectory(prefix="rtc-bench-apps-") as tmp:
        path = Path(tmp) / "rtc-console.db"
        yield _Backend("sqlite", f"sqlite:///{path}", "fresh SQLite file (WAL) in a temporary directory")


@contextlib.asynccontextmanager
async def _postgres_backend(admin_url: str) -> AsyncIterator[_Backend]:
    admin = make_url(admin_url)
    name = f"rtc_bench_{secrets.token_hex(6)}"
    await asyncio.to_thread(
        _admin_execute, admin_url, sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    )
    try:
        url = admin.set(drivername="postgresql+psycopg", database=name)
        yield _Backend(
            "postgresql",
            url.render_as_string(hide_password=False),
            f"fresh PostgreSQL database {name} on {admin.host}:{admin.port or 5432}, dropped afterwards",
        )
    finally:
        await asyncio.to_thread(
            _admin_execute,
            admin_url,
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)),
        )


# ------------------------------------------------------------ rtc-console CLI


async def _run(argv: Sequence[str]) -> str:
    """Run ``argv`` to completion; its stdout, or ``RuntimeError`` with its output."""
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await proc.communicate()
    except BaseException:  # cancelled: do not leave it behind
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        raise
    if proc.returncode != 0:
        tail = "\n".join(err.decode(errors="replace").splitlines()[-20:])
        raise RuntimeError(f"{argv[:6]}... exited with {proc.returncode}:\n{tail}")
    return out.decode()


async def _migrate(url: str) -> None:
    await _run([*_CLI, "--log-level", "WARNING", "migrate", "--database-url", url])


async def _create_accounts(url: str, count: int) -> list[Metadata]:
    """Create ``count`` accounts; the call metadata of each one's API key."""
    tag = secrets.token_hex(3)
    names = [f"bench_{tag}_{i}" for i in range(count)]
    out = await _run([sys.executable, "-c", _CREATE_ACCOUNTS_SCRIPT, url, *names])
    keys = [json.loads(line)["api_key"] for line in out.splitlines() if line.startswith("{")]
    if len(keys) != count:
        raise RuntimeError(f"asked for {count} accounts, got {len(keys)}:\n{out[-2000:]}")
    return [(("authorization", f"Bearer {key}"),) for key in keys]


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
    return math.ceil(planned / CREATES_PER_ACCOUNT), planned


async def _measure(config: BenchConfig, backend: _Backend, echo_channel: grpc.aio.Channel) -> list[Row]:
    c = config.concurrency
    print(f"  {NAME}: {backend.label}: migrate, first account", file=sys.stderr, flush=True)
    await _migrate(backend.url)
    (owner,) = await _create_accounts(backend.url, 1)
    serve = [*_CLI, "--log-level", "INFO", "serve", "--listen", "127.0.0.1:0", "--database-url", backend.url]
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
        subject, baseline = await compare_load(
            get_app,
            echo_call(echo_channel, payload_bytes=get_size, timeout_s=CALL_TIMEOUT_S),
            concurrency=c,
            duration_s=config.duration_s,
            warmup_s=config.warmup_s,
            rounds=config.rounds,
        )
        rows.append(
            _row(
                f"GetApp ({backend.label}) c={c}",
                subject,
                f"echo {get_size} B c={c}",
                baseline,
                f"{backend.note}; one app, same request and key every call; "
                f"GetAppResponse {get_size} B = echo payload",
            )
        )

        # --- CreateApp: round-robin over enough accounts to stay under R1.
        n_accounts, planned = _accounts_needed(config, subject.ops_per_s)
        print(
            f"  {NAME}: {backend.label}: {n_accounts} accounts for up to {planned} creates",
            file=sys.stderr,
            flush=True,
        )
        keys = await _create_accounts(backend.url, n_accounts)
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
        subject, baseline = await compare_load(
            create_app,
            echo_call(echo_channel, payload_bytes=create_size, timeout_s=CALL_TIMEOUT_S),
            concurrency=c,
            duration_s=config.duration_s,
            warmup_s=config.warmup_s,
            rounds=config.rounds,
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
                "= echo payload",
            )
        )
    return rows


@benchmark(NAME)
async def apps(config: BenchConfig) -> list[Row]:
    """GetApp and CreateApp vs. the bare echo server (goals: >= 0.60 and >= 0.35); SQLite, PostgreSQL."""
    postgres, explicit = postgres_admin_url()
    if config.quick:
        postgres = None
    if postgres is not None:
        try:
            await asyncio.to_thread(_check_postgres, postgres)
        except psycopg.Error as error:
            if explicit:
                raise RuntimeError(f"{POSTGRES_URL_ENV}: PostgreSQL unreachable: {error}") from error
            print(
                f"  {NAME}: PostgreSQL of {SERVICES_ENV_FILE.name} unreachable ({error}); "
                "PostgreSQL rows skipped",
                file=sys.stderr,
                flush=True,
            )
            postgres = None
    rows: list[Row] = []
    async with echo_server() as echo_target, grpc.aio.insecure_channel(echo_target) as echo_channel:
        async with _sqlite_backend() as backend:
            rows += await _measure(config, backend, echo_channel)
        if postgres is not None:
            async with _postgres_backend(postgres) as backend:
                rows += await _measure(config, backend, echo_channel)
    return rows
