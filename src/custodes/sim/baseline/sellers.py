"""Seller support's cases: ``seller_support``, worked by the seller's own account manager.

Sellers ask for help as a Poisson process during their business hours; the account manager
(or, when they are away, a colleague) looks at the seller and its metrics.
"""

from __future__ import annotations

from datetime import timedelta

from custodes.sim.baseline.desk import Desk, Plan, Plans, Work
from custodes.sim.catalog import SELLER_OFFSET, business_time
from custodes.sim.config import seconds

SELLER_SUPPORT_PER_MONTH = 0.35


def plan_seller_support(desk: Desk, plans: Plans) -> None:
    """Sellers ask their account managers for help."""
    rng, end = desk.rng, desk.end
    rate = SELLER_SUPPORT_PER_MONTH / (30 * 86400)
    for s in desk.sellers:
        t = desk.start - timedelta(days=3)
        while True:
            t += seconds(rng.expovariate(rate) + 1)
            if t >= end:
                break
            when = business_time(rng, t, SELLER_OFFSET[s.country])
            if when < end and s.active_at(when):
                plans.add(when, "seller_support", seller=s)


def seller_support(desk: Desk, plan: Plan) -> None:
    assert plan.seller is not None
    s, rng = plan.seller, desk.rng
    sid = s.seller_id
    owner = desk.owner.get(sid)
    staff = desk.by_role.get("seller_support", [])
    t = plan.opened_at + seconds(rng.uniform(5, 240) * 60)
    when = None
    if owner is not None and desk.eligible([owner], t):
        when = desk.roster.next_work(owner, max(t, desk.busy.get(owner.employee_id, t)))
    if when is None:
        assigned = desk.assign(staff, t)
        if assigned is None:
            return
        owner, when = assigned
    assert owner is not None
    w = Work(rng, when)
    w.do("seller.view", gap=(10, 120), seller_id=sid)
    w.do("seller.metrics", seller_id=sid)
    products = desk.products_by_seller.get(sid, [])
    if products and rng.random() < 0.3:
        w.do("order.view", seller_id=sid, product_id=rng.choice(products).product_id)
    desk.busy[owner.employee_id] = w.t + seconds(rng.uniform(60, 600))
    if rng.random() < 0.25 and desk.follow_up(owner, w, 16, 72):
        w.do("seller.metrics", gap=(5, 120), seller_id=sid)
    wait = rng.uniform(300, 3 * 3600) if rng.random() < 0.85 else rng.uniform(1, 5) * 86400
    desk.finish(plan, owner, w, w.t + seconds(wait))
