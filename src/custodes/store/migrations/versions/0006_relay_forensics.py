"""Relay (aliases, outbound queue, message records) and forensics (read index, exposures, canaries, hits, exports).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 09:23:52.542896
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "forensics_canary_hits",
        sa.Column("hit_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("exposure_id", sa.String(length=40), nullable=True),
        sa.Column("employee_id", sa.String(length=64), nullable=True),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("sender_digest", sa.LargeBinary(length=32), nullable=True),
        sa.Column("sender_domain", sa.String(length=255), nullable=True),
        sa.Column("headers", sa.Text(), nullable=False),
        sa.Column("message_sha256", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("hit_id", name=op.f("pk_forensics_canary_hits")),
    )
    with op.batch_alter_table("forensics_canary_hits", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_forensics_canary_hits_customer_id"), ["customer_id"], unique=False
        )

    op.create_table(
        "forensics_email_reads",
        sa.Column("employee_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("reads", sa.Integer(), nullable=False),
        sa.Column("first_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ledger_index", sa.BigInteger(), nullable=True),
        sa.Column("source_line", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint(
            "employee_id", "customer_id", name=op.f("pk_forensics_email_reads")
        ),
    )
    with op.batch_alter_table("forensics_email_reads", schema=None) as batch_op:
        batch_op.create_index("ix_forensics_email_reads_customer", ["customer_id"], unique=False)
        batch_op.create_index(
            "ix_forensics_email_reads_employee_time", ["employee_id", "first_time"], unique=False
        )

    op.create_table(
        "forensics_exposures",
        sa.Column("exposure_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("employee_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ledger_index", sa.BigInteger(), nullable=True),
        sa.Column("reference", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("exposure_id", name=op.f("pk_forensics_exposures")),
    )
    with op.batch_alter_table("forensics_exposures", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_forensics_exposures_employee_id"), ["employee_id"], unique=False
        )

    op.create_table(
        "forensics_index_position",
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("source", name=op.f("pk_forensics_index_position")),
    )
    op.create_table(
        "forensics_reader_totals",
        sa.Column("employee_id", sa.String(length=64), nullable=False),
        sa.Column("customers", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("employee_id", name=op.f("pk_forensics_reader_totals")),
    )
    op.create_table(
        "relay_messages",
        sa.Column("message_id", sa.String(length=40), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("seller_id", sa.String(length=64), nullable=True),
        sa.Column("alias", sa.String(length=64), nullable=True),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("smtp_code", sa.Integer(), nullable=False),
        sa.Column("findings", sa.Text(), nullable=False),
        sa.Column("kek_version", sa.Integer(), nullable=True),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=True),
        sa.Column("held_ct", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_relay_messages")),
    )
    with op.batch_alter_table("relay_messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_relay_messages_received_at"), ["received_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_relay_messages_seller_id"), ["seller_id"], unique=False
        )

    op.create_table(
        "relay_outbound",
        sa.Column("message_id", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("alias", sa.String(length=64), nullable=False),
        sa.Column("envelope_from", sa.String(length=254), nullable=False),
        sa.Column("kek_version", sa.Integer(), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
        sa.Column("body_ct", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_relay_outbound")),
    )
    with op.batch_alter_table("relay_outbound", schema=None) as batch_op:
        batch_op.create_index(
            "ix_relay_outbound_status_due", ["status", "next_attempt_at"], unique=False
        )

    op.create_table(
        "forensics_canaries",
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("exposure_id", sa.String(length=40), nullable=True),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.customer_id"],
            name=op.f("fk_forensics_canaries_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["exposure_id"],
            ["forensics_exposures.exposure_id"],
            name=op.f("fk_forensics_canaries_exposure_id_forensics_exposures"),
        ),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_forensics_canaries")),
    )
    with op.batch_alter_table("forensics_canaries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_forensics_canaries_exposure_id"), ["exposure_id"], unique=False
        )

    op.create_table(
        "forensics_exports",
        sa.Column("export_id", sa.String(length=40), nullable=False),
        sa.Column("exposure_id", sa.String(length=40), nullable=False),
        sa.Column("employee_id", sa.String(length=64), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("customers", sa.Text(), nullable=False),
        sa.Column("canaries", sa.Text(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["exposure_id"],
            ["forensics_exposures.exposure_id"],
            name=op.f("fk_forensics_exports_exposure_id_forensics_exposures"),
        ),
        sa.PrimaryKeyConstraint("export_id", name=op.f("pk_forensics_exports")),
    )
    with op.batch_alter_table("forensics_exports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_forensics_exports_sha256"), ["sha256"], unique=False)

    op.create_table(
        "relay_aliases",
        sa.Column("alias", sa.String(length=64), nullable=False),
        sa.Column("seller_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.customer_id"],
            name=op.f("fk_relay_aliases_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["seller_id"], ["sellers.seller_id"], name=op.f("fk_relay_aliases_seller_id_sellers")
        ),
        sa.PrimaryKeyConstraint("alias", name=op.f("pk_relay_aliases")),
        sa.UniqueConstraint("seller_id", "customer_id", name="seller_customer"),
    )
    with op.batch_alter_table("relay_aliases", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_relay_aliases_customer_id"), ["customer_id"], unique=False
        )

    op.create_table(
        "relay_seller_contacts",
        sa.Column("seller_id", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=254), nullable=False),
        sa.ForeignKeyConstraint(
            ["seller_id"],
            ["sellers.seller_id"],
            name=op.f("fk_relay_seller_contacts_seller_id_sellers"),
        ),
        sa.PrimaryKeyConstraint("seller_id", name=op.f("pk_relay_seller_contacts")),
        sa.UniqueConstraint("address", name=op.f("uq_relay_seller_contacts_address")),
    )


def downgrade() -> None:
    op.drop_table("relay_seller_contacts")
    with op.batch_alter_table("relay_aliases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_relay_aliases_customer_id"))

    op.drop_table("relay_aliases")
    with op.batch_alter_table("forensics_exports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_forensics_exports_sha256"))

    op.drop_table("forensics_exports")
    with op.batch_alter_table("forensics_canaries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_forensics_canaries_exposure_id"))

    op.drop_table("forensics_canaries")
    with op.batch_alter_table("relay_outbound", schema=None) as batch_op:
        batch_op.drop_index("ix_relay_outbound_status_due")

    op.drop_table("relay_outbound")
    with op.batch_alter_table("relay_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_relay_messages_seller_id"))
        batch_op.drop_index(batch_op.f("ix_relay_messages_received_at"))

    op.drop_table("relay_messages")
    op.drop_table("forensics_reader_totals")
    op.drop_table("forensics_index_position")
    with op.batch_alter_table("forensics_exposures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_forensics_exposures_employee_id"))

    op.drop_table("forensics_exposures")
    with op.batch_alter_table("forensics_email_reads", schema=None) as batch_op:
        batch_op.drop_index("ix_forensics_email_reads_employee_time")
        batch_op.drop_index("ix_forensics_email_reads_customer")

    op.drop_table("forensics_email_reads")
    with op.batch_alter_table("forensics_canary_hits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_forensics_canary_hits_customer_id"))

    op.drop_table("forensics_canary_hits")
