"""Opening the store and running transactions on it.

SQLite runs in WAL mode with a busy timeout; a write transaction starts with
``BEGIN IMMEDIATE`` so that two writers never deadlock on lock upgrade and a
read-check-write (the R1 quota) is serialised. PostgreSQL uses its defaults
(READ COMMITTED); the domain takes row locks where a rule needs them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

__all__ = ["Store", "open_store"]

_SQLITE_BUSY_TIMEOUT_MS = 30_000


class Store:
    """The database behind every service: one engine, short transactions."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self._write_engine = engine.execution_options(rtc_write=True)
        self._reader = sessionmaker(engine, expire_on_commit=False)
        self._writer = sessionmaker(self._write_engine, expire_on_commit=False)

    @property
    def is_postgresql(self) -> bool:
        return self.dialect == "postgresql"

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A transaction for reads (it commits nothing it did not write; objects stay loaded)."""
        with self._reader() as session, session.begin():
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A transaction that commits when the block ends without an exception."""
        with self._writer() as session, session.begin():
            yield session

    @contextmanager
    def read_core(self) -> Iterator[Connection]:
        """A Core connection in a read transaction: for hot paths, where the ORM costs too much."""
        with self.engine.begin() as connection:
            yield connection

    @contextmanager
    def write_core(self) -> Iterator[Connection]:
        """A Core connection in a write transaction that commits at the end of the block."""
        with self._write_engine.begin() as connection:
            yield connection

    def dispose(self) -> None:
        self.engine.dispose()


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        write = connection.get_execution_options().get("rtc_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def open_store(url: str, *, pool_size: int = 16) -> Store:
    """Open the database at ``url``; for SQLite, create its directory if needed.

    ``pool_size`` connections are kept open (and as many more opened on demand):
    as many as the server's store threads, so connections are reused, not reopened.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            parsed,
            connect_args={"check_same_thread": False, "timeout": _SQLITE_BUSY_TIMEOUT_MS / 1000},
            pool_size=pool_size,
            max_overflow=pool_size,
        )
        _configure_sqlite(engine)
    else:
        # Recycle instead of pre-ping: a ping is a round trip on every checkout.
        engine = create_engine(parsed, pool_size=pool_size, max_overflow=pool_size, pool_recycle=1800)
    return Store(engine)
