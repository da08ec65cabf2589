"""Work that needs no case, per shift, for every role that does some.

- data_analyst: ``customer.search`` over many customers, no fields ("analytics").
- engineer: a little ``order.view`` / ``seller.view`` / ``customer.search`` ("debugging").
- seller_support: ``seller.metrics`` on the sellers in their portfolio ("account_management").
- trust_safety: ``review.view`` of recent reviews ("moderation").
- privacy_officer: single-customer ``customer.export`` ("data_subject_request").
- manager: ``customer.search`` / ``seller.view`` on their reports' closed cases
  ("quality_review") or ``seller.metrics`` ("reporting").
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from custodes.sim.activity import CUSTOMER_FIELDS, Case
from custodes.sim.baseline.desk import Desk, Work
from custodes.sim.config import between
from custodes.sim.people import Employee

Shift = Callable[[Desk, Employee, datetime, datetime], None]


def routine(desk: Desk) -> None:
    """Work that needs no case, per shift, for every role that does some."""
    reports: dict[str, list[Employee]] = {}
    for e in desk.employees:
        if e.manager_id is not None:
            reports.setdefault(e.manager_id, []).append(e)
    cases_by_employee: dict[str, list[Case]] = {}
    for case in desk.log.cases:
        cases_by_employee.setdefault(case.employee_id, []).append(case)
    for e in desk.employees:
        do: Shift | None = {
            "data_analyst": _analyst_shift,
            "engineer": _engineer_shift,
            "seller_support": _portfolio_shift,
            "trust_safety": _moderation_shift,
            "privacy_officer": _privacy_shift,
        }.get(e.role)
        for lo, hi in desk.roster.windows(e, desk.start, desk.end):
            if do is not None:
                do(desk, e, lo, hi)
            elif e.role == "manager":
                _manager_shift(desk, e, lo, hi, reports.get(e.employee_id, []), cases_by_employee)


def _routine_event(
    desk: Desk,
    e: Employee,
    lo: datetime,
    hi: datetime,
    justification: str,
    steps: list[tuple[str, dict[str, Any]]],
) -> None:
    w = Work(desk.rng, between(desk.rng, lo, hi))
    for action, kw in steps:
        w.do(action, gap=(5, 180), **kw)
    desk.commit(e, w, justification=justification)


def _analyst_shift(desk: Desk, e: Employee, lo: datetime, hi: datetime) -> None:
    rng = desk.rng
    for _ in range(rng.choice((0, 1, 1, 2, 2, 3, 4))):
        k = min(len(desk.customers), max(10, min(500, int(rng.lognormvariate(4.0, 0.8)))))
        ids = sorted(c.customer_id for c in rng.sample(desk.customers, k))
        _routine_event(
            desk, e, lo, hi, "analytics", [("customer.search", {"customer_ids": tuple(ids)})]
        )


def _engineer_shift(desk: Desk, e: Employee, lo: datetime, hi: datetime) -> None:
    rng = desk.rng
    if rng.random() >= 0.2:
        return
    r = rng.random()
    if r < 0.4 and desk.orders:
        a = bisect.bisect_left(desk.order_times, lo - timedelta(days=7))
        o = (
            desk.orders[rng.randrange(a, len(desk.orders))]
            if a < len(desk.orders)
            else desk.orders[-1]
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
        step = ("seller.view", {"seller_id": rng.choice(desk.sellers).seller_id})
    else:
        ids = sorted({rng.choice(desk.customers).customer_id for _ in range(3)})
        step = ("customer.search", {"customer_ids": tuple(ids)})
    _routine_event(desk, e, lo, hi, "debugging", [step])


def _portfolio_shift(desk: Desk, e: Employee, lo: datetime, hi: datetime) -> None:
    rng = desk.rng
    if not e.sellers or rng.random() >= 0.6:
        return
    for sid in rng.sample(e.sellers, min(len(e.sellers), rng.randint(1, 3))):
        _routine_event(
            desk, e, lo, hi, "account_management", [("seller.metrics", {"seller_id": sid})]
        )


def _moderation_shift(desk: Desk, e: Employee, lo: datetime, hi: datetime) -> None:
    rng = desk.rng
    if rng.random() >= 0.4:
        return
    a = bisect.bisect_left(desk.review_times, lo - timedelta(days=14))
    b = bisect.bisect_left(desk.review_times, lo)
    for _ in range(rng.randint(1, 3) if b > a else 0):
        r = desk.reviews[rng.randrange(a, b)]
        _routine_event(
            desk,
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


def _privacy_shift(desk: Desk, e: Employee, lo: datetime, hi: datetime) -> None:
    rng = desk.rng
    if rng.random() >= 0.25:
        return
    cid = rng.choice(desk.customers).customer_id
    _routine_event(
        desk,
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
    desk: Desk,
    e: Employee,
    lo: datetime,
    hi: datetime,
    reports: list[Employee],
    cases_by_employee: dict[str, list[Case]],
) -> None:
    rng = desk.rng
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
            w = Work(rng, between(rng, lo, hi))
            if k.customer_id is not None:
                w.do("customer.search", customer_ids=(k.customer_id,))
            else:
                w.do("seller.view", seller_id=k.seller_id)
            desk.commit(e, w, case=k, justification="quality_review")
            return
    _routine_event(
        desk,
        e,
        lo,
        hi,
        "reporting",
        [("seller.metrics", {"seller_id": rng.choice(desk.sellers).seller_id})],
    )
