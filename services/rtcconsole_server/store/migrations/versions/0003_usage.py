"""Usage metering: raw records, windows, lines, days, progress; packages.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_DUE = "rolled_version < version"


def _instant(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "usage_progress",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        _instant("data_through"),
        _instant("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_progress")),
    )
    op.create_table(
        "usage_records",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("sdk_app_id", sa.BigInteger(), nullable=False),
        sa.Column("record_id", sa.String(length=128), nullable=False),
        sa.Column("room_key", sa.String(length=80), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=8), nullable=False),
        _instant("start_time"),
        sa.Column("seconds", sa.Integer(), nullable=False),
        _instant("window_start"),
        sa.Column("payload_sha256", sa.String(length=64), nullable=False),
        _instant("received_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_records")),
        sa.UniqueConstraint("sdk_app_id", "record_id", name=op.f("uq_usage_records_sdk_app_id_record_id")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("usage_records", schema=None) as batch_op:
        batch_op.create_index("ix_usage_records_window", ["window_start", "sdk_app_id"], unique=False)

    op.create_table(
        "packages",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("account_id", _ID, nullable=False),
        sa.Column("minutes", sa.BigInteger(), nullable=False),
        _instant("valid_from"),
        _instant("valid_to"),
        _instant("created_at"),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_packages_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_packages")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("packages", schema=None) as batch_op:
        batch_op.create_index("ix_packages_account", ["account_id", "valid_to"], unique=False)

    for table, when in (("usage_days", "day"), ("usage_lines", "window_start")):
        op.create_table(
            table,
            sa.Column("sdk_app_id", sa.BigInteger(), nullable=False),
            _instant(when),
            sa.Column("kind", sa.Integer(), nullable=False),
            sa.Column("category", sa.String(length=8), nullable=False),
            sa.Column("account_id", _ID, nullable=False),
            sa.Column("seconds", sa.BigInteger(), nullable=False),
            sa.Column("revision", sa.Integer(), nullable=False),
            sa.ForeignKeyConstraint(
                ["account_id"], ["accounts.id"], name=op.f(f"fk_{table}_account_id_accounts")
            ),
            sa.PrimaryKeyConstraint("sdk_app_id", when, "kind", "category", name=op.f(f"pk_{table}")),
        )
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(f"ix_{table}_account", ["account_id", "kind", when], unique=False)

    op.create_table(
        "usage_windows",
        sa.Column("sdk_app_id", sa.BigInteger(), nullable=False),
        _instant("window_start"),
        sa.Column("account_id", _ID, nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("rolled_version", sa.BigInteger(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        _instant("first_record_at"),
        _instant("rolled_at", nullable=True),
        sa.Column("claim_token", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_usage_windows_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("sdk_app_id", "window_start", name=op.f("pk_usage_windows")),
    )
    with op.batch_alter_table("usage_windows", schema=None) as batch_op:
        batch_op.create_index("ix_usage_windows_claim_token", ["claim_token"], unique=False)
        batch_op.create_index(
            "ix_usage_windows_due",
            ["window_start", "sdk_app_id"],
            unique=False,
            postgresql_where=sa.text(_DUE),
            sqlite_where=sa.text(_DUE),
        )


def downgrade() -> None:
    with op.batch_alter_table("usage_windows", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_usage_windows_due", postgresql_where=sa.text(_DUE), sqlite_where=sa.text(_DUE)
        )
        batch_op.drop_index("ix_usage_windows_claim_token")
    op.drop_table("usage_windows")
    for table, _ in (("usage_lines", "window_start"), ("usage_days", "day")):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f"ix_{table}_account")
        op.drop_table(table)
    with op.batch_alter_table("packages", schema=None) as batch_op:
        batch_op.drop_index("ix_packages_account")
    op.drop_table("packages")
    with op.batch_alter_table("usage_records", schema=None) as batch_op:
        batch_op.drop_index("ix_usage_records_window")
    op.drop_table("usage_records")
    op.drop_table("usage_progress")
