"""What every kind of case work shares: the world's indexes, routing to people, and the log.

A ``Plan`` is a case to be worked (when it was opened, about whom); ``Work`` collects one
case's events before they are committed; ``Desk`` routes a plan to whoever of the right role
can start soonest and writes the case and its events to the ``ActivityLog``. Every draw comes
from one stream (``activity``) in a fixed order, so the same config gives the same log.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from custodes.sim.activity import AccessEvent, ActivityLog, Case
from custodes.sim.catalog import Order, Product, Review, Seller
from custodes.sim.config import DAY, SimConfig, seconds, stream
from custodes.sim.people import Customer, Employee
from custodes.sim.roster import Roster

BACKLOG = timedelta(days=4)  # cases opened this long before the window can still be open


@dataclass(slots=True)
class Plan:
    opened_at: datetime
    seq: int
    kind: str
    customer: Customer | None = None
    seller: Seller | None = None
    order: Order | None = None
    review: Review | None = None


class Plans(list[Plan]):
    """Plans in the order they were drawn; ``seq`` breaks ties between equal opening times."""

    def add(self, t: datetime, kind: str, **kw: Any) -> None:
        self.append(Plan(t, len(self), kind, **kw))


@dataclass(slots=True)
class Work:
    """The events of one case (or routine task) before they are committed to the log."""

    rng: random.Random
    t: datetime
    events: list[tuple[datetime, str, dict[str, Any]]] = field(default_factory=list)

    def do(self, action: str, gap: tuple[int, int] = (20, 240), **kw: Any) -> datetime:
        self.t += seconds(self.rng.randint(*gap))
        self.events.append((self.t, action, kw))
        return self.t

    def at(self, t: datetime, action: str, **kw: Any) -> None:
        self.events.append((t, action, kw))
        self.t = max(self.t, t)


@dataclass(frozen=True, slots=True)
class Market:
    """The generated marketplace the baseline works on (before any case exists)."""

    employees: list[Employee]
    customers: list[Customer]
    sellers: list[Seller]
    products: list[Product]
    orders: list[Order]
    reviews: list[Review]


class Desk:
    """The world's indexes and the routing every case kind uses."""

    def __init__(self, config: SimConfig, world: Market, roster: Roster, log: ActivityLog) -> None:
        self.config = config
        self.start, self.end = config.start, config.end
        self.rng = stream(config.seed, "activity")
        self.employees, self.customers = world.employees, world.customers
        self.sellers, self.products = world.sellers, world.products
        self.orders, self.reviews = world.orders, world.reviews
        self.roster, self.log = roster, log
        self.customer_by_id = {c.customer_id: c for c in world.customers}
        self.seller_by_id = {s.seller_id: s for s in world.sellers}
        self.order_times = [o.ordered_at for o in world.orders]
        self.review_times = [r.created_at for r in world.reviews]
        self.orders_by_customer: dict[str, list[Order]] = {}
        self.orders_by_seller: dict[str, list[Order]] = {}
        for o in world.orders:  # chronological
            self.orders_by_customer.setdefault(o.customer_id, []).append(o)
            self.orders_by_seller.setdefault(o.seller_id, []).append(o)
        self.products_by_seller: dict[str, list[Product]] = {}
        for p in world.products:
            self.products_by_seller.setdefault(p.seller_id, []).append(p)
        self.by_role: dict[str, list[Employee]] = {}
        for e in world.employees:
            self.by_role.setdefault(e.role, []).append(e)
        self.busy: dict[str, datetime] = {}
        self.owner: dict[str, Employee] = {}
        self._assign_portfolios()

    def _assign_portfolios(self) -> None:
        """Deal sellers round-robin to the seller-support staff employed at the start."""
        staff = [
            e
            for e in self.by_role.get("seller_support", [])
            if e.left_at is None or e.left_at > self.start
        ]
        if not staff:
            return
        order = list(self.sellers)
        self.rng.shuffle(order)
        for i, s in enumerate(order):
            e = staff[i % len(staff)]
            e.sellers.append(s.seller_id)
            self.owner[s.seller_id] = e

    def eligible(self, candidates: Sequence[Employee], t: datetime) -> list[Employee]:
        """Employed at ``t`` and not leaving within two weeks (no new cases before leaving)."""
        horizon = t + timedelta(days=14)
        return [
            e for e in candidates if e.hired_at <= t and (e.left_at is None or e.left_at > horizon)
        ]

    def assign(
        self, candidates: Sequence[Employee], t: datetime
    ) -> tuple[Employee, datetime] | None:
        """Route to whichever of three random eligible people can start soonest."""
        pool = self.eligible(candidates, t)
        best: tuple[Employee, datetime] | None = None
        for _ in range(min(3, len(pool))):
            e = self.rng.choice(pool)
            when = self.roster.next_work(e, max(t, self.busy.get(e.employee_id, t)))
            if when is not None and (best is None or when < best[1]):
                best = (e, when)
        return best

    def start_work(
        self, candidates: Sequence[Employee], plan: Plan, delay: tuple[float, float]
    ) -> tuple[Employee, Work] | None:
        """Someone picks the plan up ``delay`` minutes (a random span) after it was opened."""
        t = plan.opened_at + seconds(self.rng.uniform(*delay) * 60)
        assigned = self.assign(candidates, t)
        if assigned is None:
            return None
        emp, when = assigned
        return emp, Work(self.rng, when)

    def commit(
        self,
        emp: Employee,
        work: Work,
        *,
        case: Case | None = None,
        justification: str | None = None,
    ) -> list[AccessEvent]:
        """Log the work's events that fall in the window while the employee is employed."""
        logged = []
        for t, action, kw in work.events:
            if self.start <= t < self.end and emp.active_at(t):
                logged.append(
                    self.log.add(
                        t,
                        emp.employee_id,
                        action,
                        case_id=case.case_id if case else None,
                        justification=justification,
                        **kw,
                    )
                )
        return logged

    def finish(
        self, plan: Plan, emp: Employee, work: Work, closed_at: datetime | None
    ) -> tuple[Case, list[AccessEvent]] | None:
        """Register the case (unless it closed before the window) and log its events."""
        if closed_at is not None and closed_at < self.start:
            return None
        if closed_at is not None and closed_at >= self.end:
            closed_at = None
        case = self.log.open_case(
            plan.kind,
            emp.employee_id,
            plan.opened_at,
            customer_id=plan.customer.customer_id if plan.customer else None,
            seller_id=plan.seller.seller_id if plan.seller else None,
            closed_at=closed_at,
        )
        return case, self.commit(emp, work, case=case, justification=plan.kind)

    def follow_up(self, emp: Employee, work: Work, lo_hours: float, hi_hours: float) -> bool:
        """Move ``work`` to a later session of the employee; False if they have none left."""
        later = work.t + seconds(self.rng.uniform(lo_hours, hi_hours) * 3600)
        when = self.roster.next_work(emp, later)
        if when is None or when >= self.end + DAY:
            return False
        work.t = when
        return True

    def support_pool(self, customer: Customer) -> list[Employee]:
        agents = self.by_role.get("support_agent", [])
        queue = [e for e in agents if customer.country in e.queue]
        return queue or agents

    def latest_order(self, customer_id: str, before: datetime) -> Order | None:
        mine = self.orders_by_customer.get(customer_id, [])
        i = bisect.bisect_left([o.ordered_at for o in mine], before)
        return mine[i - 1] if i else None

    def search_hits(self, customer_id: str) -> tuple[str, ...]:
        """A masked search's results: the customer and a few others with similar details."""
        others = {
            self.rng.choice(self.customers).customer_id
            for _ in range(self.rng.choice((0, 0, 1, 1, 2, 3)))
        }
        return tuple(sorted(others | {customer_id}))
