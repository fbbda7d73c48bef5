"""Partial index of user-entered events per (app, room, user, time, id): the entry a user's exit closes.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("room_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_room_events_entries",
            ["sdk_app_id", "room_key", "user_id", "event_time", "id"],
            unique=False,
            postgresql_where=sa.text("event_type = 103"),
            sqlite_where=sa.text("event_type = 103"),
        )


def downgrade() -> None:
    with op.batch_alter_table("room_events", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_room_events_entries",
            postgresql_where=sa.text("event_type = 103"),
            sqlite_where=sa.text("event_type = 103"),
        )
