"""Unexplained access: customers whose PII was revealed with no path from employee to customer.

Counted over a trailing week, so a slow leak (one or two a shift) adds up. The baseline is the
role's (leave-one-out) rate, never the person's own: an insider's own history would teach the
detector that leaking is normal for them.

Where peers show none, the baseline is not a constant but the role's rate learned from the data
so far: a Gamma-Poisson posterior mean, (``PRIOR_EVENTS`` + the rest of the role's unexplained
reveals up to that day) / (``PRIOR_EVENTS / PRIOR_RATE`` + their employee-days). A role that
has gone thousands of employee-days without one holds a few in a week to a stricter standard
than one where they happen every week; in a marketplace where they are common the learned rate
is high and nothing gets stricter. With little history the prior (one in five weeks) rules.

``unexplained_drift`` is the slow version: the same count over four weeks against the role's
four-week rate. It contributes only the surprise the long window adds beyond the week's, so a
leak too thin to stand out in any one week still adds up, and a loud one is not counted twice.
"""

from __future__ import annotations

import ibis
from ibis import _
from ibis.expr.types import Table

from custodes.detect.features import Features
from custodes.detect.signals.base import (
    SignalOutput,
    capped,
    daily_rows,
    evidence_rows,
    on_grid,
    peer_loo_mean,
    poisson_surprise,
    rolling_sum,
)

NAME = "unexplained_access"
DRIFT = "unexplained_drift"
WINDOW = 7
DRIFT_WINDOW = 28
DRIFT_WEIGHT, DRIFT_CAP = 1.0, 4.0
DRIFT_WINSOR = 8
PRIOR_RATE = 0.2 / 7  # unexplained reveals per employee-day before the role has any history
PRIOR_EVENTS = 1.0  # the prior's weight, in reveals: the weakest that still has a mean
WEIGHT, CAP = 1.0, 8.0
WINSOR = 3  # one colleague's mass leak must not teach the role that leaks are normal


def with_role_rate(g: Table) -> Table:
    """The role's unexplained reveals per employee-day up to each day, leaving the person out,
    shrunk toward ``PRIOR_RATE`` (daily counts capped at ``WINSOR``)."""
    kd = ibis.least(g.k, WINSOR).cast("float64")
    g = g.mutate(kd=kd)
    per = g.group_by(["role", "day"]).agg(rk=_.kd.sum(), rn=_.count())
    upto = ibis.window(group_by=per.role, order_by=per.day, preceding=None, following=0)
    per = per.select(
        r_role=per.role, r_day=per.day, ck=per.rk.sum().over(upto), cn=per.rn.sum().over(upto)
    )
    own = ibis.window(group_by=g.employee_id, order_by=g.day, preceding=None, following=0)
    g = g.mutate(ok=g.kd.sum().over(own), on=g.count().over(own))
    j = g.join(per, [g.role == per.r_role, g.day == per.r_day])
    events = PRIOR_EVENTS + j.ck - j.ok
    exposure = PRIOR_EVENTS / PRIOR_RATE + (j.cn - j.on).cast("float64")
    keep = [j[c] for c in g.columns if c not in ("kd", "ok", "on")]
    return j.select(*keep, rate=events / exposure)


def compute(f: Features) -> list[SignalOutput]:
    r = f.reads.filter(_.reveal & ~_.explained)
    daily = r.group_by(["employee_id", "day"]).agg(k=_.customer_id.nunique(), fire_ts=_.ts.max())
    g = with_role_rate(on_grid(f, daily, ("k",)))
    g = g.mutate(kk=rolling_sum(g, "k", WINDOW))
    g = g.mutate(kw=ibis.least(g.kk, WINSOR))
    g = g.mutate(peer=peer_loo_mean(g, "kw"))
    expected = ibis.greatest(g.peer.fill_null(0.0), g.rate * WINDOW)
    out = daily_rows(
        g, NAME, g.kk, expected, capped(WEIGHT, CAP, poisson_surprise(g.kk, expected)), g.fire_ts
    )
    ev = evidence_rows(r, NAME, "event", r.event_id, WINDOW)
    # The slow signal: four weeks against the role's four weeks, beyond what the week showed.
    g = g.mutate(k28=rolling_sum(g, "k", DRIFT_WINDOW))
    g = g.mutate(kw28=ibis.least(g.k28, DRIFT_WINSOR))
    g = g.mutate(peer28=peer_loo_mean(g, "kw28"))
    expected28 = ibis.greatest(g.peer28.fill_null(0.0), g.rate * DRIFT_WINDOW)
    week = ibis.least(poisson_surprise(g.kk, expected), CAP)
    extra = ibis.greatest(poisson_surprise(g.k28, expected28) - week, 0.0)
    drift = daily_rows(
        g, DRIFT, g.k28, expected28, capped(DRIFT_WEIGHT, DRIFT_CAP, extra), g.fire_ts
    )
    drift_ev = evidence_rows(r, DRIFT, "event", r.event_id, DRIFT_WINDOW)
    return [SignalOutput(out, ev), SignalOutput(drift, drift_ev)]
