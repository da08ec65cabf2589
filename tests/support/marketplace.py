"""A small marketplace with one employee per role, two customers (sealed PII), cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from custodes.marketplace.models import Case, Customer, Employee, Order, Product, Review, Seller
from custodes.store.engine import transaction
from custodes.vault.keyring import FileKeyring
from custodes.vault.service import CustomerPII, insert_prepared, prepare_customer

T0 = datetime(2025, 1, 1, tzinfo=UTC)
OPEN = datetime.now(UTC) - timedelta(days=1)

EMPLOYEES = [
    ("M1", "manager", None),
    ("M2", "manager", "M1"),
    ("A1", "support_agent", "M2"),
    ("A2", "support_agent", "M2"),
    ("T1", "trust_safety", "M2"),
    ("T2", "trust_safety", "M1"),
    ("S1", "seller_support", "M2"),
    ("D1", "data_analyst", "M2"),
    ("G1", "engineer", "M1"),
    ("I1", "investigator", "M1"),
    ("P1", "privacy_officer", "M1"),
    ("P2", "privacy_officer", "M1"),
    ("X1", "support_agent", "M2"),  # suspended
]
CUSTOMERS = {
    "C1": CustomerPII(
        name="Quentin Quarrelsome", email="quentin.q@mailbox.example", phone="+442079460111"
    ),
    "C2": CustomerPII(
        name="Rosalind Reviewer", email="ros.rev@inbox.example", phone="+14155552671"
    ),
}
CASES = [
    ("K1", "customer_contact", "A1", "C1", None),
    ("K2", "customer_contact", "A1", "C2", None),  # closed below
    ("K3", "review_report", "T1", "C2", "SB"),
    ("K4", "seller_appeal", "T1", None, "SB"),
    ("K5", "seller_support", "S1", None, "SA"),
    ("K6", "investigation", "I1", "C1", None),
    ("K7", "customer_contact", "X1", "C1", None),
]


def seed(engine: Engine, keyring: FileKeyring) -> None:
    with transaction(engine) as session:
        for employee_id, role, manager in EMPLOYEES:
            session.add(
                Employee(
                    employee_id=employee_id,
                    name=f"Staff {employee_id}",
                    role=role,
                    team="t",
                    manager_id=manager,
                    hired_at=T0,
                    suspended_at=T0 if employee_id == "X1" else None,
                )
            )
        prepared = [prepare_customer(keyring, cid, pii, None) for cid, pii in CUSTOMERS.items()]
        for p in prepared:
            session.add(Customer(customer_id=p.customer_id, pseudonym=p.pseudonym, created_at=T0))
        session.add(Seller(seller_id="SA", name="Acme", status="active", created_at=T0))
        session.add(
            Seller(seller_id="SB", name="Shady", status="banned", created_at=T0, banned_at=T0)
        )
        session.flush()
        insert_prepared(session, prepared)
        session.add(Product(product_id="P1", seller_id="SA", category="home", title="Widget"))
        session.add(Product(product_id="P2", seller_id="SB", category="toys", title="Gadget"))
        session.flush()
        session.add(
            Order(order_id="O1", customer_id="C1", product_id="P1", seller_id="SA", ordered_at=T0)
        )
        session.add(
            Review(
                review_id="R1",
                customer_id="C2",
                product_id="P2",
                seller_id="SB",
                rating=1,
                created_at=T0,
                status="published",
            )
        )
        for case_id, kind, employee, customer, seller in CASES:
            session.add(
                Case(
                    case_id=case_id,
                    kind=kind,
                    employee_id=employee,
                    customer_id=customer,
                    seller_id=seller,
                    opened_at=OPEN,
                    closed_at=OPEN + timedelta(hours=1) if case_id == "K2" else None,
                )
            )
