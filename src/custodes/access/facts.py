"""Facts the policy needs, computed from the database for one request.

The policy never queries anything itself; everything it may depend on is here, named, and
recorded with the decision's reason, so a decision can be explained after the fact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from custodes.access.model import PII_FIELDS, Justification, Resource
from custodes.access.models import BreakGlassGrant
from custodes.ledger.models import LedgerAccessIndex
from custodes.marketplace.models import Case, Customer, Employee, Order, Review, Seller

CONTACT_FIELDS = frozenset(PII_FIELDS)


@dataclass(frozen=True)
class RateLimits:
    """Distinct customers one employee may reveal before further reveals need approval."""

    per_hour: int = 30
    per_day: int = 150


@dataclass
class Facts:
    employee: Employee | None
    resource_found: bool
    context: dict[str, str | bool]
    customer_ids: list[str] = field(default_factory=list)
    pseudonyms: dict[str, str] = field(default_factory=dict)
    new_customers_hour: int = 0
    new_customers_day: int = 0


def employee_active(employee: Employee, now: datetime) -> bool:
    if employee.suspended_at is not None and employee.suspended_at <= now:
        return False
    return not (employee.left_at is not None and employee.left_at <= now)


def management_chain(session: Session, employee_id: str, limit: int = 32) -> list[str]:
    """The employee's managers, bottom-up (bounded, so a cycle cannot loop forever)."""
    chain: list[str] = []
    current = session.get(Employee, employee_id)
    while current is not None and current.manager_id and len(chain) < limit:
        if current.manager_id in chain:
            break
        chain.append(current.manager_id)
        current = session.get(Employee, current.manager_id)
    return chain


def independent(session: Session, approver_id: str, requester_id: str) -> bool:
    """Neither the requester, nor above them, nor below them in the reporting chain."""
    if approver_id == requester_id:
        return False
    if approver_id in management_chain(session, requester_id):
        return False
    return requester_id not in management_chain(session, approver_id)


def _resource_links(session: Session, resource: Resource) -> tuple[bool, set[str], set[str]]:
    """Does the resource exist, and which customers and sellers does it concern."""
    ids = list(resource.ids)
    customers: set[str] = set()
    sellers: set[str] = set()
    if resource.kind == "customer":
        found = set(
            session.scalars(select(Customer.customer_id).where(Customer.customer_id.in_(ids)))
        )
        customers = found
        return len(found) == len(set(ids)), customers, sellers
    if resource.kind == "seller":
        found = set(session.scalars(select(Seller.seller_id).where(Seller.seller_id.in_(ids))))
        return len(found) == len(set(ids)), customers, found
    model = Order if resource.kind == "order" else Review
    key = Order.order_id if resource.kind == "order" else Review.review_id
    rows = session.execute(
        select(key, model.customer_id, model.seller_id).where(key.in_(ids))
    ).all()
    for _, customer, seller in rows:
        customers.add(customer)
        sellers.add(seller)
    return len(rows) == len(set(ids)), customers, sellers


def load_facts(
    session: Session,
    employee_id: str,
    action: str,
    resource: Resource,
    justification: Justification,
    now: datetime,
    limits: RateLimits,
) -> Facts:
    employee = session.get(Employee, employee_id)
    found, customers, sellers = _resource_links(session, resource)
    case = session.get(Case, justification.case_id) if justification.case_id else None
    case_open = bool(
        employee is not None
        and case is not None
        and case.employee_id == employee_id
        and case.opened_at <= now
        and (case.closed_at is None or case.closed_at > now)
    )
    covers_customer = bool(case_open and customers and case and customers <= {case.customer_id})
    covers_seller = bool(case_open and sellers and case and sellers <= {case.seller_id})
    covers_review = bool(
        case_open and resource.kind == "review" and case is not None and sellers <= {case.seller_id}
    )
    break_glass = False
    if employee is not None and resource.kind == "customer" and len(customers) == 1:
        break_glass = (
            session.scalar(
                select(func.count())
                .select_from(BreakGlassGrant)
                .where(
                    BreakGlassGrant.employee_id == employee_id,
                    BreakGlassGrant.customer_id.in_(customers),
                    BreakGlassGrant.granted_at <= now,
                    BreakGlassGrant.expires_at > now,
                )
            )
            or 0
        ) > 0
    context: dict[str, str | bool] = {
        "role": employee.role if employee else "",
        "active": bool(employee and employee_active(employee, now)),
        "justification": justification.code,
        "case_open": case_open,
        "case_kind": case.kind if case_open and case else "",
        "case_covers_customer": covers_customer,
        "case_covers_seller": covers_seller,
        "case_covers_review": covers_review,
        "contact_fields_only": set(resource.fields) <= CONTACT_FIELDS,
        "break_glass_active": break_glass,
        "independent": False,
    }
    pseudonyms = dict(
        session.execute(
            select(Customer.customer_id, Customer.pseudonym).where(
                Customer.customer_id.in_(list(customers))
            )
        ).all()
    )
    facts = Facts(employee, found, context, sorted(customers), pseudonyms)
    if action == "customer.view" and resource.fields and employee is not None:
        facts.new_customers_hour = _new_customers(session, employee_id, customers, now, 1)
        facts.new_customers_day = _new_customers(session, employee_id, customers, now, 24)
    return facts


def _new_customers(
    session: Session, employee_id: str, customers: set[str], now: datetime, hours: int
) -> int:
    """Distinct customers revealed in the window, counting this request's new ones."""
    seen = set(
        session.scalars(
            select(LedgerAccessIndex.subject_id)
            .where(
                and_(
                    LedgerAccessIndex.actor == employee_id,
                    LedgerAccessIndex.subject_kind == "customer",
                    LedgerAccessIndex.action == "customer.view",
                    LedgerAccessIndex.decision == "allow",
                    LedgerAccessIndex.time > now - timedelta(hours=hours),
                    LedgerAccessIndex.time <= now,
                )
            )
            .distinct()
        )
    )
    return len(seen | customers)
