"""The baseline: ordinary cases and accesses of every role, one module per case kind.

``customers`` (``customer_contact``, ``order_dispute``), ``moderation`` (``review_report``,
``seller_appeal``), ``sellers`` (``seller_support``), ``investigations`` (``investigation``),
and ``routine`` for work that needs no case. Each case kind plans its cases (when they are
opened, about whom) and works one; ``desk`` holds what they share. Plans are drawn kind by kind
in the order below, then worked in opening order, all from one random stream, so the same
config always yields the same log.
"""

from __future__ import annotations

from collections.abc import Callable

from custodes.sim.activity import ActivityLog
from custodes.sim.baseline import customers, investigations, moderation, routine, sellers
from custodes.sim.baseline.desk import Desk, Market, Plan, Plans
from custodes.sim.catalog import Order, Product, Review, Seller
from custodes.sim.config import SimConfig
from custodes.sim.people import Customer, Employee
from custodes.sim.roster import Roster

__all__ = ["Baseline"]

Planner = Callable[[Desk, Plans], None]
Worker = Callable[[Desk, Plan], None]

PLANNERS: tuple[Planner, ...] = (
    customers.plan_contacts,
    customers.plan_disputes,
    moderation.plan_review_reports,
    moderation.plan_appeals,
    sellers.plan_seller_support,
    investigations.plan_investigations,
)
"""In drawing order (changing it changes every generated world)."""
WORKERS: dict[str, Worker] = {
    "customer_contact": customers.contact,
    "order_dispute": customers.dispute,
    "review_report": moderation.review_report,
    "seller_appeal": moderation.appeal,
    "seller_support": sellers.seller_support,
    "investigation": investigations.investigation,
}


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
        market = Market(employees, customers, sellers, products, orders, reviews)
        self.desk = Desk(config, market, roster, log)

    def plans(self) -> list[Plan]:
        """Every case to be worked, in opening order."""
        plans = Plans()
        for planner in PLANNERS:
            planner(self.desk, plans)
        plans.sort(key=lambda p: (p.opened_at, p.seq))
        return plans

    def run(self) -> None:
        for plan in self.plans():
            WORKERS[plan.kind](self.desk, plan)
        routine.routine(self.desk)
