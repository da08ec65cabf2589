"""Cases and employees' access events: the ordinary work that insider scenarios hide in.

``ActivityLog`` holds cases and access events in memory; ``Baseline(...).run()`` fills it with
the normal work of every role, and scenarios can later ``open_case`` / ``add`` their own.

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

Everyone works shifts: a local start time and length per person, five working days (some
support and trust & safety rotas include the weekend, some Manila agents work nights), and the
odd day off. Events fall inside shifts; the log covers ``[start, end)`` of the window.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from custodes.marketplace.models import ACCESS_ACTIONS, CASE_KINDS
from custodes.sim.catalog import (
    SELLER_OFFSET,
    Order,
    Product,
    Review,
    Seller,
    business_time,
)
from custodes.sim.config import DAY, HOUR, Picker, SimConfig, between, seconds, stream
from custodes.sim.people import Customer, Employee, local_time_on

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
            raise ValueError(f"unknown case kind {kind!r}; expected one of {CASE_KINDS}")
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
            raise ValueError(f"unknown action {action!r}; expected one of {ACTIONS}")
        if time.tzinfo is None:
            raise ValueError("access times must be timezone-aware")
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


# ---------------------------------------------------------------------------------------------
# Shifts
# ---------------------------------------------------------------------------------------------


class Roster:
    """Each employee's shift windows (UTC) from two weeks before the window to a month after."""

    ABSENCE = 0.04  # share of working days off (leave, sickness)

    def __init__(self, config: SimConfig, employees: Sequence[Employee]) -> None:
        rng = stream(config.seed, "roster")
        self._windows: dict[str, list[tuple[datetime, datetime]]] = {}
        self._ends: dict[str, list[datetime]] = {}
        lo = config.start - timedelta(days=14)
        n_days = config.days + 14 + 31
        for e in employees:
            wins = []
            offset = timedelta(hours=e.utc_offset)
            first = (lo + offset).date()
            for i in range(n_days):
                day = first + timedelta(days=i)
                if day.weekday() not in e.workdays or rng.random() < self.ABSENCE:
                    continue
                midnight = datetime(day.year, day.month, day.day, tzinfo=UTC) - offset
                s = midnight + timedelta(minutes=e.shift_start + rng.randint(-10, 15))
                t = s + timedelta(minutes=e.shift_minutes + rng.randint(-15, 30))
                s = max(s, e.hired_at)
                if e.left_at is not None:
                    t = min(t, e.left_at)
                if s < t:
                    wins.append((s, t))
            self._windows[e.employee_id] = wins
            self._ends[e.employee_id] = [t for _, t in wins]

    def windows(self, emp: Employee, lo: datetime, hi: datetime) -> list[tuple[datetime, datetime]]:
        """Shift windows overlapping ``[lo, hi)``, clipped to it."""
        out = []
        for s, t in self._windows[emp.employee_id]:
            if t > lo and s < hi:
                out.append((max(s, lo), min(t, hi)))
        return out

    def next_work(self, emp: Employee, t: datetime) -> datetime | None:
        """The first instant at or after ``t`` inside one of the employee's shifts."""
        i = bisect.bisect_right(self._ends[emp.employee_id], t)
        wins = self._windows[emp.employee_id]
        if i >= len(wins):
            return None
        return max(t, wins[i][0])

    def on_shift(self, emp: Employee, t: datetime) -> bool:
        return self.next_work(emp, t) == t


# ---------------------------------------------------------------------------------------------
# Baseline
# ---------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Plan:
    opened_at: datetime
    seq: int
    kind: str
    customer: Customer | None = None
    seller: Seller | None = None
    order: Order | None = None
    review: Review | None = None


@dataclass(slots=True)
class _Work:
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


_FIELD_PICK = Picker(
    [
        (("email",), 35),
        (("name", "email"), 25),
        (("name", "email", "phone"), 20),
        (("phone",), 10),
        (("name",), 10),
    ]
)
# Chance a review of each rating is reported, and that a report ends in removal.
_REPORT_P = {1: 0.3, 2: 0.15, 3: 0.06, 4: 0.02, 5: 0.05}
_REMOVE_P = {1: 0.3, 2: 0.2, 3: 0.15, 4: 0.15, 5: 0.4}
CONTACTS_PER_CUSTOMER_MONTH = 0.2
DISPUTE_RATE = 0.03
SELLER_SUPPORT_PER_MONTH = 0.35
BACKLOG = timedelta(days=4)  # cases opened this long before the window can still be open


