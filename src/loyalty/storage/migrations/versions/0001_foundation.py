"""foundation: tenants, clients, members, points ledger, events, idempotency keys

Revision ID: 0001
Revises: (none)
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from loyalty.storage.types import JsonDocument, UTCDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "idempotency_keys",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("credential", sa.String(length=200), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "credential", "key", name=op.f("pk_idempotency_keys")),
    )
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_idempotency_keys_tenant_id_created_at"), ["tenant_id", "created_at"], unique=False
        )

    op.create_table(
        "tenants",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("api_key_hash", sa.String(length=64), nullable=False),
        sa.Column("token_signing_key", sa.String(length=128), nullable=False),
        sa.Column("user_auth", JsonDocument, nullable=True),
        sa.Column("base_currency", sa.String(length=3), server_default="GBP", nullable=False),
        sa.Column("timezone", sa.String(length=64), server_default="UTC", nullable=False),
        sa.Column("config_version", sa.BigInteger(), server_default="1", nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_tenants")),
    )
    op.create_table(
        "clients",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("scopes", JsonDocument, nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"], name=op.f("fk_clients_tenant_id")),
        sa.PrimaryKeyConstraint("tenant_id", "client_id", name=op.f("pk_clients")),
    )
    op.create_table(
        "members",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("account_number", sa.String(length=7), nullable=False),
        sa.Column("auth_identifier", sa.String(length=512), nullable=True),
        sa.Column("external_identifier", sa.String(length=512), nullable=True),
        sa.Column("profile", JsonDocument, nullable=False),
        sa.Column("flags", JsonDocument, nullable=False),
        sa.Column("is_restricted", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("search_text", sa.Text(), server_default="", nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"], name=op.f("fk_members_tenant_id")),
        sa.PrimaryKeyConstraint("tenant_id", "member_id", name=op.f("pk_members")),
        sa.UniqueConstraint("tenant_id", "account_number", name=op.f("uq_members_tenant_id_account_number")),
        sa.UniqueConstraint("tenant_id", "auth_identifier", name=op.f("uq_members_tenant_id_auth_identifier")),
        sa.UniqueConstraint("tenant_id", "external_identifier", name=op.f("uq_members_tenant_id_external_identifier")),
    )
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_members_tenant_id_created_at"), ["tenant_id", "created_at"], unique=False)

    op.create_table(
        "events",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=True),
        sa.Column("executor", sa.String(length=200), nullable=True),
        sa.Column("payload", JsonDocument, nullable=False),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("reported_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "subject_id"],
            ["members.tenant_id", "members.member_id"],
            name=op.f("fk_events_tenant_id_subject_id"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "event_id", name=op.f("pk_events")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_events_tenant_id_subject_id_reported_at"),
            ["tenant_id", "subject_id", "reported_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_events_tenant_id_type_reported_at"), ["tenant_id", "type", "reported_at"], unique=False
        )

    op.create_table(
        "point_accounts",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("balance", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("pending", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("lifetime_earn", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("version", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "member_id"],
            ["members.tenant_id", "members.member_id"],
            name=op.f("fk_point_accounts_tenant_id_member_id"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "member_id", name=op.f("pk_point_accounts")),
    )
    op.create_table(
        "point_entries",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("entry_id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("delta", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("impact", sa.String(length=8), nullable=False),
        sa.Column("source_type", sa.String(length=16), nullable=False),
        sa.Column("source_id", sa.Uuid(), nullable=False),
        sa.Column("balance_after", sa.BigInteger(), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "member_id"],
            ["members.tenant_id", "members.member_id"],
            name=op.f("fk_point_entries_tenant_id_member_id"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "entry_id", name=op.f("pk_point_entries")),
        sa.UniqueConstraint(
            "tenant_id",
            "source_type",
            "source_id",
            "member_id",
            "kind",
            name=op.f("uq_point_entries_tenant_id_source_type_source_id_member_id_kind"),
        ),
        sa.UniqueConstraint(
            "tenant_id", "member_id", "sequence", name=op.f("uq_point_entries_tenant_id_member_id_sequence")
        ),
    )


def downgrade() -> None:
    op.drop_table("point_entries")
    op.drop_table("point_accounts")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_tenant_id_type_reported_at"))
        batch_op.drop_index(batch_op.f("ix_events_tenant_id_subject_id_reported_at"))

    op.drop_table("events")
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_members_tenant_id_created_at"))

    op.drop_table("members")
    op.drop_table("clients")
    op.drop_table("tenants")
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idempotency_keys_tenant_id_created_at"))

    op.drop_table("idempotency_keys")
