"""Function settings, room events, the callback outbox and its attempts; CSS/VOD flags of accounts.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "callback_deliveries",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("sdk_app_id", sa.BigInteger(), nullable=False),
        sa.Column("room_key", sa.String(length=80), nullable=False),
        sa.Column("event_group", sa.Integer(), nullable=False),
        sa.Column("room_sequence", sa.BigInteger(), nullable=False),
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.Column("event_type", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2083), nullable=False),
        sa.Column("event_info", sa.Text(), nullable=False),
        sa.Column("event_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callback_deliveries")),
        sa.UniqueConstraint(
            "sdk_app_id",
            "room_key",
            "event_group",
            "room_sequence",
            name=op.f("uq_callback_deliveries_sdk_app_id_room_key_event_group_room_sequence"),
        ),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("callback_deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_callback_deliveries_app", ["sdk_app_id", "id"], unique=False)
        batch_op.create_index("ix_callback_deliveries_due", ["state", "next_attempt_at"], unique=False)

    op.create_table(
        "room_events",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("sdk_app_id", sa.BigInteger(), nullable=False),
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.Column("room_key", sa.String(length=80), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("event_type", sa.Integer(), nullable=False),
        sa.Column("event_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("role", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Integer(), nullable=False),
        sa.Column("session", sa.Text(), nullable=False),
        sa.Column("payload_sha256", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_room_events")),
        sa.UniqueConstraint("sdk_app_id", "event_id", name=op.f("uq_room_events_sdk_app_id_event_id")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("room_events", schema=None) as batch_op:
        batch_op.create_index("ix_room_events_room", ["sdk_app_id", "room_key", "event_time"], unique=False)

    op.create_table(
        "room_sequences",
        sa.Column("sdk_app_id", sa.BigInteger(), nullable=False),
        sa.Column("room_key", sa.String(length=80), nullable=False),
        sa.Column("event_group", sa.Integer(), nullable=False),
        sa.Column("last_sequence", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("sdk_app_id", "room_key", "event_group", name=op.f("pk_room_sequences")),
    )
    op.create_table(
        "callback_attempts",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("delivery_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=512), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["callback_deliveries.id"],
            name=op.f("fk_callback_attempts_delivery_id_callback_deliveries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callback_attempts")),
    )
    with op.batch_alter_table("callback_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_callback_attempts_delivery", ["delivery_id", "attempt"], unique=False)

    op.create_table(
        "app_settings",
        sa.Column("sdk_app_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("section", sa.String(length=32), nullable=False),
        sa.Column("effective", sa.Text(), nullable=False),
        sa.Column("pending", sa.Text(), nullable=True),
        sa.Column("pending_effective_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["sdk_app_id"], ["apps.sdk_app_id"], name=op.f("fk_app_settings_sdk_app_id_apps")
        ),
        sa.PrimaryKeyConstraint("sdk_app_id", "section", name=op.f("pk_app_settings")),
    )
    with op.batch_alter_table("app_settings", schema=None) as batch_op:
        batch_op.create_index("ix_app_settings_due", ["pending_effective_at"], unique=False)

    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("css_active", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("vod_active", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("vod_active")
        batch_op.drop_column("css_active")

    with op.batch_alter_table("app_settings", schema=None) as batch_op:
        batch_op.drop_index("ix_app_settings_due")

    op.drop_table("app_settings")
    with op.batch_alter_table("callback_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_callback_attempts_delivery")

    op.drop_table("callback_attempts")
    op.drop_table("room_sequences")
    with op.batch_alter_table("room_events", schema=None) as batch_op:
        batch_op.drop_index("ix_room_events_room")

    op.drop_table("room_events")
    with op.batch_alter_table("callback_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_callback_deliveries_due")
        batch_op.drop_index("ix_callback_deliveries_app")

    op.drop_table("callback_deliveries")
