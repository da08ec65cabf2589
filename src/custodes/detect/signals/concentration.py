"""Concentration: unexplained work aimed at one seller's customers or one category's sellers.

- ``seller_concentration``: of the customers an employee read without explanation in the last
  week, how many are tied (bought from or reviewed) to one seller, against that seller's share
  of all customers (binomial surprise, corrected for the number of sellers looked at). This is
  what a list bought by a seller looks like: buyers of a rival, reviewers of one seller's
  products.
- ``metrics_outside``: sellers whose sales metrics were pulled with no case on the seller, not
  in the person's portfolio (sellers whose support cases they hold) and not via a report's
  case, against the person's and the role's norm.
- ``metrics_category``: those sellers, over a week, concentrated in one category (a rival set),
  corrected for the number of categories looked at.
"""

from __future__ import annotations

import ibis
from ibis import _

from custodes.detect.features import DAY_S, GRACE_S, HOUR_S, Features
from custodes.detect.signals.base import (
    SignalOutput,
    above_own_and_peers,
    binomial_surprise,
    capped,
    daily_rows,
    evidence_rows,
)

SELLER, METRICS, CATEGORY = "seller_concentration", "metrics_outside", "metrics_category"
WINDOW = 7
MIN_K = 3
SELLER_WEIGHT, SELLER_CAP = 1.0, 3.0
METRICS_WEIGHT, METRICS_CAP, METRICS_SLACK = 1.0, 5.0, 1.5
CATEGORY_WEIGHT, CATEGORY_CAP, CATEGORY_MIN = 1.0, 5.0, 4
FAR = 2**62


def _top(t: ibis.Table, keys: list[str], score: str, tie: str) -> ibis.Table:
    """The row with the highest ``score`` per ``keys`` (ties: smallest ``tie``)."""
    w = ibis.window(group_by=[t[k] for k in keys], order_by=[ibis.desc(t[score]), t[tie]])
    return t.mutate(_rank=ibis.row_number().over(w)).filter(_._rank == 0).drop("_rank")


def _seller(f: Features) -> SignalOutput:
    ur = f.reads.filter(~_.explained)
    fire = ur.group_by(["employee_id", "day"]).agg(fire_ts=_.ts.max())
    cust = ur.select("employee_id", "day", "customer_id").distinct()
    win = (
        fire.join(
            cust,
            [
                fire.employee_id == cust.employee_id,
                cust.day <= fire.day,
                cust.day > fire.day - WINDOW,
            ],
        )
        .select(fire.employee_id, fire.day, fire.fire_ts, cust.customer_id)
        .distinct()
    )
    n = win.group_by(["employee_id", "day"]).agg(n=_.customer_id.nunique())
    cs = f.cs
    per_seller = (
        win.join(cs, win.customer_id == cs.customer_id)
        .group_by([win.employee_id, win.day, cs.seller_id])
        .agg(k=win.customer_id.nunique(), fire_ts=win.fire_ts.max())
    )
    total = f.customers.count().cast("float64").as_scalar()
    share = cs.group_by("seller_id").agg(p=_.customer_id.nunique().cast("float64"))
    t = (
        per_seller.join(n, [per_seller.employee_id == n.employee_id, per_seller.day == n.day])
        .join(share, per_seller.seller_id == share.seller_id)
        .select(
            per_seller.employee_id,
            per_seller.day,
            per_seller.seller_id,
            per_seller.k,
            per_seller.fire_ts,
            n.n,
            p=share.p / total,
        )
    )
    t = t.filter(t.k >= MIN_K)
    # The best of m sellers is reported, so its surprise is corrected for the m looks taken
    # (Bonferroni: -log10 of m times the tail): someone whose job is broad reads touch many
    # sellers and one of them is bound to look concentrated by chance; a bought list does not.
    looks = t.count().over(ibis.window(group_by=[t.employee_id, t.day])).cast("float64")
    t = t.mutate(s=ibis.greatest(binomial_surprise(_.k, _.n, _.p) - looks.log10(), 0.0).round(4))
    t = _top(t, ["employee_id", "day"], "s", "seller_id")
    out = daily_rows(
        t,
        SELLER,
        t.k,
        t.n.cast("float64") * t.p,
        capped(SELLER_WEIGHT, SELLER_CAP, t.s),
        t.fire_ts,
        ref=t.seller_id,
    )
    return SignalOutput(out, evidence_rows(ur, SELLER, "event", ur.event_id, WINDOW))


