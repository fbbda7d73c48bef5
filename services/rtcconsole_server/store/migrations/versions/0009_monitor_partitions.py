"""Day partitions of the quality samples and client events on PostgreSQL (retention).

PostgreSQL: each table becomes a table partitioned by range of its time column, one
partition per UTC day (``store.partitions``, decision 0024). The rows move over: the old
table is renamed aside, the partitioned one created with the same columns and keys, a
partition made for every day that holds a row and for today to two days ahead, the rows
copied, the old table dropped. A unique key of a partitioned table must hold the partition
key, so the client events' primary key becomes (sdk_app_id, event_id, event_time) on both
backends (SQLite rebuilds the table); the ingest keeps (sdk_app_id, event_id) unique.
Downgrade reverses it all (the rows move back into plain tables).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-11
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from alembic import op

from rtcconsole_server.store.partitions import attach_partition

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_SAMPLE_KEY = ("sdk_app_id", "room_key", "user_id", "peer_id", "media", "sample_time")
_METRICS: tuple[tuple[str, sa.types.TypeEngine[Any]], ...] = (
    ("packet_loss_percent", sa.REAL()),
    ("bitrate_kbps", sa.Integer()),
    ("capture_fps", sa.SmallInteger()),
    ("encode_fps", sa.SmallInteger()),
    ("decode_fps", sa.SmallInteger()),
    ("render_fps", sa.SmallInteger()),
    ("width", sa.SmallInteger()),
    ("height", sa.SmallInteger()),
    ("rtt_ms", sa.Integer()),
    ("stall_ms", sa.Integer()),
    ("app_cpu_percent", sa.REAL()),
    ("system_cpu_percent", sa.REAL()),
    ("sdk_task_time_ms", sa.Integer()),
    ("volume_db", sa.SmallInteger()),
)
_EVENTS_INDEX = ("sdk_app_id", "room_key", "user_id", "event_time")
_OLD_EVENT_KEY = ("sdk_app_id", "event_id")
_NEW_EVENT_KEY = ("sdk_app_id", "event_id", "event_time")
_TIME = {"quality_samples": "sample_time", "client_events": "event_time"}
_AHEAD = 2
"""Days after today that get a partition at once (the retention worker keeps it so)."""


def _instant(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def _samples(name: str, **kwargs: Any) -> None:
    op.create_table(
        name,
        sa.Column("sdk_app_id", sa.BigInteger(), nullable=False),
        sa.Column("room_key", sa.String(length=80), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("peer_id", sa.String(length=128), nullable=False),
        sa.Column("media", sa.SmallInteger(), nullable=False),
        _instant("sample_time"),
        sa.Column("interval_ms", sa.Integer(), nullable=False),
        *(sa.Column(metric, kind, nullable=True) for metric, kind in _METRICS),
        sa.PrimaryKeyConstraint(*_SAMPLE_KEY, name="pk_quality_samples"),
        **kwargs,
    )


def _events(name: str, key: tuple[str, ...], **kwargs: Any) -> None:
    op.create_table(
        name,
        sa.Column("sdk_app_id", sa.BigInteger(), nullable=False),
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.Column("room_key", sa.String(length=80), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("peer_id", sa.String(length=128), nullable=False),
        sa.Column("event_type", sa.SmallInteger(), nullable=False),
        sa.Column("media", sa.SmallInteger(), nullable=False),
        _instant("event_time"),
        sa.Column("parameters", sa.Text(), nullable=False),
        _instant("received_at"),
        sa.PrimaryKeyConstraint(*key, name="pk_client_events"),
        **kwargs,
    )
    op.create_index("ix_client_events_user", name, list(_EVENTS_INDEX), unique=False)


def _set_aside(table: str, suffix: str) -> str:
    """Rename ``table`` (and its key and index, whose names the new table takes) to ``table_suffix``."""
    aside = f"{table}_{suffix}"
    op.execute(f"ALTER TABLE {table} RENAME TO {aside}")
    op.execute(f"ALTER TABLE {aside} RENAME CONSTRAINT pk_{table} TO pk_{aside}")
    if table == "client_events":
        op.execute(f"ALTER INDEX ix_client_events_user RENAME TO ix_client_events_user_{suffix}")
    return aside


def _move_rows(source: str, target: str) -> None:
    op.execute(f"INSERT INTO {target} SELECT * FROM {source}")  # noqa: S608 (same columns, same order)
    op.execute(f"DROP TABLE {source}")


def _days_with_rows(table: str) -> set[date]:
    column = _TIME[table.partition("_unpartitioned")[0]]
    query = f"SELECT DISTINCT CAST(({column} AT TIME ZONE 'UTC') AS date) FROM {table}"  # noqa: S608
    return set(op.get_bind().execute(sa.text(query)).scalars())


def _upgrade_postgresql() -> None:
    today = datetime.now(UTC).date()
    upcoming = {today + timedelta(days=n) for n in range(_AHEAD + 1)}
    for table in ("quality_samples", "client_events"):
        aside = _set_aside(table, "unpartitioned")
        partitioned = {"postgresql_partition_by": f"RANGE ({_TIME[table]})"}
        if table == "quality_samples":
            _samples(table, **partitioned)
        else:
            _events(table, _NEW_EVENT_KEY, **partitioned)
        for day in sorted(_days_with_rows(aside) | upcoming):
            attach_partition(op.get_bind(), table, day)
        _move_rows(aside, table)


def _downgrade_postgresql() -> None:
    for table in ("quality_samples", "client_events"):
        aside = _set_aside(table, "partitioned")
        if table == "quality_samples":
            _samples(table)
        else:
            _events(table, _OLD_EVENT_KEY)
        _move_rows(aside, table)  # dropping the partitioned table drops its partitions


def _rekey_sqlite_events(key: tuple[str, ...]) -> None:
    with op.batch_alter_table("client_events", recreate="always") as batch_op:
        batch_op.drop_constraint("pk_client_events", type_="primary")
        batch_op.create_primary_key("pk_client_events", list(key))


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _upgrade_postgresql()
    else:
        _rekey_sqlite_events(_NEW_EVENT_KEY)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _downgrade_postgresql()
    else:
        _rekey_sqlite_events(_OLD_EVENT_KEY)
