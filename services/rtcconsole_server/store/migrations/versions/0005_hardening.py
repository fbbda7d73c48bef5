"""Hardening: deployment secrets (page-token key) and TOTP lockout and enrolment state.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    keys = op.create_table(
        "server_keys",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("secret", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_server_keys")),
    )
    # One random key per deployment, made here so that replicas starting together agree.
    op.bulk_insert(
        keys, [{"name": "page_tokens", "secret": secrets.token_bytes(32), "created_at": datetime.now(UTC)}]
    )
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("totp_pending_secret", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("totp_failures", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
        batch_op.add_column(
            sa.Column("totp_lockouts", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
        batch_op.add_column(sa.Column("totp_locked_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("totp_locked_until")
        batch_op.drop_column("totp_lockouts")
        batch_op.drop_column("totp_failures")
        batch_op.drop_column("totp_pending_secret")
    op.drop_table("server_keys")
