"""Volume and breadth: customers read in a day against the person's own and their peers' norm.

The baseline is the *larger* of the person's trailing two-week norm and their role's norm that
same day (leave-one-out), so each covers the other's blind spot: a new hire has no history but
has peers; a peak week raises everyone's norm that day; a transfer changes peers but not (yet)
history. Volume alone is capped low: lots of explained work is a busy day, not an incident.
Bulk exports are held against the role's export rate over the whole window.
"""

from __future__ import annotations

import ibis
from ibis import _

from custodes.detect.features import Features
from custodes.detect.signals.base import (
    SignalOutput,
    above_own_and_peers,
    capped,
    daily_rows,
    evidence_rows,
    on_grid,
    poisson_surprise,
)

VOLUME, EXPORT = "volume", "bulk_export"
SLACK = 2.0  # overdispersion: a day at twice the norm is ordinary
VOLUME_WEIGHT, VOLUME_CAP = 1.0, 2.5
EXPORT_WEIGHT, EXPORT_CAP, EXPORT_FLOOR = 1.0, 6.0, 0.5


def _volume(f: Features) -> SignalOutput:
    r = f.reads
    # Distinct customers per day in two plain group-bys: a distinct count over every read is the
    # costliest aggregate of a 10M-event run.
    per = r.group_by(["employee_id", "day", "customer_id"]).agg(ts=_.ts.max())
    daily = per.group_by(["employee_id", "day"]).agg(k=_.customer_id.count(), fire_ts=_.ts.max())
    out = above_own_and_peers(f, daily, VOLUME, SLACK, VOLUME_WEIGHT, VOLUME_CAP)
    return SignalOutput(out, evidence_rows(r, VOLUME, "event", r.event_id, 1))


def _export(f: Features) -> SignalOutput:
    r = f.reads.filter(_.action == "customer.export")
    daily = r.group_by(["employee_id", "day"]).agg(k=_.customer_id.nunique(), fire_ts=_.ts.max())
    g = on_grid(f, daily, ("k",))
    w = ibis.window(group_by=g.role)
    role_mean = (g.k.sum().over(w) - g.k).cast("float64") / ibis.greatest(
        g.count().over(w) - 1, 1
    ).cast("float64")
    g = g.mutate(peer=role_mean)
    expected = ibis.greatest(g.peer, EXPORT_FLOOR)
    out = daily_rows(
        g,
        EXPORT,
        g.k,
        expected,
        capped(EXPORT_WEIGHT, EXPORT_CAP, poisson_surprise(g.k, expected)),
        g.fire_ts,
    )
    return SignalOutput(out, evidence_rows(r, EXPORT, "event", r.event_id, 1))


def compute(f: Features) -> list[SignalOutput]:
    return [_volume(f), _export(f)]
