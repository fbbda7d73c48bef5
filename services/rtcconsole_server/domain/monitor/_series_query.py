"""Quality samples grouped into time steps in SQL (R19, R20): one statement per read.

A step's index is ``floor((sample_time - start) / step)``, computed in whole microseconds so
that a sample exactly on a step's edge falls into the later step on both backends:

- SQLite keeps instants as ``YYYY-MM-DD HH:MM:SS.ffffff`` text (SQLAlchemy's format, always
  with the microseconds): whole seconds from ``strftime('%s')``, microseconds from the text;
- PostgreSQL: ``extract(epoch …)`` is an exact ``numeric`` (PostgreSQL >= 14).

Every filter is an equality or an ``IN`` list on the leading columns of the primary key of
``quality_samples`` (app, room, user, peer, media, sample_time), then a range on
``sample_time``, so each (user, peer, media) read is one range of that key: no other index is
needed. The aggregates skip unmeasured (NULL) values; each comes with the count of samples
that measured the column in the step.

:func:`query_columns` (one stream: the quality series' read) sends the same statement with
equalities for its one user, peer and media, as the driver's own text built once per
metrics shape (:func:`_stream_sql`) and run with ``exec_driver_sql``: no ``text()`` to parse,
no expanding ``IN`` lists to render, at each read; the engine's events (SQLite's statement
budget) still see it.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, BindParameter, Dialect, Integer, String, TextClause, bindparam, text
from sqlalchemy.orm import Session

from rtcconsole_server.clock import EPOCH, epoch_us
from rtcconsole_server.store.types import UTCDateTime

__all__ = ["AGGREGATES", "StepColumn", "StepRow", "query_columns", "query_steps"]

AGGREGATES = {"mean": "AVG", "max": "MAX", "sum": "SUM"}
"""The aggregate names of a series and their SQL functions."""
_MICROS = {
    "sqlite": "(CAST(strftime('%s', sample_time) AS INTEGER) * 1000000"
    " + CAST(substr(sample_time, 21, 6) AS INTEGER))",
    "postgresql": "CAST(extract(epoch FROM sample_time) * 1000000 AS BIGINT)",
}


@dataclass(frozen=True)
class StepRow:
    """The aggregates of one (user, peer, media) stream over one step."""

    user_id: str
    peer_id: str
    media: int
    step: int
    """The step's index from the range's start."""
    values: Mapping[str, float]
    """Column → aggregate, only for columns measured in the step."""
    counts: Mapping[str, int]
    """Column → samples that measured it in the step (> 0)."""


def _statement(
    session: Session,
    *,
    sdk_app_id: int,
    room_key: str,
    users: Sequence[str],
    peers: Sequence[str],
    media: Sequence[int],
    start: datetime,
    end: datetime,
    step: timedelta,
    names: Sequence[str],
    columns: Mapping[str, str],
) -> tuple[TextClause, dict[str, object]]:
    """The statement of :func:`query_steps` and its parameters."""
    micros = _MICROS.get(session.get_bind().dialect.name, _MICROS["sqlite"])
    selects = ", ".join(
        f"{AGGREGATES[columns[c]]}({c}) AS v{i}, COUNT({c}) AS n{i}" for i, c in enumerate(names)
    )
    head = f"SELECT user_id, peer_id, media, ({micros} - :start_us) / :step_us AS step_no, {selects} "
    # the columns are model columns (the caller checks them), the rest is this module's SQL
    sql = head + (
        "FROM quality_samples WHERE sdk_app_id = :app AND room_key = :room AND user_id IN :users "
        "AND peer_id IN :peers AND media IN :media AND sample_time >= :start AND sample_time < :end "
        "GROUP BY user_id, peer_id, media, step_no ORDER BY user_id, peer_id, media, step_no"
    )
    binds: list[BindParameter[Any]] = [
        bindparam("app", type_=BigInteger()),
        bindparam("room", type_=String()),
        bindparam("users", expanding=True, type_=String()),
        bindparam("peers", expanding=True, type_=String()),
        bindparam("media", expanding=True, type_=Integer()),
        bindparam("start", type_=UTCDateTime()),
        bindparam("end", type_=UTCDateTime()),
        bindparam("start_us", type_=BigInteger()),
        bindparam("step_us", type_=BigInteger()),
    ]
    params: dict[str, object] = {
        "app": sdk_app_id,
        "room": room_key,
        "users": list(users),
        "peers": list(peers),
        "media": list(media),
        "start": start,
        "end": end,
        "start_us": epoch_us(start),
        "step_us": epoch_us(EPOCH + step),
    }
    return text(sql).bindparams(*binds), params


def query_steps(
    session: Session,
    *,
    sdk_app_id: int,
    room_key: str,
    users: Sequence[str],
    peers: Sequence[str],
    media: Sequence[int],
    start: datetime,
    end: datetime,
    step: timedelta,
    columns: Mapping[str, str],
) -> list[StepRow]:
    """The steps of the samples with user in ``users``, peer in ``peers``, media in ``media`` and
    sample_time in [start, end), each column aggregated by ``columns[column]`` (a key of
    :data:`AGGREGATES`); ordered by user, peer, media, step. ``columns`` names model columns
    (checked by the caller against ``_samples.METRICS``)."""
    if not (users and peers and media and columns):
        return []
    names = list(columns)
    statement, params = _statement(
        session,
        sdk_app_id=sdk_app_id,
        room_key=room_key,
        users=users,
        peers=peers,
        media=media,
        start=start,
        end=end,
        step=step,
        names=names,
        columns=columns,
    )
    rows: list[StepRow] = []
    slots = [(column, 4 + 2 * i, 5 + 2 * i) for i, column in enumerate(names)]
    for found in session.execute(statement, params):
        row = tuple(found)  # plain tuple indexing: ~20 columns of thousands of rows
        counts = {column: int(row[n]) for column, _, n in slots if row[n]}
        values = {column: float(row[v]) for column, v, n in slots if row[n]}
        rows.append(StepRow(row[0], row[1], int(row[2]), int(row[3]), values, counts))
    return rows


@dataclass(frozen=True)
class StepColumn:
    """One column's steps of one stream: only the steps that measured it, ascending."""

    steps: tuple[int, ...]
    values: tuple[float, ...]
    counts: tuple[int, ...]
    """Samples that measured the column in each step (> 0)."""


