"""The one door: requests, approvals, break-glass grants, API tokens, policy versions; ledger access index.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 14:32:10.425813
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "access_policy_versions",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("applied_by", sa.String(length=64), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ledger_index", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_access_policy_versions")),
    )
    op.create_table(
        "api_tokens",
        sa.Column("token_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("token_id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_table(
        "ledger_access_index",
        sa.Column("row_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("idx", sa.BigInteger(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("subject_kind", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("row_id", name=op.f("pk_ledger_access_index")),
    )
    with op.batch_alter_table("ledger_access_index", schema=None) as batch_op:
        batch_op.create_index("ix_ledger_access_index_actor_time", ["actor", "time"], unique=False)
        batch_op.create_index(batch_op.f("ix_ledger_access_index_idx"), ["idx"], unique=False)
        batch_op.create_index(
            "ix_ledger_access_index_subject", ["subject_kind", "subject_id"], unique=False
        )

    op.create_table(
        "access_requests",
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("requester_id", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("resource", sa.Text(), nullable=False),
        sa.Column("justification", sa.Text(), nullable=False),
        sa.Column("digest", sa.LargeBinary(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("executed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ledger_index", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["requester_id"],
            ["employees.employee_id"],
            name=op.f("fk_access_requests_requester_id_employees"),
        ),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_access_requests")),
    )
    with op.batch_alter_table("access_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_access_requests_requester_id"), ["requester_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_access_requests_status"), ["status"], unique=False)

    op.create_table(
        "access_approvals",
        sa.Column("approval_id", sa.String(length=64), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("approver_id", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("signature", sa.LargeBinary(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["approver_id"],
            ["employees.employee_id"],
            name=op.f("fk_access_approvals_approver_id_employees"),
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["access_requests.request_id"],
            name=op.f("fk_access_approvals_request_id_access_requests"),
        ),
        sa.PrimaryKeyConstraint("approval_id", name=op.f("pk_access_approvals")),
        sa.UniqueConstraint("request_id", name=op.f("uq_access_approvals_request_id")),
    )
    op.create_table(
        "access_break_glass",
        sa.Column("grant_id", sa.String(length=64), nullable=False),
        sa.Column("employee_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("review_request_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.customer_id"],
            name=op.f("fk_access_break_glass_customer_id_customers"),
        ),
        sa.ForeignKeyConstraint(
            ["employee_id"],
            ["employees.employee_id"],
            name=op.f("fk_access_break_glass_employee_id_employees"),
        ),
        sa.ForeignKeyConstraint(
            ["review_request_id"],
            ["access_requests.request_id"],
            name=op.f("fk_access_break_glass_review_request_id_access_requests"),
        ),
        sa.PrimaryKeyConstraint("grant_id", name=op.f("pk_access_break_glass")),
    )
    with op.batch_alter_table("access_break_glass", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_access_break_glass_employee_id"), ["employee_id"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("access_break_glass", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_access_break_glass_employee_id"))

    op.drop_table("access_break_glass")
    op.drop_table("access_approvals")
    with op.batch_alter_table("access_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_access_requests_status"))
        batch_op.drop_index(batch_op.f("ix_access_requests_requester_id"))

    op.drop_table("access_requests")
    with op.batch_alter_table("ledger_access_index", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_access_index_subject")
        batch_op.drop_index(batch_op.f("ix_ledger_access_index_idx"))
        batch_op.drop_index("ix_ledger_access_index_actor_time")

    op.drop_table("ledger_access_index")
    op.drop_table("api_tokens")
    op.drop_table("access_policy_versions")
