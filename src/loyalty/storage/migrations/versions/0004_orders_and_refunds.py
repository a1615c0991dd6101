"""orders and refunds

Revision ID: 0004
Revises: 0003

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from loyalty.storage.types import JsonDocument, UTCDateTime

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "orders",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=True),
        sa.Column("venue_id", sa.Uuid(), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("subtotal", sa.BigInteger(), nullable=False),
        sa.Column("discount", sa.BigInteger(), nullable=False),
        sa.Column("tax", sa.BigInteger(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("applied_discounts", JsonDocument, nullable=False),
        sa.Column("payments", JsonDocument, nullable=False),
        sa.Column("order_metadata", JsonDocument, nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=True),
        sa.Column("points_earned", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("points_spent", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("points_spent_value", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("burned_benefit_ids", JsonDocument, nullable=False),
        sa.Column("checkout", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("voided_at", UTCDateTime(), nullable=True),
        sa.Column("refunded_value", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("refunded_gross", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("points_reversed", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("points_returned", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "member_id"],
            ["members.tenant_id", "members.member_id"],
            name=op.f("fk_orders_tenant_id_member_id"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "venue_id"],
            ["venues.tenant_id", "venues.venue_id"],
            name=op.f("fk_orders_tenant_id_venue_id"),
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"], name=op.f("fk_orders_tenant_id")),
        sa.PrimaryKeyConstraint("tenant_id", "order_id", name=op.f("pk_orders")),
        sa.UniqueConstraint("tenant_id", "external_id", name=op.f("uq_orders_tenant_id_external_id")),
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_orders_tenant_id_created_at"), ["tenant_id", "created_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_orders_tenant_id_member_id_created_at"),
            ["tenant_id", "member_id", "created_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_orders_tenant_id_venue_id_created_at"), ["tenant_id", "venue_id", "created_at"], unique=False
        )

    op.create_table(
        "order_lines",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("line_index", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=256), nullable=False),
        sa.Column("name", sa.String(length=512), nullable=True),
        sa.Column("category", sa.String(length=256), nullable=True),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("unit_price", sa.BigInteger(), nullable=False),
        sa.Column("discount", sa.BigInteger(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("refunded_quantity", sa.BigInteger(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "order_id"],
            ["orders.tenant_id", "orders.order_id"],
            name=op.f("fk_order_lines_tenant_id_order_id"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "order_id", "line_index", name=op.f("pk_order_lines")),
    )
    op.create_table(
        "refunds",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("refund_id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=1000), nullable=True),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("points_reversed", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("points_returned", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "order_id"],
            ["orders.tenant_id", "orders.order_id"],
            name=op.f("fk_refunds_tenant_id_order_id"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "refund_id", name=op.f("pk_refunds")),
        sa.UniqueConstraint(
            "tenant_id", "order_id", "external_id", name=op.f("uq_refunds_tenant_id_order_id_external_id")
        ),
    )
    op.create_table(
        "refund_lines",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("refund_id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("line_index", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "order_id", "line_index"],
            ["order_lines.tenant_id", "order_lines.order_id", "order_lines.line_index"],
            name=op.f("fk_refund_lines_tenant_id_order_id_line_index"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "refund_id"],
            ["refunds.tenant_id", "refunds.refund_id"],
            name=op.f("fk_refund_lines_tenant_id_refund_id"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "refund_id", "line_index", name=op.f("pk_refund_lines")),
    )


def downgrade() -> None:
    op.drop_table("refund_lines")
    op.drop_table("refunds")
    op.drop_table("order_lines")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_orders_tenant_id_venue_id_created_at"))
        batch_op.drop_index(batch_op.f("ix_orders_tenant_id_member_id_created_at"))
        batch_op.drop_index(batch_op.f("ix_orders_tenant_id_created_at"))

    op.drop_table("orders")
