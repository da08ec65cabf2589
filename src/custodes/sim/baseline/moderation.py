"""Trust & safety's cases: ``review_report`` and ``seller_appeal``.

Reported reviews (mostly 1-star ones, and suspicious 5-star ones) are looked at
(``review.view``) and sometimes removed (``review.delete``, which marks the review removed).
Sanctioned sellers appeal (``seller.view``, ``seller.metrics``, ``message.view``); a
successful appeal ends in ``seller.reinstate`` at the time the catalogue says it happened.
"""

from __future__ import annotations

import bisect
from datetime import timedelta
from typing import Any

from custodes.sim.baseline.desk import BACKLOG, Desk, Plan, Plans, Work
from custodes.sim.catalog import Seller
from custodes.sim.config import HOUR, seconds
from custodes.sim.people import Employee

# Chance a review of each rating is reported, and that a report ends in removal.
_REPORT_P = {1: 0.3, 2: 0.15, 3: 0.06, 4: 0.02, 5: 0.05}
_REMOVE_P = {1: 0.3, 2: 0.2, 3: 0.15, 4: 0.15, 5: 0.4}


def plan_review_reports(desk: Desk, plans: Plans) -> None:
    """Reported reviews: mostly 1-star (sellers) and suspicious 5-star ones."""
    rng = desk.rng
    lo, end = desk.start - BACKLOG, desk.end
    first = bisect.bisect_left(desk.review_times, lo - timedelta(days=40))
    for r in desk.reviews[first:]:
        if rng.random() >= _REPORT_P[r.rating]:
            continue
        t = r.created_at + seconds(rng.uniform(1, 6 * 24) * 3600)
        if lo <= t < end:
            plans.add(
                t,
                "review_report",
                customer=desk.customer_by_id[r.customer_id],
                seller=desk.seller_by_id[r.seller_id],
                review=r,
            )


def plan_appeals(desk: Desk, plans: Plans) -> None:
    """Appeals against recent suspensions and bans (always, when it got reinstated)."""
    rng = desk.rng
    for s in desk.sellers:
        sanctioned = s.sanctioned_at
        if sanctioned is None or sanctioned < desk.start - timedelta(days=20):
            continue
        if s.reinstated_at is not None:
            room = max(4 * 3600, (s.reinstated_at - sanctioned).total_seconds() / 3)
            t = sanctioned + seconds(rng.uniform(4 * 3600, room))
        elif rng.random() < (0.8 if s.status == "suspended" else 0.55):
            t = sanctioned + seconds(rng.uniform(4, 7 * 24) * 3600)
        else:
            continue
        if t < desk.end:
            plans.add(t, "seller_appeal", seller=s)


def review_report(desk: Desk, plan: Plan) -> None:
    assert plan.review is not None
    r = plan.review
    started = desk.start_work(desk.by_role.get("trust_safety", []), plan, (10, 600))
    if started is None:
        return
    emp, w = started
    rng = desk.rng
    kw: dict[str, Any] = {
        "customer_ids": (r.customer_id,),
        "seller_id": r.seller_id,
        "product_id": r.product_id,
    }
    w.do("review.view", gap=(10, 120), review_id=r.review_id, **kw)
    if rng.random() < 0.3:
        w.do("order.view", **kw)
    if rng.random() < 0.15:
        w.do("seller.view", seller_id=r.seller_id)
    desk.busy[emp.employee_id] = w.t + seconds(rng.uniform(60, 600))
    remove = rng.random() < _REMOVE_P[r.rating]
    if rng.random() < 0.25 and desk.follow_up(emp, w, 2, 36):  # second look
        w.do("review.view", gap=(5, 60), review_id=r.review_id, **kw)
    if remove:
        w.do("review.delete", gap=(30, 600), review_id=r.review_id, **kw)
    done = desk.finish(plan, emp, w, w.t + seconds(rng.uniform(60, 1800)))
    if done is None:
        return
    for event in done[1]:
        if event.action == "review.delete":
            r.status, r.removed_at, r.removed_by = "removed", event.time, emp.employee_id


def appeal(desk: Desk, plan: Plan) -> None:
    assert plan.seller is not None
    s, rng = plan.seller, desk.rng
    if s.reinstated_at is not None:
        _reinstatement(desk, plan, s)
        return
    sid = s.seller_id
    started = desk.start_work(desk.by_role.get("trust_safety", []), plan, (30, 24 * 60))
    if started is None:
        return
    emp, w = started
    w.do("seller.view", gap=(10, 120), seller_id=sid)
    w.do("seller.metrics", seller_id=sid)
    if rng.random() < 0.4:
        w.do("message.view", seller_id=sid)
    products = desk.products_by_seller.get(sid, [])
    if products and rng.random() < 0.3:
        w.do("order.view", seller_id=sid, product_id=rng.choice(products).product_id)
    desk.busy[emp.employee_id] = w.t + seconds(rng.uniform(60, 600))
    for _ in range(rng.choice((0, 1, 1, 2))):
        if not desk.follow_up(emp, w, 20, 96):
            break
        w.do("seller.metrics", gap=(5, 120), seller_id=sid)
    desk.finish(plan, emp, w, w.t + seconds(rng.uniform(600, 86400)))


def _reinstatement(desk: Desk, plan: Plan, s: Seller) -> None:
    """Whoever is on shift when the reinstatement happens owns the appeal."""
    assert s.reinstated_at is not None
    rng, sid = desk.rng, s.seller_id
    pool = desk.eligible(desk.by_role.get("trust_safety", []), plan.opened_at)
    on_shift = [e for e in pool if desk.roster.on_shift(e, s.reinstated_at)]
    if not (on_shift or pool):
        return
    emp: Employee = rng.choice(on_shift or pool)
    first = desk.roster.next_work(emp, plan.opened_at + HOUR)
    w = Work(rng, plan.opened_at)
    if first is not None and first < s.reinstated_at - 2 * HOUR:
        w.t = first
        w.do("seller.view", seller_id=sid)
        w.do("seller.metrics", seller_id=sid)
        if rng.random() < 0.4:
            w.do("message.view", seller_id=sid)
    w.at(s.reinstated_at - seconds(rng.uniform(600, 1500)), "seller.view", seller_id=sid)
    w.at(s.reinstated_at - seconds(rng.uniform(60, 500)), "seller.metrics", seller_id=sid)
    w.at(s.reinstated_at, "seller.reinstate", seller_id=sid)
    desk.finish(plan, emp, w, w.t + seconds(rng.uniform(60, 900)))
