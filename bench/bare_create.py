"""PostgreSQL's own ceiling for CreateApp's transaction, straight from psycopg.

``CreateApp`` on PostgreSQL is one transaction of two statements (``domain/apps/_apps.py``): the
account row locked (R1 under races), then R1's count and the insert in one ``INSERT … SELECT …
WHERE count < 100 RETURNING``, then the commit (a WAL flush). :func:`bare_creates` runs that same
transaction, the same statements by hand, on as many connections as the server's pool opens at
most (32, ``store/engine.py``), round-robin over the same kind of accounts, from the bench process:
no gRPC, no Python server, no SQLAlchemy. ``CreateApp vs bare create`` is then the share of what
PostgreSQL on this machine can commit that the server reaches.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import psycopg

from bench.rtc_servers import libpq_dsn

__all__ = ["POOL_SIZE", "bare_creates", "newest_accounts"]

POOL_SIZE = 32
"""Connections: as many as the server's pool opens at most (``store.engine``: 16 kept open, as
many more on demand), so that both sides can have as many transactions in PostgreSQL at once."""

_LOCK = "SELECT postpaid, arrears, package_state FROM accounts WHERE id = %(account)s FOR UPDATE"
_INSERT = """
INSERT INTO apps (account_id, name, description, source, secret_key, lifecycle, request_id,
                  push_domain, relayed_push_enabled, created_at, updated_at)
SELECT %(account)s, 'bench_bare', 'bench', '', %(secret)s, 'active', NULL, '', false, %(now)s, %(now)s
WHERE (SELECT count(*) FROM apps WHERE account_id = %(account)s AND deleted_at IS NULL) < 100
RETURNING sdk_app_id
"""


@contextlib.asynccontextmanager
async def bare_creates(url: str, account_ids: Sequence[int]) -> AsyncIterator[Callable[[], Awaitable[Any]]]:
    """A call factory: each call commits one create transaction for the next of ``account_ids``."""
    dsn = libpq_dsn(url)
    connections = [await psycopg.AsyncConnection.connect(dsn) for _ in range(POOL_SIZE)]
    idle: asyncio.Queue[psycopg.AsyncConnection[Any]] = asyncio.Queue()
    for connection in connections:
        idle.put_nowait(connection)
    issued = itertools.count()

    async def create() -> int:
        account = account_ids[next(issued) % len(account_ids)]
        connection = await idle.get()
        try:
            async with connection.transaction():
                await connection.execute(_LOCK, {"account": account})
                cursor = await connection.execute(
                    _INSERT, {"account": account, "secret": secrets.token_hex(32), "now": datetime.now(UTC)}
                )
                row = await cursor.fetchone()
        finally:
            idle.put_nowait(connection)
        if row is None:
            raise RuntimeError(f"account {account} is at its quota: plan more accounts")
        return int(row[0])

    try:
        yield create
    finally:
        for connection in connections:
            await connection.close()


async def newest_accounts(url: str, count: int) -> list[int]:
    """The ids of the ``count`` newest accounts (the ones the bench just made)."""
    async with await psycopg.AsyncConnection.connect(libpq_dsn(url)) as connection:
        cursor = await connection.execute("SELECT id FROM accounts ORDER BY id DESC LIMIT %s", (count,))
        return [int(row[0]) for row in await cursor.fetchall()]
