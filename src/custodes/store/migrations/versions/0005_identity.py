"""Identity: passkeys, passwords, enrollment links, server-side sessions, WebAuthn challenges.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "identity_challenges",
        sa.Column("challenge_id", sa.String(length=40), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("challenge", sa.LargeBinary(length=64), nullable=False),
        sa.Column("employee_id", sa.String(length=64), nullable=True),
        sa.Column("enrollment_id", sa.String(length=40), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("digest", sa.LargeBinary(length=32), nullable=True),
        sa.Column("decision", sa.String(length=16), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["employee_id"],
            ["employees.employee_id"],
            name=op.f("fk_identity_challenges_employee_id_employees"),
        ),
        sa.PrimaryKeyConstraint("challenge_id", name=op.f("pk_identity_challenges")),
    )
    op.create_table(
        "identity_credentials",
        sa.Column("credential_id", sa.String(length=256), nullable=False),
        sa.Column("employee_id", sa.String(length=64), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("alg", sa.Integer(), nullable=False),
        sa.Column("sign_count", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ledger_index", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["employee_id"],
            ["employees.employee_id"],
            name=op.f("fk_identity_credentials_employee_id_employees"),
        ),
        sa.PrimaryKeyConstraint("credential_id", name=op.f("pk_identity_credentials")),
    )
    op.create_index(
        op.f("ix_identity_credentials_employee_id"),
        "identity_credentials",
        ["employee_id"],
        unique=False,
    )
    op.create_table(
        "identity_enrollments",
        sa.Column("enrollment_id", sa.String(length=40), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("employee_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["employee_id"],
            ["employees.employee_id"],
            name=op.f("fk_identity_enrollments_employee_id_employees"),
        ),
        sa.PrimaryKeyConstraint("enrollment_id", name=op.f("pk_identity_enrollments")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_identity_enrollments_token_hash")),
    )
    op.create_index(
        op.f("ix_identity_enrollments_employee_id"),
        "identity_enrollments",
        ["employee_id"],
        unique=False,
    )
    op.create_table(
        "identity_passwords",
        sa.Column("employee_id", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["employee_id"],
            ["employees.employee_id"],
            name=op.f("fk_identity_passwords_employee_id_employees"),
        ),
        sa.PrimaryKeyConstraint("employee_id", name=op.f("pk_identity_passwords")),
    )
    op.create_table(
        "identity_sessions",
        sa.Column("session_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("employee_id", sa.String(length=64), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("credential_id", sa.String(length=256), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["employee_id"],
            ["employees.employee_id"],
            name=op.f("fk_identity_sessions_employee_id_employees"),
        ),
        sa.PrimaryKeyConstraint("session_hash", name=op.f("pk_identity_sessions")),
    )
    op.create_index(
        op.f("ix_identity_sessions_employee_id"), "identity_sessions", ["employee_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_identity_sessions_employee_id"), table_name="identity_sessions")
    op.drop_table("identity_sessions")
    op.drop_table("identity_passwords")
    op.drop_index(op.f("ix_identity_enrollments_employee_id"), table_name="identity_enrollments")
    op.drop_table("identity_enrollments")
    op.drop_index(op.f("ix_identity_credentials_employee_id"), table_name="identity_credentials")
    op.drop_table("identity_credentials")
    op.drop_table("identity_challenges")
