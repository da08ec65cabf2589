"""Marketplace reference data and the PII vault.

Revision ID: 0001
Revises:
Create Date: 2026-11-29 14:17:13.333238
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "customers",
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("pseudonym", sa.String(length=64), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("region", sa.String(length=32), nullable=True),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_customers")),
        sa.UniqueConstraint("pseudonym", name=op.f("uq_customers_pseudonym")),
    )
    op.create_table(
        "employees",
        sa.Column("employee_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("team", sa.String(length=100), nullable=True),
        sa.Column("manager_id", sa.String(length=64), nullable=True),
        sa.Column("hired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("left_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("region", sa.String(length=32), nullable=True),
        sa.Column("suspended_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "role IN ('support_agent', 'seller_support', 'trust_safety', 'data_analyst', 'engineer', 'manager', 'privacy_officer', 'investigator')",
            name=op.f("ck_employees_role"),
        ),
        sa.ForeignKeyConstraint(
            ["manager_id"],
            ["employees.employee_id"],
            name=op.f("fk_employees_manager_id_employees"),
            initially="DEFERRED",
            deferrable=True,
        ),
        sa.PrimaryKeyConstraint("employee_id", name=op.f("pk_employees")),
    )
    with op.batch_alter_table("employees", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_employees_manager_id"), ["manager_id"], unique=False)

    op.create_table(
        "sellers",
        sa.Column("seller_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("banned_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('active', 'suspended', 'banned')", name=op.f("ck_sellers_status")
        ),
        sa.PrimaryKeyConstraint("seller_id", name=op.f("pk_sellers")),
    )
    op.create_table(
        "cases",
        sa.Column("case_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("employee_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=True),
        sa.Column("seller_id", sa.String(length=64), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "kind IN ('customer_contact', 'order_dispute', 'review_report', 'seller_appeal', 'seller_support', 'investigation')",
            name=op.f("ck_cases_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.customer_id"], name=op.f("fk_cases_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["employee_id"], ["employees.employee_id"], name=op.f("fk_cases_employee_id_employees")
        ),
        sa.ForeignKeyConstraint(
            ["seller_id"], ["sellers.seller_id"], name=op.f("fk_cases_seller_id_sellers")
        ),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_cases")),
    )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index(
            "ix_cases_employee_customer", ["employee_id", "customer_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_cases_seller_id"), ["seller_id"], unique=False)

    op.create_table(
        "outside_signals",
        sa.Column("signal_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source_line", sa.Integer(), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("seller_id", sa.String(length=64), nullable=True),
        sa.Column("customer_id", sa.String(length=64), nullable=True),
        sa.Column("email_index", sa.LargeBinary(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('offplatform_contact', 'canary_hit', 'customer_complaint')",
            name=op.f("ck_outside_signals_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.customer_id"],
            name=op.f("fk_outside_signals_customer_id_customers"),
        ),
        sa.ForeignKeyConstraint(
            ["seller_id"], ["sellers.seller_id"], name=op.f("fk_outside_signals_seller_id_sellers")
        ),
        sa.PrimaryKeyConstraint("signal_id", name=op.f("pk_outside_signals")),
    )
    with op.batch_alter_table("outside_signals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outside_signals_time"), ["time"], unique=False)

    op.create_table(
        "products",
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("seller_id", sa.String(length=64), nullable=False),
        sa.Column("category", sa.String(length=100), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(
            ["seller_id"], ["sellers.seller_id"], name=op.f("fk_products_seller_id_sellers")
        ),
        sa.PrimaryKeyConstraint("product_id", name=op.f("pk_products")),
    )
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_products_seller_id"), ["seller_id"], unique=False)

    op.create_table(
        "vault_blind_index",
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("digest", sa.LargeBinary(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.customer_id"],
            name=op.f("fk_vault_blind_index_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("customer_id", "kind", name=op.f("pk_vault_blind_index")),
    )
    with op.batch_alter_table("vault_blind_index", schema=None) as batch_op:
        batch_op.create_index("ix_vault_blind_index_digest", ["kind", "digest"], unique=False)

    op.create_table(
        "vault_records",
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("kek_version", sa.Integer(), nullable=True),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=True),
        sa.Column("pseudonym_salt", sa.LargeBinary(), nullable=True),
        sa.Column("name_ct", sa.LargeBinary(), nullable=True),
        sa.Column("email_ct", sa.LargeBinary(), nullable=True),
        sa.Column("phone_ct", sa.LargeBinary(), nullable=True),
        sa.Column("address_ct", sa.LargeBinary(), nullable=True),
        sa.Column("name_mask", sa.String(length=200), nullable=True),
        sa.Column("email_mask", sa.String(length=200), nullable=True),
        sa.Column("phone_mask", sa.String(length=64), nullable=True),
        sa.Column("shredded_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.customer_id"],
            name=op.f("fk_vault_records_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_vault_records")),
    )
    with op.batch_alter_table("vault_records", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_vault_records_kek_version"), ["kek_version"], unique=False
        )

    op.create_table(
        "orders",
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("seller_id", sa.String(length=64), nullable=False),
        sa.Column("ordered_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.customer_id"], name=op.f("fk_orders_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.product_id"], name=op.f("fk_orders_product_id_products")
        ),
        sa.ForeignKeyConstraint(
            ["seller_id"], ["sellers.seller_id"], name=op.f("fk_orders_seller_id_sellers")
        ),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_orders")),
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_orders_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_orders_seller_id"), ["seller_id"], unique=False)

    op.create_table(
        "reviews",
        sa.Column("review_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("seller_id", sa.String(length=64), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("removed_by", sa.String(length=64), nullable=True),
        sa.CheckConstraint("status IN ('published', 'removed')", name=op.f("ck_reviews_status")),
        sa.CheckConstraint("rating BETWEEN 1 AND 5", name=op.f("ck_reviews_rating")),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.customer_id"],
            name=op.f("fk_reviews_customer_id_customers"),
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.product_id"], name=op.f("fk_reviews_product_id_products")
        ),
        sa.ForeignKeyConstraint(
            ["removed_by"], ["employees.employee_id"], name=op.f("fk_reviews_removed_by_employees")
        ),
        sa.ForeignKeyConstraint(
            ["seller_id"], ["sellers.seller_id"], name=op.f("fk_reviews_seller_id_sellers")
        ),
        sa.PrimaryKeyConstraint("review_id", name=op.f("pk_reviews")),
    )
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reviews_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_reviews_seller_id"), ["seller_id"], unique=False)

    op.create_table(
        "imported_access_events",
        sa.Column("event_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source_line", sa.Integer(), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("employee_id", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("customer_ids", sa.Text(), nullable=False),
        sa.Column("seller_id", sa.String(length=64), nullable=True),
        sa.Column("product_id", sa.String(length=64), nullable=True),
        sa.Column("review_id", sa.String(length=64), nullable=True),
        sa.Column("case_id", sa.String(length=64), nullable=True),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.Column("justification", sa.String(length=64), nullable=True),
        sa.CheckConstraint(
            "action IN ('customer.view', 'customer.search', 'customer.export', 'order.view', 'review.view', 'review.delete', 'seller.view', 'seller.metrics', 'seller.reinstate', 'message.view')",
            name=op.f("ck_imported_access_events_action"),
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.case_id"], name=op.f("fk_imported_access_events_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["employee_id"],
            ["employees.employee_id"],
            name=op.f("fk_imported_access_events_employee_id_employees"),
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.product_id"],
            name=op.f("fk_imported_access_events_product_id_products"),
        ),
        sa.ForeignKeyConstraint(
            ["review_id"],
            ["reviews.review_id"],
            name=op.f("fk_imported_access_events_review_id_reviews"),
        ),
        sa.ForeignKeyConstraint(
            ["seller_id"],
            ["sellers.seller_id"],
            name=op.f("fk_imported_access_events_seller_id_sellers"),
        ),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_imported_access_events")),
    )
    with op.batch_alter_table("imported_access_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_imported_access_events_employee_id"), ["employee_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_imported_access_events_time"), ["time"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("imported_access_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_imported_access_events_time"))
        batch_op.drop_index(batch_op.f("ix_imported_access_events_employee_id"))

    op.drop_table("imported_access_events")
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reviews_seller_id"))
        batch_op.drop_index(batch_op.f("ix_reviews_customer_id"))

    op.drop_table("reviews")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_orders_seller_id"))
        batch_op.drop_index(batch_op.f("ix_orders_customer_id"))

    op.drop_table("orders")
    with op.batch_alter_table("vault_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vault_records_kek_version"))

    op.drop_table("vault_records")
    with op.batch_alter_table("vault_blind_index", schema=None) as batch_op:
        batch_op.drop_index("ix_vault_blind_index_digest")

    op.drop_table("vault_blind_index")
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_products_seller_id"))

    op.drop_table("products")
    with op.batch_alter_table("outside_signals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outside_signals_time"))

    op.drop_table("outside_signals")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cases_seller_id"))
        batch_op.drop_index("ix_cases_employee_customer")

    op.drop_table("cases")
    op.drop_table("sellers")
    with op.batch_alter_table("employees", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_employees_manager_id"))

    op.drop_table("employees")
    op.drop_table("customers")
