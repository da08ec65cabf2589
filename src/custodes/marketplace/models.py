"""The marketplace's reference data. Customer rows hold ids and locale only: PII is in the vault."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from custodes.store.base import Base, UTCDateTime

EMPLOYEE_ROLES = (
    "support_agent",
    "seller_support",
    "trust_safety",
    "data_analyst",
    "engineer",
    "manager",
    "privacy_officer",
    "investigator",
)
SELLER_STATUSES = ("active", "suspended", "banned")
REVIEW_STATUSES = ("published", "removed")
CASE_KINDS = (
    "customer_contact",
    "order_dispute",
    "review_report",
    "seller_appeal",
    "seller_support",
    "investigation",
)
ACCESS_ACTIONS = (
    "customer.view",
    "customer.search",
    "customer.export",
    "order.view",
    "review.view",
    "review.delete",
    "seller.view",
    "seller.metrics",
    "seller.reinstate",
    "message.view",
)
SIGNAL_KINDS = ("offplatform_contact", "canary_hit", "customer_complaint")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Employee(Base):
    __tablename__ = "employees"
    __table_args__ = (CheckConstraint(_in("role", EMPLOYEE_ROLES), name="role"),)

    employee_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    team: Mapped[str | None] = mapped_column(String(100))
    manager_id: Mapped[str | None] = mapped_column(
        ForeignKey("employees.employee_id", deferrable=True, initially="DEFERRED"), index=True
    )
    hired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    region: Mapped[str | None] = mapped_column(String(32))
    suspended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Customer(Base):
    """A customer: no name, e-mail or phone here; `pseudonym` is what leaves the vault."""

    __tablename__ = "customers"

    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    pseudonym: Mapped[str] = mapped_column(String(64), unique=True)
    country: Mapped[str | None] = mapped_column(String(2))
    region: Mapped[str | None] = mapped_column(String(32))
    language: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Seller(Base):
    __tablename__ = "sellers"
    __table_args__ = (CheckConstraint(_in("status", SELLER_STATUSES), name="status"),)

    seller_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))
    country: Mapped[str | None] = mapped_column(String(2))
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    banned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Product(Base):
    __tablename__ = "products"

    product_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    seller_id: Mapped[str] = mapped_column(ForeignKey("sellers.seller_id"), index=True)
    category: Mapped[str | None] = mapped_column(String(100))
    title: Mapped[str | None] = mapped_column(String(300))


class Order(Base):
    __tablename__ = "orders"

    order_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.customer_id"), index=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.product_id"))
    seller_id: Mapped[str] = mapped_column(ForeignKey("sellers.seller_id"), index=True)
    ordered_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Review(Base):
    __tablename__ = "reviews"
    __table_args__ = (
        CheckConstraint("rating BETWEEN 1 AND 5", name="rating"),
        CheckConstraint(_in("status", REVIEW_STATUSES), name="status"),
    )

    review_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.customer_id"), index=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.product_id"))
    seller_id: Mapped[str] = mapped_column(ForeignKey("sellers.seller_id"), index=True)
    rating: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16))
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    removed_by: Mapped[str | None] = mapped_column(ForeignKey("employees.employee_id"))


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        CheckConstraint(_in("kind", CASE_KINDS), name="kind"),
        Index("ix_cases_employee_customer", "employee_id", "customer_id"),
    )

    case_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    employee_id: Mapped[str] = mapped_column(ForeignKey("employees.employee_id"))
    customer_id: Mapped[str | None] = mapped_column(ForeignKey("customers.customer_id"))
    seller_id: Mapped[str | None] = mapped_column(ForeignKey("sellers.seller_id"), index=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ImportedAccessEvent(Base):
    """An access recorded by an outside system (access.jsonl), kept for the analytics."""

    __tablename__ = "imported_access_events"
    __table_args__ = (CheckConstraint(_in("action", ACCESS_ACTIONS), name="action"),)

    event_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source_line: Mapped[int] = mapped_column(Integer)
    time: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    employee_id: Mapped[str] = mapped_column(ForeignKey("employees.employee_id"), index=True)
    action: Mapped[str] = mapped_column(String(32))
    customer_ids: Mapped[str] = mapped_column(Text, default="[]")  # JSON array of ids
    seller_id: Mapped[str | None] = mapped_column(ForeignKey("sellers.seller_id"))
    product_id: Mapped[str | None] = mapped_column(ForeignKey("products.product_id"))
    review_id: Mapped[str | None] = mapped_column(ForeignKey("reviews.review_id"))
    case_id: Mapped[str | None] = mapped_column(ForeignKey("cases.case_id"))
    fields: Mapped[str] = mapped_column(Text, default="[]")  # JSON array of field names
    justification: Mapped[str | None] = mapped_column(String(64))


class OutsideSignal(Base):
    """An outside observation (signals.jsonl). A reported e-mail is kept as its blind index only."""

    __tablename__ = "outside_signals"
    __table_args__ = (CheckConstraint(_in("kind", SIGNAL_KINDS), name="kind"),)

    signal_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source_line: Mapped[int] = mapped_column(Integer)
    time: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    seller_id: Mapped[str | None] = mapped_column(ForeignKey("sellers.seller_id"))
    customer_id: Mapped[str | None] = mapped_column(ForeignKey("customers.customer_id"))
    email_index: Mapped[bytes | None] = mapped_column()
