"""Record integrity: witness status, and policy texts waiting for their dual control.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 10:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ledger_witness_status",
        sa.Column("witness", sa.String(length=200), nullable=False),
        sa.Column("cosigned_size", sa.BigInteger(), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("witness", name=op.f("pk_ledger_witness_status")),
    )
    op.create_table(
        "access_policy_proposals",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("proposed_by", sa.String(length=64), nullable=False),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_access_policy_proposals")),
    )


def downgrade() -> None:
    op.drop_table("access_policy_proposals")
    op.drop_table("ledger_witness_status")
