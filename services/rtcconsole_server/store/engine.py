"""Opening the store and running transactions on it.

SQLite runs in WAL mode with a busy timeout; a write transaction starts with
``BEGIN IMMEDIATE`` so that two writers never deadlock on lock upgrade and a
read-check-write (the R1 quota) is serialised. PostgreSQL uses its defaults
(READ COMMITTED); the domain takes row locks where a rule needs them.

Every statement has a time budget (``statement_timeout``, 15 s by default):
PostgreSQL's own ``statement_timeout``; on SQLite a progress handler that
interrupts a statement running past it. A statement over budget raises
:class:`StatementTimeout` (a domain error: DEADLINE_EXCEEDED), so one costly
request can never hold the store, or the SQLite store thread, for long.

Durability: SQLite commits with ``synchronous=FULL`` (the WAL is fsynced at
every commit), so an acknowledged record survives an OS crash or power loss,
not only a crash of the process; the cost is measured in ``bench/``. The data
directory the store creates is 0700 and the database file 0600: it holds TOTP
seeds, app secret keys and callback keys.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import ContextVar
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from rtcconsole_server.errors import StatementTimeout

__all__ = [
    "DEFAULT_STATEMENT_TIMEOUT",
    "InlineBudgetExceeded",
    "Store",
    "driver_batch",
    "driver_rows",
    "open_store",
]

_SQLITE_BUSY_TIMEOUT_MS = 30_000
_PROGRESS_EVERY = 10_000
"""SQLite virtual-machine steps between two looks at the clock (a few hundred microseconds)."""

DEFAULT_STATEMENT_TIMEOUT = timedelta(seconds=15)
"""Longest a single statement may run before it is cancelled: 15 seconds."""

_INLINE_BUDGET: ContextVar[float | None] = ContextVar("rtc_inline_budget", default=None)


class InlineBudgetExceeded(Exception):
    """A SQLite statement run under :meth:`Store.inline` outgrew its small budget.

    Nothing was written (only reads run inline); the caller reruns the work off the
    event loop, where the full ``statement_timeout`` applies.
    """


class Store:
    """The database behind every service: one engine, short transactions."""

    def __init__(self, engine: Engine, *, statement_timeout: timedelta = DEFAULT_STATEMENT_TIMEOUT) -> None:
        self.engine = engine
        self.statement_timeout = statement_timeout
        """Time budget of one statement (see the module docstring)."""
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
        with self._budget(), self._reader() as session, session.begin():
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A transaction that commits when the block ends without an exception."""
        with self._budget(), self._writer() as session, session.begin():
            yield session

    @contextmanager
    def read_core(self) -> Iterator[Connection]:
        """A Core connection in a read transaction: for hot paths, where the ORM costs too much."""
        with self._budget(), self.engine.begin() as connection:
            yield connection

    @contextmanager
    def write_core(self) -> Iterator[Connection]:
        """A Core connection in a write transaction that commits at the end of the block."""
        with self._budget(), self._write_engine.begin() as connection:
            yield connection

    @contextmanager
    def inline(self, budget: timedelta) -> Iterator[None]:
        """Run reads under a small per-statement ``budget`` (SQLite only): for reads done on the
        event loop, which must never hold it. A statement past it raises
        :class:`InlineBudgetExceeded`, and the caller reruns the read in the store's pool."""
        token = _INLINE_BUDGET.set(budget.total_seconds())
        try:
            yield
        finally:
            _INLINE_BUDGET.reset(token)

    @contextmanager
    def _budget(self) -> Iterator[None]:
        """Turn a statement cancelled for its time budget into :class:`StatementTimeout`."""
        try:
            yield
        except OperationalError as exc:
            if not _is_timeout(exc):
                raise
            if _INLINE_BUDGET.get() is not None:
                raise InlineBudgetExceeded from exc
            raise StatementTimeout(self.statement_timeout) from exc

    def ping(self) -> None:
        """Run ``SELECT 1`` (readiness checks): raises if the store cannot answer."""
        with self.read_core() as connection:
            connection.exec_driver_sql("SELECT 1")

    def dispose(self) -> None:
        self.engine.dispose()


def driver_rows(
    connection: Connection, statement: str, parameters: Mapping[str, Any]
) -> list[tuple[Any, ...]]:
    """Run ``statement``, SQL in the driver's own parameter style (``%(name)s`` for psycopg,
    ``:name`` for sqlite3) with ``parameters`` already in the driver's types, on the DBAPI
    cursor of ``connection``'s transaction; its rows as plain tuples ([] for no result set).

    For the hottest writes only (CreateApp): it skips SQLAlchemy's compiled cache, execution
    context and result objects, which cost more CPU than the driver itself on PostgreSQL (0.3 to
    0.5 ms of CPU for a create's two statements, measured in process). It keeps what the store
    relies on: the engine's ``before_cursor_execute`` and ``after_cursor_execute`` listeners see
    the statement as they would from SQLAlchemy (the SQLite statement budget, the app state
    cache's write watch), and a driver error is raised as SQLAlchemy's wrapped one
    (``OperationalError``, ``IntegrityError``: what the time budget and ``store/retry.py`` look
    for). Listeners get no execution context (None).
    """
    (rows,) = driver_batch(connection, [(statement, parameters)])
    return rows


