"""Privileged actions that benefit a seller: review deletions and reinstatements.

- ``unexplained_deletion``: reviews deleted with no case of the deleter's on the review's
  customer or seller, over a week.
- ``deletion_benefit``: negative reviews (1–2 stars) of *one* seller deleted by one person in a
  week, cases or not, against that seller's share of all negative reviews: that is a service
  sold to the seller. Removing a ring of fake five-star reviews does not benefit the seller and
  does not count.
- ``suspicious_reinstatement``: a seller reinstated without an appeal case held by the same
  person and opened at least a day before, i.e. no appeal, or one opened just to cover it.
"""

from __future__ import annotations

import ibis
from ibis import _

from custodes.detect.features import DAY_S, GRACE_S, HOUR_S, Features
from custodes.detect.signals.base import (
    SignalOutput,
    binomial_surprise,
    capped,
    daily_rows,
    evidence_rows,
    on_grid,
    poisson_surprise,
    rolling_sum,
)

DELETION, BENEFIT = "unexplained_deletion", "deletion_benefit"
REINSTATE = "suspicious_reinstatement"
WINDOW = 7
NEGATIVE = 2  # ratings at or below this are "negative"
DELETION_WEIGHT, DELETION_CAP, DELETION_FLOOR = 1.0, 6.0, 0.1
BENEFIT_WEIGHT, BENEFIT_CAP, BENEFIT_MIN = 1.0, 6.0, 2
CLUSTER = 5.0  # reports (and so deletions) about one seller come in bursts: 5x its share
REINSTATE_WEIGHT, REINSTATE_CAP, REINSTATE_FLOOR = 4.0, 2.0, 0.02
APPEAL_LEAD_S = DAY_S
FAR = 2**62


def _deletions(f: Features) -> ibis.Table:
    ev = f.ev.filter((_.action == "review.delete") & _.review_id.notnull())
    r = f.reviews
    d = ev.join(r, ev.review_id == r.review_id).select(
        ev.event_id, ev.employee_id, ev.ts, ev.day, r.customer_id, r.seller_id, r.rating
    )
    k = f.cases.select(
        k_emp=_.employee_id,
        k_cust=_.customer_id,
        k_seller=_.seller_id,
        k_open=_.opened_ts - HOUR_S,
        k_close=_.closed_ts.fill_null(FAR) + GRACE_S,
    )
    by_customer = d.join(
        k,
        [d.employee_id == k.k_emp, d.customer_id == k.k_cust, d.ts >= k.k_open, d.ts <= k.k_close],
    ).select(d.event_id)
    by_seller = d.join(
        k,
        [d.employee_id == k.k_emp, d.seller_id == k.k_seller, d.ts >= k.k_open, d.ts <= k.k_close],
    ).select(d.event_id)
    ok = by_customer.union(by_seller).distinct().select(ok_id=_.event_id)
    j = d.left_join(ok, d.event_id == ok.ok_id)
    return j.select(*[d[c] for c in d.columns], explained=ok.ok_id.notnull())


def _unexplained(f: Features, d: ibis.Table) -> SignalOutput:
    u = d.filter(~_.explained)
    daily = u.group_by(["employee_id", "day"]).agg(k=_.count(), fire_ts=_.ts.max())
    g = on_grid(f, daily, ("k",))
    g = g.mutate(kk=rolling_sum(g, "k", WINDOW))
    lam = ibis.literal(DELETION_FLOOR)
    out = daily_rows(
        g,
        DELETION,
        g.kk,
        lam,
        capped(DELETION_WEIGHT, DELETION_CAP, poisson_surprise(g.kk, lam)),
        g.fire_ts,
    )
    return SignalOutput(out, evidence_rows(u, DELETION, "event", u.event_id, WINDOW))


