"""Relay seller credentials (SMTP AUTH, argon2id) and exposure manifests for search pages and
reveal sessions.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "relay_seller_credentials",
        sa.Column("seller_id", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["seller_id"],
            ["sellers.seller_id"],
            name=op.f("fk_relay_seller_credentials_seller_id_sellers"),
        ),
        sa.PrimaryKeyConstraint("seller_id", name=op.f("pk_relay_seller_credentials")),
    )
    with op.batch_alter_table("forensics_exposures") as batch:
        batch.add_column(sa.Column("manifest", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("forensics_exposures") as batch:
        batch.drop_column("manifest")
    op.drop_table("relay_seller_credentials")
