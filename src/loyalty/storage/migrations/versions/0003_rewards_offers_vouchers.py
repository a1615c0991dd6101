"""rewards offers and vouchers

Revision ID: 0003
Revises: 0002

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from loyalty.storage.types import JsonDocument, UTCDateTime

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "voucher_codes",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("code_id", sa.Uuid(), nullable=False),
        sa.Column("value", sa.String(length=256), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("pool_id", sa.Uuid(), nullable=True),
        sa.Column("reward_id", sa.Uuid(), nullable=True),
        sa.Column("benefit_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("issued_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "code_id", name=op.f("pk_voucher_codes")),
        sa.UniqueConstraint("tenant_id", "value", name=op.f("uq_voucher_codes_tenant_id_value")),
    )
    with op.batch_alter_table("voucher_codes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_voucher_codes_tenant_id_pool_id_issued_at"),
            ["tenant_id", "pool_id", "issued_at"],
            unique=False,
        )

    op.create_table(
        "audiences",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("audience_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=1024), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("criteria", JsonDocument, nullable=False),
        sa.Column("trigger_frequency", sa.String(length=16), nullable=False),
        sa.Column("send_joined_event", sa.Boolean(), nullable=False),
        sa.Column("send_left_event", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("deleted_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"], name=op.f("fk_audiences_tenant_id")),
        sa.PrimaryKeyConstraint("tenant_id", "audience_id", name=op.f("pk_audiences")),
    )
    op.create_table(
        "code_pools",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("pool_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=1024), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"], name=op.f("fk_code_pools_tenant_id")),
        sa.PrimaryKeyConstraint("tenant_id", "pool_id", name=op.f("pk_code_pools")),
    )
    op.create_table(
        "reward_categories",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("category_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=1024), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"], name=op.f("fk_reward_categories_tenant_id")),
        sa.PrimaryKeyConstraint("tenant_id", "category_id", name=op.f("pk_reward_categories")),
    )
    op.create_table(
        "rewards",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("reward_id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("summary", sa.String(length=1024), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("picture_url", sa.String(length=2048), nullable=True),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("available_from", UTCDateTime(), nullable=False),
        sa.Column("available_until", UTCDateTime(), nullable=True),
        sa.Column("purchasable", sa.Boolean(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Uuid(), nullable=True),
        sa.Column("tier_id", sa.Uuid(), nullable=True),
        sa.Column("venue_ids", JsonDocument, nullable=False),
        sa.Column("redemption_channels", JsonDocument, nullable=False),
        sa.Column("purchasable_for_audiences", JsonDocument, nullable=False),
        sa.Column("visible_to_audiences", JsonDocument, nullable=False),
        sa.Column("reactor_only", sa.Boolean(), nullable=False),
        sa.Column("code_type", sa.String(length=8), nullable=False),
        sa.Column("code", JsonDocument, nullable=True),
        sa.Column("code_pool_id", sa.Uuid(), nullable=True),
        sa.Column("hide_code", sa.Boolean(), nullable=False),
        sa.Column("purchase_expiration", sa.BigInteger(), nullable=True),
        sa.Column("stock_capacity", sa.BigInteger(), nullable=True),
        sa.Column("stock_consumed", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("redeem_on_purchase", sa.Boolean(), nullable=False),
        sa.Column("min_transaction_amount", sa.BigInteger(), nullable=True),
        sa.Column("max_transaction_amount", sa.BigInteger(), nullable=True),
        sa.Column("stacking", sa.String(length=12), nullable=False),
        sa.Column("details", JsonDocument, nullable=False),
        sa.Column("default_locale", sa.String(length=8), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("archived_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"], name=op.f("fk_rewards_tenant_id")),
        sa.PrimaryKeyConstraint("tenant_id", "reward_id", name=op.f("pk_rewards")),
    )
    op.create_table(
        "settings",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", JsonDocument, nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"], name=op.f("fk_settings_tenant_id")),
        sa.PrimaryKeyConstraint("tenant_id", "name", name=op.f("pk_settings")),
    )
    op.create_table(
        "tiers",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("tier_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("details", JsonDocument, nullable=False),
        sa.Column("default_locale", sa.String(length=8), nullable=False),
        sa.Column("points_requirement", sa.BigInteger(), nullable=False),
        sa.Column("calculation", sa.String(length=16), nullable=False),
        sa.Column("accumulation_period", sa.String(length=8), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("deleted_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"], name=op.f("fk_tiers_tenant_id")),
        sa.PrimaryKeyConstraint("tenant_id", "tier_id", name=op.f("pk_tiers")),
    )
    op.create_table(
        "venues",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("venue_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=512), nullable=True),
        sa.Column("description", sa.String(length=1024), nullable=True),
        sa.Column("external_identifier", sa.String(length=512), nullable=True),
        sa.Column("postcode", sa.String(length=128), nullable=True),
        sa.Column("coordinates", JsonDocument, nullable=True),
        sa.Column("attributes", JsonDocument, nullable=False),
        sa.Column("available_from", UTCDateTime(), nullable=True),
        sa.Column("available_until", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("deleted_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"], name=op.f("fk_venues_tenant_id")),
        sa.PrimaryKeyConstraint("tenant_id", "venue_id", name=op.f("pk_venues")),
        sa.UniqueConstraint("tenant_id", "external_identifier", name=op.f("uq_venues_tenant_id_external_identifier")),
    )
    op.create_table(
        "audience_members",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("audience_id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("joined_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "audience_id"],
            ["audiences.tenant_id", "audiences.audience_id"],
            name=op.f("fk_audience_members_tenant_id_audience_id"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "member_id"],
            ["members.tenant_id", "members.member_id"],
            name=op.f("fk_audience_members_tenant_id_member_id"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "audience_id", "member_id", name=op.f("pk_audience_members")),
    )
    with op.batch_alter_table("audience_members", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_audience_members_tenant_id_member_id"), ["tenant_id", "member_id"], unique=False
        )

    op.create_table(
        "benefits",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("benefit_id", sa.Uuid(), nullable=False),
        sa.Column("reward_id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("code_id", sa.Uuid(), nullable=True),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("points_spent", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=True),
        sa.Column("redeemed_at", UTCDateTime(), nullable=True),
        sa.Column("code_validated_at", UTCDateTime(), nullable=True),
        sa.Column("burned_at", UTCDateTime(), nullable=True),
        sa.Column("burned_venue_id", sa.Uuid(), nullable=True),
        sa.Column("burned_by", sa.String(length=200), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "member_id"],
            ["members.tenant_id", "members.member_id"],
            name=op.f("fk_benefits_tenant_id_member_id"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "reward_id"],
            ["rewards.tenant_id", "rewards.reward_id"],
            name=op.f("fk_benefits_tenant_id_reward_id"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "benefit_id", name=op.f("pk_benefits")),
    )
    with op.batch_alter_table("benefits", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_benefits_tenant_id_member_id_created_at"),
            ["tenant_id", "member_id", "created_at"],
            unique=False,
        )

    op.create_table(
        "member_tiers",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("tier_id", sa.Uuid(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "member_id"],
            ["members.tenant_id", "members.member_id"],
            name=op.f("fk_member_tiers_tenant_id_member_id"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "member_id", name=op.f("pk_member_tiers")),
    )
    op.create_table(
        "reward_discounts",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("discount_id", sa.Uuid(), nullable=False),
        sa.Column("reward_id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(length=12), nullable=False),
        sa.Column("value", sa.String(length=32), nullable=False),
        sa.Column("product_sku", sa.String(length=1024), nullable=True),
        sa.Column("sku", sa.String(length=256), nullable=True),
        sa.Column("venue_ids", JsonDocument, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "reward_id"],
            ["rewards.tenant_id", "rewards.reward_id"],
            name=op.f("fk_reward_discounts_tenant_id_reward_id"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "discount_id", name=op.f("pk_reward_discounts")),
    )
    with op.batch_alter_table("reward_discounts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_reward_discounts_tenant_id_reward_id"), ["tenant_id", "reward_id"], unique=False
        )

    op.create_table(
        "benefit_audit",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("audit_id", sa.Uuid(), nullable=False),
        sa.Column("benefit_id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=1000), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "benefit_id"],
            ["benefits.tenant_id", "benefits.benefit_id"],
            name=op.f("fk_benefit_audit_tenant_id_benefit_id"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "audit_id", name=op.f("pk_benefit_audit")),
    )
    with op.batch_alter_table("point_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_point_entries_tenant_id_member_id_created_at"),
            ["tenant_id", "member_id", "created_at"],
            unique=False,
        )

    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.drop_column("base_currency")
        batch_op.drop_column("timezone")


def downgrade() -> None:
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("timezone", sa.VARCHAR(length=64), server_default=sa.text("'UTC'"), nullable=False)
        )
        batch_op.add_column(
            sa.Column("base_currency", sa.VARCHAR(length=3), server_default=sa.text("'GBP'"), nullable=False)
        )

    with op.batch_alter_table("point_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_point_entries_tenant_id_member_id_created_at"))

    op.drop_table("benefit_audit")
    with op.batch_alter_table("reward_discounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reward_discounts_tenant_id_reward_id"))

    op.drop_table("reward_discounts")
    op.drop_table("member_tiers")
    with op.batch_alter_table("benefits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_benefits_tenant_id_member_id_created_at"))

    op.drop_table("benefits")
    with op.batch_alter_table("audience_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audience_members_tenant_id_member_id"))

    op.drop_table("audience_members")
    op.drop_table("venues")
    op.drop_table("tiers")
    op.drop_table("settings")
    op.drop_table("rewards")
    op.drop_table("reward_categories")
    op.drop_table("code_pools")
    op.drop_table("audiences")
    with op.batch_alter_table("voucher_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_voucher_codes_tenant_id_pool_id_issued_at"))

    op.drop_table("voucher_codes")