class Baseline:
    """Generates the ordinary cases and accesses of every role into an ``ActivityLog``."""

    def __init__(
        self,
        config: SimConfig,
        *,
        employees: list[Employee],
        customers: list[Customer],
        sellers: list[Seller],
        products: list[Product],
        orders: list[Order],
        reviews: list[Review],
        roster: Roster,
        log: ActivityLog,
    ) -> None:
        self.config = config
        self.start, self.end = config.start, config.end
        self.rng = stream(config.seed, "activity")
        self.employees, self.customers, self.sellers = employees, customers, sellers
        self.products, self.orders, self.reviews = products, orders, reviews
        self.roster, self.log = roster, log
        self.customer_by_id = {c.customer_id: c for c in customers}
        self.seller_by_id = {s.seller_id: s for s in sellers}
        self.order_times = [o.ordered_at for o in orders]
        self.review_times = [r.created_at for r in reviews]
        self.orders_by_customer: dict[str, list[Order]] = {}
        self.orders_by_seller: dict[str, list[Order]] = {}
        for o in orders:  # chronological
            self.orders_by_customer.setdefault(o.customer_id, []).append(o)
            self.orders_by_seller.setdefault(o.seller_id, []).append(o)
        self.products_by_seller: dict[str, list[Product]] = {}
        for p in products:
            self.products_by_seller.setdefault(p.seller_id, []).append(p)
        self.by_role: dict[str, list[Employee]] = {}
        for e in employees:
            self.by_role.setdefault(e.role, []).append(e)
        self.busy: dict[str, datetime] = {}
        self.owner: dict[str, Employee] = {}
        self._assign_portfolios()

    # -- set-up --------------------------------------------------------------------------

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

    # -- helpers -------------------------------------------------------------------------

    def _eligible(self, candidates: Sequence[Employee], t: datetime) -> list[Employee]:
        """Employed at ``t`` and not leaving within two weeks (no new cases before leaving)."""
        horizon = t + timedelta(days=14)
        return [
            e for e in candidates if e.hired_at <= t and (e.left_at is None or e.left_at > horizon)
        ]

    def _assign(
        self, candidates: Sequence[Employee], t: datetime
    ) -> tuple[Employee, datetime] | None:
        """Route to whichever of three random eligible people can start soonest."""
        pool = self._eligible(candidates, t)
        best: tuple[Employee, datetime] | None = None
        for _ in range(min(3, len(pool))):
            e = self.rng.choice(pool)
            when = self.roster.next_work(e, max(t, self.busy.get(e.employee_id, t)))
            if when is not None and (best is None or when < best[1]):
                best = (e, when)
        return best

    def _support_pool(self, customer: Customer) -> list[Employee]:
        agents = self.by_role.get("support_agent", [])
        queue = [e for e in agents if customer.country in e.queue]
        return queue or agents

    def _latest_order(self, customer_id: str, before: datetime) -> Order | None:
        mine = self.orders_by_customer.get(customer_id, [])
        i = bisect.bisect_left([o.ordered_at for o in mine], before)
        return mine[i - 1] if i else None

    def _search_hits(self, customer_id: str) -> tuple[str, ...]:
        others = {
            self.rng.choice(self.customers).customer_id
            for _ in range(self.rng.choice((0, 0, 1, 1, 2, 3)))
        }
        return tuple(sorted(others | {customer_id}))

    def _commit(
        self,
        emp: Employee,
        work: _Work,
        *,
        case: Case | None = None,
        justification: str | None = None,
    ) -> list[AccessEvent]:
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

    def _finish(
        self, plan: _Plan, emp: Employee, work: _Work, closed_at: datetime | None
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
        return case, self._commit(emp, work, case=case, justification=plan.kind)

    def _follow_up(self, emp: Employee, work: _Work, lo_hours: float, hi_hours: float) -> bool:
        """Move ``work`` to a later session of the employee; False if they have none left."""
        later = work.t + seconds(self.rng.uniform(lo_hours, hi_hours) * 3600)
        when = self.roster.next_work(emp, later)
        if when is None or when >= self.end + DAY:
            return False
        work.t = when
        return True

    # -- plans ---------------------------------------------------------------------------

    def plans(self) -> list[_Plan]:
        rng = self.rng
        lo, end = self.start - BACKLOG, self.end
        plans: list[_Plan] = []

        def plan(t: datetime, kind: str, **kw: Any) -> None:
            plans.append(_Plan(t, len(plans), kind, **kw))

        # Customers get in touch, often about a recent order.
        span_days = (end - lo).total_seconds() / 86400
        n = round(len(self.customers) * CONTACTS_PER_CUSTOMER_MONTH * span_days / 30)
        for _ in range(n):
            t = between(rng, lo, end)
            a = bisect.bisect_left(self.order_times, t - timedelta(days=30))
            b = bisect.bisect_left(self.order_times, t)
            if b > a and rng.random() < 0.65:
                customer = self.customer_by_id[self.orders[rng.randrange(a, b)].customer_id]
            else:
                customer = rng.choice(self.customers)
            t = local_time_on(rng, t, customer.utc_offset)
            if lo <= t < end and t > customer.created_at:
                plan(t, "customer_contact", customer=customer)

        # Disputes about orders from the last month.
        first = bisect.bisect_left(self.order_times, lo - timedelta(days=30))
        for o in self.orders[first:]:
            if rng.random() >= DISPUTE_RATE:
                continue
            customer = self.customer_by_id[o.customer_id]
            t = local_time_on(
                rng, o.ordered_at + seconds(rng.uniform(2, 25) * 86400), customer.utc_offset
            )
            if lo <= t < end and t > o.ordered_at:
                plan(
                    t,
                    "order_dispute",
                    customer=customer,
                    seller=self.seller_by_id[o.seller_id],
                    order=o,
                )

        # Reported reviews: mostly 1-star (sellers) and suspicious 5-star ones.
        first = bisect.bisect_left(self.review_times, lo - timedelta(days=40))
        for r in self.reviews[first:]:
            if rng.random() >= _REPORT_P[r.rating]:
                continue
            t = r.created_at + seconds(rng.uniform(1, 6 * 24) * 3600)
            if lo <= t < end:
                plan(
                    t,
                    "review_report",
                    customer=self.customer_by_id[r.customer_id],
                    seller=self.seller_by_id[r.seller_id],
                    review=r,
                )

        # Appeals against recent suspensions and bans (always, when it got reinstated).
        for s in self.sellers:
            sanctioned = s.sanctioned_at
            if sanctioned is None or sanctioned < self.start - timedelta(days=20):
                continue
            if s.reinstated_at is not None:
                room = max(4 * 3600, (s.reinstated_at - sanctioned).total_seconds() / 3)
                t = sanctioned + seconds(rng.uniform(4 * 3600, room))
            elif rng.random() < (0.8 if s.status == "suspended" else 0.55):
                t = sanctioned + seconds(rng.uniform(4, 7 * 24) * 3600)
            else:
                continue
            if t < end:
                plan(t, "seller_appeal", seller=s)

        # Sellers ask their account managers for help.
        rate = SELLER_SUPPORT_PER_MONTH / (30 * 86400)
        for s in self.sellers:
            t = self.start - timedelta(days=3)
            while True:
                t += seconds(rng.expovariate(rate) + 1)
                if t >= end:
                    break
                when = business_time(rng, t, SELLER_OFFSET[s.country])
                if when < end and s.active_at(when):
                    plan(when, "seller_support", seller=s)

        # Investigations: about one per investigator per fortnight, some already running.
        investigators = self.by_role.get("investigator", [])
        n = max(1, round(len(investigators) * (self.config.days + 14) / 14))
        suspects = Picker([(s, 0.2 + (1 - s.quality)) for s in self.sellers])
        for _ in range(n):
            t = business_time(rng, between(rng, self.start - timedelta(days=14), end - DAY))
            if t >= end:
                continue
            if rng.random() < 0.5:
                plan(t, "investigation", seller=suspects(rng))
            else:
                plan(t, "investigation", customer=rng.choice(self.customers))

        plans.sort(key=lambda p: (p.opened_at, p.seq))
        return plans

    # -- case work -----------------------------------------------------------------------

    def run(self) -> None:
        handlers = {
            "customer_contact": self._contact,
            "order_dispute": self._dispute,
            "review_report": self._review_report,
            "seller_appeal": self._appeal,
            "seller_support": self._seller_support,
            "investigation": self._investigation,
        }
        for p in self.plans():
            handlers[p.kind](p)
        self._routine()

    def _start(
        self, candidates: Sequence[Employee], plan: _Plan, delay: tuple[float, float]
    ) -> tuple[Employee, _Work] | None:
        t = plan.opened_at + seconds(self.rng.uniform(*delay) * 60)
        assigned = self._assign(candidates, t)
        if assigned is None:
            return None
        emp, when = assigned
        return emp, _Work(self.rng, when)

    def _contact(self, plan: _Plan) -> None:
        assert plan.customer is not None
        c = plan.customer
        started = self._start(self._support_pool(c), plan, (2, 180))
        if started is None:
            return
        emp, w = started
        rng, cid = self.rng, c.customer_id
        if rng.random() < 0.4:
            w.do("customer.search", gap=(5, 60), customer_ids=self._search_hits(cid))
        w.do("customer.view", customer_ids=(cid,), fields=_FIELD_PICK(rng))
        order = self._latest_order(cid, plan.opened_at)
        if order is not None and rng.random() < 0.65:
            w.do(
                "order.view",
                customer_ids=(cid,),
                product_id=order.product_id,
                seller_id=order.seller_id,
            )
        if rng.random() < 0.12:
            w.do("customer.view", customer_ids=(cid,), fields=("phone",))
        self.busy[emp.employee_id] = w.t + seconds(rng.uniform(60, 600))
        if rng.random() < 0.2 and self._follow_up(emp, w, 16, 72):
            w.do("customer.view", gap=(5, 120), customer_ids=(cid,), fields=("email",))
            if order is not None and rng.random() < 0.5:
                w.do(
                    "order.view",
                    customer_ids=(cid,),
                    product_id=order.product_id,
                    seller_id=order.seller_id,
                )
        wait = rng.uniform(60, 3600) if rng.random() < 0.85 else rng.uniform(1, 6) * 86400
        self._finish(plan, emp, w, w.t + seconds(wait))

    def _dispute(self, plan: _Plan) -> None:
        assert plan.customer is not None and plan.order is not None
        c, o = plan.customer, plan.order
        started = self._start(self._support_pool(c), plan, (5, 240))
        if started is None:
            return
        emp, w = started
        rng, cid = self.rng, c.customer_id
        order_kw = {"customer_ids": (cid,), "product_id": o.product_id, "seller_id": o.seller_id}
        w.do(
            "customer.view",
            gap=(10, 90),
            customer_ids=(cid,),
            fields=rng.choice((("name", "email"), ("name", "email", "phone"))),
        )
        w.do("order.view", **order_kw)
        w.do("message.view", customer_ids=(cid,), seller_id=o.seller_id)
        if rng.random() < 0.5:
            w.do("seller.view", seller_id=o.seller_id)
        self.busy[emp.employee_id] = w.t + seconds(rng.uniform(120, 900))
        for _ in range(rng.choice((1, 1, 2, 2, 3))):
            if not self._follow_up(emp, w, 12, 60):
                break
            w.do("message.view", gap=(5, 120), customer_ids=(cid,), seller_id=o.seller_id)
            if rng.random() < 0.5:
                w.do("order.view", **order_kw)
            if rng.random() < 0.3:
                w.do("customer.view", customer_ids=(cid,), fields=("email",))
        wait = rng.uniform(300, 7200) if rng.random() < 0.9 else rng.uniform(3, 10) * 86400
        self._finish(plan, emp, w, w.t + seconds(wait))

    def _review_report(self, plan: _Plan) -> None:
        assert plan.review is not None
        r = plan.review
        started = self._start(self.by_role.get("trust_safety", []), plan, (10, 600))
        if started is None:
            return
        emp, w = started
        rng = self.rng
        kw = {
            "customer_ids": (r.customer_id,),
            "seller_id": r.seller_id,
            "product_id": r.product_id,
        }
        w.do("review.view", gap=(10, 120), review_id=r.review_id, **kw)
        if rng.random() < 0.3:
            w.do("order.view", **kw)
        if rng.random() < 0.15:
            w.do("seller.view", seller_id=r.seller_id)
        self.busy[emp.employee_id] = w.t + seconds(rng.uniform(60, 600))
        remove = rng.random() < _REMOVE_P[r.rating]
        if rng.random() < 0.25 and self._follow_up(emp, w, 2, 36):  # second look
            w.do("review.view", gap=(5, 60), review_id=r.review_id, **kw)
        if remove:
            w.do("review.delete", gap=(30, 600), review_id=r.review_id, **kw)
        done = self._finish(plan, emp, w, w.t + seconds(rng.uniform(60, 1800)))
        if done is None:
            return
        for event in done[1]:
            if event.action == "review.delete":
                r.status, r.removed_at, r.removed_by = "removed", event.time, emp.employee_id

    def _appeal(self, plan: _Plan) -> None:
        assert plan.seller is not None
        s, rng = plan.seller, self.rng
        staff = self.by_role.get("trust_safety", [])
        sid = s.seller_id
        if s.reinstated_at is not None:
            # Whoever is on shift when the reinstatement happens owns the appeal.
            pool = self._eligible(staff, plan.opened_at)
            on_shift = [e for e in pool if self.roster.on_shift(e, s.reinstated_at)]
            if not (on_shift or pool):
                return
            emp = rng.choice(on_shift or pool)
            first = self.roster.next_work(emp, plan.opened_at + HOUR)
            w = _Work(rng, plan.opened_at)
            if first is not None and first < s.reinstated_at - 2 * HOUR:
                w.t = first
                w.do("seller.view", seller_id=sid)
                w.do("seller.metrics", seller_id=sid)
                if rng.random() < 0.4:
                    w.do("message.view", seller_id=sid)
            w.at(s.reinstated_at - seconds(rng.uniform(600, 1500)), "seller.view", seller_id=sid)
            w.at(s.reinstated_at - seconds(rng.uniform(60, 500)), "seller.metrics", seller_id=sid)
            w.at(s.reinstated_at, "seller.reinstate", seller_id=sid)
            self._finish(plan, emp, w, w.t + seconds(rng.uniform(60, 900)))
            return
        started = self._start(staff, plan, (30, 24 * 60))
        if started is None:
            return
        emp, w = started
        w.do("seller.view", gap=(10, 120), seller_id=sid)
        w.do("seller.metrics", seller_id=sid)
        if rng.random() < 0.4:
            w.do("message.view", seller_id=sid)
        products = self.products_by_seller.get(sid, [])
        if products and rng.random() < 0.3:
            w.do("order.view", seller_id=sid, product_id=rng.choice(products).product_id)
        self.busy[emp.employee_id] = w.t + seconds(rng.uniform(60, 600))
        for _ in range(rng.choice((0, 1, 1, 2))):
            if not self._follow_up(emp, w, 20, 96):
                break
            w.do("seller.metrics", gap=(5, 120), seller_id=sid)
        self._finish(plan, emp, w, w.t + seconds(rng.uniform(600, 86400)))

    def _seller_support(self, plan: _Plan) -> None:
        assert plan.seller is not None
        s, rng = plan.seller, self.rng
        sid = s.seller_id
        owner = self.owner.get(sid)
        staff = self.by_role.get("seller_support", [])
        t = plan.opened_at + seconds(rng.uniform(5, 240) * 60)
        when = None
        if owner is not None and self._eligible([owner], t):
            when = self.roster.next_work(owner, max(t, self.busy.get(owner.employee_id, t)))
        if when is None:
            assigned = self._assign(staff, t)
            if assigned is None:
                return
            owner, when = assigned
        assert owner is not None
        w = _Work(rng, when)
        w.do("seller.view", gap=(10, 120), seller_id=sid)
        w.do("seller.metrics", seller_id=sid)
        products = self.products_by_seller.get(sid, [])
        if products and rng.random() < 0.3:
            w.do("order.view", seller_id=sid, product_id=rng.choice(products).product_id)
        self.busy[owner.employee_id] = w.t + seconds(rng.uniform(60, 600))
        if rng.random() < 0.25 and self._follow_up(owner, w, 16, 72):
            w.do("seller.metrics", gap=(5, 120), seller_id=sid)
        wait = rng.uniform(300, 3 * 3600) if rng.random() < 0.85 else rng.uniform(1, 5) * 86400
        self._finish(plan, owner, w, w.t + seconds(wait))

    def _investigation(self, plan: _Plan) -> None:
        started = self._start(self.by_role.get("investigator", []), plan, (30, 8 * 60))
        if started is None:
            return
        emp, w = started
        rng = self.rng
        steps = (
            self._seller_steps(plan.seller) if plan.seller else self._customer_steps(plan.customer)
        )
        for session in range(rng.randint(2, 6)):
            if session and not self._follow_up(emp, w, 12, 96):
                break
            for _ in range(rng.randint(2, 5)):
                action, kw = rng.choice(steps)
                w.do(action, gap=(30, 600), **kw)
        self._finish(plan, emp, w, w.t + seconds(rng.uniform(1, 10) * 86400))

    def _seller_steps(self, s: Seller) -> list[tuple[str, dict[str, Any]]]:
        sid = s.seller_id
        steps: list[tuple[str, dict[str, Any]]] = [
            ("seller.view", {"seller_id": sid}),
            ("seller.metrics", {"seller_id": sid}),
            ("message.view", {"seller_id": sid}),
        ]
        sold = self.orders_by_seller.get(sid, [])
        for o in sold[-5:]:
            steps.append(
                (
                    "order.view",
                    {
                        "customer_ids": (o.customer_id,),
                        "seller_id": sid,
                        "product_id": o.product_id,
                    },
                )
            )
        if sold:
            buyers = sorted({o.customer_id for o in sold[-40:]})
            steps.append(("customer.search", {"customer_ids": tuple(buyers)}))
        return steps

    def _customer_steps(self, c: Customer | None) -> list[tuple[str, dict[str, Any]]]:
        assert c is not None
        cid = c.customer_id
        steps: list[tuple[str, dict[str, Any]]] = [
            ("customer.view", {"customer_ids": (cid,), "fields": CUSTOMER_FIELDS}),
            ("customer.search", {"customer_ids": (cid,)}),
        ]
        for o in self.orders_by_customer.get(cid, [])[-4:]:
            steps.append(
                (
                    "order.view",
                    {"customer_ids": (cid,), "seller_id": o.seller_id, "product_id": o.product_id},
                )
            )
            steps.append(("message.view", {"customer_ids": (cid,), "seller_id": o.seller_id}))
        return steps

    # -- routine work --------------------------------------------------------------------

    def _routine(self) -> None:
        """Work that needs no case, per shift, for every role that does some."""
        reports: dict[str, list[Employee]] = {}
        for e in self.employees:
            if e.manager_id is not None:
                reports.setdefault(e.manager_id, []).append(e)
        cases_by_employee: dict[str, list[Case]] = {}
        for case in self.log.cases:
            cases_by_employee.setdefault(case.employee_id, []).append(case)
        for e in self.employees:
            do = {
                "data_analyst": self._analyst_shift,
                "engineer": self._engineer_shift,
                "seller_support": self._portfolio_shift,
                "trust_safety": self._moderation_shift,
                "privacy_officer": self._privacy_shift,
            }.get(e.role)
            for lo, hi in self.roster.windows(e, self.start, self.end):
                if do is not None:
                    do(e, lo, hi)
                elif e.role == "manager":
                    self._manager_shift(
                        e, lo, hi, reports.get(e.employee_id, []), cases_by_employee
                    )

    def _routine_event(
        self,
        e: Employee,
        lo: datetime,
        hi: datetime,
        justification: str,
        steps: list[tuple[str, dict[str, Any]]],
    ) -> None:
        w = _Work(self.rng, between(self.rng, lo, hi))
        for action, kw in steps:
            w.do(action, gap=(5, 180), **kw)
        self._commit(e, w, justification=justification)

    def _analyst_shift(self, e: Employee, lo: datetime, hi: datetime) -> None:
        rng = self.rng
        for _ in range(rng.choice((0, 1, 1, 2, 2, 3, 4))):
            k = min(len(self.customers), max(10, min(500, int(rng.lognormvariate(4.0, 0.8)))))
            ids = sorted(c.customer_id for c in rng.sample(self.customers, k))
            self._routine_event(
                e, lo, hi, "analytics", [("customer.search", {"customer_ids": tuple(ids)})]
            )

    def _engineer_shift(self, e: Employee, lo: datetime, hi: datetime) -> None:
        rng = self.rng
        if rng.random() >= 0.2:
            return
        r = rng.random()
        if r < 0.4 and self.orders:
            a = bisect.bisect_left(self.order_times, lo - timedelta(days=7))
            o = (
                self.orders[rng.randrange(a, len(self.orders))]
                if a < len(self.orders)
                else self.orders[-1]
            )
            step = (
                "order.view",
                {
                    "customer_ids": (o.customer_id,),
                    "seller_id": o.seller_id,
                    "product_id": o.product_id,
                },
            )
        elif r < 0.7:
            step = ("seller.view", {"seller_id": rng.choice(self.sellers).seller_id})
        else:
            ids = sorted({rng.choice(self.customers).customer_id for _ in range(3)})
            step = ("customer.search", {"customer_ids": tuple(ids)})
        self._routine_event(e, lo, hi, "debugging", [step])

    def _portfolio_shift(self, e: Employee, lo: datetime, hi: datetime) -> None:
        rng = self.rng
        if not e.sellers or rng.random() >= 0.6:
            return
        for sid in rng.sample(e.sellers, min(len(e.sellers), rng.randint(1, 3))):
            self._routine_event(
                e, lo, hi, "account_management", [("seller.metrics", {"seller_id": sid})]
            )

    def _moderation_shift(self, e: Employee, lo: datetime, hi: datetime) -> None:
        rng = self.rng
        if rng.random() >= 0.4:
            return
        a = bisect.bisect_left(self.review_times, lo - timedelta(days=14))
        b = bisect.bisect_left(self.review_times, lo)
        for _ in range(rng.randint(1, 3) if b > a else 0):
            r = self.reviews[rng.randrange(a, b)]
            self._routine_event(
                e,
                lo,
                hi,
                "moderation",
                [
                    (
                        "review.view",
                        {
                            "customer_ids": (r.customer_id,),
                            "seller_id": r.seller_id,
                            "product_id": r.product_id,
                            "review_id": r.review_id,
                        },
                    )
                ],
            )

    def _privacy_shift(self, e: Employee, lo: datetime, hi: datetime) -> None:
        rng = self.rng
        if rng.random() >= 0.25:
            return
        cid = rng.choice(self.customers).customer_id
        self._routine_event(
            e,
            lo,
            hi,
            "data_subject_request",
            [
                ("customer.search", {"customer_ids": (cid,)}),
                ("customer.export", {"customer_ids": (cid,), "fields": CUSTOMER_FIELDS}),
            ],
        )

    def _manager_shift(
        self,
        e: Employee,
        lo: datetime,
        hi: datetime,
        reports: list[Employee],
        cases_by_employee: dict[str, list[Case]],
    ) -> None:
        rng = self.rng
        if rng.random() >= 0.3:
            return
        if reports and rng.random() < 0.6:
            who = rng.choice(reports)
            closed = [
                k
                for k in cases_by_employee.get(who.employee_id, [])
                if k.closed_at is not None and k.closed_at < lo
            ]
            if closed:
                k = rng.choice(closed[-20:])
                w = _Work(rng, between(rng, lo, hi))
                if k.customer_id is not None:
                    w.do("customer.search", customer_ids=(k.customer_id,))
                else:
                    w.do("seller.view", seller_id=k.seller_id)
                self._commit(e, w, case=k, justification="quality_review")
                return
        self._routine_event(
            e,
            lo,
            hi,
            "reporting",
            [("seller.metrics", {"seller_id": rng.choice(self.sellers).seller_id})],
        )