def driver_batch(
    connection: Connection, statements: Sequence[tuple[str, Mapping[str, Any]]]
) -> list[list[tuple[Any, ...]]]:
    """Run ``statements`` in order as :func:`driver_rows` runs one; the rows of each.

    On PostgreSQL they go out in one psycopg pipeline: the server still runs them one after the
    other, each with its own snapshot (READ COMMITTED), exactly as if sent one by one, but the
    whole batch (with the transaction's ``BEGIN`` when it is the first) costs one round trip
    instead of one each, and the store thread gives up and takes back the GIL once instead of
    once per statement. A statement that fails aborts the ones after it (PostgreSQL skips them),
    and its error is raised after the batch, wrapped as :func:`driver_rows` wraps it; the
    transaction is then failed and rolls back. On SQLite (no network) they run one by one.
    """
    dialect = connection.dialect
    dbapi = connection.connection
    dispatch = connection.dispatch
    cursors = []
    sent: list[tuple[str, Mapping[str, Any]]] = []
    statement = ""
    parameters: Mapping[str, Any] = {}
    try:
        with _pipelined(dbapi.driver_connection, dialect.name, len(statements)):
            for statement, parameters in statements:
                cursor = dbapi.cursor()
                cursors.append(cursor)
                for listener in dispatch.before_cursor_execute:
                    statement, parameters = listener(connection, cursor, statement, parameters, None, False)
                cursor.execute(statement, parameters)
                sent.append((statement, parameters))
        results = []
        for cursor, (statement, parameters) in zip(cursors, sent, strict=True):
            dispatch.after_cursor_execute(connection, cursor, statement, parameters, None, False)
            results.append(list(cursor.fetchall()) if cursor.description is not None else [])
        return results
    except dialect.loaded_dbapi.Error as error:
        wrapped = DBAPIError.instance(
            statement, parameters, error, dialect.loaded_dbapi.Error, dialect=dialect
        )
        raise wrapped from error
    finally:
        for cursor in cursors:
            cursor.close()


def _pipelined(driver_connection: Any, dialect: str, statements: int) -> AbstractContextManager[Any]:
    """psycopg's pipeline mode for a batch of more than one statement on PostgreSQL; else nothing."""
    if dialect == "postgresql" and statements > 1:
        pipeline: AbstractContextManager[Any] = driver_connection.pipeline()
        return pipeline
    return nullcontext()


def _is_timeout(exc: OperationalError) -> bool:
    """PostgreSQL's query_canceled (57014) or SQLite's "interrupted" (our progress handler)."""
    if getattr(exc.orig, "sqlstate", None) == "57014":
        return True
    return "interrupted" in str(exc.orig)


def _configure_sqlite(engine: Engine, budget: timedelta) -> None:
    seconds = budget.total_seconds()

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()
        deadline = [math.inf]
        record.info["rtc_deadline"] = deadline
        dbapi_connection.set_progress_handler(lambda: time.monotonic() > deadline[0], _PROGRESS_EVERY)

    @event.listens_for(engine, "before_cursor_execute")
    def _on_execute(connection: Any, *_args: Any) -> None:
        deadline = connection.info.get("rtc_deadline")
        if deadline is not None:
            inline = _INLINE_BUDGET.get()
            deadline[0] = time.monotonic() + (seconds if inline is None else inline)

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        write = connection.get_execution_options().get("rtc_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _private_file(database: str) -> None:
    """Create the SQLite file's directory (0700) and the file itself (0600), or tighten an
    existing file to 0600; a directory that was already there keeps its mode."""
    path = Path(database).expanduser()
    missing = [parent for parent in [path.parent, *path.parent.parents] if not parent.exists()]
    for directory in reversed(missing):
        directory.mkdir(mode=0o700)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    os.close(fd)
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)


def open_store(
    url: str, *, pool_size: int = 16, statement_timeout: timedelta = DEFAULT_STATEMENT_TIMEOUT
) -> Store:
    """Open the database at ``url``; for SQLite, create its directory and file privately.

    ``pool_size`` connections are kept open (and as many more opened on demand):
    as many as the server's store threads, so connections are reused, not reopened.
    ``statement_timeout`` (default 15 s) is the time budget of every statement.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            _private_file(parsed.database)
        engine = create_engine(
            parsed,
            connect_args={"check_same_thread": False, "timeout": _SQLITE_BUSY_TIMEOUT_MS / 1000},
            pool_size=pool_size,
            max_overflow=pool_size,
        )
        _configure_sqlite(engine, statement_timeout)
    else:
        budget_ms = max(1, round(statement_timeout.total_seconds() * 1000))
        # Recycle instead of pre-ping: a ping is a round trip on every checkout.
        engine = create_engine(
            parsed,
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_recycle=1800,
            connect_args={"options": f"-c statement_timeout={budget_ms}"},
        )
    return Store(engine, statement_timeout=statement_timeout)
