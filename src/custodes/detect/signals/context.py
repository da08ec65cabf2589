"""Context: circumstances that make the same evidence more worrying, never an alert alone.

- ``departing``: the person leaves within two weeks (``left_at``): exfiltration peaks then.
- ``off_hours``: at least a few events at hours this person almost never works (under 2% of
  their own events), so night-shift workers are judged by their own nights, not by office
  hours.

Both are multipliers on the day's score, shown in the alert as their own contributions.
"""

from __future__ import annotations

import ibis
from ibis import _

from custodes.detect.features import DAY_S, Features

DEPARTING_DAYS = 14
OFF_SHARE = 0.02
OFF_MIN_EVENTS, OFF_MIN_HISTORY = 3, 40
DEPARTING_FACTOR, OFF_HOURS_FACTOR = 0.5, 0.25


def compute(f: Features) -> ibis.Table:
    """(employee_id, day, departing, off_hours, off_events) for every employee-day."""
    ev = f.ev
    hist = ev.group_by(["employee_id", "hour"]).agg(n=_.count())
    w = ibis.window(group_by=hist.employee_id)
    hist = hist.mutate(total=hist.n.sum().over(w))
    rare = hist.filter(
        (hist.n.cast("float64") < hist.total.cast("float64") * OFF_SHARE)
        & (hist.total >= OFF_MIN_HISTORY)
    )
    off = (
        ev.join(rare, [ev.employee_id == rare.employee_id, ev.hour == rare.hour])
        .select(ev.employee_id, ev.day)
        .group_by(["employee_id", "day"])
        .agg(off_events=_.count())
    )
    g = f.grid
    j = g.left_join(off, [g.employee_id == off.employee_id, g.day == off.day])
    departing = (
        g.left_ts.notnull()
        & (g.left_ts > g.day * DAY_S)
        & (g.left_ts <= (g.day + DEPARTING_DAYS) * DAY_S)
    )
    return j.select(
        g.employee_id,
        g.day,
        departing=departing.cast("int64"),
        off_events=off.off_events.fill_null(0).cast("int64"),
        off_hours=(off.off_events.fill_null(0) >= OFF_MIN_EVENTS).cast("int64"),
    )
