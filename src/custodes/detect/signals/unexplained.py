"""Unexplained access: customers whose PII was revealed with no path from employee to customer.

Counted over a trailing week, so a slow leak (one or two a shift) adds up. The baseline is the
role's (leave-one-out) rate, never the person's own: an insider's own history would teach the
detector that leaking is normal for them.

``unexplained_drift`` is the slow version: the same count over four weeks against the role's
four-week rate. It contributes only the surprise the long window adds beyond the week's, so a
leak too thin to stand out in any one week still adds up, and a loud one is not counted twice.
"""

from __future__ import annotations

import ibis
from ibis import _

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
DRIFT_FLOOR = 0.5  # expected unexplained reveals per four weeks where peers have none
DRIFT_WEIGHT, DRIFT_CAP = 1.0, 4.0
DRIFT_WINSOR = 8
FLOOR = 0.2  # expected unexplained reveals per week where peers have none
WEIGHT, CAP = 1.0, 8.0
WINSOR = 3  # one colleague's mass leak must not teach the role that leaks are normal


def compute(f: Features) -> list[SignalOutput]:
    r = f.reads.filter(_.reveal & ~_.explained)
    daily = r.group_by(["employee_id", "day"]).agg(k=_.customer_id.nunique(), fire_ts=_.ts.max())
    g = on_grid(f, daily, ("k",))
    g = g.mutate(kk=rolling_sum(g, "k", WINDOW))
    g = g.mutate(kw=ibis.least(g.kk, WINSOR))
    g = g.mutate(peer=peer_loo_mean(g, "kw"))
    expected = ibis.greatest(g.peer.fill_null(0.0), FLOOR)
    out = daily_rows(
        g, NAME, g.kk, expected, capped(WEIGHT, CAP, poisson_surprise(g.kk, expected)), g.fire_ts
    )
    ev = evidence_rows(r, NAME, "event", r.event_id, WINDOW)
    # The slow signal: four weeks against the role's four weeks, beyond what the week showed.
    g = g.mutate(k28=rolling_sum(g, "k", DRIFT_WINDOW))
    g = g.mutate(kw28=ibis.least(g.k28, DRIFT_WINSOR))
    g = g.mutate(peer28=peer_loo_mean(g, "kw28"))
    expected28 = ibis.greatest(g.peer28.fill_null(0.0), DRIFT_FLOOR)
    week = ibis.least(poisson_surprise(g.kk, expected), CAP)
    extra = ibis.greatest(poisson_surprise(g.k28, expected28) - week, 0.0)
    drift = daily_rows(
        g, DRIFT, g.k28, expected28, capped(DRIFT_WEIGHT, DRIFT_CAP, extra), g.fire_ts
    )
    drift_ev = evidence_rows(r, DRIFT, "event", r.event_id, DRIFT_WINDOW)
    return [SignalOutput(out, ev), SignalOutput(drift, drift_ev)]
