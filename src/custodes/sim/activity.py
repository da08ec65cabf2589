"""Cases and employees' access events: the ordinary work that insider scenarios hide in.

``ActivityLog`` holds cases and access events in memory; ``baseline.Baseline(...).run()`` fills
it with the normal work of every role (one module per case kind, plus routine work), and
scenarios can later ``open_case`` / ``add`` their own.

Who does what (``justification`` is the case kind for case work, otherwise a routine label):

- support_agent: ``customer_contact`` and ``order_dispute`` cases from their team's countries:
  ``customer.search`` (masked), ``customer.view`` of the case's customer, ``order.view``,
  ``message.view`` and ``seller.view`` in disputes.
- trust_safety: ``review_report`` cases (``review.view``, sometimes ``review.delete``) and
  ``seller_appeal`` cases (``seller.view``, ``seller.metrics``, ``message.view``, and
  ``seller.reinstate`` when an appeal succeeds); routine ``review.view`` ("moderation").
- seller_support: ``seller_support`` cases for the sellers in their portfolio and routine
  ``seller.metrics`` on them ("account_management").
- investigator: long ``investigation`` cases about a seller or a customer.
- data_analyst: ``customer.search`` over many customers, no fields ("analytics").
- engineer: a little ``order.view`` / ``seller.view`` / ``customer.search`` ("debugging").
- manager: ``customer.search`` / ``seller.view`` on their reports' closed cases
  ("quality_review") or ``seller.metrics`` ("reporting").
- privacy_officer: single-customer ``customer.export`` ("data_subject_request").

Events fall inside shifts (``roster``); the log covers ``[start, end)`` of the window.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from custodes.marketplace.models import ACCESS_ACTIONS, CASE_KINDS
from custodes.sim.errors import SimError

ACTIONS = ACCESS_ACTIONS  # one list of actions: the dataset format's (DESIGN.md)
ROUTINE_JUSTIFICATIONS = (
    "analytics",
    "account_management",
    "moderation",
    "debugging",
    "quality_review",
    "reporting",
    "data_subject_request",
)
CUSTOMER_FIELDS = ("name", "email", "phone")


@dataclass(slots=True)
class Case:
    case_id: str
    kind: str
    employee_id: str
    customer_id: str | None
    seller_id: str | None
    opened_at: datetime
    closed_at: datetime | None = None

    def open_at(self, t: datetime) -> bool:
        return self.opened_at <= t and (self.closed_at is None or t <= self.closed_at)


@dataclass(frozen=True, slots=True)
class AccessEvent:
    time: datetime
    employee_id: str
    action: str
    customer_ids: tuple[str, ...] = ()
    seller_id: str | None = None
    product_id: str | None = None
    review_id: str | None = None
    case_id: str | None = None
    fields: tuple[str, ...] = ()
    justification: str | None = None


class ActivityLog:
    """Cases and access events, in memory, in the order they were added."""

    def __init__(self) -> None:
        self.cases: list[Case] = []
        self.events: list[AccessEvent] = []

    def open_case(
        self,
        kind: str,
        employee_id: str,
        opened_at: datetime,
        *,
        customer_id: str | None = None,
        seller_id: str | None = None,
        closed_at: datetime | None = None,
    ) -> Case:
        if kind not in CASE_KINDS:
            raise SimError(f"unknown case kind {kind!r}; expected one of {CASE_KINDS}")
        case = Case(
            f"K{len(self.cases) + 1:06d}",
            kind,
            employee_id,
            customer_id,
            seller_id,
            opened_at,
            closed_at,
        )
        self.cases.append(case)
        return case

    def add(
        self,
        time: datetime,
        employee_id: str,
        action: str,
        *,
        customer_ids: Iterable[str] = (),
        seller_id: str | None = None,
        product_id: str | None = None,
        review_id: str | None = None,
        case_id: str | None = None,
        fields: Iterable[str] = (),
        justification: str | None = None,
    ) -> AccessEvent:
        if action not in ACTIONS:
            raise SimError(f"unknown action {action!r}; expected one of {ACTIONS}")
        if time.tzinfo is None:
            raise SimError("access times must be timezone-aware")
        event = AccessEvent(
            time,
            employee_id,
            action,
            tuple(customer_ids),
            seller_id,
            product_id,
            review_id,
            case_id,
            tuple(fields),
            justification,
        )
        self.events.append(event)
        return event

    def sorted_events(self) -> list[AccessEvent]:
        """Events in time order (ties keep insertion order)."""
        return sorted(self.events, key=lambda e: e.time)
