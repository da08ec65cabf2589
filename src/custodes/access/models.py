"""Tables of the one door: sensitive-action requests, signed approvals, break-glass grants,
API tokens (hashed) and applied policy versions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from custodes.store.base import Base, UTCDateTime


class AccessRequest(Base):
    """A sensitive action waiting for a second person (review.delete, seller.reinstate, …)."""

    __tablename__ = "access_requests"

    request_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    requester_id: Mapped[str] = mapped_column(ForeignKey("employees.employee_id"), index=True)
    action: Mapped[str] = mapped_column(String(32))
    resource: Mapped[str] = mapped_column(Text)  # canonical JSON of the resource reference
    justification: Mapped[str] = mapped_column(Text)  # canonical JSON (code, case, text)
    digest: Mapped[bytes] = mapped_column(LargeBinary(32))  # SHA-256 of the canonical request
    status: Mapped[str] = mapped_column(String(16), index=True)
    reason: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    executed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ledger_index: Mapped[int | None] = mapped_column(BigInteger)


class Approval(Base):
    """An Ed25519-signed, single-use, expiring approval bound to one request's digest."""

    __tablename__ = "access_approvals"

    approval_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("access_requests.request_id"), unique=True)
    approver_id: Mapped[str] = mapped_column(ForeignKey("employees.employee_id"))
    payload: Mapped[str] = mapped_column(Text)  # canonical JSON that was signed
    signature: Mapped[bytes] = mapped_column(LargeBinary(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class BreakGlassGrant(Base):
    """Immediate, time-boxed access that always opens a mandatory after-the-fact review."""

    __tablename__ = "access_break_glass"

    grant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    employee_id: Mapped[str] = mapped_column(ForeignKey("employees.employee_id"), index=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.customer_id"))
    reason: Mapped[str] = mapped_column(Text)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    review_request_id: Mapped[str] = mapped_column(ForeignKey("access_requests.request_id"))


class ApiToken(Base):
    """A service's bearer token: only its SHA-256 is stored; scopes limit what it may call."""

    __tablename__ = "api_tokens"

    token_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    scopes: Mapped[str] = mapped_column(Text)  # space-separated
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # None: never


class PolicyVersion(Base):
    """Every policy text ever applied; the ledger holds its hash, so changes are on record."""

    __tablename__ = "access_policy_versions"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    sha256: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    applied_by: Mapped[str] = mapped_column(String(64))
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ledger_index: Mapped[int] = mapped_column(BigInteger)


class PolicyProposal(Base):
    """A policy text waiting for its dual-controlled `policy.apply` request (keyed by hash)."""

    __tablename__ = "access_policy_proposals"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    proposed_by: Mapped[str] = mapped_column(String(64))
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime())
