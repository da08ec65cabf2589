"""Facts the policy needs, computed from the database for one request.

The policy never queries anything itself; everything it may depend on is here, named, and
recorded with the decision's reason, so a decision can be explained after the fact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from custodes.access.model import PII_FIELDS, Justification, Resource
from custodes.access.models import BreakGlassGrant
from custodes.access.ratelimit import RevealWindows
from custodes.marketplace.models import Employee
from custodes.store.base import as_utc
from custodes.store.hot_reads import HotReader

CONTACT_FIELDS = frozenset(PII_FIELDS)
# The hot path reads through a `HotReader`; the rarer readers here take a Session or a
# Connection, which both offer execute/scalar/scalars.
Reader = Session | Connection


@dataclass(frozen=True)
class RateLimits:
    """Distinct customers one employee may reveal before further reveals need approval."""

    per_hour: int = 30
    per_day: int = 150
    # Masked search: distinct customers its results name, per employee.
    searches_per_hour: int = 120
    searches_per_day: int = 600


@dataclass(frozen=True)
class Person:
    """The employee facts a decision needs (a row, not an ORM entity: cheaper per request)."""

    employee_id: str
    role: str
    suspended_at: datetime | None
    left_at: datetime | None


@dataclass(frozen=True)
class CaseFacts:
    employee_id: str
    kind: str
    customer_id: str | None
    seller_id: str | None
    opened_at: datetime
    closed_at: datetime | None


@dataclass
class Facts:
    employee: Person | None
    resource_found: bool
    context: dict[str, str | bool]
    customer_ids: list[str] = field(default_factory=list)
    pseudonyms: dict[str, str] = field(default_factory=dict)
    new_customers_hour: int = 0
    new_customers_day: int = 0
    case_known: bool = False  # the cited case exists (so its id may stand in the ledger)
    # What is wrong with the cited case, for a denial's reason: "" (none cited), "not_yours"
    # (unknown, or someone else's: the same answer, so ids cannot be probed), "closed",
    # "not_covering" (open and theirs, but not about this record), "ok".
    case_state: str = ""


def employee_active(employee: Employee | Person, now: datetime) -> bool:
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


def _resource_links(reads: HotReader, resource: Resource) -> tuple[bool, dict[str, str], set[str]]:
    """Does the resource exist; which customers (with pseudonyms) and sellers it concerns."""
    ids = list(resource.ids)
    if not ids:
        return True, {}, set()
    marks = ", ".join("?" for _ in ids)
    if resource.kind == "customer":
        sql = f"SELECT customer_id, pseudonym FROM customers WHERE customer_id IN ({marks})"
        pseudonyms: dict[str, str] = dict(reads.rows(sql, ids))
        return len(pseudonyms) == len(set(ids)), pseudonyms, set()
    if resource.kind == "policy":
        sql = f"SELECT sha256 FROM access_policy_proposals WHERE sha256 IN ({marks})"
        found = {r[0] for r in reads.rows(sql, ids)}
        return len(found) == len(set(ids)), {}, set()
    if resource.kind == "seller":
        sql = f"SELECT seller_id FROM sellers WHERE seller_id IN ({marks})"
        found = {r[0] for r in reads.rows(sql, ids)}
        return len(found) == len(set(ids)), {}, found
    table, key = ("orders", "order_id") if resource.kind == "order" else ("reviews", "review_id")
    sql = (
        f"SELECT t.{key}, t.customer_id, t.seller_id, c.pseudonym FROM {table} t "
        f"JOIN customers c ON c.customer_id = t.customer_id WHERE t.{key} IN ({marks})"
    )
    rows = reads.rows(sql, ids)
    pseudonyms = {customer: pseudonym for _, customer, _, pseudonym in rows}
    sellers = {seller for _, _, seller, _ in rows}
    return len(rows) == len(set(ids)), pseudonyms, sellers


def load_facts(
    reads: HotReader,
    employee_id: str,
    action: str,
    resource: Resource,
    justification: Justification,
    now: datetime,
    limits: RateLimits,
    windows: RevealWindows | None = None,
    in_flight: frozenset[str] = frozenset(),
) -> Facts:
    """`in_flight`: customers this employee has reveals of allowed but not yet recorded (API
    workers); they count as revealed now, like this request's own."""
    one_customer = (
        resource.ids[0] if resource.kind == "customer" and len(resource.ids) == 1 else None
    )
    employee, case, links = _person_and_case(
        reads, employee_id, justification.case_id, one_customer
    )
    found, pseudonyms, sellers = links or _resource_links(reads, resource)
    customers = set(pseudonyms)
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
    # Break-glass grants are looked up only when they could change the answer (see Door).
    break_glass = False
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
    facts = Facts(employee, found, context, sorted(customers), pseudonyms)
    facts.case_known = case is not None
    facts.case_state = _case_state(justification, employee_id, case, case_open, context)
    if action == "customer.view" and resource.fields and employee is not None:
        if windows is None:  # fail closed: a reveal is never judged uncounted
            raise ValueError("a reveal is judged against the employee's rate windows")
        counts = windows.counts(reads, employee_id, customers | in_flight, now)
        facts.new_customers_hour, facts.new_customers_day = counts
    return facts


