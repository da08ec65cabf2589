"""Unexplained access: customers whose PII was revealed with no path from employee to customer.

Counted over a trailing week, so a slow leak (one or two a shift) adds up. The baseline is the
role's (leave-one-out) rate, never the person's own: an insider's own history would teach the
detector that leaking is normal for them.
"""

from __future__ import annotations

import ibis
from ibis import _

from custodes.detect.features import Features
from custodes.detect.signals import (
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
WINDOW = 7
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
    return [SignalOutput(out, ev)]