_STREAM_PARAMS = ("start_us", "step_us", "app", "room", "user", "peer", "media", "start", "end")
"""The parameters of :func:`_stream_sql`, in the order they appear in its text."""


@functools.lru_cache(maxsize=128)
def _stream_sql(dialect: str, positional: bool, shape: tuple[tuple[str, str], ...]) -> str:
    """The driver-level text of :func:`query_columns`' statement for ``shape`` (column,
    aggregate name) pairs: ``?`` marks when ``positional`` (in :data:`_STREAM_PARAMS`' order),
    else ``%(name)s``; built once per shape and process."""

    def mark(name: str) -> str:
        return "?" if positional else f"%({name})s"

    micros = _MICROS.get(dialect, _MICROS["sqlite"])
    if not positional:
        micros = micros.replace("%", "%%")
    selects = ", ".join(
        f"{AGGREGATES[aggregate]}({column}) AS v{i}, COUNT({column}) AS n{i}"
        for i, (column, aggregate) in enumerate(shape)
    )
    # the columns are model columns (the caller checks them), the marks are placeholders
    step_no = f"({micros} - {mark('start_us')}) / {mark('step_us')}"
    return (
        f"SELECT user_id, peer_id, media, {step_no} AS step_no, {selects} "  # noqa: S608 (checked names)
        f"FROM quality_samples WHERE sdk_app_id = {mark('app')} AND room_key = {mark('room')} "
        f"AND user_id = {mark('user')} AND peer_id = {mark('peer')} AND media = {mark('media')} "
        f"AND sample_time >= {mark('start')} AND sample_time < {mark('end')} "
        "GROUP BY user_id, peer_id, media, step_no ORDER BY user_id, peer_id, media, step_no"
    )


