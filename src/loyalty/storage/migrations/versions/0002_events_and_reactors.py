"""events and reactors

Revision ID: 0002
Revises: 0001
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from loyalty.storage.types import JsonDocument, UTCDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "badges",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("badge_id", sa.Uuid(), nullable=False),
        sa.Column("internal_name", sa.String(length=200), nullable=False),
        sa.Column("internal_description", sa.String(length=1000), nullable=True),
        sa.Column("details", JsonDocument, nullable=False),
        sa.Column("priority", sa.Integer(), server_default="0", nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"], name=op.f("fk_badges_tenant_id")),
        sa.PrimaryKeyConstraint("tenant_id", "badge_id", name=op.f("pk_badges")),
    )
    op.create_table(
        "event_types",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("event_type_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("description", sa.String(length=1024), nullable=True),
        sa.Column("schema", JsonDocument, nullable=False),
        sa.Column("is_private", sa.Boolean(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("enhancers", JsonDocument, nullable=False),
        sa.Column("omit_from_user_activity", sa.Boolean(), nullable=False),
        sa.Column("dedupe_key_path", sa.String(length=512), nullable=True),
        sa.Column("secret_version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"], name=op.f("fk_event_types_tenant_id")),
        sa.PrimaryKeyConstraint("tenant_id", "event_type_id", name=op.f("pk_event_types")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_event_types_tenant_id_name")),
    )
    op.create_table(
        "reactors",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("reactor_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("description", sa.String(length=1024), nullable=True),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("constraint", JsonDocument, nullable=True),
        sa.Column("effective_from", UTCDateTime(), nullable=False),
        sa.Column("effective_until", UTCDateTime(), nullable=True),
        sa.Column("max_activations", sa.BigInteger(), nullable=True),
        sa.Column("activation_context", sa.String(length=16), nullable=True),
        sa.Column("reactions", JsonDocument, nullable=False),
        sa.Column("previous_version_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"], name=op.f("fk_reactors_tenant_id")),
        sa.PrimaryKeyConstraint("tenant_id", "reactor_id", name=op.f("pk_reactors")),
    )
    with op.batch_alter_table("reactors", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reactors_tenant_id_event_type"), ["tenant_id", "event_type"], unique=False)

    op.create_table(
        "badge_awards",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("award_id", sa.Uuid(), nullable=False),
        sa.Column("badge_id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=True),
        sa.Column("comment", sa.String(length=1000), nullable=True),
        sa.Column("awarded_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "badge_id"],
            ["badges.tenant_id", "badges.badge_id"],
            name=op.f("fk_badge_awards_tenant_id_badge_id"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "member_id"],
            ["members.tenant_id", "members.member_id"],
            name=op.f("fk_badge_awards_tenant_id_member_id"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "award_id", name=op.f("pk_badge_awards")),
    )
    with op.batch_alter_table("badge_awards", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_badge_awards_tenant_id_member_id_awarded_at"),
            ["tenant_id", "member_id", "awarded_at"],
            unique=False,
        )

    op.create_table(
        "reactor_activations",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("reactor_id", sa.Uuid(), nullable=False),
        sa.Column("context_key", sa.String(length=64), nullable=False),
        sa.Column("activations", sa.BigInteger(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "reactor_id"],
            ["reactors.tenant_id", "reactors.reactor_id"],
            name=op.f("fk_reactor_activations_tenant_id_reactor_id"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "reactor_id", "context_key", name=op.f("pk_reactor_activations")),
    )
    op.create_table(
        "event_reactions",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("reactor_id", sa.Uuid(), nullable=False),
        sa.Column("reactor_name", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column("points", sa.BigInteger(), nullable=True),
        sa.Column("detail", JsonDocument, nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "event_id"],
            ["events.tenant_id", "events.event_id"],
            name=op.f("fk_event_reactions_tenant_id_event_id"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "event_id", "position", name=op.f("pk_event_reactions")),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("delivery_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("reactor_id", sa.Uuid(), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("headers", JsonDocument, nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("locked_until", UTCDateTime(), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("delivered_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "event_id"],
            ["events.tenant_id", "events.event_id"],
            name=op.f("fk_webhook_deliveries_tenant_id_event_id"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "delivery_id", name=op.f("pk_webhook_deliveries")),
    )
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_webhook_deliveries_tenant_id_created_at"), ["tenant_id", "created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_webhook_deliveries_tenant_id_status_next_attempt_at"),
            ["tenant_id", "status", "next_attempt_at"],
            unique=False,
        )

    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dedupe_key", sa.String(length=512), nullable=True))
        batch_op.add_column(sa.Column("dedupe_subject", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_events_tenant_id_type_dedupe_subject_dedupe_key"),
            ["tenant_id", "type", "dedupe_subject", "dedupe_key"],
        )

    with op.batch_alter_table("point_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reactor_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("cause", sa.String(length=80), server_default="", nullable=False))
        batch_op.drop_constraint(
            batch_op.f("uq_point_entries_tenant_id_source_type_source_id_member_id_kind"), type_="unique"
        )
        batch_op.create_unique_constraint(
            "uq_point_entries_cause", ["tenant_id", "source_type", "source_id", "member_id", "kind", "cause"]
        )

    # Existing tenants get a webhook secret of their own before the column becomes required.
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("webhook_secret", sa.String(length=128), nullable=True))
    tenants = sa.table("tenants", sa.column("tenant_id", sa.Uuid()), sa.column("webhook_secret", sa.String()))
    connection = op.get_bind()
    for (tenant_id,) in connection.execute(sa.select(tenants.c.tenant_id)).all():
        connection.execute(
            tenants.update().where(tenants.c.tenant_id == tenant_id).values(webhook_secret=secrets.token_hex(32))
        )
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.alter_column("webhook_secret", existing_type=sa.String(length=128), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.drop_column("webhook_secret")

    with op.batch_alter_table("point_entries", schema=None) as batch_op:
        batch_op.drop_constraint("uq_point_entries_cause", type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_point_entries_tenant_id_source_type_source_id_member_id_kind"),
            ["tenant_id", "source_type", "source_id", "member_id", "kind"],
        )
        batch_op.drop_column("cause")
        batch_op.drop_column("reactor_id")

    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_events_tenant_id_type_dedupe_subject_dedupe_key"), type_="unique")
        batch_op.drop_column("dedupe_subject")
        batch_op.drop_column("dedupe_key")

    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_deliveries_tenant_id_status_next_attempt_at"))
        batch_op.drop_index(batch_op.f("ix_webhook_deliveries_tenant_id_created_at"))

    op.drop_table("webhook_deliveries")
    op.drop_table("event_reactions")
    op.drop_table("reactor_activations")
    with op.batch_alter_table("badge_awards", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_badge_awards_tenant_id_member_id_awarded_at"))

    op.drop_table("badge_awards")
    with op.batch_alter_table("reactors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reactors_tenant_id_event_type"))

    op.drop_table("reactors")
    op.drop_table("event_types")
    op.drop_table("badges")