def _case_state(
    why: Justification,
    employee_id: str,
    case: CaseFacts | None,
    case_open: bool,
    context: dict[str, str | bool],
) -> str:
    if why.case_id is None:
        return ""
    if case is None or case.employee_id != employee_id:
        return "not_yours"
    if not case_open:
        return "closed"
    covers = ("case_covers_customer", "case_covers_seller", "case_covers_review")
    return "ok" if any(context[k] for k in covers) else "not_covering"


_PERSON_AND_CASE = (
    "SELECT e.employee_id, e.role, e.suspended_at, e.left_at, c.employee_id, c.kind, "
    "c.customer_id, c.seller_id, c.opened_at, c.closed_at, "
    "(SELECT pseudonym FROM customers WHERE customer_id = ?) FROM employees e "
    "LEFT OUTER JOIN cases c ON c.case_id = ? WHERE e.employee_id = ?"
)

_Links = tuple[bool, dict[str, str], set[str]]


def _person_and_case(
    reads: HotReader, employee_id: str, case_id: str | None, customer_id: str | None = None
) -> tuple[Person | None, CaseFacts | None, _Links | None]:
    """The employee, the cited case and (for a one-customer resource) the customer's
    pseudonym in one query: plain driver SQL, as this runs on every request (see
    `custodes.store.hot_reads`). The links are None when they still need `_resource_links`."""
    if not employee_id:
        return None, None, None
    row = reads.first(_PERSON_AND_CASE, (customer_id or "", case_id or "", employee_id))
    if row is None:
        return None, None, None
    person = Person(row[0], row[1], as_utc(row[2]), as_utc(row[3]))
    case = None
    if row[4] is not None:
        opened = as_utc(row[8])
        assert opened is not None
        case = CaseFacts(row[4], row[5], row[6], row[7], opened, as_utc(row[9]))
    links: _Links | None = None
    if customer_id is not None:
        pseudonym = row[10]
        found = pseudonym is not None
        links = (True, {customer_id: pseudonym}, set()) if found else (False, {}, set())
    return person, case, links


def break_glass_active(
    session: Reader, employee_id: str, customers: list[str], now: datetime
) -> bool:
    """An unexpired break-glass grant of this employee for exactly this one customer."""
    if len(customers) != 1:
        return False
    count = session.scalar(
        select(func.count())
        .select_from(BreakGlassGrant)
        .where(
            BreakGlassGrant.employee_id == employee_id,
            BreakGlassGrant.customer_id == customers[0],
            BreakGlassGrant.granted_at <= now,
            BreakGlassGrant.expires_at > now,
        )
    )
    return bool(count)
