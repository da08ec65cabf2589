"""The whole simulated marketplace in memory: what ``generate.build`` makes, scenarios change and
``writer`` writes (kept apart from both so neither imports the other)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from custodes.sim.activity import ActivityLog
from custodes.sim.catalog import Order, Product, Review, Seller
from custodes.sim.config import SimConfig
from custodes.sim.people import Customer, Employee
from custodes.sim.roster import Roster


@dataclass(slots=True)
class World:
    """The whole simulated marketplace in memory, before it is written."""

    config: SimConfig
    employees: list[Employee]
    customers: list[Customer]
    sellers: list[Seller]
    products: list[Product]
    orders: list[Order]
    reviews: list[Review]
    roster: Roster
    log: ActivityLog
    signals: list[dict[str, Any]] = field(default_factory=list)

    def employee(self, employee_id: str) -> Employee:
        return next(e for e in self.employees if e.employee_id == employee_id)

    def by_role(self, role: str) -> list[Employee]:
        return [e for e in self.employees if e.role == role]