def _benefit(f: Features, d: ibis.Table) -> SignalOutput:
    """The seller most of the person's negative-review deletions of the week belong to, against
    that seller's share of all negative reviews (binomial, ``CLUSTER`` times the share for
    sellers that draw reports in bursts, corrected for the sellers looked at)."""
    neg = d.filter(_.rating <= NEGATIVE)
    fire = neg.group_by(["employee_id", "day"]).agg(fire_ts=_.ts.max())
    win = fire.join(
        neg,
        [
            fire.employee_id == neg.employee_id,
            neg.day <= fire.day,
            neg.day > fire.day - WINDOW,
        ],
    ).select(fire.employee_id, fire.day, fire.fire_ts, neg.event_id, neg.seller_id)
    n = win.group_by(["employee_id", "day"]).agg(n=_.event_id.nunique())
    per = win.group_by(["employee_id", "day", "seller_id"]).agg(
        k=_.event_id.nunique(), fire_ts=_.fire_ts.max()
    )
    rv = f.reviews.filter(_.rating <= NEGATIVE)
    total = rv.count().cast("float64").as_scalar()
    share = rv.group_by("seller_id").agg(p=_.count().cast("float64"))
    t = (
        per.join(n, [per.employee_id == n.employee_id, per.day == n.day])
        .join(share, per.seller_id == share.seller_id)
        .select(
            per.employee_id,
            per.day,
            per.seller_id,
            per.k,
            per.fire_ts,
            n.n,
            p=ibis.least(share.p / total * CLUSTER, 0.5),
        )
    )
    t = t.mutate(looks=t.count().over(ibis.window(group_by=[t.employee_id, t.day])))
    t = t.filter(t.k >= BENEFIT_MIN)
    t = t.mutate(
        s=ibis.greatest(
            binomial_surprise(_.k, _.n, _.p) - _.looks.cast("float64").log10(), 0.0
        ).round(4)
    )
    w = ibis.window(group_by=[t.employee_id, t.day], order_by=[ibis.desc(t.s), t.seller_id])
    t = t.mutate(_r=ibis.row_number().over(w)).filter(_._r == 0)
    out = daily_rows(
        t,
        BENEFIT,
        t.k,
        t.n.cast("float64") * t.p,
        capped(BENEFIT_WEIGHT, BENEFIT_CAP, t.s),
        t.fire_ts,
        ref=t.seller_id,
    )
    return SignalOutput(out, evidence_rows(neg, BENEFIT, "event", neg.event_id, WINDOW))


def _reinstatements(f: Features) -> SignalOutput:
    ev = f.ev.filter((_.action == "seller.reinstate") & _.seller_id.notnull())
    k = f.cases.filter(_.kind == "seller_appeal").select(
        k_emp=_.employee_id,
        k_seller=_.seller_id,
        k_open=_.opened_ts,
        k_close=_.closed_ts.fill_null(FAR) + GRACE_S,
    )
    ok = (
        ev.join(
            k,
            [
                ev.employee_id == k.k_emp,
                ev.seller_id == k.k_seller,
                k.k_open <= ev.ts - APPEAL_LEAD_S,
                ev.ts <= k.k_close,
            ],
        )
        .select(ok_id=ev.event_id)
        .distinct()
    )
    bad = ev.anti_join(ok, ev.event_id == ok.ok_id)
    daily = bad.group_by(["employee_id", "day"]).agg(k=_.count(), fire_ts=_.ts.max())
    lam = ibis.literal(REINSTATE_FLOOR)
    out = daily_rows(
        daily,
        REINSTATE,
        daily.k,
        lam,
        capped(REINSTATE_WEIGHT, REINSTATE_CAP, poisson_surprise(daily.k, lam)),
        daily.fire_ts,
    )
    return SignalOutput(out, evidence_rows(bad, REINSTATE, "event", bad.event_id, 1))


def compute(f: Features) -> list[SignalOutput]:
    d = f.engine.materialize("deletions", _deletions(f))
    return [_unexplained(f, d), _benefit(f, d), _reinstatements(f)]
