"""``python -m bench.sqlite_sync_serve MODE ARGS...``: ``rtc-console ARGS...`` (``serve``) with its
SQLite connections at ``PRAGMA synchronous=MODE``. Bench only: it measures what the store's
``synchronous=FULL`` costs (``bench/bench_durability.py``); the product has no such setting.

``ARGS`` are those of ``rtc-console`` (global flags, ``serve`` and its flags); the
``--database-url`` must be SQLite. The store is opened as ``serve`` opens it
(``store.open_store``), then one more ``connect`` listener runs after the store's own on
every new connection and sets ``synchronous`` to ``MODE`` (``FULL``, ``NORMAL`` or ``OFF``);
the server is built with that store (``build_server``'s ``store`` argument) and runs until
SIGTERM like ``serve``. The first connection's effective value is logged at INFO.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Sequence
from typing import Any

from sqlalchemy import event

from rtcconsole_server.cli import parse
from rtcconsole_server.observability import configure_logging
from rtcconsole_server.server import build_server
from rtcconsole_server.settings import Settings
from rtcconsole_server.store import Store, open_store
from rtcconsole_server.workers import run_until_signalled

__all__ = ["MODES", "main"]

MODES = {"FULL": 2, "NORMAL": 1, "OFF": 0}
"""``PRAGMA synchronous`` names and the numbers SQLite reads them back as."""

log = logging.getLogger("bench.sqlite_sync_serve")


def _store(url: str, mode: str) -> Store:
    store = open_store(url)
    if store.dialect != "sqlite":
        raise SystemExit(f"sqlite_sync_serve: {url!r} is not SQLite")

    @event.listens_for(store.engine, "connect")  # registered after the store's: runs after it
    def _synchronous(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute(f"PRAGMA synchronous={mode}")

    with store.read_core() as connection:
        value = connection.exec_driver_sql("PRAGMA synchronous").scalar()
    if value != MODES[mode]:
        raise SystemExit(f"sqlite_sync_serve: synchronous reads back {value}, not {mode}")
    log.info("bench store: SQLite synchronous=%s (%s)", mode, value)
    return store


async def _serve(settings: Settings, mode: str) -> None:
    server = await build_server(settings, store=_store(settings.database_url, mode))
    await run_until_signalled(server, grace=settings.grace, name="rtc-console serve (bench)")


def main(argv: Sequence[str]) -> int:
    """``argv``: MODE then the arguments of ``rtc-console``."""
    if not argv or argv[0].upper() not in MODES:
        print(f"usage: python -m bench.sqlite_sync_serve {{{'|'.join(MODES)}}} ARGS...", file=sys.stderr)
        return 2
    mode, rest = argv[0].upper(), list(argv[1:])
    args, settings = parse(rest)
    if args.command != "serve":
        print("sqlite_sync_serve: only `serve` is supported", file=sys.stderr)
        return 2
    configure_logging(settings.log_level.upper(), settings.log_format)
    asyncio.run(_serve(settings, mode))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
