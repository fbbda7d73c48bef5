"""What the benchmarks share about running ``rtc-console``: databases, the CLI, the server.

- :func:`sqlite_backend` / :func:`postgres_backend`: a fresh database per benchmark (a SQLite
  file in a temporary directory; a PostgreSQL database created and dropped on the server named
  by :func:`postgres_admin_url`).
- :func:`run_command`, :func:`migrate`, :func:`create_accounts`: the ``rtc-console`` CLI.
- :data:`CLI` and :data:`PORT_LINE`: how to start ``serve`` with :func:`bench.procs.subprocess_server`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import URL, make_url

from bench.registry import Row

__all__ = [
    "CLI",
    "PORT_LINE",
    "POSTGRES_URL_ENV",
    "POSTGRES_URL_FILE_KEY",
    "SERVICES_ENV_FILE",
    "Backend",
    "Metadata",
    "check_postgres",
    "create_accounts",
    "libpq_dsn",
    "migrate",
    "on_each_backend",
    "postgres_admin_url",
    "postgres_backend",
    "reachable_postgres",
    "run_command",
    "sqlite_backend",
]

PORT_LINE = r"rtc-console listening on \S+:(?P<port>\d+)"
"""The line ``serve`` logs at INFO once it accepts calls."""
CLI = (sys.executable, "-m", "rtcconsole_server.cli")
"""``rtc-console`` with this interpreter (the console script runs the same ``main``)."""
_CONNECT_TIMEOUT_S = 3

POSTGRES_URL_ENV = "RTC_BENCH_POSTGRES_URL"
"""Admin URL of a PostgreSQL server (``.../postgres``); ``off`` disables the PostgreSQL rows."""
POSTGRES_URL_FILE_KEY = "RTC_TEST_POSTGRES_URL"
"""The key read from ``.services.env`` when ``RTC_BENCH_POSTGRES_URL`` is not set."""
SERVICES_ENV_FILE = Path(__file__).resolve().parent.parent / ".services.env"


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
"""gRPC call metadata carrying one API key."""


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


def libpq_dsn(url: str) -> str:
    """The libpq connection string of a SQLAlchemy PostgreSQL ``url`` (for psycopg directly)."""
    return _libpq(make_url(url))


def _admin_execute(admin_url: str, statement: sql.SQL | sql.Composed) -> None:
    """Run one statement outside a transaction (CREATE/DROP DATABASE need autocommit)."""
    with psycopg.connect(
        _libpq(make_url(admin_url)), autocommit=True, connect_timeout=_CONNECT_TIMEOUT_S
    ) as conn:
        conn.execute(statement)


def check_postgres(admin_url: str) -> None:
    _admin_execute(admin_url, sql.SQL("SELECT 1"))


async def reachable_postgres(name: str) -> str | None:
    """The admin URL of :func:`postgres_admin_url` once it answers; None when there is none, or
    when the one of ``.services.env`` does not answer (benchmark ``name`` logs that its
    PostgreSQL rows are skipped). One asked for explicitly that does not answer is an error."""
    postgres, explicit = postgres_admin_url()
    if postgres is None:
        return None
    try:
        await asyncio.to_thread(check_postgres, postgres)
    except psycopg.Error as error:
        if explicit:
            raise RuntimeError(f"{POSTGRES_URL_ENV}: PostgreSQL unreachable: {error}") from error
        print(
            f"  {name}: PostgreSQL of {SERVICES_ENV_FILE.name} unreachable ({error}); "
            "PostgreSQL rows skipped",
            file=sys.stderr,
            flush=True,
        )
        return None
    return postgres


@dataclass(frozen=True)
class Backend:
    label: str
    """``sqlite`` or ``postgresql``: shown in the row names."""
    url: str
    """SQLAlchemy URL handed to ``rtc-console``."""
    note: str
    """Where the data lives, for the notes under the table."""


@contextlib.asynccontextmanager
async def sqlite_backend() -> AsyncIterator[Backend]:
    with tempfile.TemporaryDirectory(prefix="rtc-bench-apps-") as tmp:
        path = Path(tmp) / "rtc-console.db"
        yield Backend("sqlite", f"sqlite:///{path}", "fresh SQLite file (WAL) in a temporary directory")


@contextlib.asynccontextmanager
async def postgres_backend(admin_url: str) -> AsyncIterator[Backend]:
    admin = make_url(admin_url)
    name = f"rtc_bench_{secrets.token_hex(6)}"
    await asyncio.to_thread(
        _admin_execute, admin_url, sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    )
    try:
        url = admin.set(drivername="postgresql+psycopg", database=name)
        yield Backend(
            "postgresql",
            url.render_as_string(hide_password=False),
            f"fresh PostgreSQL database {name} on {admin.host}:{admin.port or 5432}, dropped afterwards",
        )
    finally:
        await _drop_database(admin_url, name)


async def on_each_backend(
    name: str, measure: Callable[[Backend], Awaitable[list[Row]]], *, postgres: bool = True
) -> list[Row]:
    """The rows of ``measure`` on a fresh SQLite file, then on a fresh PostgreSQL database when
    ``postgres`` and one is reachable (:func:`reachable_postgres`, asked first, so a skip is
    logged before the run); each store is removed after its rows."""
    admin_url = await reachable_postgres(name) if postgres else None
    rows: list[Row] = []
    async with sqlite_backend() as backend:
        rows += await measure(backend)
    if admin_url is not None:
        async with postgres_backend(admin_url) as backend:
            rows += await measure(backend)
    return rows


async def _drop_database(admin_url: str, name: str, attempts: int = 20) -> None:
    """``DROP DATABASE … WITH (FORCE)``; when an autovacuum worker (another role, which FORCE
    may not terminate) is still in it, a plain DROP, which stops autovacuum itself, retried
    every 0.5 s up to ``attempts`` times."""
    force = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    plain = sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name))
    try:
        await asyncio.to_thread(_admin_execute, admin_url, force)
        return
    except psycopg.errors.InsufficientPrivilege:
        pass
    for attempt in range(attempts):
        try:
            await asyncio.to_thread(_admin_execute, admin_url, plain)
            return
        except psycopg.errors.ObjectInUse:
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(0.5)


# ------------------------------------------------------------ rtc-console CLI


async def run_command(argv: Sequence[str]) -> str:
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


async def migrate(url: str) -> None:
    await run_command([*CLI, "--log-level", "WARNING", "migrate", "--database-url", url])


async def create_accounts(url: str, count: int) -> list[Metadata]:
    """Create ``count`` accounts; the call metadata of each one's API key."""
    tag = secrets.token_hex(3)
    names = [f"bench_{tag}_{i}" for i in range(count)]
    out = await run_command([sys.executable, "-c", _CREATE_ACCOUNTS_SCRIPT, url, *names])
    keys = [json.loads(line)["api_key"] for line in out.splitlines() if line.startswith("{")]
    if len(keys) != count:
        raise RuntimeError(f"asked for {count} accounts, got {len(keys)}:\n{out[-2000:]}")
    return [(("authorization", f"Bearer {key}"),) for key in keys]
