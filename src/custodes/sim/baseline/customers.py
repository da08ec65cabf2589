"""Support agents' cases: ``customer_contact`` and ``order_dispute``.

Customers get in touch, often about a recent order; a few orders are disputed. Agents of the
team serving the customer's country pick them up: a masked ``customer.search``, a
``customer.view`` of the case's customer, ``order.view``, and in disputes ``message.view`` and
``seller.view``; some cases get a follow-up session a day or two later.
"""

from __future__ import annotations

import bisect
from datetime import timedelta
from typing import Any

from custodes.sim.baseline.desk import BACKLOG, Desk, Plan, Plans
from custodes.sim.config import Picker, between, seconds
from custodes.sim.geography import local_time_on

CONTACTS_PER_CUSTOMER_MONTH = 0.2
DISPUTE_RATE = 0.03
_FIELD_PICK = Picker(
    [
        (("email",), 35),
        (("name", "email"), 25),
        (("name", "email", "phone"), 20),
        (("phone",), 10),
        (("name",), 10),
    ]
)


def plan_contacts(desk: Desk, plans: Plans) -> None:
    """Customers get in touch, often about a recent order."""
    rng = desk.rng
    lo, end = desk.start - BACKLOG, desk.end
    span_days = (end - lo).total_seconds() / 86400
    n = round(len(desk.customers) * CONTACTS_PER_CUSTOMER_MONTH * span_days / 30)
    for _ in range(n):
        t = between(rng, lo, end)
        a = bisect.bisect_left(desk.order_times, t - timedelta(days=30))
        b = bisect.bisect_left(desk.order_times, t)
        if b > a and rng.random() < 0.65:
            customer = desk.customer_by_id[desk.orders[rng.randrange(a, b)].customer_id]
        else:
            customer = rng.choice(desk.customers)
        t = local_time_on(rng, t, customer.utc_offset)
        if lo <= t < end and t > customer.created_at:
            plans.add(t, "customer_contact", customer=customer)


def plan_disputes(desk: Desk, plans: Plans) -> None:
    """Disputes about orders from the last month."""
    rng = desk.rng
    lo, end = desk.start - BACKLOG, desk.end
    first = bisect.bisect_left(desk.order_times, lo - timedelta(days=30))
    for o in desk.orders[first:]:
        if rng.random() >= DISPUTE_RATE:
            continue
        customer = desk.customer_by_id[o.customer_id]
        t = local_time_on(
            rng, o.ordered_at + seconds(rng.uniform(2, 25) * 86400), customer.utc_offset
        )
        if lo <= t < end and t > o.ordered_at:
            plans.add(
                t,
                "order_dispute",
                customer=customer,
                seller=desk.seller_by_id[o.seller_id],
                order=o,
            )


def contact(desk: Desk, plan: Plan) -> None:
    assert plan.customer is not None
    c = plan.customer
    started = desk.start_work(desk.support_pool(c), plan, (2, 180))
    if started is None:
        return
    emp, w = started
    rng, cid = desk.rng, c.customer_id
    if rng.random() < 0.4:
        w.do("customer.search", gap=(5, 60), customer_ids=desk.search_hits(cid))
    w.do("customer.view", customer_ids=(cid,), fields=_FIELD_PICK(rng))
    order = desk.latest_order(cid, plan.opened_at)
    order_kw: dict[str, Any] = (
        {"customer_ids": (cid,), "product_id": order.product_id, "seller_id": order.seller_id}
        if order is not None
        else {}
    )
    if order is not None and rng.random() < 0.65:
        w.do("order.view", **order_kw)
    if rng.random() < 0.12:
        w.do("customer.view", customer_ids=(cid,), fields=("phone",))
    desk.busy[emp.employee_id] = w.t + seconds(rng.uniform(60, 600))
    if rng.random() < 0.2 and desk.follow_up(emp, w, 16, 72):
        w.do("customer.view", gap=(5, 120), customer_ids=(cid,), fields=("email",))
        if order is not None and rng.random() < 0.5:
            w.do("order.view", **order_kw)
    wait = rng.uniform(60, 3600) if rng.random() < 0.85 else rng.uniform(1, 6) * 86400
    desk.finish(plan, emp, w, w.t + seconds(wait))


def dispute(desk: Desk, plan: Plan) -> None:
    assert plan.customer is not None and plan.order is not None
    c, o = plan.customer, plan.order
    started = desk.start_work(desk.support_pool(c), plan, (5, 240))
    if started is None:
        return
    emp, w = started
    rng, cid = desk.rng, c.customer_id
    order_kw: dict[str, Any] = {
        "customer_ids": (cid,),
        "product_id": o.product_id,
        "seller_id": o.seller_id,
    }
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
    desk.busy[emp.employee_id] = w.t + seconds(rng.uniform(120, 900))
    for _ in range(rng.choice((1, 1, 2, 2, 3))):
        if not desk.follow_up(emp, w, 12, 60):
            break
        w.do("message.view", gap=(5, 120), customer_ids=(cid,), seller_id=o.seller_id)
        if rng.random() < 0.5:
            w.do("order.view", **order_kw)
        if rng.random() < 0.3:
            w.do("customer.view", customer_ids=(cid,), fields=("email",))
    wait = rng.uniform(300, 7200) if rng.random() < 0.9 else rng.uniform(3, 10) * 86400
    desk.finish(plan, emp, w, w.t + seconds(wait))
