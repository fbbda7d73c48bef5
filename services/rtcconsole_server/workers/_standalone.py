"""What a worker command run alone (``rtc-console dispatcher``, ``aggregator``) needs: a store and threads."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from rtcconsole_server.settings import Settings
from rtcconsole_server.store import Store, open_store, upgrade

__all__ = ["standalone_store"]


@asynccontextmanager
async def standalone_store(
    settings: Settings, *, threads: int, name: str, pool_size: int | None = None
) -> AsyncIterator[tuple[Store, ThreadPoolExecutor]]:
    """The store of ``settings.database_url`` (migrated first when ``settings.migrate``) and
    ``threads`` store threads named ``name``; at exit the threads finish what they run, then
    the store's connections are closed."""
    store = (
        open_store(settings.database_url)
        if pool_size is None
        else open_store(settings.database_url, pool_size=pool_size)
    )
    executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=name)
    try:
        if settings.migrate:  # PostgreSQL: under an advisory lock, so replicas may start together
            await asyncio.get_running_loop().run_in_executor(executor, upgrade, store)
        yield store, executor
    finally:
        executor.shutdown(wait=True)
        store.dispose()
