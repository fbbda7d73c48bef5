"""Inserting many rows at once, the fastest way each backend offers, inside the caller's transaction.

PostgreSQL gets ``COPY … FROM STDIN`` (several times faster than any INSERT);
SQLite gets the driver's ``executemany`` of one prepared INSERT. Both skip the
ORM. A duplicate key raises SQLAlchemy's ``IntegrityError`` on both, like an
INSERT would, and leaves the transaction to be rolled back.

:func:`insert_new_rows` is the exactly-once form, for rows that carry their own key:
it tries the fast insert inside a savepoint (a batch of new rows, the usual case,
costs one ``COPY`` and nothing else), and only when a key is already stored does it
roll back to the savepoint, read the stored rows of the batch's keys in one query
per chunk (an index probe per key on both backends) and insert the others. What a
stored row *means* (a retry or a conflict) is the caller's business.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import psycopg
from sqlalchemy import Connection, Table
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rtcconsole_server.store.retry import Race, lost_race
from rtcconsole_server.store.types import UTCDateTime

__all__ = ["Key", "insert_new_rows", "insert_new_tuples", "insert_rows", "insert_tuples"]

Key = tuple[Any, ...]
"""The values of a table's key columns, in the order the caller names them."""

_CHUNK = 500
"""Keys per read-back query (SQLite allows 32,766 parameters; six key columns use 3,000)."""

_SQLITE_INSTANT = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores a DateTime in SQLite


def _sqlite_value(value: Any, instant: bool) -> Any:
    if instant and isinstance(value, datetime):
        return value.astimezone(UTC).strftime(_SQLITE_INSTANT)
    return value


def insert_rows(session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (every one with the same keys: column names) into ``table``."""
    if not rows:
        return
    columns = list(rows[0])
    insert_tuples(session, table, columns, [tuple(row[c] for c in columns) for row in rows])


def insert_tuples(
    session: Session, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Insert ``rows``, each the values of ``columns`` in that order, into ``table``: the form a
    hot path builds at once, with no dict per row. On SQLite an instant is written as SQLAlchemy
    writes it, each distinct instant formatted once per call."""
    if not rows:
        return
    unknown = set(columns) - set(table.c.keys())
    if unknown:  # names go into the statement's text: only the table's own columns may
        raise ValueError(f"not columns of {table.name}: {sorted(unknown)}")
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        raw: Any = connection.connection.dbapi_connection
        statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
        try:
            with raw.cursor() as cursor, cursor.copy(statement) as copy:
                write = copy.write_row
                for row in rows:
                    write(row)
        except psycopg.errors.UniqueViolation as error:
            raise IntegrityError(statement, None, error) from error
        return
    instants = [i for i, c in enumerate(columns) if isinstance(table.c[c].type, UTCDateTime)]
    marks = ", ".join("?" * len(columns))
    connection.exec_driver_sql(
        f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})",  # noqa: S608 (checked names)
        _sqlite_rows(rows, instants) if instants else [tuple(row) for row in rows],
    )


def _sqlite_rows(rows: Sequence[Sequence[Any]], instants: Sequence[int]) -> list[tuple[Any, ...]]:
    """``rows`` with the values at ``instants`` (positions) as SQLite stores an instant."""
    formatted: dict[Any, Any] = {}
    out: list[tuple[Any, ...]] = []
    for row in rows:
        values = list(row)
        for i in instants:
            value = values[i]
            stamp = formatted.get(value)
            if stamp is None:
                stamp = formatted[value] = _sqlite_value(value, True)
            values[i] = stamp
        out.append(tuple(values))
    return out


def insert_new_rows(
    session: Session, table: Table, key: Sequence[str], rows: Sequence[Mapping[str, Any]]
) -> dict[Key, dict[str, Any]]:
    """Insert the ``rows`` whose ``key`` (column names) is not stored yet; return the stored rows
    (every column, as the ORM would read them) of the keys that were. Keys must be unique in
    ``rows``. Rows go in in key order, so two batches never wait on each other in a cycle; a key
    that a concurrent batch inserts after the read still raises ``IntegrityError`` (a race the
    caller runs again, see ``store.retry``)."""
    if not rows:
        return {}
    columns = [*key, *(c for c in rows[0] if c not in key)]
    return insert_new_tuples(
        session, table, columns, len(key), [tuple(row[c] for c in columns) for row in rows]
    )


