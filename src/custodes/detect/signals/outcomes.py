"""Outcomes: outside signals traced back to who read those customers beforehand.

An off-platform contact, a canary hit or a complaint about customer C at time T points at the
employees who read C in the 30 days before T *without explanation* (reads under a case are
what the case was for). Each signal's weight is shared among those readers, so a customer read
by one person weighs on that person alone; canary hits weigh three times as much (nobody has
a reason to read a canary). The signal fires when the outside observation arrives.
"""

from __future__ import annotations

import ibis
from ibis import _

from custodes.detect.features import DAY_S, Features, day_of
from custodes.detect.signals.base import SignalOutput, capped, daily_rows

NAME = "outcome"
LOOKBACK_S = 30 * DAY_S
WEIGHT, CAP = 1.5, 6.0
KIND_WEIGHT = {"canary_hit": 3.0, "offplatform_contact": 1.0, "customer_complaint": 0.5}


def compute(f: Features) -> list[SignalOutput]:
    s = f.signals.filter(_.customer_id.notnull())
    kind_w = ibis.cases(*[(s.kind == k, v) for k, v in KIND_WEIGHT.items()], else_=0.0)
    s = s.mutate(kw=kind_w, s_day=day_of(s.ts))
    r = f.reads.filter(~_.explained)
    r = r.mutate(w=ibis.ifelse(r.reveal, 1.0, 0.5))
    link = s.join(r, [s.customer_id == r.customer_id, r.ts < s.ts, r.ts >= s.ts - LOOKBACK_S])
    link = link.select(
        signal_id=s.signal_id,
        s_ts=s.ts,
        s_day=s.s_day,
        kw=s.kw,
        employee_id=r.employee_id,
        event_id=r.event_id,
        w=r.w,
    )
    per = link.group_by(["signal_id", "employee_id"]).agg(
        w=_.w.max(), kw=_.kw.max(), s_ts=_.s_ts.max(), s_day=_.s_day.max()
    )
    readers = per.group_by("signal_id").agg(n=_.employee_id.nunique())
    per = per.join(readers, per.signal_id == readers.signal_id).select(
        per.employee_id,
        per.s_ts,
        per.s_day,
        per.signal_id,
        share=per.w * per.kw / readers.n.cast("float64"),
    )
    daily = (
        per.group_by(["employee_id", "s_day"])
        .agg(v=_.share.sum(), fire_ts=_.s_ts.max())
        .rename(day="s_day")
    )
    out = daily_rows(
        daily,
        NAME,
        daily.v.round(4),
        ibis.literal(0.0),
        capped(WEIGHT, CAP, daily.v),
        daily.fire_ts,
    )
    sig_ev = per.select(
        employee_id=per.employee_id,
        day=per.s_day,
        signal=ibis.literal(NAME),
        source=ibis.literal("signal"),
        ref_id=per.signal_id.cast("int64"),
        ts=per.s_ts,
        window=ibis.literal(1).cast("int64"),
    )
    read_ev = link.select(
        employee_id=link.employee_id,
        day=link.s_day,
        signal=ibis.literal(NAME),
        source=ibis.literal("event"),
        ref_id=link.event_id.cast("int64"),
        ts=link.s_ts,
        window=ibis.literal(1).cast("int64"),
    )
    return [SignalOutput(out, sig_ev.union(read_ev))]
