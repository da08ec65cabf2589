"""Investigators' cases: long ``investigation`` cases about a seller or a customer.

About one per investigator per fortnight, some already running when the window opens; several
sessions of looking at the subject, its orders, messages and (for a seller) its buyers.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from custodes.sim.activity import CUSTOMER_FIELDS
from custodes.sim.baseline.desk import Desk, Plan, Plans
from custodes.sim.catalog import Seller, business_time
from custodes.sim.config import DAY, Picker, between, seconds
from custodes.sim.people import Customer

Step = tuple[str, dict[str, Any]]


def plan_investigations(desk: Desk, plans: Plans) -> None:
    """Investigations: about one per investigator per fortnight, some already running."""
    rng, end = desk.rng, desk.end
    investigators = desk.by_role.get("investigator", [])
    n = max(1, round(len(investigators) * (desk.config.days + 14) / 14))
    suspects = Picker([(s, 0.2 + (1 - s.quality)) for s in desk.sellers])
    for _ in range(n):
        t = business_time(rng, between(rng, desk.start - timedelta(days=14), end - DAY))
        if t >= end:
            continue
        if rng.random() < 0.5:
            plans.add(t, "investigation", seller=suspects(rng))
        else:
            plans.add(t, "investigation", customer=rng.choice(desk.customers))


def investigation(desk: Desk, plan: Plan) -> None:
    started = desk.start_work(desk.by_role.get("investigator", []), plan, (30, 8 * 60))
    if started is None:
        return
    emp, w = started
    rng = desk.rng
    steps = (
        _seller_steps(desk, plan.seller) if plan.seller else _customer_steps(desk, plan.customer)
    )
    for session in range(rng.randint(2, 6)):
        if session and not desk.follow_up(emp, w, 12, 96):
            break
        for _ in range(rng.randint(2, 5)):
            action, kw = rng.choice(steps)
            w.do(action, gap=(30, 600), **kw)
    desk.finish(plan, emp, w, w.t + seconds(rng.uniform(1, 10) * 86400))


def _seller_steps(desk: Desk, s: Seller) -> list[Step]:
    sid = s.seller_id
    steps: list[Step] = [
        ("seller.view", {"seller_id": sid}),
        ("seller.metrics", {"seller_id": sid}),
        ("message.view", {"seller_id": sid}),
    ]
    sold = desk.orders_by_seller.get(sid, [])
    for o in sold[-5:]:
        kw = {"customer_ids": (o.customer_id,), "seller_id": sid, "product_id": o.product_id}
        steps.append(("order.view", kw))
    if sold:
        buyers = sorted({o.customer_id for o in sold[-40:]})
        steps.append(("customer.search", {"customer_ids": tuple(buyers)}))
    return steps


def _customer_steps(desk: Desk, c: Customer | None) -> list[Step]:
    assert c is not None
    cid = c.customer_id
    steps: list[Step] = [
        ("customer.view", {"customer_ids": (cid,), "fields": CUSTOMER_FIELDS}),
        ("customer.search", {"customer_ids": (cid,)}),
    ]
    for o in desk.orders_by_customer.get(cid, [])[-4:]:
        kw = {"customer_ids": (cid,), "seller_id": o.seller_id, "product_id": o.product_id}
        steps.append(("order.view", kw))
        steps.append(("message.view", {"customer_ids": (cid,), "seller_id": o.seller_id}))
    return steps
