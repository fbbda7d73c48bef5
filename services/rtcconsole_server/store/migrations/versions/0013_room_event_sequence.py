"""A per-app sequence of the stored room events (R21, ``SubscribeRoomEvents``; decision 0028).

``room_events.seq``: the event's number in its app's sequence, handed out by the ingest from
``room_event_heads`` (one row per app: the last number handed out) in the transaction that
stores the event, so numbers are committed in order. Existing rows are numbered per app in
insertion (``id``) order and each app's head set to its last number. ``seq`` is nullable only
so that rows written around the ingest (a benchmark's baseline) stay possible; the ingest
always sets it. Unique per app: ``ix_room_events_seq`` is also the subscribers' read path.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-13
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("room_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.BigInteger(), nullable=True))
    op.execute(  # UPDATE … FROM: PostgreSQL, and SQLite since 3.33
        "UPDATE room_events SET seq = numbered.seq FROM (SELECT id, row_number() OVER "
        "(PARTITION BY sdk_app_id ORDER BY id) AS seq FROM room_events) AS numbered "
        "WHERE room_events.id = numbered.id"
    )
    with op.batch_alter_table("room_events", schema=None) as batch_op:
        batch_op.create_index("ix_room_events_seq", ["sdk_app_id", "seq"], unique=True)
    op.create_table(
        "room_event_heads",
        sa.Column("sdk_app_id", sa.BigInteger(), nullable=False),
        sa.Column("last_sequence", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("sdk_app_id", name=op.f("pk_room_event_heads")),
    )
    op.execute(
        "INSERT INTO room_event_heads (sdk_app_id, last_sequence) "
        "SELECT sdk_app_id, max(seq) FROM room_events GROUP BY sdk_app_id"
    )


def downgrade() -> None:
    op.drop_table("room_event_heads")
    with op.batch_alter_table("room_events", schema=None) as batch_op:
        batch_op.drop_index("ix_room_events_seq")
        batch_op.drop_column("seq")
