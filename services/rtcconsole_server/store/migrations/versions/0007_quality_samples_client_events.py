"""Monitoring's data plane: quality samples (one row per natural key) and client events.

Plain tables on both backends; day partitions on PostgreSQL come with retention.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-15
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
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


def _instant(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "quality_samples",
        sa.Column("sdk_app_id", sa.BigInteger(), nullable=False),
        sa.Column("room_key", sa.String(length=80), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("peer_id", sa.String(length=128), nullable=False),
        sa.Column("media", sa.SmallInteger(), nullable=False),
        _instant("sample_time"),
        sa.Column("interval_ms", sa.Integer(), nullable=False),
        *(sa.Column(name, kind, nullable=True) for name, kind in _METRICS),
        sa.PrimaryKeyConstraint(*_SAMPLE_KEY, name=op.f("pk_quality_samples")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "client_events",
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
        sa.PrimaryKeyConstraint("sdk_app_id", "event_id", name=op.f("pk_client_events")),
    )
    with op.batch_alter_table("client_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_client_events_user", ["sdk_app_id", "room_key", "user_id", "event_time"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("client_events", schema=None) as batch_op:
        batch_op.drop_index("ix_client_events_user")
    op.drop_table("client_events")
    op.drop_table("quality_samples")