def _unexplained_metrics(f: Features) -> ibis.Table:
    """seller.metrics events with no case, portfolio or chain path to the seller."""
    ev = f.ev.filter((_.action == "seller.metrics") & _.seller_id.notnull())
    k = f.cases.filter(_.seller_id.notnull())
    k = k.select(
        k_emp=k.employee_id,
        k_seller=k.seller_id,
        k_kind=k.kind,
        k_open=k.opened_ts - HOUR_S,
        k_close=k.closed_ts.fill_null(FAR) + GRACE_S,
    )
    own = ev.join(
        k,
        [
            ev.employee_id == k.k_emp,
            ev.seller_id == k.k_seller,
            ev.ts >= k.k_open,
            ev.ts <= k.k_close,
        ],
    ).select(ev.event_id)
    port = (
        k.filter(k.k_kind == "seller_support").select(p_emp=_.k_emp, p_seller=_.k_seller).distinct()
    )
    mine = ev.join(port, [ev.employee_id == port.p_emp, ev.seller_id == port.p_seller]).select(
        ev.event_id
    )
    kr = k.join(f.chain, k.k_emp == f.chain.report_id).select(
        boss_id=f.chain.boss_id, k_seller=k.k_seller, k_open=k.k_open
    )
    chained = ev.join(
        kr, [ev.employee_id == kr.boss_id, ev.seller_id == kr.k_seller, ev.ts >= kr.k_open]
    ).select(ev.event_id)
    ok = own.union(mine).union(chained).distinct()
    return ev.anti_join(ok, ev.event_id == ok.event_id)


def _metrics(f: Features, um: ibis.Table) -> SignalOutput:
    daily = um.group_by(["employee_id", "day"]).agg(k=_.seller_id.nunique(), fire_ts=_.ts.max())
    out = above_own_and_peers(f, daily, METRICS, METRICS_SLACK, METRICS_WEIGHT, METRICS_CAP)
    return SignalOutput(out, evidence_rows(um, METRICS, "event", um.event_id, 1))


def seller_categories(f: Features) -> ibis.Table:
    """Each seller's main category (most products; ties: alphabetical)."""
    pc = f.products.group_by(["seller_id", "category"]).agg(n=_.count())
    w = ibis.window(group_by=pc.seller_id, order_by=[ibis.desc(pc.n), pc.category])
    return pc.mutate(_r=ibis.row_number().over(w)).filter(_._r == 0).select("seller_id", "category")


def _category(f: Features, um: ibis.Table) -> SignalOutput:
    """Over the last week: the category holding most of the unexplained sellers, against its
    share of all sellers, corrected for the categories looked at. A week, not a day: a rival
    set is pulled over a few shifts, a handful a day."""
    cats = seller_categories(f)
    total = cats.count().cast("float64").as_scalar()
    share = cats.group_by("category").agg(p=_.count().cast("float64"))
    x = um.join(cats, um.seller_id == cats.seller_id).select(
        um.employee_id, um.day, um.ts, um.seller_id, cats.category
    )
    fire = x.group_by(["employee_id", "day"]).agg(fire_ts=_.ts.max())
    seen = x.select("employee_id", "day", "seller_id", "category").distinct()
    win = (
        fire.join(
            seen,
            [
                fire.employee_id == seen.employee_id,
                seen.day <= fire.day,
                seen.day > fire.day - WINDOW,
            ],
        )
        .select(fire.employee_id, fire.day, fire.fire_ts, seen.seller_id, seen.category)
        .distinct()
    )
    n = win.group_by(["employee_id", "day"]).agg(n=_.seller_id.nunique())
    per = win.group_by(["employee_id", "day", "category"]).agg(
        k=_.seller_id.nunique(), fire_ts=_.fire_ts.max()
    )
    t = (
        per.join(n, [per.employee_id == n.employee_id, per.day == n.day])
        .join(share, per.category == share.category)
        .select(per.employee_id, per.day, per.category, per.k, per.fire_ts, n.n, p=share.p / total)
    )
    looks = t.count().over(ibis.window(group_by=[t.employee_id, t.day])).cast("float64")
    t = t.mutate(s=ibis.greatest(binomial_surprise(_.k, _.n, _.p) - looks.log10(), 0.0).round(4))
    t = t.filter(t.k >= CATEGORY_MIN)
    t = _top(t, ["employee_id", "day"], "s", "category")
    out = daily_rows(
        t,
        CATEGORY,
        t.k,
        t.n.cast("float64") * t.p,
        capped(CATEGORY_WEIGHT, CATEGORY_CAP, t.s),
        t.fire_ts,
        ref=t.category,
    )
    return SignalOutput(out, evidence_rows(um, CATEGORY, "event", um.event_id, WINDOW))


def compute(f: Features) -> list[SignalOutput]:
    um = f.engine.materialize("unexplained_metrics", _unexplained_metrics(f))
    return [_seller(f), _metrics(f, um), _category(f, um)]


__all__ = ["DAY_S", "compute", "seller_categories"]
