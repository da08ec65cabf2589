"""What every scenario shares: the world's indexes, labels, and times inside people's shifts.

Scenarios are deterministic like the rest of the simulator: each draws from its own stream
(``stream(seed, "scenario:NAME")``) and picks people in id order, so the same config always
yields the same insiders, confounders and labels.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from custodes.sim.activity import Case
from custodes.sim.catalog import Order, Review, Seller
from custodes.sim.config import DAY, between, stream
from custodes.sim.errors import NoFreeEmployee
from custodes.sim.people import Customer, Employee
from custodes.sim.world import World
from custodes.sim.writer import iso


@dataclass
class Label:
    """One labelled person-episode: an insider (must alert) or a confounder (must not)."""

    scenario: str
    kind: str  # "insider" | "confounder"
    employee_id: str
    start: datetime
    end: datetime
    role: str
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "kind": self.kind,
            "employee_id": self.employee_id,
            "start": iso(self.start),
            "end": iso(self.end),
            "role": self.role,
            "note": self.note,
        }


@dataclass
class Stage:
    """The world plus the indexes scenarios need, and who is already taken by one."""

    world: World
    taken: set[str] = field(default_factory=set)
    labels: list[Label] = field(default_factory=list)
    runs: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        w = self.world
        self.start, self.end = w.config.start, w.config.end
        self.customer_by_id: dict[str, Customer] = {c.customer_id: c for c in w.customers}
        self.seller_by_id: dict[str, Seller] = {s.seller_id: s for s in w.sellers}
        self.buyers: dict[str, list[str]] = {}
        self.orders_by_seller: dict[str, list[Order]] = {}
        for o in w.orders:
            self.orders_by_seller.setdefault(o.seller_id, []).append(o)
        for sid, orders in self.orders_by_seller.items():
            self.buyers[sid] = sorted({o.customer_id for o in orders})
        self.reviews_by_seller: dict[str, list[Review]] = {}
        for r in w.reviews:
            self.reviews_by_seller.setdefault(r.seller_id, []).append(r)
        cats: dict[str, Counter[str]] = {}
        for p in w.products:
            cats.setdefault(p.seller_id, Counter())[p.category] += 1
        self.category: dict[str, str] = {
            sid: sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))[0][0] for sid, c in cats.items()
        }
        self.cases_by_employee: dict[str, list[Case]] = {}
        for k in w.log.cases:
            self.cases_by_employee.setdefault(k.employee_id, []).append(k)

    def rng(self, name: str) -> random.Random:
        """The scenario's own stream; a scenario planted again gets a fresh one (``NAME:2``)."""
        self.runs[name] += 1
        n = self.runs[name]
        return stream(self.world.config.seed, f"scenario:{name}" + (f":{n}" if n > 1 else ""))

    def day(self, n: float) -> datetime:
        return self.start + timedelta(days=n)

    def pick(
        self, rng: random.Random, role: str, *, steady: bool = True, team: str | None = None
    ) -> Employee:
        """An untaken employee of ``role`` employed through the whole window (if ``steady``)."""
        pool = [
            e
            for e in self.world.employees
            if e.role == role
            and e.employee_id not in self.taken
            and (team is None or e.team.startswith(team))
            and (not steady or (e.hired_at < self.start - 30 * DAY and e.left_at is None))
        ]
        if not pool:
            raise NoFreeEmployee(f"no free {role} for a scenario; use more employees")
        e = rng.choice(pool)
        self.taken.add(e.employee_id)
        return e

    def label(
        self, scenario: str, kind: str, e: Employee, start: datetime, end: datetime, note: str = ""
    ) -> None:
        self.labels.append(Label(scenario, kind, e.employee_id, start, end, e.role, note))

    def shift_times(
        self,
        rng: random.Random,
        e: Employee,
        lo: datetime,
        hi: datetime,
        per_shift: tuple[int, int],
        *,
        p_shift: float = 1.0,
    ) -> list[datetime]:
        """Sorted instants inside the employee's shifts in ``[lo, hi)``: a few per shift."""
        times: list[datetime] = []
        for s, t in self.world.roster.windows(e, lo, min(hi, self.end)):
            if rng.random() >= p_shift:
                continue
            times += [between(rng, s, t) for _ in range(rng.randint(*per_shift))]
        return sorted(times)

    def open_case_of(self, e: Employee, t: datetime) -> Case | None:
        """One of the employee's own cases open at ``t`` (cover for an unrelated access)."""
        for k in self.cases_by_employee.get(e.employee_id, []):
            if k.open_at(t) and k.customer_id is not None:
                return k
        return None

    def category_sellers(self, category: str, exclude: set[str]) -> list[str]:
        return sorted(
            s
            for s, c in self.category.items()
            if c == category and s not in exclude and len(self.buyers.get(s, ())) >= 5
        )

    def busiest_category(self, rng: random.Random) -> tuple[str, str]:
        """A buying seller and the category it sells in, with several rivals to spy on."""
        by_cat: dict[str, list[str]] = {}
        for sid, cat in sorted(self.category.items()):
            if len(self.buyers.get(sid, ())) >= 5:
                by_cat.setdefault(cat, []).append(sid)
        cats = sorted((c for c, s in by_cat.items() if len(s) >= 6), key=lambda c: c)
        cat = rng.choice(cats or sorted(by_cat))
        return rng.choice(by_cat[cat]), cat

    def signal(
        self,
        t: datetime,
        kind: str,
        *,
        seller_id: str | None = None,
        customer_id: str | None = None,
        email_only: bool = False,
    ) -> None:
        """An outside observation, kept only if it falls inside the window.

        ``email_only`` reports the customer's address instead of their id (a canary mailbox
        or a forwarded message knows the address, not our id).
        """
        if not self.start <= t < self.end:
            return
        email = None
        if email_only and customer_id is not None:
            email, customer_id = self.customer_by_id[customer_id].email, None
        self.world.signals.append(
            {
                "time": t,
                "kind": kind,
                "seller_id": seller_id,
                "customer_id": customer_id,
                "email": email,
            }
        )


def window(
    stage: Stage, first_day: tuple[float, float], length: tuple[float, float], rng: random.Random
) -> tuple[float, float]:
    """Episode bounds in days from the window's start, kept inside the window."""
    first = rng.uniform(*first_day)
    return first, min(first + rng.uniform(*length), stage.world.config.days - 0.5)


def review_refs(r: Review) -> dict[str, Any]:
    """The ids an access to review ``r`` names (customer, seller, product, review)."""
    return {
        "customer_ids": (r.customer_id,),
        "seller_id": r.seller_id,
        "product_id": r.product_id,
        "review_id": r.review_id,
    }
