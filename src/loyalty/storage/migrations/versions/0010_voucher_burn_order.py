"""which order a voucher's burn belongs to

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Burns made before this revision stay unlinked (NULL): a refund or a void of the order that used them still
    # gives them back, as before. See services/benefits.restore_voucher.
    with op.batch_alter_table("benefits") as batch:
        batch.add_column(sa.Column("burn_order_id", sa.Uuid(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("benefits") as batch:
        batch.drop_column("burn_order_id")