@functools.lru_cache(maxsize=8)
def _instant_processor(dialect: Dialect) -> Callable[[Any], Any]:
    """How an instant is bound on ``dialect``: :class:`UTCDateTime`'s own processing (SQLite:
    the UTC text SQLAlchemy stores)."""
    processor = UTCDateTime().bind_processor(dialect)
    return processor if processor is not None else (lambda value: value)


def _stream_rows(
    session: Session,
    *,
    sdk_app_id: int,
    room_key: str,
    user_id: str,
    peer_id: str,
    media: int,
    start: datetime,
    end: datetime,
    step: timedelta,
    columns: Mapping[str, str],
    through_core: bool = False,
) -> Sequence[Sequence[Any]]:
    """The rows of :func:`query_steps`' statement for one stream, all at once: as driver SQL
    (:func:`_stream_sql`) on the two drivers we ship with; through :func:`_statement`
    (SQLAlchemy binds the values) on any other, or when ``through_core`` asks for it (the same
    rows: ``tests/service/test_monitor_series.py`` holds the two ways side by side)."""
    connection = session.connection()
    dialect = connection.dialect
    if through_core or dialect.paramstyle not in ("qmark", "pyformat"):
        statement, params = _statement(
            session,
            sdk_app_id=sdk_app_id,
            room_key=room_key,
            users=[user_id],
            peers=[peer_id],
            media=[media],
            start=start,
            end=end,
            step=step,
            names=list(columns),
            columns=columns,
        )
        return session.execute(statement, params).all()
    positional = dialect.paramstyle == "qmark"
    instant = _instant_processor(dialect)
    values = (
        epoch_us(start),
        epoch_us(EPOCH + step),
        sdk_app_id,
        room_key,
        user_id,
        peer_id,
        media,
        instant(start),
        instant(end),
    )
    sql = _stream_sql(dialect.name, positional, tuple(columns.items()))
    bound = values if positional else dict(zip(_STREAM_PARAMS, values, strict=True))
    return connection.exec_driver_sql(sql, bound).all()


def query_columns(
    session: Session,
    *,
    sdk_app_id: int,
    room_key: str,
    user_id: str,
    peer_id: str,
    media: int,
    start: datetime,
    end: datetime,
    step: timedelta,
    columns: Mapping[str, str],
) -> dict[str, StepColumn]:
    """The steps of one stream (``user_id``, ``peer_id``, ``media``) as columns: the statement
    of :func:`query_steps` for that one stream (:func:`_stream_sql`), its rows fetched at once
    and turned into one :class:`StepColumn` per column (a 5-hour read: ~1,000 rows of ~24
    values, transposed in bulk rather than read value by value)."""
    names = list(columns)
    if not names:
        return {}
    rows = _stream_rows(
        session,
        sdk_app_id=sdk_app_id,
        room_key=room_key,
        user_id=user_id,
        peer_id=peer_id,
        media=media,
        start=start,
        end=end,
        step=step,
        columns=columns,
    )
    table = list(zip(*rows, strict=True))
    if not table:
        return {column: StepColumn((), (), ()) for column in names}
    steps = tuple(map(int, table[3]))
    found: dict[str, StepColumn] = {}
    for i, column in enumerate(names):
        values, counts = table[4 + 2 * i], table[5 + 2 * i]
        if all(counts):
            found[column] = StepColumn(steps, tuple(map(float, values)), tuple(map(int, counts)))
        else:  # steps that did not measure it have no point
            measured = list(map(bool, counts))
            found[column] = StepColumn(
                tuple(itertools.compress(steps, measured)),
                tuple(map(float, itertools.compress(values, measured))),
                tuple(map(int, itertools.compress(counts, measured))),
            )
    return found