def insert_new_tuples(
    session: Session, table: Table, columns: Sequence[str], key_width: int, rows: Sequence[Sequence[Any]]
) -> dict[Key, dict[str, Any]]:
    """:func:`insert_new_rows` of rows given as tuples (:func:`insert_tuples`) whose key is their
    first ``key_width`` columns; the stored rows are returned by key tuple as there."""
    if not rows:
        return {}
    ordered = sorted(rows, key=lambda row: tuple(row[:key_width]))
    try:
        with session.begin_nested():
            insert_tuples(session, table, columns, ordered)
        return {}
    except IntegrityError as error:
        if lost_race(error) is not Race.UNIQUE_VIOLATION:
            raise
    key = columns[:key_width]
    stored = read_rows(session, table, key, [tuple(row[:key_width]) for row in ordered])
    insert_tuples(session, table, columns, [row for row in ordered if tuple(row[:key_width]) not in stored])
    return stored


def read_rows(
    session: Session, table: Table, key: Sequence[str], keys: Sequence[Key]
) -> dict[Key, dict[str, Any]]:
    """The stored rows of ``table`` whose ``key`` columns hold one of ``keys``, by key: one
    query per :data:`_CHUNK` keys, each key an index probe (the key must be indexed)."""
    connection = session.connection()
    columns = list(table.c.keys())
    readers = _processors(connection, table, columns)
    found: dict[Key, dict[str, Any]] = {}
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start : start + _CHUNK]
        if connection.dialect.name == "postgresql":
            raw = _read_postgresql(connection, table, key, columns, chunk)
        else:
            raw = _read_sqlite(connection, table, key, columns, chunk)
        for values in raw:
            row = {c: read(v) if read else v for c, v, read in zip(columns, values, readers, strict=True)}
            found[tuple(row[c] for c in key)] = row
    return found


def _processors(
    connection: Connection, table: Table, columns: Sequence[str]
) -> list[Callable[[Any], Any] | None]:
    """How the driver's value of each column becomes what the ORM gives: an instant is parsed
    (SQLite) and made aware UTC; numbers and text come from the driver as they are."""
    dialect = connection.dialect
    return [
        table.c[c].type.dialect_impl(dialect).result_processor(dialect, None)
        if isinstance(table.c[c].type, UTCDateTime)
        else None
        for c in columns
    ]


def _read_postgresql(
    connection: Connection, table: Table, key: Sequence[str], columns: Sequence[str], keys: Sequence[Key]
) -> list[Sequence[Any]]:
    # One array per key column, unnested into rows; LATERAL … LIMIT 1 keeps the planner from
    # turning the probe into a hash join over the whole table.
    dialect = connection.dialect
    arrays = ", ".join(f"CAST(%s AS {table.c[c].type.compile(dialect=dialect)}[])" for c in key)
    match = " AND ".join(f"t.{c} = k.{c}" for c in key)
    statement = (
        f"SELECT t.* FROM unnest({arrays}) AS k({', '.join(key)}) "  # noqa: S608 (the table's own names)
        f"CROSS JOIN LATERAL (SELECT {', '.join(columns)} FROM {table.name} AS t WHERE {match} LIMIT 1) AS t"
    )
    params = [[k[i] for k in keys] for i in range(len(key))]
    raw: Any = connection.connection.dbapi_connection
    # On the driver, never prepared: a generic plan cannot see how many keys there are.
    return list(raw.execute(statement, params, prepare=False).fetchall())


def _read_sqlite(
    connection: Connection, table: Table, key: Sequence[str], columns: Sequence[str], keys: Sequence[Key]
) -> list[Sequence[Any]]:
    instants = [isinstance(table.c[c].type, UTCDateTime) for c in key]
    marks = "(" + ", ".join("?" * len(key)) + ")"
    match = " AND ".join(f"t.{c} = k.{c}" for c in key)
    statement = (
        f"WITH k({', '.join(key)}) AS (VALUES {', '.join([marks] * len(keys))}) "  # noqa: S608 (own names)
        f"SELECT {', '.join(f't.{c}' for c in columns)} FROM k JOIN {table.name} AS t ON {match}"
    )
    params = tuple(_sqlite_value(v, instant) for k in keys for v, instant in zip(k, instants, strict=True))
    return list(connection.exec_driver_sql(statement, params).fetchall())
