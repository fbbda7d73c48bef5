"""Partial index of an app's room events 101-104 by time: what the call list (R17) reads.

Covering (app, event time, room, user, type, id), so that deriving the calls of a range is
one range scan of the index (decision 0020).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_WHERE = "event_type BETWEEN 101 AND 104"


def upgrade() -> None:
    with op.batch_alter_table("room_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_room_events_calls",
            ["sdk_app_id", "event_time", "room_key", "user_id", "event_type", "id"],
            unique=False,
            postgresql_where=sa.text(_WHERE),
            sqlite_where=sa.text(_WHERE),
        )


def downgrade() -> None:
    with op.batch_alter_table("room_events", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_room_events_calls",
            postgresql_where=sa.text(_WHERE),
            sqlite_where=sa.text(_WHERE),
        )
