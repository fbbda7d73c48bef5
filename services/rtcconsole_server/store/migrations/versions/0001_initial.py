"""Accounts, API keys, secondary-auth tokens, apps, operations, tags, materials.

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("postpaid", sa.Boolean(), nullable=False),
        sa.Column("arrears", sa.Boolean(), nullable=False),
        sa.Column("package_state", sa.String(length=16), nullable=False),
        sa.Column("totp_secret", sa.String(length=64), nullable=True),
        sa.Column("totp_last_step", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("name", name=op.f("uq_accounts_name")),
    )
    op.create_table(
        "api_keys",
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("secret_sha256", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_api_keys_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_api_keys")),
    )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_keys_account_id"), ["account_id"], unique=False)

    op.create_table(
        "apps",
        sa.Column(
            "sdk_app_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=15), nullable=False),
        sa.Column("description", sa.String(length=15), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("secret_key", sa.String(length=64), nullable=False),
        sa.Column("lifecycle", sa.String(length=16), nullable=False),
        sa.Column("pending_transition", sa.String(length=16), nullable=True),
        sa.Column("pending_operation_id", sa.BigInteger(), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("push_domain", sa.String(length=255), nullable=False),
        sa.Column("relayed_push_enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_apps_account_id_accounts")),
        sa.PrimaryKeyConstraint("sdk_app_id", name=op.f("pk_apps")),
        sa.UniqueConstraint("account_id", "request_id", name=op.f("uq_apps_account_id_request_id")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("apps", schema=None) as batch_op:
        batch_op.create_index(
            "ix_apps_account_live", ["account_id", "deleted_at", "sdk_app_id"], unique=False
        )

    op.create_table(
        "secondary_auth_tokens",
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_secondary_auth_tokens_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("token_sha256", name=op.f("pk_secondary_auth_tokens")),
    )
    with op.batch_alter_table("secondary_auth_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_secondary_auth_tokens_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_secondary_auth_tokens_expires_at"), ["expires_at"], unique=False)

    op.create_table(
        "tags",
        sa.Column("account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("key", sa.String(length=127), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_tags_account_id_accounts")),
        sa.PrimaryKeyConstraint("account_id", "key", "value", name=op.f("pk_tags")),
    )
    op.create_table(
        "app_tags",
        sa.Column("sdk_app_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("key", sa.String(length=127), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id", "key", "value"],
            ["tags.account_id", "tags.key", "tags.value"],
            name=op.f("fk_app_tags_account_id_key_value_tags"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["sdk_app_id"], ["apps.sdk_app_id"], name=op.f("fk_app_tags_sdk_app_id_apps")
        ),
        sa.PrimaryKeyConstraint("sdk_app_id", "key", "value", name=op.f("pk_app_tags")),
    )
    with op.batch_alter_table("app_tags", schema=None) as batch_op:
        batch_op.create_index("ix_app_tags_pair", ["account_id", "key", "value"], unique=False)

    op.create_table(
        "materials",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("sdk_app_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("x_position", sa.Integer(), nullable=False),
        sa.Column("y_position", sa.Integer(), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["sdk_app_id"], ["apps.sdk_app_id"], name=op.f("fk_materials_sdk_app_id_apps")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_materials")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("materials", schema=None) as batch_op:
        batch_op.create_index("ix_materials_app", ["sdk_app_id", "id"], unique=False)

    op.create_table(
        "operations",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("sdk_app_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("effective_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error_message", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_operations_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["sdk_app_id"], ["apps.sdk_app_id"], name=op.f("fk_operations_sdk_app_id_apps")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operations")),
    )
    with op.batch_alter_table("operations", schema=None) as batch_op:
        batch_op.create_index("ix_operations_account", ["account_id", "id"], unique=False)
        batch_op.create_index("ix_operations_due", ["state", "effective_at"], unique=False)

    # R3: SDKAppIDs count up from 1400000001 and are never reused (rows are kept).
    if op.get_bind().dialect.name == "sqlite":
        op.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('apps', 1400000000)")
    else:
        op.execute("ALTER SEQUENCE apps_sdk_app_id_seq RESTART WITH 1400000001")


def downgrade() -> None:
    with op.batch_alter_table("operations", schema=None) as batch_op:
        batch_op.drop_index("ix_operations_due")
        batch_op.drop_index("ix_operations_account")

    op.drop_table("operations")
    with op.batch_alter_table("materials", schema=None) as batch_op:
        batch_op.drop_index("ix_materials_app")

    op.drop_table("materials")
    with op.batch_alter_table("app_tags", schema=None) as batch_op:
        batch_op.drop_index("ix_app_tags_pair")

    op.drop_table("app_tags")
    op.drop_table("tags")
    with op.batch_alter_table("secondary_auth_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_secondary_auth_tokens_expires_at"))
        batch_op.drop_index(batch_op.f("ix_secondary_auth_tokens_account_id"))

    op.drop_table("secondary_auth_tokens")
    with op.batch_alter_table("apps", schema=None) as batch_op:
        batch_op.drop_index("ix_apps_account_live")

    op.drop_table("apps")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_keys_account_id"))

    op.drop_table("api_keys")
    op.drop_table("accounts")
