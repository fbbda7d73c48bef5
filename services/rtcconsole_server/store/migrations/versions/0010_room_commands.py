"""Room commands (R7): DismissRoom / RemoveUsers, delivered to media servers.

``room_commands`` (one row per command; unique per app and request id) and
``room_command_users`` (the users of a removal, with when each one's exit arrived).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-11
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def _instant(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "room_commands",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("sdk_app_id", sa.BigInteger(), nullable=False),
        sa.Column("room_key", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        _instant("created_at"),
        _instant("expires_at"),
        _instant("delivered_at", nullable=True),
        sa.Column("delivered_to", sa.String(length=128), nullable=False),
        _instant("acknowledged_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_room_commands")),
        sa.UniqueConstraint("sdk_app_id", "request_id", name=op.f("uq_room_commands_sdk_app_id_request_id")),
    )
    with op.batch_alter_table("room_commands", schema=None) as batch_op:
        batch_op.create_index("ix_room_commands_app", ["sdk_app_id", "created_at", "id"], unique=False)
        batch_op.create_index("ix_room_commands_open", ["state", "expires_at"], unique=False)
    op.create_table(
        "room_command_users",
        sa.Column("command_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        _instant("exited_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["command_id"],
            ["room_commands.id"],
            name=op.f("fk_room_command_users_command_id_room_commands"),
        ),
        sa.PrimaryKeyConstraint("command_id", "user_id", name=op.f("pk_room_command_users")),
    )


def downgrade() -> None:
    op.drop_table("room_command_users")
    with op.batch_alter_table("room_commands", schema=None) as batch_op:
        batch_op.drop_index("ix_room_commands_open")
        batch_op.drop_index("ix_room_commands_app")
    op.drop_table("room_commands")
